/**
 * Propagation words (private, rshared, ...) as their own mount(2) calls, made after the mount
 * exists: containerd OR-ed them into the mount flags, where the kernel refuses them. Every
 * planner ends its plan with these. Pure.
 */
import type { MountContext } from "./mount-request.ts";
import type { MountStep } from "./steps.ts";

const NO_STEPS: readonly MountStep[] = Object.freeze([]);

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
