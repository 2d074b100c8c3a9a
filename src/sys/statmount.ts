/**
 * statmount(2) (Linux 6.8): one mount's attributes by its mount ID, without reading the whole
 * mount table (/proc/self/mountinfo costs 50 us at 30 mounts, milliseconds at thousands).
 * Through glibc's syscall(), which has no wrapper for it:
 *   statmount(&(struct mnt_id_req){ .size = 24, .mnt_id = id, .param = mask }, &buf, sizeof buf, 0)
 * The ID is the unique one (statx STATX_MNT_ID_UNIQUE: sys/stat.ts), not mountinfo's first
 * field, which the kernel refuses (EINVAL). Only the fixed part of struct statmount is read:
 * nothing is asked for that the kernel writes as a string after it.
 */
import { bindLibc, syscallFailure } from "./libc.ts";
import { readU64, writeU64 } from "./u64.ts";
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";

/** The syscall number, shared by x86_64 and arm64 (asm-generic). */
export const SYS_STATMOUNT = 457;

/** What to fill, statmount's mask (<linux/mount.h> STATMOUNT_*). */
export const STATMOUNT = {
  /** sb_dev_major, sb_dev_minor, sb_magic, sb_flags */
  SB_BASIC: 0x1,
  /** mnt_id, mnt_parent_id, mnt_id_old, mnt_parent_id_old, mnt_attr, mnt_propagation, ... */
  MNT_BASIC: 0x2,
} as const;

/**
 * sb_flags' bits: the kernel's SB_* flags it reports there (only these), which are the MS_*
 * values (SB_LAZYTIME is MS_LAZYTIME).
 */
export const SB = {
  RDONLY: 0x1,
  SYNCHRONOUS: 0x10,
  DIRSYNC: 0x80,
  LAZYTIME: 0x2000000,
} as const;

/** sizeof(struct mnt_id_req) as Linux 6.8 published it (MNT_ID_REQ_SIZE_VER0); 6.11 appended mnt_ns_id. */
export const MNT_ID_REQ_SIZE = 24;
export const MNT_ID_REQ_OFFSET = {
  size: 0, // u32
  mntId: 8, // u64
  param: 16, // u64: the STATMOUNT_* mask
} as const;

/** sizeof(struct statmount): the fixed part; the strings (str[]) follow it. */
export const STATMOUNT_SIZE = 512;
export const STATMOUNT_OFFSET = {
  size: 0, // u32
  mask: 8, // u64: what was filled
  sbDevMajor: 16, // u32
  sbDevMinor: 20, // u32
  sbMagic: 24, // u64
  sbFlags: 32, // u32
  mntId: 40, // u64: the unique ID
  mntParentId: 48, // u64
  mntIdOld: 56, // u32: mountinfo's ID
  mntParentIdOld: 60, // u32
  mntAttr: 64, // u64: MOUNT_ATTR_*
  mntPropagation: 72, // u64: MS_SHARED etc.
} as const;

/** What statmount reports of one mount (fields its mask did not fill are 0). */
export interface MountStatus {
  /** the STATMOUNT_* bits the kernel filled */
  readonly mask: number;
  /** sb_flags: SB_* bits (SB.LAZYTIME, ...) */
  readonly superblockFlags: number;
  /** sb_magic: the filesystem's magic, as statfs's f_type */
  readonly superblockMagic: number;
  /** sb_dev_major:sb_dev_minor, as mountinfo's maj:min */
  readonly device: string;
  /** mnt_id: the unique mount ID asked about */
  readonly mountId: number;
  /** mnt_id_old and mnt_parent_id_old: mountinfo's first two fields */
  readonly oldMountId: number;
  readonly oldParentId: number;
  /** mnt_attr: MOUNT_ATTR_* bits */
  readonly attributes: number;
}

// syscall(SYS_statmount, req, buf, bufsize, flags), with all seven arguments (NOTES-bun-ffi)
const libc = bindLibc({
  syscall: { args: ["i64", "ptr", "ptr", "i64", "i64", "i64", "i64"], returns: "i32" },
});

// One buffer each: calls are synchronous and each Worker has its own module instance.
const request = new Uint8Array(MNT_ID_REQ_SIZE);
const requestView = new DataView(request.buffer);
const status = new Uint8Array(STATMOUNT_SIZE);
const statusView = new DataView(status.buffer);

/**
 * statmount(&{24, 0, mountId, mask}, &buf, 512, 0) for a unique mount ID (above 2^31).
 * Throws SyscallError: ENOENT (no such mount in this thread's namespace), EINVAL (an ID that is
 * not unique), ENOSYS (before Linux 6.8, or a seccomp filter that does not know it), EPERM.
 */
export function statmount(mountId: number, mask: number): MountStatus {
  // written in two u32 halves: -1 went as 2^64 - 1, 1.5 as 1, NaN as 0, and 2^53 + 2 rounded;
  // refused, as a NUL in a path is (libc.ts), before the call
  if (!Number.isSafeInteger(mountId) || mountId < 0) {
    throw new SyscallError("statmount(2)", Errno.EINVAL).withDetails(`not called: mount ID ${String(mountId)} is no whole number from 0 to 2^53 - 1`);
  }
  if (!Number.isSafeInteger(mask) || mask < 0) {
    throw new SyscallError("statmount(2)", Errno.EINVAL).withDetails(`not called: mask ${String(mask)} is no whole number from 0 to 2^53 - 1`);
  }
  requestView.setUint32(MNT_ID_REQ_OFFSET.size, MNT_ID_REQ_SIZE, true);
  writeU64(requestView, MNT_ID_REQ_OFFSET.mntId, mountId);
  writeU64(requestView, MNT_ID_REQ_OFFSET.param, mask);
  status.fill(0);
  if (libc().syscall(SYS_STATMOUNT, request, status, STATMOUNT_SIZE, 0, 0, 0) !== 0) throw syscallFailure("statmount(2)");
  return {
    mask: readU64(statusView, STATMOUNT_OFFSET.mask),
    superblockFlags: statusView.getUint32(STATMOUNT_OFFSET.sbFlags, true),
    superblockMagic: readU64(statusView, STATMOUNT_OFFSET.sbMagic),
    device: `${statusView.getUint32(STATMOUNT_OFFSET.sbDevMajor, true)}:${statusView.getUint32(STATMOUNT_OFFSET.sbDevMinor, true)}`,
    mountId: readU64(statusView, STATMOUNT_OFFSET.mntId),
    oldMountId: statusView.getUint32(STATMOUNT_OFFSET.mntIdOld, true),
    oldParentId: statusView.getUint32(STATMOUNT_OFFSET.mntParentIdOld, true),
    attributes: readU64(statusView, STATMOUNT_OFFSET.mntAttr),
  };
}
