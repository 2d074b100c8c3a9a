/**
 * statfs(2) and statx(2) (the mount ID only), bound from libc.
 */
import { bindLibc, syscallFailure } from "./libc.ts";

const libc = bindLibc({
  statfs: { args: ["cstring", "ptr"], returns: "i32" },
  statx: { args: ["i32", "cstring", "i32", "u32", "ptr"], returns: "i32" },
});

/** sizeof(struct statfs) on 64-bit Linux, and the offsets read from it. */
export const STATFS_SIZE = 120;
const STATFS_F_TYPE = 0;
const STATFS_F_FLAGS = 80;

/** sizeof(struct statx), and the offsets of stx_mask (u32) and stx_mnt_id (u64). */
export const STATX_SIZE = 256;
const STATX_MASK_OFFSET = 0;
const STATX_MNT_ID_OFFSET = 144;
export const STATX_MNT_ID = 0x1000;
const AT_FDCWD = -100;
const AT_NO_AUTOMOUNT = 0x800;

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
  if (libc().statfs(path, statfsBuffer) !== 0) throw syscallFailure("statfs(2)", [path]);
  return {
    type: Number(statfsView.getBigInt64(STATFS_F_TYPE, true)),
    flags: Number(statfsView.getBigInt64(STATFS_F_FLAGS, true)),
  };
}

/**
 * statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &buf).stx_mnt_id: mountinfo's first
 * field. undefined when the kernel leaves STATX_MNT_ID out of stx_mask (before Linux 5.8 it
 * succeeds and leaves stx_mnt_id 0): the caller must find the mount another way.
 */
export function statxMountId(path: string): number | undefined {
  if (libc().statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, statxBuffer) !== 0) {
    throw syscallFailure("statx(2)", [path]);
  }
  return mountIdOfStatx(statxView);
}

/** stx_mnt_id of a filled struct statx, or undefined when stx_mask says it was not filled. */
export function mountIdOfStatx(statx: DataView): number | undefined {
  if ((statx.getUint32(STATX_MASK_OFFSET, true) & STATX_MNT_ID) === 0) return undefined;
  return Number(statx.getBigUint64(STATX_MNT_ID_OFFSET, true));
}
