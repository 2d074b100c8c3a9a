/**
 * The mount ID at a path, which tells whether a helper (mount.fuse3, fusermount3) mounted or
 * unmounted something there when its exit status was lost.
 */
import { lookupMount } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { realpath } from "../sys/realpath.ts";
import type { OpsContext } from "./context.ts";

/**
 * The ID of the mount that holds path (the top of a stack): statx's stx_mnt_id, or where statx
 * has none (STATX_MNT_ID is Linux 5.8) the mountinfo entry of its real path, which costs a
 * read of the whole table instead of ~1 us.
 */
export function mountIdOf(path: string, ctx: OpsContext): number {
  const id = ctx.sys.statxMountId(path);
  if (id !== undefined) return id;
  ctx.log?.(`statx gave no mount ID for ${path} (STATX_MNT_ID is Linux 5.8): looking it up in mountinfo`);
  const real = realpath(path);
  const mount = lookupMount(readMountInfo(), real);
  if (mount === undefined) throw new Error(`mountinfo has no mount holding ${real}`);
  return mount.id;
}

/** mountIdOf, or undefined when path cannot be reached (a FUSE mount whose daemon died: ENOTCONN). */
export function reachableMountId(path: string, ctx: OpsContext): number | undefined {
  try {
    return mountIdOf(path, ctx);
  } catch {
    return undefined;
  }
}
