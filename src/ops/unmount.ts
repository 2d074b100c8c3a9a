/**
 * The unmount family, with containerd's semantics:
 *   unmount           umount2 with the EBUSY retry policy; EINVAL (not mounted) is success
 *   unmountDevice     umount(8) given a block device or UUID=/LABEL=: the mount of it its mount point reaches
 *   unmountAll        peel stacked mounts off a target until it is not a mount point
 *   unmountRecursive  everything at or under a path, deepest first
 *   unmountSubtree    umount(8) -R: the top mount at a mount point and everything below it in the mount tree
 *   unmountMounts     a list of mounts under a root, in reverse order, every failure reported
 */
import { join, normalize } from "../path.ts";
import { Errno } from "../errno.ts";
import { BatchError, isErrno, MountkitError, PlanError, quotePath, shownValue, SyscallError } from "../errors.ts";
import { lookupMount, mountsOfDevice } from "../mountinfo/lookup.ts";
import type { MountIndex } from "../mountinfo/mount-index.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { formatFlags, MNT } from "../plan/flags.ts";
import type { Mount } from "../plan/mount-request.ts";
import { childrenById, unmountOrder } from "../plan/unmount-plan.ts";
import { checkUmountFlags } from "../plan/umount-flags.ts";
import { optionalPath, requireOptionsObject, requirePath } from "../plan/caller-input.ts";
import { realpath } from "../sys/realpath.ts";
import { blockDeviceNumber } from "../sys/stat.ts";
import { deviceTagOf, noDeviceWithTag } from "../plan/device-tag.ts";
import { deviceOfTag } from "./block-devices.ts";
import { NO_OPTIONS, opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { unmountFuseWithHelpers } from "./fuse-unmount.ts";
import { unmountingInRoot } from "./pinned-target.ts";
import { canonicalRoot, resolveInRoot } from "./resolve.ts";
import { helperUnmounter, type HelperUnmounter } from "./umount-helper.ts";
import { TrackedMountTable } from "./tracked-mount-table.ts";
import { mountTableFor } from "./umount-fake.ts";
import { checkRetryPolicy, pauseMs, retrySync, shouldRetry, UNMOUNT_BUSY, type RetryPolicy } from "./retry.ts";
import { absolutePath } from "../sys/cwd.ts";

export interface UnmountOptions extends OpsOptions {
  /** MNT_DETACH: detach now, clean up when no longer busy */
  lazy?: boolean;
  /** MNT_FORCE: abort pending requests (network and FUSE filesystems) */
  force?: boolean;
  /** raw umount2 flags, OR-ed with lazy/force */
  flags?: number;
  /** the EBUSY retry policy; UNMOUNT_BUSY by default */
  retry?: RetryPolicy;
}

/**
 * What a caller passed an unmount: target a path (a string with no NUL byte: umount2 would
 * unmount the path cut there), options an object, its retry policy one that can run. A
 * PlanError before any call.
 */
export function checkUnmountCall(target: unknown, options: unknown, action = "unmount"): asserts target is string {
  requirePath(target, "target", action);
  checkUnmountOptions(options, action);
}

/** The options half of checkUnmountCall. */
export function checkUnmountOptions(options: unknown, action = "unmount"): void {
  requireOptionsObject(options, action);
  const retry = (options as UnmountOptions | undefined)?.retry;
  if (retry !== undefined) checkRetryPolicy(retry, action);
}

/** umount2's flags as options ask, refused (PlanError) where umount2 would say EINVAL to any target. */
function umountFlags(options: UnmountOptions, target: string, how = ""): number {
  const flags = (options.flags ?? 0) | (options.lazy ? MNT.DETACH : 0) | (options.force ? MNT.FORCE : 0);
  // no flags (the common case) are always valid: the action is named only when there are some
  if (flags !== 0) checkUmountFlags(flags, `unmount ${quotePath(target)}${how}`);
  return flags;
}

/**
 * Remove the top mount at target. Returns false when target was not a mount point (EINVAL).
 * When umount2 is not permitted (EPERM) and target is a FUSE mount, fusermount3/fusermount
 * unmount it: they are setuid and let a user remove their own FUSE mounts (fuse-unmount.ts).
 * If they fail too, umount2 has the last word, as in containerd's order.
 */
function unmountOnce(target: string, flags: number, policy: RetryPolicy, ctx: OpsContext): boolean {
  try {
    return umount2Retrying(target, flags, policy, ctx);
  } catch (err) {
    if (!isErrno(err, Errno.EPERM)) throw err;
    const helpers = unmountFuseWithHelpers(target, flags, ctx);
    if (helpers === "unmounted") return true;
    if (helpers === "not-fuse") throw err;
    // No helper removed it, or one did and then lost its wait: umount2 says which (EINVAL).
    return umount2Retrying(target, flags, policy, ctx);
  }
}

const UNMOUNT_NEEDS_PRIVILEGE = "unmounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root)";

/**
 * Why umount2 says EINVAL of what the mount table has as a mount point, reachable there: the
 * kernel refuses a mount locked to the more privileged mount namespace it was copied from (a new
 * user namespace's copy of its parent's mounts: MNT_LOCKED, mount_namespaces(7)). umount(8)
 * calls it "not mounted".
 */
const LOCKED_MOUNT_HINT = "it is mounted, but locked: it was copied in from a more privileged mount namespace (MNT_LOCKED), which alone can unmount it";

/** umount2's EINVAL of target, a mount point the table shows (locked), named as an unmount's failure. */
export function lockedMountError(target: string): SyscallError {
  return new SyscallError("umount2(2)", Errno.EINVAL, [target]).withAction(`unmount ${quotePath(target)}`, LOCKED_MOUNT_HINT);
}

/** umount(8)'s word for umount2's EINVAL, the hint of notMountedError's error (umount -q leaves it unsaid). */
export const NOT_MOUNTED_HINT = "not mounted";

/**
 * The error of an operand nothing of which was unmounted: umount2's EINVAL, as umount(8)
 * reports it, "not mounted", unless the table (a fake's, under --fake) still has a mount on
 * target: then it is locked (lockedMountError).
 */
export function notMountedError(target: string, options: UnmountOptions = NO_OPTIONS): SyscallError {
  if (tableHasMountAt(target, options)) return lockedMountError(target);
  return new SyscallError("umount2(2)", Errno.EINVAL, [target]).withAction(`unmount ${quotePath(target)}`, NOT_MOUNTED_HINT);
}

/**
 * umount2 under the retry policy; false when target was not a mount point (EINVAL). umount
 * --fake imagines it instead, once: the table it is answered from does not change meanwhile.
 */
function umount2Retrying(target: string, flags: number, policy: RetryPolicy, ctx: OpsContext): boolean {
  try {
    if (ctx.fakeUnmounts !== undefined) {
      logUmount2(target, flags, ctx);
      ctx.fakeUnmounts.umount2(target, flags);
      return true;
    }
    try {
      umount2Logged(target, flags, ctx); // the first try makes no closure: most unmounts need one
    } catch (err) {
      if (!shouldRetry(policy, err, 1)) throw err;
      Bun.sleepSync(pauseMs(policy, 1));
      retrySync(policy, () => umount2Logged(target, flags, ctx), 2);
    }
    return true;
  } catch (err) {
    if (isErrno(err, Errno.EINVAL)) return false;
    if (err instanceof SyscallError) err.withAction(`unmount ${quotePath(target)}`, err.errno === Errno.EPERM ? UNMOUNT_NEEDS_PRIVILEGE : undefined);
    throw err;
  }
}

function umount2Logged(target: string, flags: number, ctx: OpsContext): void {
  logUmount2(target, flags, ctx);
  ctx.sys.umount2(target, flags);
}

function logUmount2(target: string, flags: number, ctx: OpsContext): void {
  ctx.log?.(`umount2(${JSON.stringify(target)}, ${formatFlags(flags, MNT, "MNT_")})`);
}

/**
 * Unmount the top mount at target. Not mounted is not an error (containerd Unmount): the
 * result says whether a mount was removed.
 */
export function unmount(target: string, options: UnmountOptions = NO_OPTIONS): boolean {
  // the common call in one test; checkUnmountCall names what is wrong
  if (typeof target !== "string" || target.includes("\0") || (options !== NO_OPTIONS && (typeof options !== "object" || options === null || options.retry !== undefined))) checkUnmountCall(target, options);
  return unmountOnce(target, umountFlags(options, target), options.retry ?? UNMOUNT_BUSY, opsContext(options));
}

/**
 * umount(8) given a block device (/dev/sdb1, /dev/loop3, a /dev/disk/by-* link, UUID=x or
 * LABEL=x): the latest mount of it that its mount point leads to (mountsOfDevice) is
 * unmounted, and its mount point returned. undefined when path is no block device or nothing
 * of it is mounted. A tag no device has is a PlanError naming it. A device mounted only where
 * other mounts hide it is refused: umount2 of that mount point would remove the mount on top.
 */
export function unmountDevice(path: string, options: UnmountOptions = NO_OPTIONS): string | undefined {
  checkUnmountCall(path, options);
  const flags = umountFlags(options, path);
  const point = mountPointOfDevice(path, "unmount", options);
  // not mounted any more (unmounted meanwhile): as if it never was
  if (point === undefined || !unmountOnce(point, flags, options.retry ?? UNMOUNT_BUSY, opsContext(options))) return undefined;
  return point;
}

/**
 * The device number ("major:minor", as mountinfo writes it) of the block device path names (a
 * device, a /dev/disk link, or a UUID=/LABEL=/PART... tag); undefined when path is no block
 * device. A tag no device has is a PlanError.
 */
export function blockDeviceNumberOf(path: string, action = "unmount"): string | undefined {
  const tag = deviceTagOf(path);
  const named = tag === undefined ? path : deviceOfTag(tag);
  if (named === undefined) throw noDeviceWithTag(tag!, `${action} ${path}`);
  return blockDeviceNumber(named);
}

/**
 * Where the device path names (a block device, a /dev/disk link, UUID=/LABEL=/PART... tag) is
 * mounted: its latest mount that its mount point leads to; undefined when path is no block
 * device or nothing of it is mounted. A tag no device has, or a device mounted only under
 * other mounts, is a PlanError naming action ("unmount", "remount"). The table is a fake's
 * when options has one.
 */
export function mountPointOfDevice(path: string, action = "unmount", options: UnmountOptions = NO_OPTIONS): string | undefined {
  const device = blockDeviceNumberOf(path, action);
  if (device === undefined) return undefined;
  const { all, reachable } = mountsOfDevice(mountTableFor(options), device);
  if (all.length > 0 && reachable === undefined) {
    const where = all.map((m) => quotePath(m.mountpoint)).join(", ");
    throw new PlanError(`${action} ${quotePath(path)}: it is mounted only under other mounts (on ${where})`, {
      hint: `unmount what is mounted over it first${action === "unmount" ? ", or name the mount point" : ""}`,
    });
  }
  return reachable?.mountpoint;
}

/**
 * Unmount every mount stacked at target until it is no longer a mount point. A target that
 * does not exist has nothing mounted on it. Returns how many mounts were removed.
 */
export function unmountAll(target: string, options: UnmountOptions = NO_OPTIONS): number {
  checkUnmountCall(target, options);
  return peel(target, options, { removed: 0 });
}

/**
 * umount --all-stacked: unmountAll, where a mount still at target once it stops (umount2's
 * EINVAL for a mount the table shows: locked) is a failure, after those stacked on it went.
 * unmountAll itself keeps containerd's reading of EINVAL, "not mounted". The table (a fake's,
 * under --fake) is read once, at the end.
 */
export function unmountStack(target: string, options: UnmountOptions = NO_OPTIONS): number {
  checkUnmountCall(target, options);
  // a path that does not exist is umount2's ENOENT, as a plain umount says it (not "not mounted")
  const removed = peel(target, options, { removed: 0 }, true);
  const left = reachableMountOrNone(target, options);
  if (left === undefined) return removed;
  if (removed === 0) throw lockedMountError(target);
  throw unmountFailures(`unmount ${quotePath(target)}`, [lockedMountError(left.mountpoint)], removed);
}

/**
 * unmountAll, counting into tally so that a failure part-way still reports what went.
 * missingFails: a target that does not exist, when nothing was removed, is umount2's error.
 */
function peel(target: string, options: UnmountOptions, tally: { removed: number }, missingFails = false): number {
  const flags = umountFlags(options, target);
  if (target === "" && !missingFails) return 0;
  const ctx = opsContext(options);
  const policy = options.retry ?? UNMOUNT_BUSY;
  try {
    const before = tally.removed;
    while (unmountOnce(target, flags, policy, ctx)) tally.removed++;
    const removed = tally.removed - before;
    // -v logs each umount2 before it is made: what the last one, which ends the peel, said.
    // (unmountStack's caller reports an EINVAL that took nothing as its error: not said twice.)
    if (removed > 0 || !missingFails) ctx.log?.(`EINVAL: nothing ${removed > 0 ? "more " : ""}to unmount at ${JSON.stringify(target)}`);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT) && !(missingFails && tally.removed === 0)) return tally.removed;
    // Without CAP_SYS_ADMIN umount2 says EPERM before it looks for a mount point: once
    // fusermount took a user's FUSE mounts off, only the table tells that none is left.
    if (isErrno(err, Errno.EPERM) && tally.removed > 0 && reachableMountOrNone(target, options) === undefined) return tally.removed;
    throw err;
  }
  return tally.removed;
}

