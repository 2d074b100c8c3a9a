/**
 * Many mounts in one call (apply, mountAll, mount -a, temp mounts), in order, parents first.
 *
 *   1. plan every entry (planMount, the single-mount path) and ask the kernel about each new
 *      filesystem's type and options: a bad entry refuses the whole call before any mount
 *      (under mountAllRules it fails alone, in its turn, as a line of mount -a does)
 *   2. per entry: resolve its target inside the root (fs.RootPath), create it if asked, plan
 *      it again for the resolved target, run the plan keeping its undo actions
 *   3. on a failure: all or nothing (the default) undoes every entry mounted so far, newest
 *      first, and reports the failing one; keepGoing undoes only the failed entry and goes on;
 *      a `nofail` entry's failure is a warning
 *
 * Setup shared by the entries (kernel facts, the mount table read once) lives in
 * batch-shared.ts.
 */
import { Errno } from "../errno.ts";
import { BatchError, MountFailedError, MountkitError, PlanError, SyscallError } from "../errors.ts";
import { isPathUnder } from "../mountinfo/lookup.ts";
import { checkBatchEntries, entriesFromMounts, DEFAULT_TARGET_MODE, type BatchEntry } from "../plan/batch-entry.ts";
import { optionalString, requireFunction, requireOptionsObject } from "../plan/caller-input.ts";
import { hasTransform } from "../plan/activation.ts";
import { nameEntry, planBatch, planEach, planEntry, readOnlyLaterPlan } from "../plan/batch-plan.ts";
import { mkdirRootsOf, runActivatedBatch } from "./activation.ts";
import type { Mount } from "../plan/mount-request.ts";
import type { Plan } from "../plan/steps.ts";
import { openBatchShared } from "./batch-shared.ts";
import { opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { checkFsParams, fsParamRefusals } from "./fs-params.ts";
import { isMountedAlready } from "./already-mounted.ts";
import { planEnv, readyToRun } from "./mount.ts";
import { mountHint } from "./hints.ts";
import { canonicalRoot, resolveInRoot } from "./resolve.ts";
import { openRoot, runPlanInRoot, unmountingInRoot } from "./pinned-target.ts";
import { closeQuietly } from "./plan-handles.ts";
import { undoMountStack, type Undo } from "./run-plan.ts";
import { RunStopped, stopPoint } from "./stop.ts";
import { createTarget } from "./targets.ts";
import { joinUnderRoot } from "./unmount.ts";

export interface BatchOptions extends OpsOptions {
  /** mount what can be mounted: a failed entry is undone alone and the others stay (exit 64) */
  keepGoing?: boolean;
  /** skip an entry already in the mount table (mount -a); the table is read once */
  skipMounted?: boolean;
  /** called after each entry, for -v, progress and --json */
  onEntry?: (result: EntryResult, done: number, total: number) => void;
  /** the operation named in messages: "apply", "mount -a", "temp mount" */
  action?: string;
  /**
   * util-linux mount -a's rules: an entry that cannot be planned (its device not found, no type
   * to be had, a type or option the kernel refuses) is not bad input refusing the batch but
   * that entry's failure, met in its turn; and a nofail entry's failure counts as done (exit 64,
   * not 32, when others fail), as mount(8) counts it.
   */
  mountAllRules?: boolean;
  /**
   * release() also removes whatever is stacked on the batch's targets (containerd's
   * UnmountMounts peels each target with UnmountAll): for a root the caller owns whole, as
   * withTempMount's dir, where a callback may have mounted over ours. Each of those unmounts
   * is made inside the root (pinned-target.ts unmountingInRoot), never by a path the callback
   * may have redirected with a symlink
   */
  releaseStacks?: boolean;
  /**
   * Directories beneath which a list's X-containerd.mkdir.path may make directories, besides
   * its own temp mounts (containerd's mount manager allows its target dir and the roots given
   * to WithAllowedRoot, the containerd root): each must exist, "/" is refused, and a path is
   * allowed beneath it as named or as canonical. Made through the directory's fd, never
   * following a symlink out of it.
   */
  mkdirRoots?: readonly string[];
}

export type EntryStatus =
  /** mounted, and still mounted when the call returned */
  | "mounted"
  /** failed (its own partial work undone) */
  | "failed"
  /** a nofail entry that failed: a warning */
  | "warning"
  /** left alone: already mounted */
  | "skipped"
  /** mounted, then undone because a later entry failed */
  | "rolled-back";

export interface EntryResult {
  readonly index: number;
  readonly where: string;
  /** the entry's fstab file, when it has one (BatchEntry.file) */
  readonly file?: string;
  /** the host path it was (or would have been) mounted on */
  readonly target: string;
  readonly status: EntryStatus;
  readonly error?: MountkitError | undefined;
  /** wall time spent on the entry, in ms */
  readonly timeMs: number;
}

/** Where a result's entry came from: its number (an fstab line's), name and fstab file. */
export function entryOrigin(entry: BatchEntry): Pick<EntryResult, "index" | "where" | "file"> {
  return { index: entry.index, where: entry.where, ...(entry.file === undefined ? {} : { file: entry.file }) };
}

/** What a batch mounted, and how to take it down again. */
export interface MountedBatch {
  /** the canonical root the targets were resolved in */
  readonly root: string;
  readonly results: readonly EntryResult[];
  /** host paths still mounted by this batch, in mount order */
  readonly targets: readonly string[];
  /** problems that did not fail the batch: nofail entries, a failed close after checking options */
  readonly warnings: readonly MountkitError[];
  /**
   * Undo every entry still mounted, newest first: its plan's undo actions (unmount; a busy
   * mount is detached) then the targets it created (rmdir, never recursive). Every failure is
   * reported in one BatchError. Idempotent.
   */
  release(): void;
}

export interface BatchOutcome extends MountedBatch {
  /** why the batch failed: the failing entry's error (all or nothing, after rollback), or a
   *  BatchError of every failed entry (keepGoing); undefined on success */
  readonly error: MountkitError | undefined;
  /** how often the batch read the mount table (0 or 1: the shared read) */
  readonly mountTableReads: number;
}

/** A mounted entry: its target and the undo actions of its plan and of its created targets. */
interface Mounted {
  readonly entry: BatchEntry;
  readonly target: string;
  readonly undo: Undo[];
  readonly resultIndex: number;
}

/** The batch's own warnings (a failed close of an option check, a transform's temp mount left), not an entry's. */
export function batchOwnWarnings(outcome: Pick<BatchOutcome, "results" | "warnings">): MountkitError[] {
  const ofEntries = new Set(outcome.results.map((r) => r.error));
  return outcome.warnings.filter((w) => !ofEntries.has(w));
}

/**
 * Run a batch. Throws a PlanError (nothing mounted) for bad input; mount failures are in the
 * outcome's error, after the rollback the mode asks for.
 */
export function runBatch(entries: readonly BatchEntry[], root: string, options: BatchOptions = {}): BatchOutcome {
  requireOptionsObject(options, "mount batch");
  optionalString(options.action, "action", "mount batch");
  checkBatchEntries(entries, options.action ?? "mount batch");
  return runEntries(entries, root, options);
}

/** runBatch of entries ops/ made itself (entriesFromMounts, an fstab's, apply's): not walked again. */
export function runEntries(entries: readonly BatchEntry[], root: string, options: BatchOptions = {}): BatchOutcome {
  // called once an entry stands: a number was a TypeError then, the entry undone
  if (options.onEntry !== undefined && typeof options.onEntry !== "function") requireFunction(options.onEntry, "onEntry", "options");
  const action = options.action ?? "mount batch";
  // containerd's mount transformers (format/, mkdir/): temp mounts first (ops/activation.ts)
  if (entries.some((e) => hasTransform(e.mount.type))) {
    // the real mounts have no transform: their roots were read with the list's
    return runActivatedBatch(entries, options, action, (system) => runEntries(system, root, { ...options, mkdirRoots: undefined }));
  }
  // a list without mkdir options reads no mkdir root, but one that is missing, or /, is bad input all the same
  if (options.mkdirRoots !== undefined) mkdirRootsOf(options);
  const canonical = canonicalRoot(root);
  const base = opsContext(options);
  const shared = openBatchShared(base.facts);
  const ctx: OpsContext = { ...base, batch: shared };
  // Resolving now (read-only) finds link cycles before any mount; entries are resolved
  // again right before they are mounted.
  const targets = new Map<BatchEntry, string>();
  const resolveNow = (e: BatchEntry) => {
    let target: string;
    try {
      target = resolveInRoot(canonical, e.mount.target, ctx.sys);
    } catch (err) {
      // "apply: entry 3: resolve /r/x: readlink(2): ENAMETOOLONG": the entry named, as a plan's refusal names it
      if (err instanceof SyscallError) throw err.withAction(`${action}: ${e.where}: ${err.action ?? `resolve ${e.mount.target}`}`);
      throw err;
    }
    targets.set(e, target);
    return target;
  };
  const { preflight, checked } = options.mountAllRules ? preflightEach(entries, resolveNow, targets, ctx) : preflightAll(entries, resolveNow, targets, ctx, action);
  // The root's fd, for every entry's target opened inside it (ops/pinned-target.ts)
  const rootFd = { fd: canonical === "/" ? undefined : openRoot(canonical, ctx.sys) };
  try {
    const run = mountEntries(entries, canonical, ctx, options, action, preflight, checked, rootFd);
    return Object.assign(run, { mountTableReads: shared.mountTableReads });
  } finally {
    closeRootFd(rootFd, ctx);
  }
}

/** What was planned for an entry before the first mount, and for which target. */
interface Preflight {
  readonly target: string | undefined;
  /** undefined: it could not be planned then; it is planned again in its turn */
  readonly plan: Plan | undefined;
  /** what the kernel refused of its type or options, the hint for its mount's failure */
  readonly refusal?: string | undefined;
}

/**
 * Every entry planned and checked; any bad entry refuses the batch (a PlanError), but for a
 * nofail entry's options the kernel refuses: that entry fails in its turn, a warning.
 */
function preflightAll(
  entries: readonly BatchEntry[],
  resolveNow: (e: BatchEntry) => string,
  targets: ReadonlyMap<BatchEntry, string>,
  ctx: OpsContext,
  action: string,
): { preflight: Map<BatchEntry, Preflight>; checked: MountkitError[] } {
  const plans = locateAll(entries, planBatch(entries, resolveNow, ctx.facts, action, planEnv(ctx)), ctx, action);
  const { cleanup: checked, nofailRefusals } = checkFsParams(entries, plans, ctx, action); // a failed close of a check: a warning
  return { preflight: new Map(entries.map((e, i) => [e, { target: targets.get(e)!, plan: plans[i]!, refusal: nofailRefusals[i] }])), checked };
}

/**
 * mount -a's pre-flight: each entry planned and checked on its own. One that fails is planned
 * again in its turn (an earlier line may mount what it needs), and fails there, alone; the
 * kernel's refusal of its options is kept to explain its mount(2) failure.
 */
function preflightEach(
  entries: readonly BatchEntry[],
  resolveNow: (e: BatchEntry) => string,
  targets: ReadonlyMap<BatchEntry, string>,
  ctx: OpsContext,
): { preflight: Map<BatchEntry, Preflight>; checked: MountkitError[] } {
  const plans = entries.map((entry) => {
    let target: string;
    try {
      target = resolveNow(entry);
    } catch (err) {
      // a mount point that cannot be resolved (ENAMETOOLONG, EACCES, a link cycle): resolved
      // again in its turn, where it fails alone, named
      if (err instanceof MountkitError) return undefined;
      throw err;
    }
    const [planned] = planEach([entry], () => target, ctx.facts, planEnv(ctx));
    if (planned === undefined || planned instanceof PlanError) return undefined;
    try {
      return readyToRun(planned, ctx);
    } catch (err) {
      if (!(err instanceof MountkitError)) throw err;
      return undefined; // a helper not installed: said again, naming the line, in its turn
    }
  });
  const checked: MountkitError[] = [];
  const refusals = fsParamRefusals(entries, plans, ctx, checked);
  const preflight = new Map(entries.map((e, i): [BatchEntry, Preflight] => [e, { target: targets.get(e), plan: plans[i], refusal: refusals[i]?.text }]));
  return { preflight, checked };
}

/** The outcome before the batch-level counters are added. */
type EntriesOutcome = Omit<BatchOutcome, "mountTableReads">;

function mountEntries(
  entries: readonly BatchEntry[],
  root: string,
  ctx: OpsContext,
  options: BatchOptions,
  action: string,
  preflight: ReadonlyMap<BatchEntry, Preflight>,
  preflightWarnings: readonly MountkitError[],
  rootFd: { fd: number | undefined },
): EntriesOutcome {
  const mounted: Mounted[] = [];
  const results: EntryResult[] = [];
  const failed: MountkitError[] = [];
  const warnings: MountkitError[] = [...preflightWarnings];
  const ours: { target: string; mount: Mount }[] = [];
  /** run before any other undo: the entries made read-only at the end, writable again */
  const writableAgain: Undo[] = [];
  let error: MountkitError | undefined;
  const report = (result: EntryResult) => {
    results.push(result);
    options.onEntry?.(result, results.length, entries.length);
  };

  // armed for the whole batch: a stop signal between two entries must not end the process
  // with the first mounted and the call all or nothing (ops/stop.ts)
  ctx.stop?.arm();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    let target = joinUnderRoot(root, entry.mount.target); // its name until it is resolved
    const undo: Undo[] = [];
    if (i > 0 && ctx.stop !== undefined) {
      const reason = ctx.stop.requested();
      if (reason !== undefined) throw stoppedBetween(new RunStopped(reason), mounted, results, ctx, options, rootFd);
    }
    try {
      try {
        target = resolveInRoot(root, entry.mount.target, ctx.sys);
      } catch (err) {
        throw nameEntry(entry, err);
      }
      if (options.skipMounted && mountedAlready(ctx, entry, target, ours)) {
        report({ ...entryOrigin(entry), target, status: "skipped", timeMs: elapsed() });
        continue;
      }
      if (entry.createTarget) createTarget(entry.mount, target, entry.createTarget, undo, ctx.log, root, rootFd.fd);
      const madeTarget = undo.length > 0;
      // between the mount point made and the mount, as between two steps of a plan
      if (madeTarget) stopPoint(ctx);
      // The pre-flight plan stands unless an earlier entry's mount moved the target.
      const early = preflight.get(entry);
      const plan = early?.plan !== undefined && early.target === target ? early.plan : readyToRun(planEntry(entry, target, ctx.facts, planEnv(ctx)), ctx);
      try {
        runPlanInRoot(plan, root, target, ctx, { rollback: undo }, rootFd.fd);
      } catch (err) {
        // mount(2) says EINVAL or ENODEV; what the kernel said of the option or type before is the better hint
        const refused = err instanceof SyscallError && (err.errno === Errno.EINVAL || err.errno === Errno.ENODEV);
        if (early?.refusal !== undefined && refused && err.hint === undefined) err.hint = early.refusal;
        // a refusal made while running (an image mounted on the target already) names its entry, as planning's do
        throw nameEntry(entry, err);
      }
      // and after the mount, the last step of the two: a stop in it undoes both, as a plan's last step
      if (madeTarget) stopPoint(ctx);
      if (target === root && rootFd.fd !== undefined) {
        // a mount on the root itself: the later targets are inside it, which the old fd, on
        // the directory under it, does not reach
        closeQuietly(ctx.sys, rootFd.fd);
        rootFd.fd = openRoot(root, ctx.sys);
      }
      mounted.push({ entry, target, undo, resultIndex: results.length });
      ours.push({ target, mount: entry.mount });
      report({ ...entryOrigin(entry), target, status: "mounted", timeMs: elapsed() });
    } catch (thrown) {
      // named (its hint looks at the target) before the targets this entry created are removed;
      // its plan undid itself
      const err = entryFailure(entry, thrown, target, action);
      const cleanup = runUndo(undo);
      if (err instanceof RunStopped) {
        err.during = entry.where;
        err.cleanupErrors.push(...cleanup);
        throw stoppedBetween(err, mounted, results, ctx, options, rootFd);
      }
      if (!(err instanceof MountkitError)) {
        // Not a mount failure but a bug: still leave nothing behind, then let it surface.
        closeRootFd(rootFd, ctx);
        rollBack(mounted, results, ctx);
        throw err;
      }
      err.cleanupErrors.push(...cleanup);
      if (entry.nofail) {
        warnings.push(err);
        report({ ...entryOrigin(entry), target, status: "warning", error: err, timeMs: elapsed() });
      } else if (options.keepGoing) {
        failed.push(err);
        report({ ...entryOrigin(entry), target, status: "failed", error: err, timeMs: elapsed() });
      } else {
        closeRootFd(rootFd, ctx);
        err.cleanupErrors.push(...rollBack(mounted, results, ctx));
        report({ ...entryOrigin(entry), target, status: "failed", error: err, timeMs: elapsed() });
        error = err;
        break;
      }
    }
  }
  if (!error) error = makeReadOnlyLast(mounted, results, failed, warnings, writableAgain, root, ctx, options, action, rootFd);
  if (!error && failed.length > 0) {
    // mount(8) -a counts a nofail line that failed as done: 64 (some failed), not 32
    const done = mounted.length + (options.mountAllRules ? results.filter((r) => r.status === "warning").length : 0);
    error = new BatchError(action, failed, done);
  }
  return mountedBatch(root, results, mounted, writableAgain, warnings, error, ctx, action, options.releaseStacks === true);
}

