/**
 * umount --fake: what umount2(2) would answer, told from the mount table instead of asked of the
 * kernel. util-linux's --fake makes every check but the call, and so reports "unmounted" for a
 * path nothing is mounted on (the call is what would have said EINVAL); here the table says it,
 * so a fake fails where the unmount would. Pure.
 */
import { Errno } from "../errno.ts";
import { MountIndex } from "../mountinfo/mount-index.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { MNT } from "./flags.ts";

/** umount2's answer: the errno it would fail with, or the mounts it would take down (top first). */
export type ImaginedUmount2 = { readonly errno: number } | { readonly removed: readonly MountInfo[] };

/**
 * umount2(canonical, flags) against table, canonical being the path as the kernel resolves it,
 * in fs/namespace.c's order (can_umount, then do_umount):
 *   EPERM   without CAP_SYS_ADMIN over the mount namespace (may_mount)
 *   EINVAL  canonical is no mount point (path_mounted)
 *   EAGAIN  MNT_EXPIRE: the first call only marks the mount
 *   EBUSY   a mount is mounted on the top one there, without MNT_DETACH (propagate_mount_busy)
 * else the top mount at canonical goes, with everything below it in the tree under MNT_DETACH.
 * What the table does not show stays untold: an open file or a cwd on the mount (EBUSY), a mount
 * locked to a more privileged namespace (EINVAL), unmounts propagated to peer mounts.
 */
export function imagineUmount2(table: readonly MountInfo[], canonical: string, flags: number, privileged: boolean): ImaginedUmount2 {
  if (!privileged) return { errno: Errno.EPERM };
  const index = new MountIndex(table);
  const top = index.lookup(canonical);
  if (top === undefined || top.mountpoint !== canonical) return { errno: Errno.EINVAL };
  if (flags & MNT.EXPIRE) return { errno: Errno.EAGAIN };
  const below = index.subtree(top).reverse(); // top first
  if (below.length > 1 && !(flags & MNT.DETACH)) return { errno: Errno.EBUSY };
  return { removed: below };
}

/** CAP_SYS_ADMIN's bit in the capability sets (linux/capability.h). */
export const CAP_SYS_ADMIN = 21;

/**
 * Whether /proc/PID/status (its text) has capability bit cap in the effective set (CapEff, 64
 * bits in hex); undefined when it has no such line.
 */
export function hasEffectiveCapability(statusText: string, cap: number): boolean | undefined {
  const hex = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText)?.[1];
  if (hex === undefined) return undefined;
  // 16 hex digits: no Number holds all 64 bits, so the digit that holds cap is read alone
  const digit = hex.length - 1 - Math.floor(cap / 4);
  if (digit < 0) return false;
  return ((parseInt(hex[digit]!, 16) >> cap % 4) & 1) === 1;
}
