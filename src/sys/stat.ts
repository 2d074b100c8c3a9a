/**
 * statfs(2) and statx(2) (the mount ID, a file's identity and its type, what a copy of it
 * needs), bound from libc.
 */
import { bindLibc, cDirFd, cPath, syscallFailure } from "./libc.ts";
import { readU64 } from "./u64.ts";
import { cText } from "../path-text.ts";

const libc = bindLibc({
  statfs: { args: ["cstring", "ptr"], returns: "i32" },
  statx: { args: ["i32", "cstring", "i32", "u32", "ptr"], returns: "i32" },
});

/** sizeof(struct statfs) on 64-bit Linux, and the offsets read from it. */
export const STATFS_SIZE = 120;
const STATFS_F_TYPE = 0;
const STATFS_F_BSIZE = 8;
const STATFS_F_BLOCKS = 16;
const STATFS_F_BFREE = 24;
const STATFS_F_BAVAIL = 32;
const STATFS_F_FILES = 40;
const STATFS_F_FFREE = 48;
const STATFS_F_FRSIZE = 72;
const STATFS_F_FLAGS = 80;

/** sizeof(struct statx), and the offsets of the fields read from it. */
export const STATX_SIZE = 256;
export const STATX_OFFSET = {
  mask: 0, // u32
  attributes: 8, // u64
  nlink: 16, // u32
  uid: 20, // u32
  gid: 24, // u32
  mode: 28, // u16
  ino: 32, // u64
  size: 40, // u64
  attributesMask: 56, // u64
  atime: 64, // struct statx_timestamp {s64 tv_sec; u32 tv_nsec; s32 reserved}
  mtime: 112, // struct statx_timestamp
  rdevMajor: 128, // u32
  rdevMinor: 132, // u32
  devMajor: 136, // u32
  devMinor: 140, // u32
  mntId: 144, // u64
} as const;
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_INO = 0x100;
/** the kernel's STATX_SIZE (here STATX_SIZE is sizeof(struct statx)) */
export const STATX_FILE_SIZE = 0x200;
/** type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks */
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_MNT_ID = 0x1000;
/** stx_mnt_id as the unique, never reused 64-bit mount ID (Linux 6.8): what statmount(2) takes */
export const STATX_MNT_ID_UNIQUE = 0x4000;
/** stx_attributes: the file is the root of a mount (Linux 5.8; stx_attributes_mask says whether the kernel reports it) */
export const STATX_ATTR_MOUNT_ROOT = 0x2000;
export const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_NO_AUTOMOUNT = 0x800;
/** answer from the inode as cached: a FUSE or network filesystem is not asked (a hung daemon) */
const AT_STATX_DONT_SYNC = 0x4000;

export interface Statfs {
  /** f_type: the filesystem magic (TMPFS_MAGIC 0x01021994, FUSE_SUPER_MAGIC 0x65735546, ...) */
  readonly type: number;
  /** f_flags: ST_* bits */
  readonly flags: number;
}

// One buffer each: calls are synchronous and each Worker has its own module instance.
const statfsBuffer = new Uint8Array(STATFS_SIZE);
const statfsView = new DataView(statfsBuffer.buffer);
const statxBuffer = new Uint8Array(STATX_SIZE);
const statxView = new DataView(statxBuffer.buffer);

/** statfs(path, &buf) */
export function statfs(path: string): Statfs {
  if (libc().statfs(cPath(path, "statfs(2)"), statfsBuffer) !== 0) throw syscallFailure("statfs(2)", [path]);
  return {
    type: Number(statfsView.getBigInt64(STATFS_F_TYPE, true)),
    flags: Number(statfsView.getBigInt64(STATFS_F_FLAGS, true)),
  };
}

/** A filesystem's space and inodes, as statvfs(3) reports them (findmnt's SIZE, USED, AVAIL, USE%). */
export interface FilesystemSpace {
  /** f_frsize, or f_bsize when the filesystem leaves it 0 (as glibc's statvfs) */
  readonly blockSize: bigint;
  readonly blocks: bigint;
  readonly freeBlocks: bigint;
  /** free blocks an unprivileged user may take */
  readonly availableBlocks: bigint;
  readonly files: bigint;
  readonly freeFiles: bigint;
}

