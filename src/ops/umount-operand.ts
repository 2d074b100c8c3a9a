/**
 * One operand of umount(8): a mount point, else a block device or UUID=/LABEL=/PART... tag
 * naming one (its latest reachable mount), else an image file with one loop device attached
 * (that device's mount, as util-linux); a name that is no path (srv:/exp, tmpfs) is a mount's
 * source (its latest reachable mount), with umount's -r (a mount that stays busy is
 * remounted read-only: unmount-readonly.ts) and -d (the loop device the mount was made from is
 * detached afterwards; one attached by hand stays attached otherwise, a loop mount's own has
 * autoclear). With externalHelpers (umount(8), unless -i), a mount whose type has an
 * umount.TYPE helper is unmounted by it (umount-helper.ts).
 */
import { Errno } from "../errno.ts";
import { isErrno, PlanError, quotePath, SyscallError } from "../errors.ts";
import { mountsOfSource } from "../mountinfo/lookup.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { typesOfMagic } from "../plan/fs-magic.ts";
import { isLoopDevice } from "../plan/loop.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { fileType } from "../sys/stat.ts";
import { NO_OPTIONS, opsContext } from "./context.ts";
import { stopPoint } from "./stop.ts";
import { detachLoop } from "./loop.ts";
import { attachedLoopDevice } from "./loop-describe.ts";
import { loopDevicesShowing } from "./loop-reuse.ts";
import { checkUnmountCall, mountPointOfDevice, unmount, type UnmountOptions } from "./unmount.ts";
import { unmountOrRemountReadOnly, type UnmountOrReadOnly } from "./unmount-readonly.ts";
import { helperUnmounter, type HelperUnmounter } from "./umount-helper.ts";
import { statmountUsable, superblockStatus } from "./superblock-status.ts";
import { mountTableFor } from "./umount-fake.ts";

export interface UmountOperandOptions extends UnmountOptions {
  /** umount -r: remount read-only what stays busy */
  readOnlyWhenBusy?: boolean;
  /** umount -d: detach the loop device the mount was made from */
  detachLoop?: boolean;
  /**
   * umount -c: take the path as given. The kernel is given it so anyway; what it changes is
   * that the mount point is never statfs()ed (mountinfo tells its type), as with lazy and force.
   */
  noCanonicalize?: boolean;
}

/** Unmount what operand names, as umount(8) does for one operand. */
export function umountOperand(operand: string, options: UmountOperandOptions = NO_OPTIONS): UnmountOrReadOnly {
  checkUnmountCall(operand, options);
  // A tag names a device only; anything else is tried as a mount point first.
  if (deviceTagOf(operand) === undefined) {
    // No such path: as umount(8), a mount's source name (srv:/exp, a tmpfs's name)
    const point = fileType(operand) === undefined ? mountPointOfSource(operand, "unmount", options) : undefined;
    const outcome = unmountAt(point ?? operand, options);
    if (outcome !== "not-mounted" || point !== undefined) return outcome;
  }
  const point = mountPointOfDevice(operand, "unmount", options) ?? mountPointOfImage(operand, options);
  return point === undefined ? "not-mounted" : unmountAt(point, options);
}

/**
 * Where the latest reachable mount whose source is source (as mountinfo writes it) is mounted,
 * chosen as for a device (mountsOfSource); undefined when none is. Every mount of it hidden
 * under other mounts: a PlanError, since umount2 of its mount point would remove another one.
 */
export function mountPointOfSource(source: string, action = "unmount", options: UnmountOptions = NO_OPTIONS): string | undefined {
  const { all, reachable } = mountsOfSource(mountTableFor(options), source);
  if (all.length > 0 && reachable === undefined) {
    const where = all.map((m) => quotePath(m.mountpoint)).join(", ");
    throw new PlanError(`${action} ${quotePath(source)}: it is mounted only under other mounts (on ${where})`, {
      hint: `unmount what is mounted over it first${action === "unmount" ? ", or name the mount point" : ""}`,
    });
  }
  return reachable?.mountpoint;
}

/** The mount point of the one loop device attached to image (a regular file), if there is one. */
function mountPointOfImage(image: string, options: UmountOperandOptions): string | undefined {
  const device = loopDeviceOfImage(image, options);
  return device === undefined ? undefined : mountPointOfDevice(device, "unmount", options);
}

/**
 * The one loop device attached to image when it is a regular file; undefined when it is no
 * file or none is attached. Attached to several, it names no one filesystem: a PlanError.
 */
export function loopDeviceOfImage(image: string, options: UmountOperandOptions): string | undefined {
  if (fileType(image) !== "file") return undefined;
  const devices = loopDevicesShowing(image, opsContext(options));
  if (devices.length > 1) {
    throw new PlanError(`unmount ${quotePath(image)}: it is attached to ${devices.length} loop devices (${devices.join(", ")})`, {
      hint: "name the loop device or the mount point to unmount",
    });
  }
  return devices[0];
}

