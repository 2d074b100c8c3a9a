/**
 * containerd's erofs mount handler at run time (plan/erofs-file.ts): the erofs-file-mount step
 * tries mount(2) of the image file itself; ENOTBLK (a kernel without file-backed erofs) runs its
 * loop mount instead and is remembered, so the next erofs mount of the process goes to loop
 * devices at once, as containerd's handler remembers it in a process-wide flag. The memo belongs
 * to the kernel facts in use (the process's own, kernelFacts(), unless a caller passes others):
 * it is a fact learned about that kernel.
 */
import { Errno } from "../errno.ts";
import { isErrno, quotePath } from "../errors.ts";
import type { ErofsFileMountStep } from "../plan/erofs-file-step.ts";
import type { KernelFacts } from "../plan/facts.ts";
import type { OpsContext } from "./context.ts";
import { runLoopMountStep } from "./loop.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";

/** The facts of kernels that said ENOTBLK to a file-backed erofs mount. */
const refusedBy = new WeakSet<KernelFacts>();

/** Whether the kernel of these facts refused a file-backed erofs mount in this process. */
export function erofsFileBackedRefused(facts: KernelFacts): boolean {
  return refusedBy.has(facts);
}

/**
 * The step is planned only where the facts had no refusal (erofsHandlerPlan) and run at once after
 * (mountOn): no other mount of the process comes between, so the memo is not asked again here.
 */
export function runErofsFileMountStep(step: ErofsFileMountStep, ctx: OpsContext, run: PlanRun): void {
  try {
    ctx.sys.mount(step.source, step.target, step.fstype, step.flags, step.data);
  } catch (err) {
    if (isErrno(err, Errno.EINVAL)) err.hint ??= `${quotePath(step.source)} holds no valid erofs filesystem, or an option is wrong`;
    if (!isErrno(err, Errno.ENOTBLK)) throw err;
    refusedBy.add(ctx.facts);
    ctx.log?.(`mount(2): ENOTBLK: this kernel mounts erofs from block devices only: loop devices instead, for this and every later erofs mount of the process`);
    return runLoopMountStep(step.fallback, ctx, run);
  }
  if (step.undoable && run.undoWanted) run.rollback.push(() => undoMount(step.target, ctx));
}