/** statfs(path, &buf)'s counts: exact (a u64 each), for the rare caller that prints them. */
export function statfsSpace(path: string): FilesystemSpace {
  if (libc().statfs(cPath(path, "statfs(2)"), statfsBuffer) !== 0) throw syscallFailure("statfs(2)", [path]);
  const field = (offset: number) => statfsView.getBigUint64(offset, true);
  return {
    blockSize: field(STATFS_F_FRSIZE) || field(STATFS_F_BSIZE),
    blocks: field(STATFS_F_BLOCKS),
    freeBlocks: field(STATFS_F_BFREE),
    availableBlocks: field(STATFS_F_BAVAIL),
    files: field(STATFS_F_FILES),
    freeFiles: field(STATFS_F_FFREE),
  };
}

/**
 * statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &buf).stx_mnt_id: mountinfo's first
 * field. undefined when the kernel leaves STATX_MNT_ID out of stx_mask (before Linux 5.8 it
 * succeeds and leaves stx_mnt_id 0): the caller must find the mount another way.
 */
export function statxMountId(path: string): number | undefined {
  if (libc().statx(AT_FDCWD, cPath(path, "statx(2)"), AT_NO_AUTOMOUNT, STATX_MNT_ID, statxBuffer) !== 0) {
    throw syscallFailure("statx(2)", [path]);
  }
  return mountIdOfStatx(statxView);
}

/**
 * statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE, &buf).stx_mnt_id: the unique mount
 * ID statmount(2) takes, never reused (mountinfo's is). undefined when the kernel leaves
 * STATX_MNT_ID_UNIQUE out of stx_mask (before Linux 6.8).
 */
export function statxUniqueMountId(path: string): number | undefined {
  if (libc().statx(AT_FDCWD, cPath(path, "statx(2)"), AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE, statxBuffer) !== 0) {
    throw syscallFailure("statx(2)", [path]);
  }
  if ((statxView.getUint32(STATX_OFFSET.mask, true) & STATX_MNT_ID_UNIQUE) === 0) return undefined;
  return readU64(statxView, STATX_OFFSET.mntId);
}

/** stx_mnt_id of a filled struct statx, or undefined when stx_mask says it was not filled. */
export function mountIdOfStatx(statx: DataView): number | undefined {
  if ((statx.getUint32(STATX_OFFSET.mask, true) & STATX_MNT_ID) === 0) return undefined;
  return readU64(statx, STATX_OFFSET.mntId);
}

/** What statxMountRoot reports of a path: mountpoint(1)'s questions. */
export interface MountRootStatus {
  readonly type: FileType;
  /** stx_rdev, as mountinfo writes a device ("7:3"): the device a device node stands for; "0:0" for any other file */
  readonly rdev: string;
  /** stx_dev: the device of the filesystem holding it, "MAJ:MIN" */
  readonly dev: string;
  /** stx_mnt_id; undefined when the kernel has none (before Linux 5.8) */
  readonly mountId: number | undefined;
  /** STATX_ATTR_MOUNT_ROOT: path is the root of a mount; undefined when the kernel does not report it (before Linux 5.8) */
  readonly mountRoot: boolean | undefined;
}

/**
 * statx(AT_FDCWD, path, AT_NO_AUTOMOUNT|AT_STATX_DONT_SYNC (|AT_SYMLINK_NOFOLLOW),
 * STATX_TYPE|STATX_MNT_ID, &buf): whether path is the root of a mount, by the kernel's own
 * STATX_ATTR_MOUNT_ROOT, with its type and devices. AT_NO_AUTOMOUNT as stat(2) has it; the
 * cached inode answers, so a FUSE mount point whose daemon hangs does not hang the question.
 */
export function statxMountRoot(path: string, followLinks: boolean): MountRootStatus {
  const flags = AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC | (followLinks ? 0 : AT_SYMLINK_NOFOLLOW);
  if (libc().statx(AT_FDCWD, cPath(path, "statx(2)"), flags, STATX_TYPE | STATX_MNT_ID, statxBuffer) !== 0) throw syscallFailure("statx(2)", [path]);
  return mountRootOfStatx(statxView);
}

