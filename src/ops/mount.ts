/**
 * mount(): plan a containerd-style Mount for a target and run the plan, rolling back on
 * failure. planOnly() gives the plan without running it (--dry-run).
 */
import { SyscallError } from "../errors.ts";
import { planMount } from "../plan/mount-plan.ts";
import type { Mount } from "../plan/mount-request.ts";
import type { Plan } from "../plan/steps.ts";
import { NO_OPTIONS, opsContext, type OpsOptions } from "./context.ts";
import { mountHint } from "./hints.ts";
import { runPlan } from "./run-plan.ts";

/** Mount m on target. Throws PlanError before any syscall, or SyscallError after rollback. */
export function mount(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  const ctx = opsContext(options);
  const plan = planMount(m, target, ctx.facts);
  try {
    runPlan(plan, ctx);
  } catch (err) {
    if (err instanceof SyscallError && err.hint === undefined) err.hint = mountHint(err, m, target);
    throw err;
  }
  return plan;
}

/** The plan mount() would run, with no syscall made. */
export function planOnly(m: Mount, target: string, options: OpsOptions = NO_OPTIONS): Plan {
  return planMount(m, target, opsContext(options).facts);
}
