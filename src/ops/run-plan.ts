/**
 * Runs a plan through the syscall seam. Steps that create something register how to undo
 * it; when a later step fails, the undo actions run newest first and the original error is
 * thrown, naming the plan's action. The system is left as it was found.
 */
import { isErrno, MountFailedError, MountkitError, quotePath, SyscallError } from "../errors.ts";
import { Errno } from "../errno.ts";
import { MNT } from "../plan/flags.ts";
import { currentFlags } from "./current-flags.ts";
import { warnIgnoredOverlayOptions } from "./overlay-remount.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { formatStep, type MountStep, type Plan, type Step, type UnmountStep } from "../plan/steps.ts";
import type { OpsContext } from "./context.ts";
import { runHelperStep } from "./fuse-mount.ts";
import { runIdmapStep } from "./idmap-run.ts";
import type { IdmapRunState } from "./idmap-temp.ts";
import { runFsContextStep } from "./fs-context.ts";
import { runMountInDirStep } from "./mount-in-dir.ts";
import { runLoopMountStep } from "./loop.ts";
import { runErofsFileMountStep } from "./erofs-file.ts";
import { runProbedMountStep } from "./probe.ts";
import { mountFirstType } from "./mount-types.ts";
import { newMountOf } from "./new-mount.ts";
import { mountOrReadOnly } from "./read-only-fallback.ts";
import { runSetOwnerStep } from "./mountpoint-owner.ts";
import { runCopyUpSourceStep, runCopyUpStep } from "./copy-up.ts";
import { releaseHandles, type PlanHandle } from "./plan-handles.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { mountsBelow } from "../plan/unmount-plan.ts";
import { stopPoint, RunStopped } from "./stop.ts";

export type Undo = () => void;

export interface PlanRun {
  readonly rollback: Undo[];
  /**
   * fds that steps produce for later steps, by handle name (the user namespace, a detached
   * idmapped tree used as an overlay layer); owned ones are closed when the plan ends, whether
   * it succeeded or not. The helpers in ops/plan-handles.ts are the way in and out.
   */
  readonly handles: PlanHandle[];
  /** where the next search of handles starts: the last one found (ops/plan-handles.ts) */
  handleCursor?: number;
  /** what the idmap steps of this run attached and created (ops/idmap-temp.ts) */
  idmap?: IdmapRunState;
  /**
   * Whether the running step's undo can ever run: false, outside a batch, for the last step
   * that can fail (only close steps may follow it), since nothing after it can fail. A step
   * that creates something registers its undo only when this is true (an allocation saved on
   * every single mount).
   */
  readonly undoWanted: boolean;
}

/**
 * A run's state. The rollback and handle lists are made on first use: a plain mount, one step
 * with nothing to hand on or undo, allocates none of them (in place, right after the kernel's
 * work, each allocation costs several times what it does in a warm loop).
 */