/** statxMountRoot's answer from a filled struct statx. */
export function mountRootOfStatx(statx: DataView): MountRootStatus {
  const type = typeOfStatx(statx);
  // every S_IFMT value the kernel has is in FILE_TYPES
  if (type === undefined) throw new Error(`statx(2): unknown file type in stx_mode ${statx.getUint16(STATX_OFFSET.mode, true).toString(8)}`);
  // the bit is in the low word of the u64s
  const reported = (statx.getUint32(STATX_OFFSET.attributesMask, true) & STATX_ATTR_MOUNT_ROOT) !== 0;
  return {
    type,
    rdev: rdevOfStatx(statx),
    dev: `${statx.getUint32(STATX_OFFSET.devMajor, true)}:${statx.getUint32(STATX_OFFSET.devMinor, true)}`,
    mountId: mountIdOfStatx(statx),
    mountRoot: reported ? (statx.getUint32(STATX_OFFSET.attributes, true) & STATX_ATTR_MOUNT_ROOT) !== 0 : undefined,
  };
}

/** Which directory or file a path names, and through which mount. */
export interface FileIdentity {
  /** stx_mnt_id; 0 when the kernel has none (before Linux 5.8) */
  readonly mountId: number;
  /** the filesystem's device, major and minor in one number */
  readonly device: number;
  /** stx_ino's high and low 32 bits: one number would round inode numbers above 2^53 */
  readonly inoHigh: number;
  readonly inoLow: number;
}

/** Whether two identities name the same file (on whichever mounts). */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.inoLow === b.inoLow && a.inoHigh === b.inoHigh && a.device === b.device;
}

/**
 * statx(dfd, path, flags, STATX_INO|STATX_MNT_ID): the identity of what path names (with
 * AT_EMPTY_PATH and "", of dfd itself). Two names of one directory through one mount have the
 * same identity.
 */
export function statxIdentity(dfd: number, path: string, flags: number): FileIdentity {
  if (libc().statx(cDirFd(dfd, "statx(2)", path), cPath(path, "statx(2)"), flags, STATX_INO | STATX_MNT_ID, statxBuffer) !== 0) throw syscallFailure("statx(2)", [path]);
  return identityOfStatx(statxView);
}

/** The identity in a filled struct statx. */
export function identityOfStatx(statx: DataView): FileIdentity {
  return {
    mountId: mountIdOfStatx(statx) ?? 0,
    device: deviceOfStatx(statx),
    inoHigh: statx.getUint32(STATX_OFFSET.ino + 4, true),
    inoLow: statx.getUint32(STATX_OFFSET.ino, true),
  };
}

/** stx_dev_major and stx_dev_minor of a filled struct statx, in one number. */
function deviceOfStatx(statx: DataView): number {
  return statx.getUint32(STATX_OFFSET.devMajor, true) * 2 ** 32 + statx.getUint32(STATX_OFFSET.devMinor, true);
}

/** What a path is: the S_IFMT bits of its mode, named. */
export type FileType = "file" | "dir" | "link" | "block" | "char" | "fifo" | "socket";

const FILE_TYPES: Readonly<Record<number, FileType>> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "link",
  0o060000: "block",
  0o020000: "char",
  0o010000: "fifo",
  0o140000: "socket",
};

/** What statPath reports of a path. */
export interface PathStat {
  readonly type: FileType;
  /** the device of the filesystem holding it (major and minor in one number) */
  readonly device: number;
}

/**
 * statx(AT_FDCWD, path, AT_STATX_DONT_SYNC (|AT_SYMLINK_NOFOLLOW), STATX_TYPE) -> what path
 * names, or undefined when it cannot be stat()ed (missing, no permission). The existence and
 * type checks of hints, helper look-ups and umount's operands; node:fs would cost about 1 ms of
 * start-up for them. A file's type and device never change, so the cached inode answers: a
 * plain stat of a FUSE mount point waits for its daemon, which hangs for good when the daemon
 * does (and that is when it gets unmounted).
 */