/**
 * Unmount everything mounted at or under target, children before parents (with
 * externalHelpers, a mount whose type has an umount.TYPE helper by that helper). Every failure is
 * reported (containerd returned only a failure of the target itself). A mount hidden under
 * a stack only becomes reachable once the stack is gone, so passes repeat while they progress.
 */
export function unmountRecursive(target: string, options: UnmountOptions = NO_OPTIONS): number {
  // a realpath that fails counts as nothing mounted below: bad input must not read so
  checkUnmountCall(target, options);
  if (target === "") return 0;
  let resolved: string;
  try {
    resolved = realpath(target);
  } catch {
    return 0; // nothing can be mounted under a path that does not exist
  }
  const action = `unmount ${quotePath(target)} recursively`;
  const unmounting = unmountingWith(options, target);
  let total = 0;
  const failed: FailedMounts = new Map();
  let order = unmountOrder(mountTableFor(options), resolved);
  while (order.length > 0) {
    const pass = unmountPass(order, unmounting, failed);
    total += pass.unmounted.length;
    const next = unmountOrder(mountTableFor(options), resolved);
    // What is left cannot be reached from here, unless a mount made since the table was read
    // hides it (one stacked on the target): then that one is reachable, and a pass is due.
    if (pass.unmounted.length === 0 && (pass.errors.length > 0 || !hasNewMount(next, order))) return endWithout(action, pass.errors, total);
    order = next;
  }
  return total;
}