class PlanRunState implements PlanRun {
  idmap: IdmapRunState | undefined = undefined;
  undoWanted = true;
  handleCursor = 0;
  #rollback: Undo[] | undefined;
  #handles: PlanHandle[] | undefined;
  get rollback(): Undo[] {
    return (this.#rollback ??= []);
  }
  get handles(): PlanHandle[] {
    return (this.#handles ??= []);
  }
  get hasRollback(): boolean {
    return this.#rollback !== undefined && this.#rollback.length > 0;
  }
  get hasHandles(): boolean {
    return this.#handles !== undefined && this.#handles.length > 0;
  }
}

/**
 * Execute every step; roll back and rethrow on failure. With `keep`, the undo actions of a
 * successful run are handed over to it (a batch runs them to roll back or release the mount
 * later), so every feature's own cleanup takes part in batch rollback.
 */
export function runPlan(plan: Plan, ctx: OpsContext, keep?: Pick<PlanRun, "rollback">): void {
  const run = new PlanRunState();
  const { steps } = plan;
  // The last step that can fail: close steps cannot (plan-handles.ts closeHandle).
  let lastFallible = steps.length - 1;
  while (lastFallible > 0 && steps[lastFallible]!.op === "close") lastFallible--;
  // A caller's stop (ops/stop.ts) is asked between the steps and once the last that can fail is
  // done: a stop signal then undoes the steps made, where it would have ended the process
  // between two of them. A loop-mount step is armed too: it attaches, then mounts (on the
  // legacy path LOOP_SET_FD, then the status that sets autoclear), and so is an erofs mount
  // that may fall back to one, and a plan that ends its caller's work (a mount point made for
  // it: ops/stop.ts asLastPart).
  const first = steps[0]?.op;
  const stop = ctx.stop !== undefined && (lastFallible > 0 || first === "loop-mount" || first === "erofs-file-mount" || ctx.stop.lastPart === true) ? ctx.stop : undefined;
  stop?.arm();
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    run.undoWanted = keep !== undefined || i < lastFallible || stop !== undefined;
    try {
      if (stop !== undefined && i > 0 && i <= lastFallible) stopPoint(ctx);
      if (ctx.log) for (const line of formatStep(step).split("\n")) ctx.log(line);
      runStep(step, ctx, run);
      if (stop !== undefined && i === lastFallible) stopPoint(ctx);
    } catch (err) {
      rollBack(run, err);
      if (run.hasHandles) releaseHandles(run, ctx.sys);
      if ((err instanceof SyscallError || err instanceof MountFailedError) && err.action === undefined) err.withAction(plan.action);
      throw err;
    }
  }
  if (keep && run.hasRollback) keep.rollback.push(...run.rollback);
  if (run.hasHandles) releaseHandles(run, ctx.sys);
}

function runStep(step: Step, ctx: OpsContext, run: PlanRun): void {
  switch (step.op) {
    case "mount":
      return runMountStep(step, ctx, run);
    case "umount2":
      return runUnmountStep(step, ctx);
    case "helper":
      return runHelperStep(step, ctx, run);
    case "fs-context":
      return runFsContextStep(step, ctx, run);
    case "mount-in-dir":
      return runMountInDirStep(step, ctx, run);
    case "loop-mount":
      return runLoopMountStep(step, ctx, run);
    case "erofs-file-mount":
      return runErofsFileMountStep(step, ctx, run);
    case "probed-mount":
      return runProbedMountStep(step, ctx, run);
    case "set-owner":
      return runSetOwnerStep(step, ctx, run);
    case "set-tree-attrs":
      return ctx.sys.mountSetattr(AT.FDCWD, step.target, AT.RECURSIVE, step.attrSet, step.attrClr, 0, 0);
    case "copy-up-source":
      return runCopyUpSourceStep(step, ctx, run);
    case "copy-up":
      return runCopyUpStep(step, ctx, run);
    default:
      return runIdmapStep(step, ctx, run); // the rest are idmap steps (plan/idmap-steps.ts)
  }
}

function runMountStep(step: MountStep, ctx: OpsContext, run: PlanRun): void {
  let flags = step.flags;
  if (step.inheritFlags !== 0) flags |= currentFlags(step.target, step.inheritFlags, ctx);
  if (step.otherTypes) {
    const how = newMountOf(step.idmap, ctx, run);
    mountFirstType(step.source!, step.target, [step.fstype!, ...step.otherTypes], flags, step.data, step.readOnlyFallback === true, ctx, step.source!, how);
  } else if (step.readOnlyFallback) mountOrReadOnly(step.source!, step.target, step.fstype, flags, step.data, ctx, newMountOf(step.idmap, ctx, run));
  else if (step.idmap !== undefined) newMountOf(step.idmap, ctx, run).mount(step.source, step.target, step.fstype, flags, step.data);
  else ctx.sys.mount(step.source, step.target, step.fstype, flags, step.data);
  if (step.role === "remount") warnIgnoredOverlayOptions(step, ctx);
  if (step.undoable && run.undoWanted) run.rollback.push(step.role === "move" ? () => moveBack(step, ctx) : () => undoMount(step.target, ctx));
}

/** Undo a move: the mount goes back where it came from. */
function moveBack(step: MountStep, ctx: OpsContext): void {
  ctx.log?.(`rollback: mount(${JSON.stringify(step.target)}, ${JSON.stringify(step.source)}, NULL, MS_MOVE, NULL)`);
  ctx.sys.mount(step.target, step.source!, null, step.flags, null);
}

function runUnmountStep(step: UnmountStep, ctx: OpsContext): void {
  ctx.sys.umount2(step.target, step.flags);
}

/**
 * Remove the mount a failed plan made. It is ours and on top, so a plain unmount normally
 * works; if something already holds it, detach it rather than leave it behind.
 */
export function undoMount(target: string, ctx: OpsContext): void {
  removeTopMount(target, ctx);
}

/**
 * Remove every mount stacked at target, each as undoMount removes one, until none is left:
 * for a mount point nothing else may keep (a temp mount's dir), where the caller may have
 * stacked mounts of its own on ours.
 */
export function undoMountStack(target: string, ctx: OpsContext): void {
  while (removeTopMount(target, ctx));
}

/**
 * undoMount's step; false when nothing was mounted at target. A mount with mounts below it
 * (an rbind's copies of its source's submounts) is busy for that alone: they are unmounted
 * first, deepest first (childrenFirst), so that only a mount something really holds is
 * detached lazily, and named.
 */
function removeTopMount(target: string, ctx: OpsContext, childrenFirst = true): boolean {
  ctx.log?.(`rollback: umount2(${JSON.stringify(target)}, 0)`);
  try {
    ctx.sys.umount2(target, 0);
  } catch (err) {
    // Nothing mounted there any more (X-mount.subdir unmounts its temp mount itself): nothing to undo.
    if (isErrno(err, Errno.EINVAL) || isErrno(err, Errno.ENOENT)) return false;
    if (childrenFirst && isErrno(err, Errno.EBUSY) && removeMountsBelow(target, ctx)) return removeTopMount(target, ctx, false);
    ctx.log?.(`rollback: umount2(${JSON.stringify(target)}, MNT_DETACH)`);
    ctx.sys.umount2(target, MNT.DETACH);
    // Gone from the table, but not yet from the kernel: whatever holds it (a process left in
    // it) keeps its files until it lets go. The caller is told, as nothing else shows it.
    const why = err instanceof SyscallError ? `${err.syscall}: ${err.errnoName}` : String(err);
    ctx.warn?.(`${quotePath(target)}: could not be unmounted (${why}), detached lazily: it is freed once nothing uses it`);
  }
  return true;
}

/** Unmount the mounts below the top mount at target, deepest first; false when it has none. */
function removeMountsBelow(target: string, ctx: OpsContext): boolean {
  const below = mountsBelow(readMountInfo(), target);
  for (const m of below) {
    try {
      removeTopMount(m.mountpoint, ctx, false);
    } catch {
      // left in place: the detach of target that follows takes it along
    }
  }
  return below.length > 0;
}

/** Undo newest first; failures of the undo are attached to the original error, not thrown. */
function rollBack(run: PlanRunState, original: unknown): void {
  if (!run.hasRollback) return;
  const failures: unknown[] = [];
  for (const undo of run.rollback.reverse()) {
    try {
      undo();
    } catch (err) {
      failures.push(err);
    }
  }
  run.rollback.length = 0;
  if (original instanceof MountkitError || original instanceof RunStopped) original.cleanupErrors.push(...failures);
}