export function statPath(path: string, followLinks = true): PathStat | undefined {
  if (path.includes("\0")) return undefined; // C would see the path cut at the NUL
  const flags = AT_STATX_DONT_SYNC | (followLinks ? 0 : AT_SYMLINK_NOFOLLOW);
  if (libc().statx(AT_FDCWD, cText(path), flags, STATX_TYPE, statxBuffer) !== 0) return undefined;
  const type = typeOfStatx(statxView);
  if (type === undefined) return undefined;
  return { type, device: deviceOfStatx(statxView) };
}

/**
 * What path names (links followed) and, for a regular file, its size in bytes (0 for anything
 * else): one statx(2) for both, where fileType and regularFileSize make one each. undefined
 * when it cannot be stat()ed.
 */
export function typeAndSize(path: string): { type: FileType; size: number } | undefined {
  if (path.includes("\0")) return undefined; // C would see the path cut at the NUL
  if (libc().statx(AT_FDCWD, cText(path), AT_STATX_DONT_SYNC, STATX_TYPE | STATX_FILE_SIZE, statxBuffer) !== 0) return undefined;
  const type = typeOfStatx(statxView);
  if (type === undefined) return undefined;
  return { type, size: type === "file" ? readU64(statxView, STATX_OFFSET.size) : 0 };
}

/** The S_IFMT bits of a filled struct statx's stx_mode, named. */
function typeOfStatx(statx: DataView): FileType | undefined {
  return FILE_TYPES[statx.getUint16(STATX_OFFSET.mode, true) & 0o170000];
}

/** stx_rdev of a filled struct statx, as mountinfo writes a device ("7:3"). */
function rdevOfStatx(statx: DataView): string {
  return `${statx.getUint32(STATX_OFFSET.rdevMajor, true)}:${statx.getUint32(STATX_OFFSET.rdevMinor, true)}`;
}

/**
 * The device a block special file stands for, as mountinfo writes it ("7:3" for /dev/loop3),
 * following symlinks (/dev/disk/by-label/x); undefined when path is no block device or cannot
 * be stat()ed.
 */
export function blockDeviceNumber(path: string): string | undefined {
  if (statPath(path)?.type !== "block") return undefined;
  return rdevOfStatx(statxView); // of the struct statx statPath just filled
}

/** What a file is, and which device it stands for when it is a device node. */
export interface FileNode {
  readonly type: FileType;
  /** stx_rdev, as mountinfo writes a device ("7:3" for /dev/loop3); "0:0" for what is no device node */
  readonly rdev: string;
}

/**
 * statx(dfd, path, flags, STATX_TYPE): the type of what path names and the device it stands
 * for. With AT_EMPTY_PATH and "", of the file dfd is open on (an O_PATH fd too): the very file
 * a later call on that fd acts on, whatever has been renamed over its path since.
 */
export function statxNode(dfd: number, path: string, flags: number): FileNode {
  if (libc().statx(cDirFd(dfd, "statx(2)", path), cPath(path, "statx(2)"), flags, STATX_TYPE, statxBuffer) !== 0) throw syscallFailure("statx(2)", [path]);
  const type = typeOfStatx(statxView);
  // every S_IFMT value the kernel has is in FILE_TYPES
  if (type === undefined) throw new Error(`statx(2): unknown file type in stx_mode ${statxView.getUint16(STATX_OFFSET.mode, true).toString(8)}`);
  return { type, rdev: rdevOfStatx(statxView) };
}

/** The type of what path names, or undefined when it cannot be stat()ed. */
export function fileType(path: string, followLinks = true): FileType | undefined {
  return statPath(path, followLinks)?.type;
}

/** Who owns a file, and its permission bits. */
export interface Ownership {
  readonly uid: number;
  readonly gid: number;
  /** the permission bits of st_mode (07777) */
  readonly mode: number;
}

/**
 * statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_UID|STATX_GID|STATX_MODE): owner, group,
 * permission bits; followLinks: without AT_SYMLINK_NOFOLLOW (a /proc/self/fd link's file).
 */
