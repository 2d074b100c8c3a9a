/**
 * Runs the idmap steps of a plan (plan/idmap-steps.ts). Each run owns what its steps create
 * and knows, per resource, whether it still exists: fds in slots, trees it attached, dirs it
 * made. Undo actions consult that, so a rollback touches only what this run still holds:
 *   - an fd it opened is closed; a borrowed or cached one never is
 *   - a tree it attached at the caller's target is unmounted (detached if busy)
 *   - a temp idmapped lower is unmounted under the EBUSY policy; if it stays busy it is left
 *     mounted (read-only, as every temp lower is) and its dir is left too: nothing is ever
 *     removed through a mount, only empty dirs with rmdir.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { MNT } from "../plan/flags.ts";
import type { IdmapStep, MoveMountStep, UnmountTempStep } from "../plan/idmap-steps.ts";
import { AT_FDCWD } from "../plan/mount-api-flags.ts";
import type { OpsContext } from "./context.ts";
import { retrySync, UNMOUNT_BUSY, type RetryPolicy } from "./retry.ts";
import type { PlanRun } from "./run-plan.ts";
import { usernsFdFor } from "./userns.ts";

interface IdmapRunState {
  /** slot -> fd, while open */
  readonly fds: Map<string, number>;
  /** slots whose fd this run opened and must close */
  readonly owned: Set<string>;
  /** mount points where this run attached a tree that is still there */
  readonly attached: Set<string>;
  /** temp mounts whose unmount already exhausted the EBUSY policy: left mounted */
  readonly busy: Set<string>;
  /** dirs this run created that still exist */
  readonly dirs: Set<string>;
}

const states = new WeakMap<PlanRun, IdmapRunState>();

function stateOf(run: PlanRun): IdmapRunState {
  let state = states.get(run);
  if (state === undefined) {
    state = { fds: new Map(), owned: new Set(), attached: new Set(), busy: new Set(), dirs: new Set() };
    states.set(run, state);
  }
  return state;
}

/** The EBUSY policy for temp unmounts: the context's, else containerd's 50 x 50 ms. */
function busyPolicy(ctx: OpsContext): RetryPolicy {
  return ctx.unmountRetry ?? UNMOUNT_BUSY;
}

function fdIn(state: IdmapRunState, slot: string): number {
  const fd = state.fds.get(slot);
  if (fd === undefined) throw new Error(`plan error: fd slot $${slot} is empty`);
  return fd;
}

/**
 * The fd in a slot of a running plan, for other step runners (the overlay fd strategy hands
 * idmapped layer slots to fsconfig(FSCONFIG_SET_FD)). Throws when the slot is empty.
 */
export function fdInSlot(run: PlanRun, slot: string): number {
  return fdIn(stateOf(run), slot);
}

export function runIdmapStep(step: IdmapStep, ctx: OpsContext, run: PlanRun): void {
  const state = stateOf(run);
  const { sys } = ctx;
  switch (step.op) {
    case "userns":
      state.fds.set(step.slot, usernsFdFor({ uidmap: step.uidmap, gidmap: step.gidmap }, sys));
      return;
    case "borrow_fd":
      state.fds.set(step.slot, step.fd);
      return;
    case "open_tree": {
      const fd = sys.openTree(AT_FDCWD, step.path, step.flags);
      state.fds.set(step.slot, fd);
      state.owned.add(step.slot);
      run.rollback.push(() => closeSlot(state, step.slot, ctx));
      return;
    }
    case "mount_setattr":
      sys.mountSetattr(fdIn(state, step.slot), "", step.flags, {
        attrSet: step.attrSet,
        attrClr: step.attrClr,
        propagation: 0,
        usernsFd: step.usernsSlot === null ? 0 : fdIn(state, step.usernsSlot),
      });
      return;
    case "move_mount":
      sys.moveMount(fdIn(state, step.slot), "", AT_FDCWD, step.target, step.flags);
      state.attached.add(step.target);
      run.rollback.push(() => detachAttached(state, step, ctx));
      return;
    case "close":
      closeSlot(state, step.slot, ctx);
      return;
    case "mkdir":
      sys.mkdir(step.path, step.mode);
      state.dirs.add(step.path);
      run.rollback.push(() => removeDirIfFree(state, step.path, ctx));
      return;
    case "rmdir":
      sys.rmdir(step.path);
      state.dirs.delete(step.path);
      return;
    case "unmount_temp":
      unmountTemp(state, step, ctx);
      return;
  }
}

function closeSlot(state: IdmapRunState, slot: string, ctx: OpsContext): void {
  const fd = state.fds.get(slot);
  state.fds.delete(slot);
  if (fd === undefined || !state.owned.delete(slot)) return;
  ctx.sys.close(fd);
}

function unmountTemp(state: IdmapRunState, step: Pick<UnmountTempStep, "target">, ctx: OpsContext): void {
  try {
    retrySync(busyPolicy(ctx), () => ctx.sys.umount2(step.target, 0));
  } catch (err) {
    if (isErrno(err, Errno.EBUSY)) {
      state.busy.add(step.target);
      err.hint = `the idmapped lower layer stays mounted read-only at ${step.target}; the layer's files are untouched. Once nothing uses it, remove it with cleanupIdmapTemp() or umount and rmdir`;
    }
    throw err;
  }
  state.attached.delete(step.target);
}

/** Undo a move_mount: only if the tree is still attached there, and never through a busy temp lower. */
function detachAttached(state: IdmapRunState, step: MoveMountStep, ctx: OpsContext): void {
  if (!state.attached.has(step.target) || state.busy.has(step.target)) return;
  if (step.role === "temp-lower") {
    unmountTemp(state, step, ctx);
    return;
  }
  ctx.log?.(`rollback: umount2(${JSON.stringify(step.target)}, 0)`);
  try {
    ctx.sys.umount2(step.target, 0);
  } catch {
    ctx.log?.(`rollback: umount2(${JSON.stringify(step.target)}, MNT_DETACH)`);
    ctx.sys.umount2(step.target, MNT.DETACH);
  }
  state.attached.delete(step.target);
}

/** Undo a mkdir: rmdir only, and not while a mount or a dir of ours is left inside. */
function removeDirIfFree(state: IdmapRunState, path: string, ctx: OpsContext): void {
  if (!state.dirs.has(path)) return;
  const inside = (p: string) => p === path || p.startsWith(`${path}/`);
  if ([...state.attached].some(inside)) return;
  if ([...state.dirs].some((d) => d !== path && inside(d))) return;
  try {
    ctx.sys.rmdir(path);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw err.withAction(`remove temp dir ${path}`);
  }
  state.dirs.delete(path);
}
