/**
 * Finding the loop device a file is attached to already, for a loop mount to use it again
 * (plan/loop-reuse.ts says why). /proc/partitions names the attached devices; LOOP_GET_STATUS64
 * on an open fd of each tells the file by device and inode, as util-linux's loopcxt_is_used,
 * and gives the range and flags; the fd keeps an autoclear device from going away until the
 * mount holds it. The name sysfs shows (backing_file) is not compared: it is the path the file
 * was opened by, which another path to the same file (a bind mount of its directory, a hard
 * link, another mount namespace) does not match.
 */
import { Errno } from "../errno.ts";
import { MountFailedError, PlanError, quotePath, SyscallError } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { isLoopDevice } from "../plan/loop.ts";
import type { LoopSetup } from "../plan/loop-step.ts";
import { attachedLoopNames, describeLoopRange, loopRangeRelation, reuseShortfalls } from "../plan/loop-reuse.ts";
import { MOUNT_LOOP_TERMS, otherLoopDeviceProblem, overlappingLoopProblem, type LoopProblem, type LoopRequestTerms } from "../plan/loop-request-terms.ts";
import { O } from "../sys/fd.ts";
import { readTextFile } from "../sys/file.ts";
import { LO_FLAGS, logicalSectorSize, type LoopStatus } from "../sys/loop.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { AT_FDCWD } from "../sys/stat.ts";
import type { OpsContext } from "./context.ts";
import type { AttachedLoop } from "./loop.ts";
import { closeQuietly } from "./plan-handles.ts";

/** The kernel's partition list: every block device with a size, the attached loop devices among them. */
export const PARTITIONS_PATH = "/proc/partitions";

/**
 * The device attached to setup.file over the same range, opened, or undefined when there is
 * none (or /proc/partitions cannot be read: then, as containerd, a new device is attached).
 * A device over an overlapping range is an error, as is a read-only one when the mount must
 * be read-write (mount -w); their messages name the request's parts in terms (a mount's
 * options by default, loop attach's flags for it).
 */
export function attachedLoopOf(setup: LoopSetup, ctx: OpsContext, terms: LoopRequestTerms = MOUNT_LOOP_TERMS): AttachedLoop | undefined {
  const names = attachedLoopNamesOrNone(ctx);
  if (names.length === 0) return undefined;
  const file = existingRealpath(setup.file);
  if (file === undefined) return undefined; // the attach names what is wrong with it
  const identity = kernelIdentity(file, ctx);
  for (const name of names) {
    const found = openIfSameFile(name, identity, ctx);
    if (found === undefined) continue;
    const { fd, status } = found;
    const device = `/dev/${name}`;
    const relation = loopRangeRelation(status, setup);
    if (relation === "apart") {
      closeQuietly(ctx.sys, fd);
      continue;
    }
    const readOnly = (status.flags & LO_FLAGS.READ_ONLY) !== 0;
    if (relation === "overlapping" || (readOnly && !setup.readOnly && !setup.readOnlyFallback)) {
      closeQuietly(ctx.sys, fd);
      throw relation === "overlapping" ? overlapError(setup, device, status, terms) : readOnlyError(setup, device);
    }
    if (setup.device !== undefined && setup.device !== device) {
      closeQuietly(ctx.sys, fd);
      throw refusal(otherLoopDeviceProblem(setup.file, device, setup.device, terms));
    }
    ctx.log?.(`loop: ${quotePath(file)} is attached to ${device} already (${describeLoopRange(status)}): mounting that device, as mount(8) does`);
    warnShortfalls(setup, device, fd, status, ctx);
    return { device, number: status.number, fd, readOnly, reused: true };
  }
  return undefined;
}

/** Say what the device reused lacks of what setup asks (direct I/O, ...): it is used as it is. */
function warnShortfalls(setup: LoopSetup, device: string, fd: number, status: LoopStatus, ctx: OpsContext): void {
  const asked = { directIo: setup.directIo, partscan: setup.partscan === true, sectorSize: setup.sectorSize ?? 0 };
  if (!asked.directIo && !asked.partscan && asked.sectorSize === 0) return;
  const found = {
    directIo: (status.flags & LO_FLAGS.DIRECT_IO) !== 0,
    partscan: (status.flags & LO_FLAGS.PARTSCAN) !== 0,
    // BLKSSZGET only when a size was asked: the common reuse makes no extra call
    sectorSize: asked.sectorSize === 0 ? 0 : logicalSectorSize(fd),
  };
  const missing = reuseShortfalls(asked, found);
  if (missing.length === 0) return;
  ctx.warn?.(`${device}, attached to ${quotePath(setup.file)} already, is used as it is, without ${missing.join(", ")}: detach it first (mountkit loop detach ${device}) for a device with ${missing.length === 1 ? "it" : "them"}`);
}

