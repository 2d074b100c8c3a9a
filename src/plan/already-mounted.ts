/**
 * Is an fstab entry already mounted? util-linux's test (mnt_table_is_fs_mounted), simplified:
 * a mount on the same mount point of the same filesystem type from the same source, or for a
 * bind, the same directory of the same filesystem. Pure.
 */
import { isPathUnder, lookupMount } from "../mountinfo/lookup.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { isBind, type Mount } from "./mount-request.ts";

/**
 * True when table holds mount at target. target and realSource are canonical host paths
 * (realSource: the source with its symlinks resolved, or the source as written when it is not
 * a path); table is /proc/<pid>/mountinfo as parsed.
 */
export function isAlreadyMounted(table: readonly MountInfo[], target: string, mount: Mount, realSource: string): boolean {
  const here = table.filter((m) => m.mountpoint === target);
  if (here.length === 0) return false;
  if (!isBind({ mount })) return here.some((m) => m.fstype === mount.type && (m.source === mount.source || m.source === realSource));
  if (!realSource.startsWith("/")) return false;
  const holder = lookupMount(table, realSource);
  if (!holder) return false;
  const fsRoot = bindRoot(holder, realSource);
  return here.some((m) => m.major === holder.major && m.minor === holder.minor && m.root === fsRoot);
}

/** The fsroot a bind of path shows in mountinfo: the holder's own root plus path below it. */
function bindRoot(holder: MountInfo, path: string): string {
  if (!isPathUnder(path, holder.mountpoint)) return path;
  const below = holder.mountpoint === "/" ? path : path.slice(holder.mountpoint.length);
  if (below === "" || below === "/") return holder.root;
  return holder.root === "/" ? below : `${holder.root}${below}`;
}
