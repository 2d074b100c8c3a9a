/**
 * umount -A (--all-targets), as util-linux: every mount of one filesystem in this mount
 * namespace, named by one of its mount points, its device (or UUID=/LABEL= tag), its
 * image file or (a name no path has) its source. The filesystem is its device number (mountinfo's major:minor), which tmpfs and
 * overlay have too; its mounts go latest first, each as `umount` would take it (-r, -d), or
 * with everything under it (-R). A mount of it hidden under another mount is never reached
 * through its mount point (umount2 there would remove the mount on top): refused, named.
 */
import { PlanError, quotePath } from "../errors.ts";
import { lookupMount, mountsOfSource } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { blockDeviceNumber } from "../sys/stat.ts";
import { loopDeviceOfImage, unmountAt, type UmountOperandOptions } from "./umount-operand.ts";
import { blockDeviceNumberOf, unmountSubtree } from "./unmount.ts";
import { helperUnmounter } from "./umount-helper.ts";

export interface AllTargetsOptions extends UmountOperandOptions {
  /** umount -A -R: each mount with everything under it */
  recursive?: boolean;
}

/** The outcome: how many mounts went, and which stayed, remounted read-only (-r). */
export interface AllTargetsOutcome {
  readonly unmounted: number;
  readonly remountedReadOnly: readonly string[];
}

/** Unmount every mount of the filesystem operand names; unmounted 0 when it is not mounted. */
export function unmountAllTargets(operand: string, options: AllTargetsOptions = {}): AllTargetsOutcome {
  const device = filesystemOf(operand, readMountInfo(), options);
  if (device === undefined) return { unmounted: 0, remountedReadOnly: [] };
  const done = new Set<number>();
  const remountedReadOnly: string[] = [];
  const viaHelper = helperUnmounter(options);
  let unmounted = 0;
  for (;;) {
    // Read again each time: an unmount (-R above all) changes what is reachable.
    const table = readMountInfo();
    const left = table.filter((m) => `${m.major}:${m.minor}` === device && !done.has(m.id));
    const next = left.findLast((m) => lookupMount(table, m.mountpoint)?.id === m.id);
    if (next === undefined) {
      if (left.length > 0) throw hiddenError(operand, left);
      return { unmounted, remountedReadOnly };
    }
    done.add(next.id);
    if (options.recursive) {
      // as umount -R: the mount and what is mounted on it, never a mount it covers
      unmounted += unmountSubtree(next.mountpoint, options);
      continue;
    }
    const outcome = unmountAt(next.mountpoint, options, viaHelper);
    if (outcome === "unmounted") unmounted++;
    else if (outcome === "remounted-read-only") remountedReadOnly.push(next.mountpoint);
  }
}

/**
 * The device number ("major:minor") of the filesystem operand names: the top mount at a mount
 * point, a block device (or tag), or the loop device attached to an image file.
 */
function filesystemOf(operand: string, table: readonly MountInfo[], options: AllTargetsOptions): string | undefined {
  const canonical = deviceTagOf(operand) === undefined ? existingRealpath(operand) : undefined;
  if (canonical !== undefined) {
    const top = lookupMount(table, canonical);
    if (top !== undefined && top.mountpoint === canonical) return `${top.major}:${top.minor}`;
  }
  const block = blockDeviceNumberOf(canonical ?? operand);
  if (block !== undefined) return block;
  if (canonical === undefined) {
    // no such path: a mount's source name (srv:/exp, tmpfs), as umount(8) takes it
    // (its latest reachable mount's filesystem; one hidden everywhere is refused below, named)
    const { all, reachable } = deviceTagOf(operand) === undefined ? mountsOfSource(table, operand) : { all: [], reachable: undefined };
    const named = reachable ?? all.at(-1);
    return named === undefined ? undefined : `${named.major}:${named.minor}`;
  }
  const loop = loopDeviceOfImage(canonical, options);
  return loop === undefined ? undefined : blockDeviceNumber(loop);
}

function hiddenError(operand: string, hidden: readonly MountInfo[]): PlanError {
  const where = hidden.map((m) => quotePath(m.mountpoint)).join(", ");
  return new PlanError(`unmount ${quotePath(operand)}: its filesystem is still mounted under other mounts (on ${where})`, {
    hint: "unmount what is mounted over them first",
  });
}
