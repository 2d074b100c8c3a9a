/**
 * Runs the idmap steps of a plan (plan/idmap-steps.ts). fds go through the plan's handles
 * (ops/plan-handles.ts): a tree this run cloned is owned and closed at its `close` step or when
 * the plan ends; the user namespace fd is borrowed from the cache and never closed here.
 * The legacy idmapped overlay's temp mounts and dirs are tracked per run, so an undo touches
 * only what this run still holds:
 *   - a tree it attached at the caller's target is unmounted (detached if busy)
 *   - a temp idmapped lower is unmounted under the EBUSY policy; if it stays busy it is left
 *     mounted (read-only, as every temp lower is) and its dir is left too: nothing is ever
 *     removed through a mount, only empty dirs with rmdir.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { LAYER_RESOLVE, SUBDIR_TREE_FLAGS, type IdmapStep, type MoveMountStep, type UnmountTempStep } from "../plan/idmap-steps.ts";
import { O } from "../sys/fd.ts";
import { AT_FDCWD } from "../plan/mount-api-flags.ts";
import type { OpsContext } from "./context.ts";
import { retrySync, UNMOUNT_BUSY, type RetryPolicy } from "./retry.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";
import { openUserNamespace, usernsFdFor } from "./userns.ts";
import { closeHandle, closeQuietly, handleFd, lendHandle, ownHandle } from "./plan-handles.ts";
import { ensureTempParent } from "./temp-location.ts";
import { runOpenLayerStep, runSharedTreeStep, type SharedTree } from "./idmap-shared.ts";

/**
 * What one run of a plan attached and created, for its undo actions (which also run later, in
 * a batch's rollback). Each collection is made on first use: an idmapped bind needs none, as
 * nothing after its attach can fail.
 */
export class IdmapRunState {
  #attached: Set<string> | undefined;
  #busy: Set<string> | undefined;
  #dirs: Set<string> | undefined;
  /** the layers' shared clone (ops/idmap-shared.ts), when the kernel took it */
  shared: SharedTree | undefined = undefined;
  /** mount points where this run attached a tree that is still there */
  get attached(): Set<string> {
    return (this.#attached ??= new Set());
  }
  /** temp mounts whose unmount already exhausted the EBUSY policy: left mounted */
  get busy(): Set<string> {
    return (this.#busy ??= new Set());
  }
  /** dirs this run created that still exist */
  get dirs(): Set<string> {
    return (this.#dirs ??= new Set());
  }
}

function stateOf(run: PlanRun): IdmapRunState {
  return (run.idmap ??= new IdmapRunState());
}

/** The EBUSY policy for temp unmounts: the context's, else containerd's 50 x 50 ms. */
function busyPolicy(ctx: OpsContext): RetryPolicy {
  return ctx.unmountRetry ?? UNMOUNT_BUSY;
}

export function runIdmapStep(step: IdmapStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  switch (step.op) {
    case "userns":
      lendHandle(run, step.slot, usernsFdFor(step, sys)); // a userns step holds the pair's maps
      return;
    case "open_userns":
      ownHandle(run, step.slot, openUserNamespace(step.path, sys));
      return;
    case "borrow_fd":
      lendHandle(run, step.slot, step.fd);
      return;
    case "open_tree":
      try {
        ownHandle(run, step.slot, sys.openTree(AT_FDCWD, step.path, step.flags));
      } catch (err) {
        throw naming(err, step.path);
      }
      return;
    case "mount_setattr": {
      const fd = handleFd(run, step.slot);
      const usernsFd = step.usernsSlot === null ? 0 : handleFd(run, step.usernsSlot);
      try {
        sys.mountSetattr(fd, "", step.flags, step.attrSet, step.attrClr, 0, usernsFd);
      } catch (err) {
        throw naming(err, step.tree);
      }
      return;
    }
    case "idmap_shared_tree":
      stateOf(run).shared = runSharedTreeStep(step, ctx, run);
      return;
    case "open_layer":
      runOpenLayerStep(step, run.idmap?.shared, ctx, run);
      return;
    case "open_subdir":
      ownHandle(run, step.slot, openSubdirTree(step.root, step.path, sys));
      return;
    case "move_mount": {
      try {
        sys.moveMount(handleFd(run, step.slot), "", AT_FDCWD, step.target, step.flags);
      } catch (err) {
        throw naming(err, step.role === "temp-lower" ? step.target : undefined); // the action names the target already
      }
      if (!run.undoWanted) return; // nothing after it can fail: no undo, no record
      const state = stateOf(run);
      state.attached.add(step.target);
      run.rollback.push(() => detachAttached(state, step, ctx));
      return;
    }
    case "close":
      closeHandle(run, step.slot, sys);
      return;
    case "mkdir": {
      sys.mkdir(ensureTempParent(step.path), step.mode);
      const state = stateOf(run);
      state.dirs.add(step.path);
      run.rollback.push(() => removeDirIfFree(state, step.path, ctx));
      return;
    }
    case "rmdir":
      sys.rmdir(step.path);
      stateOf(run).dirs.delete(step.path);
      return;
    case "unmount_temp":
      unmountTemp(stateOf(run), step, ctx);
      return;
  }
}

/** The failure of a call on a tree, naming its path (the action alone names only the target). */
function naming(err: unknown, path: string | undefined): unknown {
  if (err instanceof SyscallError && path !== undefined) err.withDetails(path);
  return err;
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
  undoMount(step.target, ctx);
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

/**
 * X-mount.subdir's detached clone of root/path, resolved beneath root's filesystem (no "..",
 * symlink or mount point out of it). The fds it opens on the way are closed.
 */
function openSubdirTree(root: string, path: string, sys: OpsContext["sys"]): number {
  const rootFd = sys.openPath(root);
  let dirFd: number;
  try {
    dirFd = sys.openat2(rootFd, path, O.PATH | O.DIRECTORY | O.CLOEXEC, LAYER_RESOLVE);
  } catch (err) {
    if (isErrno(err, Errno.EXDEV)) (err as SyscallError).hint = "a symlink, \"..\" or mount point on the way leads out of the filesystem; name the directory itself";
    throw naming(err, `${path} below the filesystem's root (X-mount.subdir)`);
  } finally {
    closeQuietly(sys, rootFd);
  }
  try {
    return sys.openTree(dirFd, "", SUBDIR_TREE_FLAGS);
  } catch (err) {
    throw naming(err, path);
  } finally {
    closeQuietly(sys, dirFd);
  }
}