function attachedLoopNamesOrNone(ctx: OpsContext): string[] {
  try {
    return attachedLoopNames(readTextFile(PARTITIONS_PATH));
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    ctx.log?.(`loop: ${PARTITIONS_PATH}: ${err.errnoName}: no look for a device attached to the file already`);
    return [];
  }
}

/**
 * The attached loop devices that show file (any range), by device and inode: what umount
 * IMAGE unmounts (util-linux: loopdev_count_by_backing_file). [] when none is attached or
 * /proc/partitions cannot be read.
 */
export function loopDevicesShowing(file: string, ctx: OpsContext): string[] {
  const names = attachedLoopNamesOrNone(ctx);
  if (names.length === 0) return [];
  const identity = kernelIdentity(file, ctx);
  const devices: string[] = [];
  for (const name of names) {
    const found = openIfSameFile(name, identity, ctx);
    if (found === undefined) continue;
    closeQuietly(ctx.sys, found.fd);
    devices.push(`/dev/${name}`);
  }
  return devices;
}

/**
 * Is device (/dev/loopN) attached to file at offset? By device and inode, as util-linux's
 * loopdev_is_used (mount -a's "already mounted"); false when either cannot be read.
 */
export function loopShowsFile(device: string, file: string, offset: number, ctx: OpsContext): boolean {
  let identity: { device: number; inode: number };
  try {
    identity = kernelIdentity(file, ctx);
  } catch (err) {
    if (err instanceof SyscallError) return false;
    throw err;
  }
  const found = openIfSameFile(device.slice(device.lastIndexOf("/") + 1), identity, ctx);
  if (found === undefined) return false;
  closeQuietly(ctx.sys, found.fd);
  return found.status.offset === offset;
}

/**
 * The loop device through which setup's file, at its offset, is mounted on target already
 * (any mount of the mount point, covered or not), or undefined. util-linux's
 * is_mounted_same_loopfile: mount(8) refuses such a loop mount before it sets up a device
 * ("IMAGE is already mounted", exit 1), where mount(2) of the device reused would be the
 * kernel's bare EBUSY (one filesystem twice on one mount point).
 */
export function loopFileMountedOn(target: string, setup: LoopSetup, ctx: OpsContext, table: () => readonly MountInfo[] = readMountInfo): string | undefined {
  const where = existingRealpath(target);
  const file = existingRealpath(setup.file);
  if (where === undefined || file === undefined) return undefined;
  return table().find((m) => m.mountpoint === where && isLoopDevice(m.source) && loopShowsFile(m.source, file, setup.offset, ctx))?.source;
}

/** The file's device and inode as LOOP_GET_STATUS64 reports them (lo_device: the kernel's new_encode_dev). */
function kernelIdentity(file: string, ctx: OpsContext): { device: number; inode: number } {
  const id = ctx.sys.statxIdentity(AT_FDCWD, file, 0);
  const major = Math.floor(id.device / 2 ** 32);
  const minor = id.device % 2 ** 32;
  return { device: (minor % 256) + major * 256 + (minor - (minor % 256)) * 4096, inode: id.inoHigh * 2 ** 32 + id.inoLow };
}

/**
 * The device opened, with its status, when it is attached to that very file; undefined when it
 * is not, or was detached meanwhile (ENXIO), or cannot be opened.
 */
function openIfSameFile(name: string, identity: { device: number; inode: number }, ctx: OpsContext): { fd: number; status: LoopStatus } | undefined {
  let fd: number;
  try {
    // Read-only is enough: mount(2) opens the device by its path; this fd only holds it.
    fd = ctx.sys.open(`/dev/${name}`, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
  try {
    const status = ctx.sys.loopGetStatus64(fd);
    if (status.device === identity.device && status.inode === identity.inode) return { fd, status };
  } catch (err) {
    if (!(err instanceof SyscallError && err.errno === Errno.ENXIO)) {
      closeQuietly(ctx.sys, fd);
      throw err;
    }
  }
  closeQuietly(ctx.sys, fd);
  return undefined;
}

function overlapError(setup: LoopSetup, device: string, status: LoopStatus, terms: LoopRequestTerms): MountFailedError {
  const problem = overlappingLoopProblem(setup.file, device, status, setup, terms);
  return new MountFailedError(`overlapping loop device exists: ${problem.why}`, new PlanError(problem.why), { hint: problem.hint });
}

/** Only a mount reaches it: loop attach falls back to read-only, as losetup does. */
function readOnlyError(setup: LoopSetup, device: string): MountFailedError {
  return refusal({
    why: `${quotePath(setup.file)} is attached to ${device} read-only, and read-write was asked (-w)`,
    hint: `mount it read-only (-r), or without -w, or detach ${device} first (mountkit loop detach ${device})`,
  });
}

function refusal({ why, hint }: LoopProblem): MountFailedError {
  return new MountFailedError(why, new PlanError(why), { hint });
}