export function statxOwnership(path: string, followLinks = false): Ownership {
  if (libc().statx(AT_FDCWD, cPath(path, "statx(2)"), followLinks ? 0 : AT_SYMLINK_NOFOLLOW, STATX_UID | STATX_GID | STATX_MODE, statxBuffer) !== 0) {
    throw syscallFailure("statx(2)", [path]);
  }
  return {
    uid: statxView.getUint32(STATX_OFFSET.uid, true),
    gid: statxView.getUint32(STATX_OFFSET.gid, true),
    mode: statxView.getUint16(STATX_OFFSET.mode, true) & 0o7777,
  };
}

/**
 * statx(AT_FDCWD, path, 0, STATX_TYPE|STATX_SIZE): the size in bytes of the regular file path
 * names (following symlinks), or undefined when it is no regular file or cannot be stat()ed.
 * What a loop device over it shows (losetup's size warnings).
 */
export function regularFileSize(path: string): number | undefined {
  if (path.includes("\0")) return undefined;
  if (libc().statx(AT_FDCWD, cText(path), 0, STATX_TYPE | STATX_FILE_SIZE, statxBuffer) !== 0) return undefined;
  if (typeOfStatx(statxView) !== "file") return undefined;
  return readU64(statxView, STATX_OFFSET.size);
}

/** A timestamp as statx(2) gives it and utimensat(2) takes it. */
export interface Timestamp {
  readonly sec: number;
  readonly nsec: number;
}

/** What a copy of a file needs to know of it (statxFile). */
export interface FileStatus {
  readonly type: FileType;
  /** the permission bits of stx_mode (07777) */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  /** bytes (exact below 2^53) */
  readonly size: number;
  /** stx_rdev: the device a device node stands for */
  readonly rdevMajor: number;
  readonly rdevMinor: number;
  /** stx_mnt_id; 0 when the kernel has none (before Linux 5.8) */
  readonly mountId: number;
  /** undefined when the filesystem keeps none (stx_mask without it) */
  readonly atime: Timestamp | undefined;
  readonly mtime: Timestamp | undefined;
}

/**
 * statx(dfd, path, flags, STATX_BASIC_STATS|STATX_MNT_ID): type, permission bits, owner,
 * size, device numbers, mount ID and timestamps of what path names (with AT_EMPTY_PATH and "",
 * of dfd's own file; with AT_SYMLINK_NOFOLLOW, of a symlink itself).
 */
export function statxFile(dfd: number, path: string, flags: number): FileStatus {
  if (libc().statx(cDirFd(dfd, "statx(2)", path), cPath(path, "statx(2)"), flags, STATX_BASIC_STATS | STATX_MNT_ID, statxBuffer) !== 0) throw syscallFailure("statx(2)", [path]);
  const mask = statxView.getUint32(STATX_OFFSET.mask, true);
  const type = typeOfStatx(statxView);
  if (type === undefined) throw new Error(`statx(2): unknown file type in stx_mode ${statxView.getUint16(STATX_OFFSET.mode, true).toString(8)}`);
  return {
    type,
    mode: statxView.getUint16(STATX_OFFSET.mode, true) & 0o7777,
    uid: statxView.getUint32(STATX_OFFSET.uid, true),
    gid: statxView.getUint32(STATX_OFFSET.gid, true),
    nlink: statxView.getUint32(STATX_OFFSET.nlink, true),
    size: readU64(statxView, STATX_OFFSET.size),
    rdevMajor: statxView.getUint32(STATX_OFFSET.rdevMajor, true),
    rdevMinor: statxView.getUint32(STATX_OFFSET.rdevMinor, true),
    mountId: mountIdOfStatx(statxView) ?? 0,
    atime: (mask & STATX_ATIME) === 0 ? undefined : timestampOfStatx(statxView, STATX_OFFSET.atime),
    mtime: (mask & STATX_MTIME) === 0 ? undefined : timestampOfStatx(statxView, STATX_OFFSET.mtime),
  };
}

/** A struct statx_timestamp: tv_sec an s64 (read in halves, the high one signed), tv_nsec a u32. */
function timestampOfStatx(statx: DataView, offset: number): Timestamp {
  return { sec: statx.getInt32(offset + 4, true) * 2 ** 32 + statx.getUint32(offset, true), nsec: statx.getUint32(offset + 8, true) };
}