/**
 * runc's finalizeRootfs: each entry mounted read-write for the mounts inside it
 * (readOnlyAtTheEnd) made read-only, in mount order, once every entry stands. A failure is that
 * entry's: all or nothing rolls everything back (its error returned); with keepGoing or nofail
 * it comes off with the entries mounted inside it, and the others stay.
 */
function makeReadOnlyLast(
  mounted: Mounted[],
  results: EntryResult[],
  failed: MountkitError[],
  warnings: MountkitError[],
  writableAgain: Undo[],
  root: string,
  ctx: OpsContext,
  options: BatchOptions,
  action: string,
  rootFd: { fd: number | undefined },
): MountkitError | undefined {
  for (const m of mounted.filter((each) => each.entry.readOnlyLater)) {
    if (!mounted.includes(m)) continue; // taken down with an entry it is inside
    try {
      runPlanInRoot(readOnlyLaterPlan(m.entry, m.target, ctx.facts), root, m.target, ctx, undefined, rootFd.fd);
      // undone first, so that the mount points made in it can be removed
      writableAgain.push(() => runPlanInRoot(readOnlyLaterPlan(m.entry, m.target, ctx.facts, false), root, m.target, ctx));
      continue;
    } catch (thrown) {
      const err = entryFailure(m.entry, thrown, m.target, action);
      if (!(err instanceof MountkitError)) {
        closeRootFd(rootFd, ctx);
        rollBack(mounted, results, ctx, undefined, writableAgain);
        throw err;
      }
      const alone = m.entry.nofail || options.keepGoing;
      if (alone) {
        const inside = mounted.filter((o) => o === m || (o.resultIndex > m.resultIndex && isPathUnder(o.target, m.target)));
        for (const o of inside) mounted.splice(mounted.indexOf(o), 1);
        err.cleanupErrors.push(...rollBack(inside, results, ctx));
        (m.entry.nofail ? warnings : failed).push(err);
      } else {
        closeRootFd(rootFd, ctx);
        err.cleanupErrors.push(...rollBack(mounted, results, ctx, undefined, writableAgain));
      }
      results[m.resultIndex] = { ...results[m.resultIndex]!, status: m.entry.nofail ? "warning" : "failed", error: err };
      if (!alone) return err;
    }
  }
  return undefined;
}

