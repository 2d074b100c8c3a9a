/**
 * Runs a mount-in-dir step (plan/mount-in-dir-step.ts) through the seam's mountInDir. The
 * thread's working directory is not the process's, so the directory and the target are made
 * absolute against the process's working directory first.
 */
import type { MountInDirStep } from "../plan/mount-in-dir-step.ts";
import type { OpsContext } from "./context.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";
import { absolutePath } from "../sys/cwd.ts";

export function runMountInDirStep(step: MountInDirStep, ctx: OpsContext, run: PlanRun): void {
  const target = absolutePath(step.target);
  ctx.sys.mountInDir(absolutePath(step.dir), step.source, target, step.fstype, step.flags, step.data);
  if (step.undoable && run.undoWanted) run.rollback.push(() => undoMount(target, ctx));
}
