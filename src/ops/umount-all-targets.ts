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
import type { MountIndex } from "../mountinfo/mount-index.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { blockDeviceNumber } from "../sys/stat.ts";
import { loopDeviceOfImage, unmountAt, type UmountOperandOptions } from "./umount-operand.ts";
import { blockDeviceNumberOf, SubtreeUnmounter } from "./unmount.ts";
import { helperUnmounter } from "./umount-helper.ts";
import { mountTableFor } from "./umount-fake.ts";

export interface AllTargetsOptions extends UmountOperandOptions {
  /** umount -A -R: each mount with everything under it */
  recursive?: boolean;
}

/** The outcome: how many mounts went, and which stayed, remounted read-only (-r). */
export interface AllTargetsOutcome {
  readonly unmounted: number;
  readonly remountedReadOnly: readonly string[];
}

/**
 * Unmount every mount of the filesystem operand names; unmounted 0 when it is not mounted. With
 * -R, subtrees (one per command, shared by its operands) makes the unmounts and keeps the table.
 */
export function unmountAllTargets(operand: string, options: AllTargetsOptions = {}, subtrees?: SubtreeUnmounter): AllTargetsOutcome {
  if (options.recursive) return unmountEachSubtree(operand, options, subtrees ?? new SubtreeUnmounter(options));
  const first = mountTableFor(options);
  const device = filesystemOf(operand, first, (canonical) => topAt(first, canonical), options);
  if (device === undefined) return { unmounted: 0, remountedReadOnly: [] };
  const done = new Set<number>();
  const remountedReadOnly: string[] = [];
  const viaHelper = helperUnmounter(options);
  let unmounted = 0;
  for (;;) {
    // Read again each time: an unmount changes what is reachable (-R keeps an index in step instead).
    const table = mountTableFor(options);
    const left = table.filter((m) => `${m.major}:${m.minor}` === device && !done.has(m.id));
    const next = left.findLast((m) => lookupMount(table, m.mountpoint)?.id === m.id);
    if (next === undefined) {
      if (left.length > 0) throw hiddenError(operand, left);
      return { unmounted, remountedReadOnly };
    }
    done.add(next.id);
    const outcome = unmountAt(next.mountpoint, options, viaHelper);
    if (outcome === "unmounted") unmounted++;
    else if (outcome === "remounted-read-only") remountedReadOnly.push(next.mountpoint);
  }
}

/**
 * umount -A -R: each mount of the filesystem, latest first, with everything under it (as umount
 * -R: never a mount it covers), chosen from the table subtrees keeps: read once for them all and
 * kept in step with the unmounts, as for umount -R of many operands. It is read again only as
 * -R reads it (tracked-mount-table.ts): where an unmount propagated beyond what the index knows
 * (statx finds another mount at the next one's mount point, or the filesystem's mounts left look
 * covered), and by a pass that finds mounts gone (unmount.ts).
 */
function unmountEachSubtree(operand: string, options: AllTargetsOptions, subtrees: SubtreeUnmounter): AllTargetsOutcome {
  const { table } = subtrees;
  const device = filesystemOf(operand, table.index.mounts(), (canonical) => table.mountAt(canonical, subtrees.sys), options);
  if (device === undefined) return { unmounted: 0, remountedReadOnly: [] };
  const done = new Set<number>();
  let unmounted = 0;
  let index: MountIndex | undefined;
  let ofFilesystem: MountInfo[] = [];
  for (;;) {
    if (table.index !== index) {
      index = table.index;
      ofFilesystem = index.mounts().filter((m) => `${m.major}:${m.minor}` === device);
    }
    const known = index;
    // an unmount below one of them may have taken others of the filesystem (binds of it)
    const left = ofFilesystem.filter((m) => !done.has(m.id) && known.has(m));
    const next = left.findLast((m) => known.lookup(m.mountpoint)?.id === m.id);
    if (next === undefined) {
      if (left.length === 0) return { unmounted, remountedReadOnly: [] };
      // covered in the index, perhaps by a mount an unmount of ours took with it: read and look again
      if (!table.fresh) {
        table.reread();
        continue;
      }
      throw hiddenError(operand, left);
    }
    // once ours went, the index is assumed: statx confirms the top there (else the table is read again)
    if (!table.fresh && table.mountAt(next.mountpoint, subtrees.sys)?.id !== next.id) continue;
    done.add(next.id);
    unmounted += subtrees.unmountMount(next);
  }
}

/** The top mount at canonical in table, when canonical is its mount point. */
function topAt(table: readonly MountInfo[], canonical: string): MountInfo | undefined {
  const top = lookupMount(table, canonical);
  return top?.mountpoint === canonical ? top : undefined;
}

/**
 * The device number ("major:minor") of the filesystem operand names: the top mount at a mount
 * point (topAt: the top mount there, if canonical is one), a block device (or tag), or the loop
 * device attached to an image file.
 */
function filesystemOf(operand: string, table: readonly MountInfo[], topAt: (canonical: string) => MountInfo | undefined, options: AllTargetsOptions): string | undefined {
  const canonical = deviceTagOf(operand) === undefined ? existingRealpath(operand) : undefined;
  if (canonical !== undefined) {
    const top = topAt(canonical);
    if (top !== undefined) return `${top.major}:${top.minor}`;
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
