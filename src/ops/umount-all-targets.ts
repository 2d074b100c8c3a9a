/**
 * umount -A (--all-targets), as util-linux: every mount of one filesystem in this mount
 * namespace, named by one of its mount points, its device (or UUID=/LABEL= tag), its
 * image file or (a name no path has) its source. The filesystem is its device number (mountinfo's major:minor), which tmpfs and
 * overlay have too; its mounts go latest first, each as `umount` would take it (-r, -d), or
 * with everything under it (-R). A mount of it hidden under another mount is never reached
 * through its mount point (umount2 there would remove the mount on top): refused, named.
 */
import { PlanError, quotePath, type SyscallError } from "../errors.ts";
import { mountsOfSource } from "../mountinfo/lookup.ts";
import type { MountIndex } from "../mountinfo/mount-index.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { existingRealpath } from "../sys/realpath.ts";
import type { Syscalls } from "../sys/seam.ts";
import { blockDeviceNumber } from "../sys/stat.ts";
import { opsContext } from "./context.ts";
import { loopDeviceOfImage, unmountAt, type UmountOperandOptions } from "./umount-operand.ts";
import { blockDeviceNumberOf, checkUnmountCall, isReachableIn, lockedMountError, SubtreeUnmounter, unmountFailures } from "./unmount.ts";
import { helperUnmounter } from "./umount-helper.ts";
import { TrackedMountTable } from "./tracked-mount-table.ts";
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
  checkUnmountCall(operand, options);
  if (options.recursive) return unmountEachSubtree(operand, options, subtrees ?? new SubtreeUnmounter(options));
  return unmountEachMount(operand, options);
}

/**
 * umount -A: each mount of the filesystem, latest first, as umount would take it (-r, -d, its
 * type's helper), chosen from one read of the table kept in step with the unmounts
 * (tracked-mount-table.ts), as -A -R does: a read per mount would cost as much as the table is long.
 * Each mount's entry is the one read (-d's loop device, the helper's type), never read again.
 */
function unmountEachMount(operand: string, options: AllTargetsOptions): AllTargetsOutcome {
  const table = new TrackedMountTable(() => mountTableFor(options));
  const sys = opsContext(options).sys;
  const device = filesystemOf(operand, table.index.mounts(), (canonical) => table.mountAt(canonical, sys), options);
  if (device === undefined) return { unmounted: 0, remountedReadOnly: [] };
  const remountedReadOnly: string[] = [];
  const locked: SyscallError[] = [];
  const viaHelper = helperUnmounter(options);
  let unmounted = 0;
  eachMountOf(operand, device, table, sys, (next) => {
    const outcome = unmountAt(next.mountpoint, options, viaHelper, next);
    if (outcome === "unmounted") {
      unmounted++;
      table.unmounted([next]);
    } else if (outcome === "remounted-read-only") remountedReadOnly.push(next.mountpoint);
    else {
      // not a mount point, by umount2's word: the index is not what the kernel has, read it
      // again; a mount it still shows at the top there the kernel would not unmount (locked)
      const index = table.reread();
      if (isReachableIn(index, next)) locked.push(lockedMountError(next.mountpoint));
    }
  });
  if (locked.length > 0) throw unmountFailures(`unmount ${quotePath(operand)}`, locked, unmounted);
  return { unmounted, remountedReadOnly };
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
  let unmounted = 0;
  eachMountOf(operand, device, table, subtrees.sys, (next) => {
    unmounted += subtrees.unmountMount(next);
  });
  return { unmounted, remountedReadOnly: [] };
}

/**
 * Give unmount each mount of the filesystem device (major:minor) in table, latest first, each
 * the top mount at its mount point when given; unmount keeps table in step with what it did.
 * Once an unmount was made, statx confirms the index's top at the next mount point (else the
 * table is read again), and mounts of it left that look covered are looked at in a fresh read
 * (an unmount may have taken what covered them). Covered in a fresh read: refused, named.
 */
function eachMountOf(operand: string, device: string, table: TrackedMountTable, sys: Syscalls, unmount: (next: MountInfo) => void): void {
  const done = new Set<number>();
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
      if (left.length === 0) return;
      // covered in the index, perhaps by a mount an unmount of ours took with it: read and look again
      if (!table.fresh) {
        table.reread();
        continue;
      }
      throw hiddenError(operand, left);
    }
    // once ours went, the index is assumed: statx confirms the top there (else the table is read again)
    if (!table.fresh && table.mountAt(next.mountpoint, sys)?.id !== next.id) continue;
    done.add(next.id);
    unmount(next);
  }
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