/**
 * The top mount at point, under -r and -d, or by its type's umount.TYPE helper. A caller that
 * unmounts many (umount -a, -A) passes one helperUnmounter, so that each type is looked up once,
 * and known, the top mount's entry, when its own read of the table has it (-A): else the table
 * is read for it where -d or a helper needs it.
 */
export function unmountAt(point: string, options: UmountOperandOptions, viaHelper: HelperUnmounter | undefined = helperUnmounter(options), known?: MountInfo): UnmountOrReadOnly {
  // a stop asked for while an earlier unmount and its detach were made (ops/stop.ts) ends the run here
  if (options.stop !== undefined) stopPoint(opsContext(options));
  // Its mountinfo entry, read once and before it goes: the loop device (-d), the type (helpers).
  const top = known ?? (options.detachLoop || (viaHelper !== undefined && mayHaveHelper(point, viaHelper, options)) ? topMountAt(point, options) : undefined);
  const loop = options.detachLoop && top !== undefined && isLoopDevice(top.source) && !detachesItself(top.source) ? top.source : undefined;
  // the unmount and the detach are one: no stop signal may end the process between them, with
  // the device left attached (ops/stop.ts)
  if (loop !== undefined) opsContext(options).stop?.arm();
  const outcome = unmountTop(point, top, options, viaHelper);
  // umount --fake detaches nothing, as util-linux's
  if (outcome === "unmounted" && loop !== undefined && options.fakeUnmounts === undefined) {
    try {
      detachLoop(loop, options);
    } catch (err) {
      // ENXIO: detached already (by hand, between the two calls)
      if (!isErrno(err, Errno.ENXIO)) throw err;
    }
  }
  return outcome;
}

/**
 * Whether a loop device has autoclear, told before the unmount: the kernel detaches it when its
 * last user closes it (at the unmount, or later, as LOOP_CLR_FD would for a device in use), so
 * -d has nothing to do. Detaching it by name after the unmount could detach another's device:
 * once freed, the same /dev/loopN may be attached again at once (containerd#12561).
 */
function detachesItself(device: string): boolean {
  return attachedLoopDevice(device)?.autoclear ?? false;
}

function unmountTop(point: string, top: MountInfo | undefined, options: UmountOperandOptions, viaHelper: HelperUnmounter | undefined): UnmountOrReadOnly {
  if (viaHelper !== undefined && top !== undefined && viaHelper(top)) return "unmounted";
  if (options.readOnlyWhenBusy) return unmountOrRemountReadOnly(point, options);
  return unmount(point, options) ? "unmounted" : "not-mounted";
}

/**
 * Whether the mount at point may be of a type with an umount.TYPE helper, told without reading
 * mountinfo where its superblock's magic names the type, as util-linux's umount tells it: a read
 * of the whole table per operand made `umount` of 4000 mount points take 65 s where a table holds
 * 8000. The magic comes from statmount(2), which does not ask the filesystem; before Linux 6.8
 * from statfs(2), which does, and waits for good on a FUSE mount whose daemon hangs: there, as
 * util-linux does, -l, -f and -c leave statfs out and let mountinfo tell. A magic not known here,
 * or a point that cannot be reached, may be anything: true.
 */
function mayHaveHelper(point: string, viaHelper: HelperUnmounter, options: UmountOperandOptions): boolean {
  // a fake's table may have another mount on top at point than the kernel's: mountinfo tells
  if (options.fakeUnmounts !== undefined) return true;
  const magic = superblockMagic(point, options);
  if (magic === undefined) return true;
  const types = typesOfMagic(magic);
  if (types === undefined) return true;
  // a loop, not some: every umount asks, and an array method's first use costs start-up time (docs/bench.md)
  for (const type of types) if (viaHelper.hasHelper(type)) return true;
  return false;
}

/** The magic of the filesystem at point, or undefined when it is not to be asked or cannot be. */
function superblockMagic(point: string, options: UmountOperandOptions): number | undefined {
  const ctx = opsContext(options);
  try {
    if (statmountUsable(ctx)) {
      const status = superblockStatus(point, ctx, "statfs(2) or mountinfo tells the type");
      if (status !== undefined) return status.superblockMagic;
    }
    if (options.lazy || options.force || options.noCanonicalize) return undefined;
    return ctx.sys.statfs(point).type;
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
}

/** The mountinfo entry of the top mount at path (its canonical path), if one is there. */
function topMountAt(path: string, options: UmountOperandOptions): MountInfo | undefined {
  const canonical = existingRealpath(path);
  return canonical === undefined ? undefined : mountTableFor(options).findLast((m) => m.mountpoint === canonical);
}
