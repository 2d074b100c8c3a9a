/**
 * The attached loop devices, as `losetup --list` shows them: /sys/block/loopN for every N,
 * and what sysfs says of each (loop-describe.ts). Without sysfs (a minimal host that mounts
 * only /proc), as losetup then: the loop devices /proc/partitions lists, and what
 * LOOP_GET_STATUS64 and BLKSSZGET say of each, opened in /dev.
 */
import { Errno } from "../errno.ts";
import { isErrno, PlanError, SyscallError } from "../errors.ts";
import { optionalPath, requireOptionsObject } from "../plan/caller-input.ts";
import { isLoopDevice } from "../plan/loop.ts";
import { attachedLoopNames } from "../plan/loop-reuse.ts";
import { readTextFile } from "../sys/file.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { O } from "../sys/fd.ts";
import { fileType } from "../sys/stat.ts";
import { opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { attachedLoopDevice, loopDeviceBySysfs, loopDeviceByStatus, withBackingIdentity, type LoopDevice } from "./loop-describe.ts";
import { loopDevicesShowing, PARTITIONS_PATH } from "./loop-reuse.ts";
import { SYS_BLOCK } from "./loop-sysfs.ts";
import { closeQuietly } from "./plan-handles.ts";

export type { LoopDevice } from "./loop-describe.ts";

export interface ListLoopOptions extends OpsOptions {
  /**
   * Read each device's backing file device and inode (backingDevice, backingInode) where sysfs
   * does not show them: an open and a LOOP_GET_STATUS64 per device, as losetup's BACK-INO and
   * BACK-MAJ:MIN columns cost (root only; left out for a device that cannot be opened).
   */
  backingIdentity?: boolean;
}

/**
 * The attached loop devices in sysfs's order, as losetup -l lists them (the kernel's directory
 * order, not by number), or only those attached to file (losetup -j FILE): by device and inode
 * (LOOP_GET_STATUS64), as losetup, so another path to the file matches too; by its real path
 * where a device cannot be opened (not root). A file that cannot be resolved (missing, deleted,
 * beneath a directory not searchable) matches by the name given only, as losetup's -j when its
 * stat() fails: a missing file lists nothing, and is no error.
 */
export function listLoopDevices(file?: string, options: ListLoopOptions = {}): LoopDevice[] {
  // a NUL in file would list the devices of nothing, silently: refused as bad input
  optionalPath(file, "file", "list loop devices");
  requireOptionsObject(options, "list loop devices");
  const ctx = opsContext(options);
  const resolved = file === undefined ? undefined : existingRealpath(file);
  const showing = resolved === undefined ? [] : loopDevicesShowing(resolved, ctx);
  const wantedName = resolved ?? file;
  const devices: LoopDevice[] = [];
  const sysfs = sysfsLoopNames(ctx);
  for (const name of sysfs ?? partitionLoopNames()) {
    const device = sysfs ? loopDeviceBySysfs(name) : loopDeviceByStatus(name, ctx);
    if (device === undefined) continue;
    if (file === undefined || showing.includes(device.device) || device.backingFile === wantedName) devices.push(options.backingIdentity ? withBackingIdentity(device, ctx) : device);
  }
  return devices;
}

/**
 * The loop device ("/dev/loopN") path names, following links, or undefined when it names none
 * (a file, another block device, nothing): how `loop list DEV` tells a device to describe from
 * a FILE whose devices to list.
 */
export function loopDeviceNamed(path: string): string | undefined {
  const real = existingRealpath(path);
  return real !== undefined && isLoopDevice(real) && fileType(real) === "block" ? real : undefined;
}

/**
 * One loop device described (losetup --list DEV), or undefined when it is not attached; what
 * is no loop device ("/dev/sda", a file) is undefined too: the caller names it.
 */
export function describeLoopDevice(device: string, options: ListLoopOptions = {}): LoopDevice | undefined {
  const found = attachedLoopDevice(device);
  return found === undefined || !options.backingIdentity ? found : withBackingIdentity(found, opsContext(options));
}

/**
 * loopN for every /sys/block/loopN, attached or not, in the directory's order (getdents64(2)'s,
 * as losetup reads it); undefined without sysfs. Through the seam, not node:fs, whose load
 * costs a start-up about 1 ms (docs/bench.md): the losetup link lists on its start-up path.
 */
function sysfsLoopNames(ctx: OpsContext): string[] | undefined {
  let fd: number;
  try {
    fd = ctx.sys.open(SYS_BLOCK, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined; // sysfs not mounted on /sys
    if (err instanceof SyscallError) throw new PlanError(`list loop devices: ${SYS_BLOCK}: ${err.callFailure}`, { cause: err });
    throw err;
  }
  try {
    return ctx.sys.readDirFd(fd, SYS_BLOCK).filter((name) => /^loop\d+$/.test(name));
  } catch (err) {
    if (err instanceof SyscallError) throw new PlanError(`list loop devices: ${SYS_BLOCK}: ${err.callFailure}`, { cause: err });
    throw err;
  } finally {
    closeQuietly(ctx.sys, fd);
  }
}

/** The attached loop devices /proc/partitions lists (those with a size), as losetup reads them without sysfs. */
function partitionLoopNames(): string[] {
  try {
    return attachedLoopNames(readTextFile(PARTITIONS_PATH));
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw new PlanError(`list loop devices: ${SYS_BLOCK} is missing and ${PARTITIONS_PATH} cannot be read: ${err.callFailure}`, {
      hint: "mount sysfs on /sys (mount -t sysfs sysfs /sys), or proc on /proc",
    });
  }
}
