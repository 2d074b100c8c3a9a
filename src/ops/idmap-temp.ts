/**
 * What one run of an idmap plan attached and created (trees, temp dirs, the legacy overlay's
 * layer links), and how each is undone, so an undo touches only what this run still holds:
 *   - a tree it attached at the caller's target is unmounted (detached if busy)
 *   - a temp idmapped lower (or the layers' shared temp mount) is unmounted under the EBUSY
 *     policy; if it stays busy it is left mounted (read-only, as every temp lower is) and its
 *     dir is left too: nothing is ever removed through a mount, only empty dirs with rmdir and
 *     the symlinks this run made with unlink.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import type { OpsContext } from "./context.ts";
import { retrySync, UNMOUNT_BUSY, type RetryPolicy } from "./retry.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";
import type { SharedTree } from "./idmap-shared.ts";
import type { SharedTemp } from "./idmap-shared-temp.ts";

/**
 * The run's records. Each collection is made on first use: an idmapped bind needs none, as
 * nothing after its attach can fail.
 */
export class IdmapRunState {
  #attached: Set<string> | undefined;
  #busy: Set<string> | undefined;
  #dirs: Set<string> | undefined;
  #links: Set<string> | undefined;
  /** the fd overlay's shared clone of its layers (ops/idmap-shared.ts), when the kernel took it */
  shared: SharedTree | undefined = undefined;
  /** the legacy overlay's shared temp mount of its layers (ops/idmap-shared-temp.ts), when attached */
  sharedTemp: SharedTemp | undefined = undefined;
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
  /** symlinks this run created that still exist */
  get links(): Set<string> {
    return (this.#links ??= new Set());
  }
}

export function stateOf(run: PlanRun): IdmapRunState {
  return (run.idmap ??= new IdmapRunState());
}

/** The EBUSY policy for temp unmounts: the context's, else containerd's 50 x 50 ms. */
function busyPolicy(ctx: OpsContext): RetryPolicy {
  return ctx.unmountRetry ?? UNMOUNT_BUSY;
}

/**
 * Record a tree attached at target, and how to undo it. A temp lower is always recorded: the
 * release steps read the record. The caller's target only when the run can still fail.
 */
export function recordAttached(state: IdmapRunState, target: string, role: "target" | "temp-lower", ctx: OpsContext, run: PlanRun): void {
  if (role === "target" && !run.undoWanted) return; // nothing after it can fail: no undo, no record
  state.attached.add(target);
  run.rollback.push(() => detachAttached(state, target, role, ctx));
}

/** Record a dir this run made, and how to undo it. */
export function recordDir(state: IdmapRunState, path: string, ctx: OpsContext, run: PlanRun): void {
  state.dirs.add(path);
  run.rollback.push(() => removeDirIfFree(state, path, ctx));
}

/** Record a symlink this run made, and how to undo it. */
export function recordLink(state: IdmapRunState, path: string, ctx: OpsContext, run: PlanRun): void {
  state.links.add(path);
  run.rollback.push(() => removeLink(state, path, ctx));
}

/** unlink a symlink this run made (the link only, never what it points to). */
export function removeLink(state: IdmapRunState, path: string, ctx: OpsContext): void {
  if (!state.links.has(path)) return;
  ctx.sys.unlink(path);
  state.links.delete(path);
}

export function unmountTemp(state: IdmapRunState, target: string, ctx: OpsContext): void {
  try {
    retrySync(busyPolicy(ctx), () => ctx.sys.umount2(target, 0));
  } catch (err) {
    if (isErrno(err, Errno.EBUSY)) {
      state.busy.add(target);
      err.hint = `the idmapped temp mount of lower layers stays mounted read-only at ${target}; the layers' files are untouched. Once nothing uses it, \`mountkit cleanup\` removes it (the library: cleanupIdmapTemp() or cleanupTempMounts()), as do umount and rmdir`;
    }
    throw err;
  }
  state.attached.delete(target);
}

/** Undo a move_mount: only if the tree is still attached there, and never through a busy temp lower. */
function detachAttached(state: IdmapRunState, target: string, role: "target" | "temp-lower", ctx: OpsContext): void {
  if (!state.attached.has(target) || state.busy.has(target)) return;
  if (role === "temp-lower") {
    unmountTemp(state, target, ctx);
    return;
  }
  undoMount(target, ctx);
  state.attached.delete(target);
}

/** Undo a mkdir: rmdir only, and not while a mount, a link or a dir of ours is left inside. */
function removeDirIfFree(state: IdmapRunState, path: string, ctx: OpsContext): void {
  if (!state.dirs.has(path)) return;
  const inside = (p: string) => p === path || p.startsWith(`${path}/`);
  if ([...state.attached].some(inside)) return;
  if ([...state.links].some(inside)) return;
  if ([...state.dirs].some((d) => d !== path && inside(d))) return;
  try {
    ctx.sys.rmdir(path);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw err.withAction(`remove temp dir ${path}`);
  }
  state.dirs.delete(path);
}
