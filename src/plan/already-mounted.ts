/**
 * Is an fstab entry already mounted? util-linux's test (mnt_table_is_fs_mounted), simplified:
 * a mount on the same mount point of the same filesystem type (any, for "auto"; any of a type
 * list's) from the same source (for an image, a loop device attached to it), or for a bind,
 * the same directory of the same filesystem. Pure.
 */
import { isPathUnder, lookupMount } from "../mountinfo/lookup.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { isLoopDevice } from "./loop.ts";
import { isBind, isTypeUnknown, type Mount } from "./mount-request.ts";
import { parseSize } from "./size.ts";

/** Is the loop device (/dev/loopN) attached to file at offset? (util-linux's loopdev_is_used: by device and inode) */
export type LoopShows = (device: string, file: string, offset: number) => boolean;

/**
 * True when table holds mount at target. target and realSource are canonical host paths
 * (realSource: the source made absolute against the working directory, with its symlinks
 * resolved, or the source as written when it names no path); table is /proc/<pid>/mountinfo as
 * parsed; loopShows asks the kernel whether a loop device in the table is attached to the image
 * at the entry's offset=. A relative realSource matches no bind and no image.
 */
export function isAlreadyMounted(
  table: readonly MountInfo[],
  target: string,
  mount: Mount,
  realSource: string,
  loopShows: LoopShows = () => false,
): boolean {
  const here = table.filter((m) => m.mountpoint === target);
  if (here.length === 0) return false;
  if (!isBind({ mount })) {
    const anyType = isTypeUnknown(mount.type); // "auto": whatever its superblock said
    const types = mount.type.split(","); // a type list: whichever of them mounted it
    const sameSource = (source: string) => source === mount.source || source === realSource || (isLoopDevice(source) && isImageOn(source));
    const isImageOn = (device: string) => realSource.startsWith("/") && loopShows(device, realSource, imageOffset(mount.options));
    return here.some((m) => (anyType || types.includes(m.fstype)) && sameSource(m.source));
  }
  if (!realSource.startsWith("/")) return false;
  const holder = lookupMount(table, realSource);
  if (!holder) return false;
  const fsRoot = bindRoot(holder, realSource);
  return here.some((m) => m.major === holder.major && m.minor === holder.minor && m.root === fsRoot);
}

/** The last offset= of an entry's options in bytes (0 without one; NaN, matching nothing, when it is bad). */
function imageOffset(options: readonly string[]): number {
  const item = options.findLast((o) => o.startsWith("offset="));
  if (item === undefined) return 0;
  try {
    return parseSize("offset", item.slice("offset=".length));
  } catch {
    return Number.NaN; // planning the entry reports it
  }
}

/** The fsroot a bind of path shows in mountinfo: the holder's own root plus path below it. */
function bindRoot(holder: MountInfo, path: string): string {
  if (!isPathUnder(path, holder.mountpoint)) return path;
  const below = holder.mountpoint === "/" ? path : path.slice(holder.mountpoint.length);
  if (below === "" || below === "/") return holder.root;
  return holder.root === "/" ? below : `${holder.root}${below}`;
}
