/**
 * Stopping a run part-way without leaving half of it (the CLI: a stop signal; cli/stop-watch.ts).
 * The caller's StopRequests is armed before work that must not be cut in two, and asked between
 * the parts: a plan's steps (ops/run-plan.ts), a batch's entries (ops/batch.ts), mount -a -F's
 * lines. A stop asked for there throws RunStopped, which undoes what the plan made, as a failure
 * does; a batch then undoes every entry it mounted, whatever its mode, but for mount -a (each
 * line on its own, as util-linux's): the lines mounted stay, and no more are started.
 */
import type { OpsContext } from "./context.ts";

export interface StopRequests {
  /**
   * Called before work that must not be cut in two: a plan of more than one step, or one that
   * attaches a loop device; a mount point created for a mount; a batch; an unmount with a loop
   * device to detach after it. Called again, it does nothing more.
   */
  arm(): void;
  /** Why to stop now (a signal's name), or undefined to go on. Asked only once armed. */
  requested(): string | undefined;
  /**
   * The plan given this stop ends its caller's work (a mount point made for it: asLastPart): it
   * is armed and asked after its last step even when it has one step only.
   */
  readonly lastPart?: boolean;
}

/**
 * A run stopped because its caller asked (StopRequests), its own work undone. Not a
 * MountkitError: nothing failed. cleanupErrors: what the undo could not do.
 */
export class RunStopped extends Error {
  readonly cleanupErrors: unknown[] = [];
  /** the batch entry the stop came part-way through (its `where`), which was undone */
  during: string | undefined;
  /**
   * the loop device attachLoop found attached to its file already and reused (losetup -L),
   * which the stop leaves attached as it was: nothing was attached, so nothing was undone
   */
  reusedDevice: string | undefined;
  constructor(readonly reason: string) {
    super(`stopped by ${reason}`);
    this.name = "RunStopped";
  }
}

/** Throw RunStopped when the caller asks to stop now. */
export function stopPoint(ctx: Pick<OpsContext, "stop">): void {
  const reason = ctx.stop?.requested();
  if (reason !== undefined) throw new RunStopped(reason);
}

/**
 * stop, for a plan that is the last part of its caller's work (a mount point made for it): a
 * stop in that plan's one step undoes it, and then the caller's part, as the last step of a
 * plan of several is undone (a one-step mount alone is whole either way).
 */
export function asLastPart(stop: StopRequests): StopRequests {
  return { arm: () => stop.arm(), requested: () => stop.requested(), lastPart: true };
}