/**
 * umount(8) -R: the top mount at target and every mount below it in the mount tree (mounted
 * on it or stacked on it), children before parents, every failure reported. What the top mount
 * covers (a stack under it, and its mounts) stays, as in util-linux; unmountRecursive takes
 * everything at or under a path instead. Returns 0 when target is no mount point or does not
 * exist (reachableMountAt tells which). For many targets, subtreeUnmounter reads the table once.
 */
export function unmountSubtree(target: string, options: UnmountOptions = NO_OPTIONS): number {
  return subtreeUnmounter(options)(target);
}

/**
 * unmountSubtree for the targets of one command, one after another (umount -R A B C...): the
 * mount table is read once and kept in step with the unmounts made (tracked-mount-table.ts),
 * so each target costs its own mounts rather than a read of the whole table; it is read again
 * where what the kernel shows departs from it.
 */
export function subtreeUnmounter(options: UnmountOptions = NO_OPTIONS): (target: string) => number {
  const subtrees = new SubtreeUnmounter(options);
  return (target) => subtrees.unmountTarget(target);
}

/**
 * umount -R's unmounts for one command, sharing one tracked read of the mount table: of the
 * targets named (subtreeUnmounter), and of mounts a caller chose from that same table (umount
 * -A -R: each mount of a filesystem, umount-all-targets.ts).
 */