/**
 * A batch stopped by its caller (ops/stop.ts), the entry it was mounting undone: mount -a's
 * lines mounted stay (util-linux's, each on its own); any other batch is undone whole, whatever
 * its mode. Returns stopped, to throw.
 */
function stoppedBetween(stopped: RunStopped, mounted: Mounted[], results: EntryResult[], ctx: OpsContext, options: BatchOptions, rootFd: { fd: number | undefined }): RunStopped {
  closeRootFd(rootFd, ctx);
  if (!options.mountAllRules) stopped.cleanupErrors.push(...rollBack(mounted, results, ctx));
  return stopped;
}

/** Close the batch's fd of the root: done with, or about to be unmounted (open, it would keep a mount on the root busy). */
function closeRootFd(rootFd: { fd: number | undefined }, ctx: OpsContext): void {
  if (rootFd.fd !== undefined) closeQuietly(ctx.sys, rootFd.fd);
  rootFd.fd = undefined;
}

function mountedBatch(
  root: string,
  results: EntryResult[],
  mounted: Mounted[],
  writableAgain: Undo[],
  warnings: MountkitError[],
  error: MountkitError | undefined,
  ctx: OpsContext,
  action: string,
  releaseStacks: boolean,
): EntriesOutcome {
  return {
    root,
    results,
    get targets() {
      return mounted.map((m) => m.target);
    },
    warnings,
    error,
    release() {
      const failures = rollBack(mounted, results, ctx, releaseStacks ? root : undefined, writableAgain);
      if (failures.length === 0) return;
      const known = failures.filter((f): f is MountkitError => f instanceof MountkitError);
      if (known.length < failures.length) throw failures.find((f) => !(f instanceof MountkitError));
      throw new BatchError(`${action}: release ${root}`, known, 0);
    },
  };
}

