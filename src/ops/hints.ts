/**
 * Hints for failed mounts: what mount(8) would say. Runs only on the failure path, so it
 * may look at the filesystem.
 */
import { Errno } from "../errno.ts";
import { quotePath, SyscallError } from "../errors.ts";
import { MS } from "../plan/flags.ts";
import type { Mount } from "../plan/mount-request.ts";
import { isBind, isPropagationChange } from "../plan/mount-request.ts";
import { classifyOptions } from "../plan/options.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { readTextFile } from "../sys/file.ts";
import { typesOfMagic } from "../plan/fs-magic.ts";
import { hasTransform, KNOWN_TRANSFORMS } from "../plan/activation.ts";
import { blockDeviceNumber, fileType, statfs, type FileType } from "../sys/stat.ts";
import { mountAtTarget, moveHint, moveLoopHint, notMountPointHint, unbindableSourceHint } from "./move-hints.ts";
import { overlayHint } from "./overlay-hints.ts";
import { TOP_MOUNT_ONLY } from "./idmap-refusal.ts";

const NEEDS_PRIVILEGE = "mounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root)";

// The calls that need CAP_SYS_ADMIN; another's EPERM/EACCES (open(2) of an immutable image,
// readlink(2) of another process's /proc/PID/root) has nothing to do with privilege.
const MOUNT_CALLS = new Set(["mount(2)", "fsopen(2)", "fsconfig(2)", "fsmount(2)", "move_mount(2)", "open_tree(2)", "mount_setattr(2)"]);

/** The privilege hint, where a missing privilege can be the cause: a mount call, made by a user other than root. */
function privilegeHint(err: SyscallError): string | undefined {
  return MOUNT_CALLS.has(err.syscall) && process.geteuid?.() !== 0 ? NEEDS_PRIVILEGE : undefined;
}

export function mountHint(err: SyscallError, mount: Mount, target: string): string | undefined {
  if (mount.type === "overlay") {
    const hint = overlayHint(err, mount);
    if (hint !== undefined) return hint ?? undefined;
  }
  switch (err.errno) {
    case Errno.ENOENT:
      if (fileType(target) === undefined) {
        // mount(8): "mount point is a symbolic link to nowhere"
        if (fileType(target, false) === "link") return `mount point ${quotePath(target)} is a symbolic link to nowhere`;
        return `mount point ${quotePath(target)} does not exist`;
      }
      // the mount point is there, so what the kernel did not find is the source, relative or
      // not, as libmount reads it ("special device x does not exist")
      if (mount.source !== "" && fileType(mount.source) === undefined) {
        return `source ${quotePath(mount.source)} does not exist`;
      }
      return undefined;
    case Errno.ENOTDIR:
      return notDirectoryHint(mount, target);
    case Errno.ENODEV:
      return transformedTypeHint(mount.type) ?? `unknown filesystem type ${JSON.stringify(mount.type)} (not in /proc/filesystems)`;
    case Errno.ENOTBLK:
      return `source ${quotePath(mount.source)} is not a block device${fileType(mount.source) === "file" ? " (use -o loop for an image file)" : ""}`;
    case Errno.EROFS:
    case Errno.EACCES:
      if (isWriteProtected(mount.source)) {
        return `${quotePath(mount.source)} is write-protected, and read-write was asked explicitly (-w): mount it read-only (-r), or leave out -w`;
      }
      if (classifyOptions(mount.options).flags & MS.REMOUNT) {
        // the kernel says EACCES (or EROFS) for a remount read-write of a write-protected device
        const device = writeProtectedDeviceAt(target);
        if (device !== undefined) return `cannot remount ${quotePath(device)} read-write: it is write-protected (keep it read-only)`;
        if (err.errno === Errno.EROFS) return readOnlyForGoodHint(target);
      }
      return err.errno === Errno.EACCES ? privilegeHint(err) : undefined;
    case Errno.EPERM:
      return privilegeHint(err);
    case Errno.EBUSY: {
      const options = classifyOptions(mount.options);
      const newMount = (options.flags & (MS.REMOUNT | MS.BIND | MS.MOVE)) === 0 && !isPropagationChange(mount, options);
      const mounted = newMount ? busyDeviceHint(mount.source, target, (options.flags & MS.RDONLY) !== 0) : undefined;
      return mounted ?? `${quotePath(target)} or the source is busy`;
    }
    case Errno.EINVAL:
      if (err.syscall === "mount_setattr(2)" && isIdmapped(mount)) return idmapHint(mount);
      if (isTheMove(err, mount)) return moveHint(mount.source, target);
      if (err.syscall === "move_mount(2)") {
        const hint = attachKindHint(mount, target);
        if (hint !== undefined) return hint;
      }
      if (changesExisting(mount)) return notMountPointHint(target) ?? (classifyOptions(mount.options).flags & MS.REMOUNT ? REMOUNT_EINVAL : GENERIC_EINVAL);
      if (isTheBind(err, mount)) return unbindableSourceHint(mount.source) ?? GENERIC_EINVAL;
      return GENERIC_EINVAL;
    case Errno.ELOOP:
      return isTheMove(err, mount) ? moveLoopHint(mount.source, target) : undefined;
    case Errno.EIO: {
      const options = classifyOptions(mount.options);
      const newMount = (options.flags & (MS.REMOUNT | MS.BIND | MS.MOVE)) === 0 && !isPropagationChange(mount, options);
      if (!newMount || !SUPERBLOCK_CALLS.has(err.syscall) || blockDeviceNumber(mount.source) === undefined) return undefined;
      return ioErrorHint(mount.source, (options.flags & MS.RDONLY) !== 0);
    }
    case Errno.EMFILE:
      return openFilesHint();
    case Errno.ENOSPC:
      // a mount call's ENOSPC is the mount count, never disk space
      return MOUNT_CALLS.has(err.syscall) ? mountMaxHint() : undefined;
    case Errno.ENFILE:
      return "the system's table of open files is full (fs.file-max)";
    default:
      return undefined;
  }
}