export class SubtreeUnmounter {
  /** the table every unmount here reads and keeps in step; a caller chooses mounts from it */
  readonly table: TrackedMountTable;
  readonly #unmounting: Unmounting;

  constructor(options: UnmountOptions = NO_OPTIONS) {
    checkUnmountOptions(options);
    this.#unmounting = unmountingWith(options, "the targets");
    this.table = new TrackedMountTable(() => mountTableFor(options));
  }

  get sys(): OpsContext["sys"] {
    return this.#unmounting.ctx.sys;
  }

  /** umount -R TARGET: the top mount at it and everything below; 0 when it is no mount point or does not exist. */
  unmountTarget(target: string): number {
    // a realpath that fails counts as nothing mounted: bad input must not read so
    requirePath(target, "target", "unmount");
    let top: MountInfo | undefined;
    try {
      top = this.table.mountAt(realpath(target), this.sys);
    } catch (err) {
      if (err instanceof SyscallError) return 0; // no such path (realpath): nothing is mounted on it
      throw err;
    }
    return top === undefined ? 0 : unmountBelow(top, `unmount ${quotePath(target)} recursively`, this.table, this.#unmounting);
  }

  /** top, a mount of table's index that its mount point reaches, and everything below it. */
  unmountMount(top: MountInfo): number {
    return unmountBelow(top, `unmount ${quotePath(top.mountpoint)} recursively`, this.table, this.#unmounting);
  }
}

/**
 * top and everything below it in the tree, in passes while they progress: a mount hidden under
 * a stack only becomes reachable once the stack is gone. Once top went, its id may be reused by
 * a new mount: nothing more is ours, and the table is not read again. A pass that worked from
 * an index no longer as read (other targets' unmounts since) and found mounts gone from where
 * the index had them is made again from the table read afresh; one from a fresh read, only
 * when that read shows a mount new since (stacked on the target meanwhile, hiding the rest).
 */
function unmountBelow(top: MountInfo, action: string, table: TrackedMountTable, unmounting: Unmounting): number {
  let total = 0;
  let now: MountInfo | undefined = top;
  let index = table.index;
  const failed: FailedMounts = new Map();
  while (now !== undefined) {
    const fromRead = table.fresh;
    const order = index.subtree(now);
    const pass = unmountPass(order, unmounting, failed);
    table.unmounted(pass.unmounted);
    total += pass.unmounted.length;
    if (pass.unmounted.some((m) => m.id === top.id)) return total;
    if (pass.unmounted.length === 0 && (pass.missing === 0 || (fromRead && pass.errors.length > 0))) {
      const locked = pass.notMountPoint.length === 0 ? [] : stillReachable(pass.notMountPoint, table.reread());
      return endWithout(action, [...pass.errors, ...locked], total);
    }
    index = table.reread();
    now = index.find(top.id, top.mountpoint);
    // From a fresh read, what was missing cannot be reached from here, unless a mount made since
    // the read hides it (one stacked on the target): then that one is reachable, and a pass is due.
    if (pass.unmounted.length === 0 && fromRead && (now === undefined || !hasNewMount(index.subtree(now), order))) {
      return endWithout(action, [...pass.errors, ...stillReachable(pass.notMountPoint, index)], total);
    }
  }
  return total;
}

/**
 * Of the mounts umount2 called no mount point (EINVAL), those a read made since still shows
 * reachable at their mount point, each as its failure: the kernel would not unmount them (locked,
 * LOCKED_MOUNT_HINT). The others went meanwhile, or are hidden under a stack.
 */
function stillReachable(notMountPoint: readonly MountInfo[], index: MountIndex): SyscallError[] {
  return notMountPoint.filter((m) => isReachableIn(index, m)).map((m) => lockedMountError(m.mountpoint));
}

/** Whether index still holds m, as the top mount at its mount point (the one umount2 there would take). */
export function isReachableIn(index: MountIndex, m: MountInfo): boolean {
  return index.find(m.id, m.mountpoint) !== undefined && index.lookup(m.mountpoint)?.id === m.id;
}

/**
 * The mount a lookup of target (canonicalized) reaches when target is its mount point: the
 * top of a stack there. undefined when target is no mount point; ENOENT when it does not exist.
 * The table is a fake's when options has one.
 */
function reachableMountAt(target: string, options: UnmountOptions = NO_OPTIONS): MountInfo | undefined {
  const canonical = realpath(target);
  const top = lookupMount(mountTableFor(options), canonical);
  return top?.mountpoint === canonical ? top : undefined;
}

/** Whether the table (a fake's, under --fake) has a mount on target (canonicalized); false for no such path. */
export function tableHasMountAt(target: string, options: UnmountOptions = NO_OPTIONS): boolean {
  return reachableMountOrNone(target, options) !== undefined;
}

/** reachableMountAt, where a path that cannot be resolved (gone with a mount: ENOENT) has none. */
function reachableMountOrNone(target: string, options: UnmountOptions): MountInfo | undefined {
  try {
    return reachableMountAt(target, options);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
}

/** How one command unmounts each mount: its flags, retry policy, context and helpers. */
interface Unmounting {
  readonly ctx: OpsContext;
  readonly flags: number;
  readonly policy: RetryPolicy;
  readonly viaHelper: HelperUnmounter | undefined;
}

/** target: what the unmounts are of, for the error of flags umount2 refuses. */
function unmountingWith(options: UnmountOptions, target: string): Unmounting {
  return { ctx: opsContext(options), flags: umountFlags(options, target, " recursively"), policy: options.retry ?? UNMOUNT_BUSY, viaHelper: helperUnmounter(options) };
}

/** What one pass did: the mounts it unmounted, its failures, and how many mounts were not where the table had them. */
interface Pass {
  readonly unmounted: MountInfo[];
  readonly errors: MountkitError[];
  /** umount2 found no mount point (EINVAL) or no path (ENOENT: hidden under a stack, or gone) */
  readonly missing: number;
  /** the mounts of missing umount2 found no mount point for (EINVAL): gone, hidden, or locked */
  readonly notMountPoint: MountInfo[];
}

/**
 * The failures of one command's earlier passes, by mount ("id mountpoint": ids are reused). A
 * mount that failed is not tried again in a later pass, which another mount's progress brings
 * (unless that pass unmounted mounts on it): its retries for EBUSY (2.5 s) ran already, and each
 * pass more made umount -R wait them out again.
 */
type FailedMounts = Map<string, MountkitError>;

const failureKey = (m: MountInfo): string => `${m.id} ${m.mountpoint}`;

/**
 * Unmount the mounts of order (deepest first), children before parents. A mount is tried only
 * once all its children are gone, so none is retried for EBUSY in vain; one in failed keeps its
 * earlier failure, untried.
 */
function unmountPass(order: readonly MountInfo[], { ctx, flags, policy, viaHelper }: Unmounting, failed: FailedMounts): Pass {
  const children = childrenById(order);
  const gone = new Set<number>();
  const unmounted: MountInfo[] = [];
  const errors: MountkitError[] = [];
  const notMountPoint: MountInfo[] = [];
  let missing = 0;
  for (const m of order) {
    const below = children.get(m.id) ?? [];
    if (below.some((child) => !gone.has(child))) continue;
    // (no key made while nothing failed: a pass over thousands of mounts allocates none)
    const earlier = failed.size === 0 ? undefined : failed.get(failureKey(m));
    // tried again only when this pass took mounts off it (mounted on it since the table was read)
    if (earlier !== undefined && below.length === 0) {
      errors.push(earlier);
      continue;
    }
    try {
      // its children gone, m is the top mount at its mount point: its type's helper may take it
      if (viaHelper?.(m) || unmountOnce(m.mountpoint, flags, policy, ctx)) {
        gone.add(m.id);
        unmounted.push(m);
      } else {
        missing++;
        notMountPoint.push(m);
      }
    } catch (err) {
      if (isErrno(err, Errno.ENOENT)) {
        missing++; // hidden under a stack: next pass
        continue;
      }
      if (!(err instanceof MountkitError)) throw err;
      errors.push(err);
      failed.set(failureKey(m), err);
    }
  }
  return { unmounted, errors, missing, notMountPoint };
}

/** The end of passes that no longer progress: what is left cannot be reached from here, or failed. */
function endWithout(action: string, errors: MountkitError[], total: number): number {
  if (errors.length) throw unmountFailures(action, errors, total);
  return total;
}

/**
 * The failures of an unmount of many mounts, succeeded of which went. Failures that all give
 * one hint (all locked) give it to the whole, which is what is printed.
 */
export function unmountFailures(action: string, errors: readonly MountkitError[], succeeded: number): BatchError {
  const batch = new BatchError(action, errors, succeeded);
  if (errors.every((e) => e.hint !== undefined && e.hint === errors[0]!.hint)) batch.hint = errors[0]!.hint;
  return batch;
}

/** Whether now holds a mount that before does not (by id and mount point: ids are reused). */
function hasNewMount(now: readonly MountInfo[], before: readonly MountInfo[]): boolean {
  const known = new Set(before.map((m) => `${m.id} ${m.mountpoint}`));
  return now.some((m) => !known.has(`${m.id} ${m.mountpoint}`));
}

/**
 * Unmount a list of containerd mounts whose targets lie under root, in reverse order. Each
 * target is joined with root the way it was mounted (containerd's fs.RootPath: symlinks
 * followed, never out of root); a mount without a target was mounted on root itself. Each
 * umount2 is made inside the root (its parent opened with RESOLVE_IN_ROOT, the last step not
 * followed: pinned-target.ts), as a batch's release makes it: containerd unmounts the paths it
 * resolved, so a directory on one swapped for a symlink since sends its unmount out of the root.
 * Every failure is collected; a BatchError names them all. An empty list is a no-op.
 */
export function unmountMounts(mounts: readonly Mount[], root: string, options: UnmountOptions = NO_OPTIONS): number {
  // every entry before the first unmount: one that is no Mount (a string's characters) read as
  // "no target", the root itself, and unmounted it
  // (only the target is read: type, source and options are not looked at)
  if (!Array.isArray(mounts)) throw new PlanError(`unmount mounts: expected a list of Mounts, got ${shownValue(mounts)}`);
  for (let i = 0; i < mounts.length; i++) {
    const m: unknown = mounts[i];
    const where = `unmount mounts: entry ${i + 1}`;
    if (typeof m !== "object" || m === null) throw new PlanError(`${where}: expected a Mount {type, source, target, options}, got ${shownValue(m)}`);
    optionalPath((m as Mount).target, "target", where);
  }
  requirePath(root, "root", "unmount mounts");
  checkUnmountOptions(options, "unmount mounts");
  // Nothing to unmount is done, whatever the root (containerd's loop never runs either).
  if (mounts.length === 0) return 0;
  const canonical = rootOrAsGiven(root);
  const sys = opsContext(options).sys;
  // Each target resolved once the mounts after it are gone, as containerd resolves it: the
  // tree is then as it was when that mount was made. Resolved all at once before, a later
  // mount (a bind on the root) could hide the symlink an earlier target was resolved through,
  // and that earlier mount stayed, silently.
  const targets = [...mounts].reverse().map((m) => () => resolveInRoot(canonical, m.target ?? "", sys));
  return unmountEach(targets, { ...options, sys: unmountingInRoot(canonical, sys) }, "unmount mounts");
}

/** A root that no longer exists has nothing mounted under it; keep its name for the messages. */
function rootOrAsGiven(root: string): string {
  if (root === "") throw new PlanError("unmount mounts: empty root path");
  try {
    return canonicalRoot(root);
  } catch (err) {
    if (err instanceof PlanError) return absolutePath(root);
    throw err;
  }
}

/** peel each target, found when its turn comes, every failure collected. */
function unmountEach(targets: readonly (() => string)[], options: UnmountOptions, action: string): number {
  const errors: MountkitError[] = [];
  const tally = { removed: 0 };
  for (const target of targets) {
    try {
      peel(target(), options, tally);
    } catch (err) {
      if (!(err instanceof MountkitError)) throw err;
      errors.push(err);
    }
  }
  if (errors.length) throw new BatchError(action, errors, tally.removed);
  return tally.removed;
}

/**
 * root + target, lexically: ".." cannot climb above root, but a symlink in target is not
 * followed. unmountMounts and apply resolve with rootPath (plan/root-path.ts); a batch uses
 * this to name an entry's target until it is resolved.
 */
export function joinUnderRoot(root: string, target: string): string {
  requirePath(root, "root", "join under root");
  requirePath(target, "target", "join under root");
  const joined = join(root, normalize(`/${target}`));
  // "/r" for no target, as rootPath resolves it: the name is shown until then
  return joined.length > 1 && joined.endsWith("/") ? joined.slice(0, -1) : joined;
}
