/**
 * Changes to an attached loop device, as `losetup --direct-io[=on|off] DEV` and `losetup -b
 * BYTES DEV` make them (its direct I/O, its logical sector size) and `losetup -L` to a device it
 * reuses (its autoclear cleared): ioctls on the device, checked to be a loop device first, as
 * setLoopCapacity's (withLoopDeviceFd).
 */
import { quotePath } from "../errors.ts";
import { requirePath } from "../plan/caller-input.ts";
import { checkSectorSize } from "../plan/loop-size.ts";
import { LO_FLAGS } from "../sys/loop.ts";
import { opsContext, type OpsOptions } from "./context.ts";
import { withLoopDeviceFd } from "./loop.ts";

/**
 * Turn direct I/O on or off for the device's reads and writes of its file (LOOP_SET_DIRECT_IO).
 * The kernel refuses on (EINVAL) where the offset or sector size is not aligned to the file's
 * direct I/O alignment; a device not attached is its ENXIO.
 */
export function setLoopDirectIo(device: string, on: boolean, options: OpsOptions = {}): void {
  requirePath(device, "device", "set direct I/O");
  const ctx = opsContext(options);
  withLoopDeviceFd(device, `turn direct I/O ${on ? "on" : "off"} for ${quotePath(device)}`, ctx, (fd) => ctx.sys.loopSetDirectIo(fd, on));
}

/**
 * Set the device's logical sector size (LOOP_SET_BLOCK_SIZE, Linux 4.14): a power of two from
 * 512, refused before the ioctl otherwise; the largest is the kernel's to refuse (EINVAL).
 */
export function setLoopSectorSize(device: string, bytes: number, options: OpsOptions = {}): void {
  requirePath(device, "device", "set the sector size");
  checkSectorSize(bytes, String(bytes));
  const ctx = opsContext(options);
  withLoopDeviceFd(device, `set the sector size of ${quotePath(device)} to ${bytes}`, ctx, (fd) => ctx.sys.loopSetBlockSize(fd, bytes));
}

/**
 * Clear the device's autoclear, so that it stays attached once its last user closes it:
 * LOOP_GET_STATUS64, then LOOP_SET_STATUS64 of the same status without LO_FLAGS_AUTOCLEAR (only
 * AUTOCLEAR and PARTSCAN are the kernel's to change there). losetup -L does this to a device it
 * reuses (a mount's, which would go at its unmount): its caller asked for a device to keep.
 * Returns whether the flag was set; a device without it is left as it is.
 */
export function clearLoopAutoclear(device: string, options: OpsOptions = {}): boolean {
  requirePath(device, "device", "clear autoclear");
  const ctx = opsContext(options);
  return withLoopDeviceFd(device, `clear the autoclear flag of ${quotePath(device)}`, ctx, (fd) => {
    const status = ctx.sys.loopGetStatus64(fd);
    if ((status.flags & LO_FLAGS.AUTOCLEAR) === 0) return false;
    ctx.sys.loopSetStatus64(fd, { offset: status.offset, sizeLimit: status.sizeLimit, flags: status.flags & ~LO_FLAGS.AUTOCLEAR, fileName: status.fileName });
    return true;
  });
}
