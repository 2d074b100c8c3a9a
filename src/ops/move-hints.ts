/**
 * Why the kernel refused a move with EINVAL: do_move_mount (fs/namespace.c) has several causes
 * and says none; mount(8) 2.38 always names one ("moving a mount residing under a shared mount
 * is unsupported"). On the failure path only, the mount table tells which one it was.
 */
import { quotePath } from "../errors.ts";
import { lookupMount, mountsUnder } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { fileType } from "../sys/stat.ts";

const UNKNOWN_CAUSE = "the source is not a mount point, its parent mount is shared, or the destination is shared and the tree holds an unbindable mount";

/** The mount whose mount point path (canonical) is, the top one of a stack; undefined when it is none. */
export function mountOnPath(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  const top = lookupMount(mounts, path);
  return top?.mountpoint === path ? top : undefined;
}

/**
 * The mount at target (its path resolved), the top of a stack, for a failure's hint: null when
 * target is no mount point, undefined when the path or the mount table cannot say.
 */
export function mountAtTarget(target: string): MountInfo | null | undefined {
  const path = existingRealpath(target);
  if (path === undefined) return undefined;
  try {
    return mountOnPath(readMountInfo(), path) ?? null;
  } catch {
    return undefined;
  }
}

/**
 * A remount's or propagation change's EINVAL when TARGET is no mount point (mount(8): "not mount
 * point or bad option"); undefined when it is one, or the table cannot say.
 */
export function notMountPointHint(target: string): string | undefined {
  if (mountAtTarget(target) !== null) return undefined;
  return `${quotePath(target)} is not a mount point: a remount or a propagation change acts on a mount`;
}

/**
 * A bind's EINVAL when its source lies on an unbindable mount (do_loopback refuses to clone
 * one; an rbind leaves those below its source out instead): undefined when it does not, or the
 * table cannot say.
 */
export function unbindableSourceHint(source: string): string | undefined {
  const path = existingRealpath(source);
  if (path === undefined) return undefined;
  let holder: MountInfo | undefined;
  try {
    holder = lookupMount(readMountInfo(), path);
  } catch {
    return undefined;
  }
  if (!holder?.unbindable) return undefined;
  const at = quotePath(holder.mountpoint);
  return `${quotePath(source)} is on an unbindable mount (${at}): it cannot be bound (--make-private ${at} first)`;
}

/** The hint for ELOOP of a move: TARGET lies inside the tree being moved, which the kernel refuses. */
export function moveLoopHint(source: string, target: string): string | undefined {
  const [from, to] = [existingRealpath(source), existingRealpath(target)];
  if (from === undefined || to === undefined || !(to === from || to.startsWith(from === "/" ? "/" : `${from}/`))) return undefined;
  return `${quotePath(target)} is inside the mount at ${quotePath(source)}: a mount cannot be moved beneath itself`;
}

/** The hint for EINVAL of mount(SOURCE, TARGET, NULL, MS_MOVE, NULL). */
export function moveHint(source: string, target: string): string {
  let mounts: MountInfo[];
  try {
    mounts = readMountInfo();
  } catch {
    return UNKNOWN_CAUSE;
  }
  const from = existingRealpath(source);
  const moved = from === undefined ? undefined : mountOnPath(mounts, from);
  if (from === undefined || moved === undefined) {
    return `${quotePath(source)} is not a mount point: --move moves a mount (a directory that is none can be bound elsewhere with --bind)`;
  }
  const parent = mounts.find((m) => m.id === moved.parent && m.id !== moved.id);
  if (parent?.shared !== undefined) {
    return `the mount at ${quotePath(source)} sits in a shared mount (${quotePath(parent.mountpoint)}), out of which the kernel moves nothing: make that one private first (--make-private), or bind the mount instead of moving it`;
  }
  const to = existingRealpath(target);
  const kind = (path: string) => (fileType(path) === "dir" ? "a directory" : "no directory");
  if (to !== undefined && kind(from) !== kind(to)) {
    return `a move puts a directory on a directory and a file on a file: the mount at ${quotePath(source)} is ${kind(from)}, ${quotePath(target)} ${kind(to)}`;
  }
  const into = to === undefined ? undefined : lookupMount(mounts, to);
  const unbindable = mountsUnder(mounts, from).find((m) => m.unbindable);
  if (into?.shared !== undefined && unbindable !== undefined) {
    return `the destination's mount (${quotePath(into.mountpoint)}) is shared, and the moved tree holds an unbindable mount (${quotePath(unbindable.mountpoint)}), which could not propagate`;
  }
  return UNKNOWN_CAUSE;
}