/**
 * Every plan with its mount helpers located (FUSE), as mount() does: a helper that is not
 * installed fails the batch before any mount, naming the entry.
 */
function locateAll(entries: readonly BatchEntry[], plans: readonly Plan[], ctx: OpsContext, action: string): Plan[] {
  return plans.map((plan, i) => {
    try {
      return readyToRun(plan, ctx);
    } catch (err) {
      if (err instanceof MountkitError) err.message = `${action}: ${entries[i]!.where}: ${err.message}`;
      throw err;
    }
  });
}

/**
 * Undo every mounted entry, newest first; their results become "rolled-back". With stacksIn
 * (the batch's root), each entry's target is first cleared of every mount on it (ours last): a
 * plain undo would remove only the top one, someone else's, and leave ours. Those unmounts are
 * made inside the root, as the entries' own undo is (pinned-target.ts): whoever stacked there
 * could also have swapped a directory on the target's path for a symlink to a host directory,
 * where unmounting by path would take the host's mounts. If that fails, the entry's own undo
 * would fail the same way, and is not run. first runs before all of it: the entries made
 * read-only at the end made writable again, so the mount points made inside them can go.
 */
function rollBack(mounted: Mounted[], results: EntryResult[], ctx: OpsContext, stacksIn?: string, first: Undo[] = []): unknown[] {
  const failures: unknown[] = runUndo(first);
  const inRoot = stacksIn === undefined ? undefined : { ...ctx, sys: unmountingInRoot(stacksIn, ctx.sys) };
  while (mounted.length > 0) {
    const m = mounted.pop()!;
    ctx.log?.(`rollback: ${results[m.resultIndex]?.where ?? m.target}`);
    if (inRoot !== undefined) {
      try {
        undoMountStack(m.target, inRoot);
      } catch (err) {
        failures.push(err);
        continue;
      }
    }
    failures.push(...runUndo(m.undo));
    const r = results[m.resultIndex];
    if (r) results[m.resultIndex] = { ...r, status: "rolled-back" };
  }
  return failures;
}