/**
 * EBUSY of a new mount of block device source: where its filesystem is mounted already, as
 * mount(8) says it ("/dev/sdb1 already mounted on /mnt"). The kernel refuses one filesystem twice
 * on one mount point, and a mount that asks for the other read-only state than its superblock's
 * (readOnly: whether this one asked for read-only). undefined when source is no block device or
 * is mounted nowhere this process sees.
 */
export function busyDeviceHint(source: string, target: string, readOnly: boolean, table: () => readonly MountInfo[] = readMountInfo): string | undefined {
  const device = blockDeviceNumber(source);
  if (device === undefined) return undefined;
  let mounts: MountInfo[];
  try {
    mounts = table().filter((m) => `${m.major}:${m.minor}` === device);
  } catch {
    return undefined; // a hint never hides the error
  }
  const where = existingRealpath(target);
  if (mounts.some((m) => m.mountpoint === where)) return `${quotePath(source)} is already mounted on ${quotePath(target)}`;
  const other = mounts[0];
  if (other === undefined) return undefined;
  const mounted = `${quotePath(source)} is already mounted on ${quotePath(other.mountpoint)}`;
  const otherReadOnly = other.superOptions.split(",").includes("ro");
  if (otherReadOnly === readOnly) return mounted;
  return otherReadOnly
    ? `${mounted}, read-only: mount it read-only here too (-r), or unmount it there first`
    : `${mounted}, read-write: mount it read-write here too (without ro), or unmount it there first`;
}

/** The calls that make a filesystem from a device: where its superblock is read (and a read-write one written). */
const SUPERBLOCK_CALLS = new Set(["mount(2)", "fsconfig(2)"]);

/**
 * EIO of a new mount of block device `device`: the filesystem's reads at mount, or the writes a
 * read-write mount makes at once (journal recovery, the superblock's mount count), failed on it;
 * mount(8) says "can't read superblock on DEV". A loop device attached read-write over a
 * write-protected block device (a read-only loop device, a read-only disk) fails every write,
 * and read-only is what works. backing: the file the loop device shows (from sysfs when not given).
 */
