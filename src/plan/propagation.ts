/**
 * Propagation words (private, rshared, ...) as their own mount(2) calls, made after the mount
 * exists: containerd OR-ed them into the mount flags, where the kernel refuses them. Every
 * planner ends its plan with these. Pure.
 */
import type { MountContext } from "./mount-request.ts";
import type { MountStep } from "./steps.ts";

export function propagationSteps(ctx: Pick<MountContext, "options" | "target">): MountStep[] {
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
