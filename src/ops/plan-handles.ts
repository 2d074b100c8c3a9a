/**
 * fds that the steps of one plan run hand to later steps, by handle name ("userns", "tree",
 * "layer0"), kept in PlanRun.handles. The one mechanism for every runner (the idmap steps, the
 * overlay's FSCONFIG_SET_FD layers):
 *   - an fd a step opened is owned: a `close` step closes it, or at the latest releaseHandles()
 *     when the plan ends, success or failure;
 *   - a borrowed fd (the caller's, or the cached user namespace) is lent: the plan never closes it.
 * Plans only ever name owned handles in `close` steps, and never take a handle still held
 * (both tested in test/unit/idmap-plan.test.ts, so taking one does not search for it).
 * A run holds a few handles (one per overlay layer), so they are a list searched by name: no
 * map and no closure per fd on the path of every idmapped mount. Steps use them mostly in the
 * order they were taken (an overlay's layers are opened, handed to fsconfig and closed one
 * after another), so a search starts at the last handle found: an overlay of N layers costs
 * about 2N comparisons, not N^2.
 */
import type { Syscalls } from "../sys/seam.ts";
import type { PlanRun } from "./run-plan.ts";

/** An fd under the name later steps use. */
export interface PlanHandle {
  readonly name: string;
  readonly fd: number;
  /** opened by this run, so closed by it; false for a borrowed fd */
  readonly owned: boolean;
}

/** An fd this run opened: closed by closeHandle(), or at the latest by releaseHandles(). */
export function ownHandle(run: PlanRun, name: string, fd: number): void {
  run.handles.push({ name, fd, owned: true });
}

/** An fd someone else owns, for the steps of this run to use and never close. */
export function lendHandle(run: PlanRun, name: string, fd: number): void {
  run.handles.push({ name, fd, owned: false });
}

/**
 * Where name is in run.handles, or -1. The search starts at the last handle found (a step
 * using it again: the shared clone each layer is opened in), then goes on to the next (the
 * next layer), wrapping around.
 */
function indexOf(run: PlanRun, name: string): number {
  const handles = run.handles;
  const n = handles.length;
  const start = run.handleCursor ?? 0;
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    if (handles[i]!.name === name) {
      run.handleCursor = i;
      return i;
    }
  }
  return -1;
}

/** The fd under a handle; an empty handle is a planning bug, not a system failure. */
export function handleFd(run: PlanRun, name: string): number {
  const i = indexOf(run, name);
  if (i < 0) throw emptyHandle(name);
  return run.handles[i]!.fd;
}

function emptyHandle(name: string): Error {
  return new Error(`internal: plan handle $${name} is empty (no earlier step produced it, or it was closed)`);
}

/**
 * A `close` step: the handle is emptied first, so the plan's end does not close it twice. It
 * cannot fail: Linux releases the fd even when close(2) reports an error, and what the fd gave
 * is attached or handed on by then (containerd's `defer unix.Close` ignores it too). So plans
 * need no undo for the steps before their closing ones (run-plan.ts).
 */
export function closeHandle(run: PlanRun, name: string, sys: Syscalls): void {
  const handles = run.handles;
  const i = indexOf(run, name);
  if (i < 0) throw emptyHandle(name);
  const { fd } = handles[i]!;
  // taken out in place, keeping the order releaseHandles() closes in (splice would make an
  // array); the next handle, now at i, is where the next search starts
  handles.copyWithin(i, i + 1);
  handles.length--;
  run.handleCursor = i;
  closeQuietly(sys, fd);
}

/** The plan's end: close every owned fd still held, newest first; lent ones stay open. */
export function releaseHandles(run: PlanRun, sys: Pick<Syscalls, "close">): void {
  const handles = run.handles;
  for (let i = handles.length - 1; i >= 0; i--) {
    const handle = handles[i]!;
    handles.length = i; // taken off before it is closed: each closes once
    if (handle.owned) closeQuietly(sys, handle.fd);
  }
}

/** close(2) on a cleanup path: Linux frees the fd even when close reports an error. */
export function closeQuietly(sys: Pick<Syscalls, "close">, fd: number): void {
  try {
    sys.close(fd);
  } catch {
    // nothing to undo: the descriptor is released either way
  }
}