export function ioErrorHint(device: string, readOnly: boolean, backing: string | undefined = loopBackingFile(device)): string {
  const hint = `can't read superblock on ${quotePath(device)}: the device failed the filesystem's first reads or writes (dmesg(1) may say more)`;
  if (readOnly || backing === undefined || !isWriteProtected(backing) || isWriteProtected(device)) return hint;
  return `${hint}; it is a loop device over ${quotePath(backing)}, a write-protected block device, attached read-write, so every write fails: mount it read-only (-r)`;
}

/** The file a loop device shows, as sysfs names it (/sys/dev/block/MAJ:MIN/loop/backing_file); undefined for any other device. */
function loopBackingFile(device: string): string | undefined {
  const number = blockDeviceNumber(device);
  if (number === undefined) return undefined;
  try {
    return readTextFile(`/sys/dev/block/${number}/loop/backing_file`).trim() || undefined;
  } catch {
    return undefined; // no loop device, or detached meanwhile
  }
}

const REMOUNT_EINVAL = "the filesystem refuses an option of the remount (some are taken only by a new mount)";
const GENERIC_EINVAL = "wrong fs type, bad option, bad superblock, or a propagation/remount on a path that is not a mount point";

/** A remount, or a propagation change alone: the request acts on a mount that exists at the target. */
function changesExisting(mount: Mount): boolean {
  const options = classifyOptions(mount.options);
  if (options.flags & MS.REMOUNT) return true;
  return isPropagationChange(mount, options);
}

/**
 * ENOTDIR: a path component is no directory, or a bind puts a file on a directory or a
 * directory on a file, which the kernel refuses alike; the hint names which side is which.
 */
function notDirectoryHint(mount: Mount, target: string): string {
  const targetType = fileType(target);
  const sourceType = isBind({ mount }) ? fileType(mount.source) : undefined;
  if (targetType !== undefined && sourceType !== undefined && (targetType === "dir") !== (sourceType === "dir")) {
    const kind = (type: FileType) => (type === "dir" ? "a directory" : "no directory");
    return `a bind mounts a directory on a directory and a file on a file: source ${quotePath(mount.source)} is ${kind(sourceType)}, mount point ${quotePath(target)} ${kind(targetType)}`;
  }
  if (targetType !== undefined && isBind({ mount }) && sourceType === undefined) return `a path component of source ${quotePath(mount.source)} is not a directory`;
  return `mount point ${quotePath(target)} is not a directory, or a path component is not`;
}

/** The bind's own call failed: mount(2) given the source, or open_tree(2) cloning it. */
function isTheBind(err: SyscallError, mount: Mount): boolean {
  return isBind({ mount }) && ((err.syscall === "mount(2)" && err.paths.length === 2) || err.syscall === "open_tree(2)");
}

/** The move's own call failed (not a propagation change after it, which names TARGET alone). */
function isTheMove(err: SyscallError, mount: Mount): boolean {
  return err.syscall === "mount(2)" && (classifyOptions(mount.options).flags & MS.MOVE) !== 0 && err.paths.length === 2;
}

function isIdmapped(mount: Mount): boolean {
  const o = classifyOptions(mount.options);
  return o.uidmap !== undefined || o.gidmap !== undefined || o.idmap !== undefined;
}

/**
 * EINVAL of the idmap's mount_setattr: the filesystem cannot be idmapped (proc, sysfs; tmpfs
 * before Linux 6.3), and an rbind idmaps every mount of the source's tree, submounts too,
 * unless OCI's idmap asks for its top mount alone.
 */
function idmapHint(mount: Mount): string {
  const hint = "the filesystem does not support idmapped mounts, or the mapping is refused";
  const options = classifyOptions(mount.options);
  if (!(options.flags & MS.REC) || options.idmapRecursive === false) return hint;
  return `${hint}; rbind idmaps every mount in ${quotePath(mount.source)}'s tree, and one of them may be the one (proc, sysfs...): ${TOP_MOUNT_ONLY}`;
}

/**
 * move_mount's EINVAL when a directory meets a file (mount(2) says ENOTDIR there; do_move_mount
 * says EINVAL): what is attached, a bind's source or a new filesystem's root (a directory), and
 * the mount point must both be directories or both not. undefined when they match.
 */
