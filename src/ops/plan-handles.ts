/**
 * fds that the steps of one plan run hand to later steps, by handle name ("userns", "tree",
 * "layer0"), kept in PlanRun.handles. The one mechanism for every runner (the idmap steps, the
 * overlay's FSCONFIG_SET_FD layers):
 *   - an fd a step opened is owned: ownHandle() puts its close on run.release, which runs when
 *     the plan ends, success or failure, unless a `close` step closed it earlier;
 *   - a borrowed fd (the caller's, or the cached user namespace) is lent: the plan never closes it.
 * Plans only ever name owned handles in `close` steps (tested in test/unit/idmap-plan.test.ts).
 */
import type { Syscalls } from "../sys/seam.ts";
import type { PlanRun } from "./run-plan.ts";

/** An fd this run opened: closed by closeHandle(), or at the latest when the plan ends. */
export function ownHandle(run: PlanRun, name: string, fd: number, sys: Syscalls): void {
  claim(run, name, fd);
  run.release.push(() => {
    if (run.handles.get(name) !== fd) return; // closed by its step already
    run.handles.delete(name);
    closeQuietly(sys, fd);
  });
}

/** An fd someone else owns, for the steps of this run to use and never close. */
export function lendHandle(run: PlanRun, name: string, fd: number): void {
  claim(run, name, fd);
}

function claim(run: PlanRun, name: string, fd: number): void {
  const handles = run.handles;
  if (handles.has(name)) throw new Error(`internal: plan handle $${name} is already taken`);
  handles.set(name, fd);
}

/** The fd under a handle; an empty handle is a planning bug, not a system failure. */
export function handleFd(run: PlanRun, name: string): number {
  const fd = run.handles.get(name);
  if (fd === undefined) throw new Error(`internal: plan handle $${name} is empty (no earlier step produced it, or it was closed)`);
  return fd;
}

/**
 * A `close` step: the handle is emptied first, so the plan's end does not close it twice. It
 * cannot fail: Linux releases the fd even when close(2) reports an error, and what the fd gave
 * is attached or handed on by then (containerd's `defer unix.Close` ignores it too). So plans
 * need no undo for the steps before their closing ones (run-plan.ts).
 */
export function closeHandle(run: PlanRun, name: string, sys: Syscalls): void {
  const fd = handleFd(run, name);
  run.handles.delete(name);
  closeQuietly(sys, fd);
}

/** close(2) on a cleanup path: Linux frees the fd even when close reports an error. */
export function closeQuietly(sys: Pick<Syscalls, "close">, fd: number): void {
  try {
    sys.close(fd);
  } catch {
    // nothing to undo: the descriptor is released either way
  }
}
