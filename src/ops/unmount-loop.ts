/**
 * umount -d: unmount, then detach the loop device the mount was made from. A device mountkit
 * attached for a mount has autoclear and goes by itself; one attached by hand (loop attach,
 * losetup) stays attached without this.
 */
import { Errno } from "../errno.ts";
import { isErrno } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { NO_OPTIONS } from "./context.ts";
import { detachLoop } from "./loop.ts";
import { unmount, unmountDevice, type UnmountOptions } from "./unmount.ts";

const LOOP_DEVICE = /^\/dev\/loop\d+$/;

/** Unmount target (a mount point or a device, as umount does); true when a mount was removed. */
export function unmountDetachingLoop(target: string, options: UnmountOptions = NO_OPTIONS): boolean {
  const device = loopDeviceOf(target);
  const removed = unmount(target, options) || unmountDevice(target, options) !== undefined;
  if (removed && device !== undefined) {
    try {
      detachLoop(device, options);
    } catch (err) {
      // ENXIO: autoclear detached it already, at the unmount
      if (!isErrno(err, Errno.ENXIO)) throw err;
    }
  }
  return removed;
}

/** The loop device target names, or the one the top mount at target was made from. */
function loopDeviceOf(target: string): string | undefined {
  if (LOOP_DEVICE.test(target)) return target;
  const path = existingRealpath(target);
  if (path === undefined) return undefined;
  const source = readMountInfo().findLast((m) => m.mountpoint === path)?.source;
  return source !== undefined && LOOP_DEVICE.test(source) ? source : undefined;
}
