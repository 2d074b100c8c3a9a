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

const UNKNOWN_CAUSE = "the source is not a mount point, its parent mount is shared, or the destination is shared and the tree holds an unbindable mount";

/** The hint for EINVAL of mount(SOURCE, TARGET, NULL, MS_MOVE, NULL). */
export function moveHint(source: string, target: string): string {
  let mounts: MountInfo[];
  try {
    mounts = readMountInfo();
  } catch {
    return UNKNOWN_CAUSE;
  }
  const from = existingRealpath(source);
  const moved = from === undefined ? undefined : lookupMount(mounts, from);
  if (from === undefined || moved === undefined || moved.mountpoint !== from) {
    return `${quotePath(source)} is not a mount point: --move moves a mount (a directory that is none can be bound elsewhere with --bind)`;
  }
  const parent = mounts.find((m) => m.id === moved.parent && m.id !== moved.id);
  if (parent?.shared !== undefined) {
    return `the mount at ${quotePath(source)} sits in a shared mount (${quotePath(parent.mountpoint)}), out of which the kernel moves nothing: make that one private first (--make-private), or bind the mount instead of moving it`;
  }
  const to = existingRealpath(target);
  const into = to === undefined ? undefined : lookupMount(mounts, to);
  const unbindable = mountsUnder(mounts, from).find((m) => m.unbindable);
  if (into?.shared !== undefined && unbindable !== undefined) {
    return `the destination's mount (${quotePath(into.mountpoint)}) is shared, and the moved tree holds an unbindable mount (${quotePath(unbindable.mountpoint)}), which could not propagate`;
  }
  return UNKNOWN_CAUSE;
}
