/**
 * Propagation words (private, rshared, ...) as their own mount(2) calls, made after the mount
 * exists: containerd OR-ed them into the mount flags, where the kernel refuses them. Every
 * planner ends its plan with these; a request of propagation words alone (`mount
 * --make-private /x`) is planned here as nothing but them. Pure.
 *
 *   mount(NULL, TARGET, NULL, MS_PRIVATE, NULL)
 */
import type { Planner } from "./mount-plan.ts";
import { isPropagationChange, planFor, type MountContext } from "./mount-request.ts";
import type { MountStep } from "./steps.ts";

const NO_STEPS: readonly MountStep[] = Object.freeze([]);

/**
 * The propagation change of an existing mount, claimed ahead of the planners of new mounts: its
 * source "none" is no image file to attach (a file of that name in the working directory) nor a
 * device to read a type from.
 */
export const propagationPlanner: Planner = {
  name: "propagation",
  claims: (ctx) => isPropagationChange(ctx.mount, ctx.options),
  plan: (ctx) => planFor(ctx, propagationSteps(ctx)),
};

export function propagationSteps(ctx: Pick<MountContext, "options" | "target">): readonly MountStep[] {
  if (ctx.options.propagation.length === 0) return NO_STEPS; // most mounts: nothing to allocate
  return ctx.options.propagation.map((flags) => ({
    op: "mount",
    role: "propagation",
    source: null,
    target: ctx.target,
    fstype: null,
    flags,
    data: null,
    inheritFlags: 0,
    undoable: false,
  }));
}