/** Run undo actions newest first; every failure is returned, none stops the others. */
function runUndo(undo: Undo[]): unknown[] {
  const failures: unknown[] = [];
  for (const u of undo.splice(0).reverse()) {
    try {
      u();
    } catch (err) {
      failures.push(err);
    }
  }
  return failures;
}

/** The entry's failure, named: "apply: entry 3 (/dev/pts): mount devpts on /r/dev/pts: mount(2): ..." */
function entryFailure(entry: BatchEntry, err: unknown, target: string, action: string): unknown {
  if (err instanceof SyscallError) {
    if (err.hint === undefined) err.hint = mountHint(err, entry.mount, target);
    return err.withAction(`${action}: ${entry.where}: ${err.action ?? `mount on ${target}`}`);
  }
  if (err instanceof PlanError) {
    // Every entry was planned before the first mount: one that fails to plan now does so
    // because of what earlier entries mounted, so it is a mount failure (32), not bad input.
    // Already named by planEntry or at resolution.
    return new MountFailedError(err.message, err, { action, hint: err.hint });
  }
  if (err instanceof MountkitError) err.message = `${action}: ${entry.where}: ${err.message}`;
  return err;
}

/** mount -a's "already mounted": in the table read once for the batch, or mounted by it. */
function mountedAlready(ctx: OpsContext, entry: BatchEntry, target: string, ours: readonly { target: string; mount: Mount }[]): boolean {
  const m = entry.mount;
  if (ours.some((o) => o.target === target && o.mount.type === m.type && o.mount.source === m.source)) return true;
  const batch = ctx.batch!;
  return isMountedAlready(m, target, ctx, batch.mountTable(), (tag) => batch.deviceOfTag(tag));
}

export interface MountAllOptions extends BatchOptions {
  /** create missing targets (directories 0755; an empty file for a bind of a file) */
  mkdir?: boolean;
}

/**
 * Mount every mount at its target inside root, in order (containerd's mount.All with each
 * Mount's Target joined by fs.RootPath). A PlanError, before any mount, names a bad entry.
 * All or nothing by default: on a failure what was mounted is undone and the failing entry's
 * error is thrown. With keepGoing nothing is thrown for mount failures: the outcome's error is
 * the BatchError of the failed entries and what mounted stays. release() unmounts it all.
 */
export function mountAll(mounts: readonly Mount[], root: string, options: MountAllOptions = {}): BatchOutcome {
  requireOptionsObject(options, "mount all");
  const entries = entriesFromMounts(mounts, options.mkdir ? { mode: DEFAULT_TARGET_MODE } : undefined, "mount all");
  const outcome = runEntries(entries, root, { action: "mount all", ...options });
  if (outcome.error && !options.keepGoing) throw outcome.error;
  return outcome;
}
