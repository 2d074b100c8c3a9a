/**
 * Running X-mount.owner/group/mode (plan/mountpoint-owner.ts): lchown, then chmod, of the new
 * mount's root. What they changed is put back when they, or a later step, fail: a bind's root
 * is its source directory, and a filesystem keeps its root's owner after the unmount.
 */
import { MountkitError } from "../errors.ts";
import type { SetOwnerStep } from "../plan/mountpoint-owner.ts";
import type { Ownership } from "../sys/stat.ts";
import type { OpsContext } from "./context.ts";
import type { PlanRun } from "./run-plan.ts";

export function runSetOwnerStep(step: SetOwnerStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  const before = sys.statxOwnership(step.target);
  const restore = () => restoreOwnership(step.target, before, ctx);
  try {
    if (step.uid !== -1 || step.gid !== -1) sys.lchown(step.target, step.uid, step.gid);
    if (step.mode !== null) sys.chmod(step.target, step.mode);
  } catch (err) {
    try {
      restore();
    } catch (undo) {
      if (err instanceof MountkitError) err.cleanupErrors.push(undo);
    }
    throw err;
  }
  if (run.undoWanted) run.rollback.push(restore);
}

/** The owner, group and mode as they were (chmod last: a chown clears set-id bits). */
function restoreOwnership(target: string, before: Ownership, ctx: OpsContext): void {
  ctx.log?.(`rollback: lchown(${JSON.stringify(target)}, ${before.uid}, ${before.gid}); chmod(${JSON.stringify(target)}, 0${before.mode.toString(8)})`);
  ctx.sys.lchown(target, before.uid, before.gid);
  ctx.sys.chmod(target, before.mode);
}