function attachKindHint(mount: Mount, target: string): string | undefined {
  const targetType = fileType(target);
  if (targetType === undefined) return undefined;
  const bind = isBind({ mount });
  const attachedType = bind ? fileType(mount.source) : "dir";
  if (attachedType === undefined || (attachedType === "dir") === (targetType === "dir")) return undefined;
  const attached = bind ? quotePath(mount.source) : `a new ${mount.type || "filesystem"}`;
  return targetType === "dir"
    ? `mount point ${quotePath(target)} is a directory, and ${attached} is not: a file is mounted on a file`
    : `mount point ${quotePath(target)} is not a directory, and ${attached} is one: a directory is mounted on a directory`;
}

/** ENOSPC of a mount call: the namespace holds as many mounts as fs.mount-max allows. */
function mountMaxHint(): string {
  let limit: string | undefined;
  try {
    limit = readTextFile("/proc/sys/fs/mount-max").trim();
  } catch {
    // no /proc/sys: the hint without the number
  }
  return `the mount namespace holds the most mounts fs.mount-max${limit === undefined ? "" : ` (${limit})`} allows, those propagated into it counted: unmount some, or raise the sysctl`;
}

/**
 * EMFILE: the limit the process ran into, read from /proc/self/limits ("Max open files  20  20
 * files"), and what holds many fds: an idmapped overlay's lower layers are each an fd until the
 * overlay is made.
 */
function openFilesHint(): string {
  let limit: string | undefined;
  try {
    limit = /^Max open files\s+(\S+)/m.exec(readTextFile("/proc/self/limits"))?.[1];
  } catch {
    // no /proc: the hint without the number
  }
  const held = "an idmapped overlay holds one per lower layer until it is made";
  return `more files open than RLIMIT_NOFILE${limit === undefined ? "" : ` (${limit})`} allows; ${held}: raise it (ulimit -n, prlimit --nofile)`;
}

/**
 * EROFS of a remount: the filesystem cannot be made writable. mount(8): "cannot remount TYPE
 * read-write, is write-protected".
 */
function readOnlyForGoodHint(target: string): string {
  let types: readonly string[] | undefined;
  try {
    types = typesOfMagic(statfs(target).type);
  } catch {
    types = undefined;
  }
  if (types?.includes("overlay")) return `the overlay at ${quotePath(target)} has no upperdir, so it is read-only for good: mount it again with upperdir= and workdir=`;
  return `the filesystem at ${quotePath(target)} cannot be made writable (its device is write-protected, or it is read-only by nature): keep it read-only`;
}

/** Whether source is a block device that is read-only. */
function isWriteProtected(source: string): boolean {
  const device = blockDeviceNumber(source);
  return device !== undefined && isReadOnlyDevice(device);
}

/** The source of the mount at target when its device is write-protected; undefined otherwise, or when the table cannot say. */
function writeProtectedDeviceAt(target: string): string | undefined {
  const mounted = mountAtTarget(target);
  return mounted && isReadOnlyDevice(`${mounted.major}:${mounted.minor}`) ? mounted.source : undefined;
}

/** Whether the block device MAJ:MIN is read-only (/sys/dev/block/MAJ:MIN/ro, as blockdev --getro). */
function isReadOnlyDevice(device: string): boolean {
  try {
    return readTextFile(`/sys/dev/block/${device}/ro`).trim() === "1";
  } catch {
    return false;
  }
}

/**
 * A type with containerd's transform prefixes ("format/mkdir/overlay") given to a single mount:
 * the kernel knows no such type (containerd#12796 is this ENODEV). The transforms fill a mount
 * from the list's earlier mounts, so only a list runs them (plan/activation.ts).
 */
function transformedTypeHint(type: string): string | undefined {
  if (!hasTransform(type)) return undefined;
  const names = type.split("/").slice(0, -1);
  if (!names.every((name) => (KNOWN_TRANSFORMS as readonly string[]).includes(name))) return undefined;
  const prefixes = names.map((p) => `${p}/`);
  const named = prefixes.length === 1 ? `${prefixes[0]} is` : `${prefixes.slice(0, -1).join(", ")} and ${prefixes.at(-1)} are`;
  return `${JSON.stringify(type)} is no filesystem type: ${named} containerd's mount transforms, which work on a list of mounts (mountkit apply; the library's mountAll, withTempMount)`;
}
