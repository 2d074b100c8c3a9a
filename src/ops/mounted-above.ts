/**
 * Mounts stacked on a batch's mounts after it ran: with-mounts' command may mount on one of
 * its targets. A batch's release undoes the top mount at each target, which would then be the
 * command's, and leave the batch's own mounted (on a root that outlives the run). So the mount
 * on top at each target is noted while it is the batch's own, and whatever was stacked above
 * it since is taken off first. A mount below it was there before the batch, and stays.
 *
 * The root is the command's to change: each unmount is made inside it, as the batch's own
 * release makes its unmounts (pinned-target.ts unmountingInRoot), so a directory on a target's
 * path swapped for a symlink by the command, or by what it left running, cannot send the
 * unmount out of the root.
 */
import { lookupMount } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import type { OpsContext } from "./context.ts";
import { unmountingInRoot } from "./pinned-target.ts";
import { undoMount } from "./run-plan.ts";

/** Target -> the id of the mount on top there now (the batch's own, right after it ran). */
export function topMountIds(targets: readonly string[]): Map<string, number> {
  const table = readMountInfo();
  const tops = new Map<string, number>();
  for (const target of targets) {
    const top = lookupMount(table, target);
    if (top !== undefined && top.mountpoint === target) tops.set(target, top.id);
  }
  return tops;
}

/**
 * Unmount what sits on each noted mount at its target (inside root, the batch's), newest target
 * first, as undoMount does (a busy one detached, with a warning), each unmount made inside root.
 * A noted mount gone meanwhile has nothing above it to take off; a target covered from further
 * up (a mount on a parent directory) is left to the release, which reports it. A target whose
 * stack will not come off does not stop the others: the release that follows undoes the top
 * mount at each target, which must be the batch's own. The first failure is thrown; the release
 * meets every stuck target again (its undo fails the same way) and reports them all.
 */
export function unmountAbove(tops: ReadonlyMap<string, number>, root: string, ctx: OpsContext): void {
  const inRoot = { ...ctx, sys: unmountingInRoot(root, ctx.sys) };
  const failures: unknown[] = [];
  // One read for all the targets while nothing is unmounted (a read per target cost as much as
  // the 100 mounts of with-mounts' list together); read again after any unmount or failure.
  let table = readMountInfo();
  for (const [target, id] of [...tops].reverse()) {
    try {
      if (unmountAboveOne(target, id, table, inRoot)) table = readMountInfo();
    } catch (err) {
      failures.push(err);
      table = readMountInfo();
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** Take off what sits on mount id at target, table being the mount table now; whether anything was unmounted. */
function unmountAboveOne(target: string, id: number, table: readonly MountInfo[], ctx: OpsContext): boolean {
  // Each pass takes one mount off; the table bounds the passes even if it changes meanwhile.
  let unmounted = false;
  for (let budget = table.length; budget > 0; budget--) {
    if (!table.some((m) => m.id === id && m.mountpoint === target)) return unmounted;
    const top = lookupMount(table, target);
    if (top === undefined || top.id === id || top.mountpoint !== target) return unmounted;
    undoMount(target, ctx);
    unmounted = true;
    table = readMountInfo();
  }
  return unmounted;
}
