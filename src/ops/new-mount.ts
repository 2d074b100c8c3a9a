/**
 * How a step makes its new filesystem's mount: mount(2), or, for an idmapped step, the fd
 * API's calls with the idmap set before the mount is attached (plan/idmapped-new-mount.ts).
 * The type-list and read-only-fallback runners take one, so every call they make (each type
 * in turn, the read-only retry) is made, and printed by -v, the step's way.
 */
import { formatIdmappedNewMount, idmappedNewMount } from "../plan/idmapped-new-mount.ts";
import { formatMountCall, type MountCall } from "../plan/mount-call.ts";
import type { OpsContext } from "./context.ts";
import { runFsContextStep } from "./fs-context.ts";
import type { PlanRun } from "./run-plan.ts";

export interface NewMount {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** the call as -v prints it */
  format(call: MountCall): string;
}

/** mount(2) through the context's syscalls. */
export function plainMount(ctx: OpsContext): NewMount {
  return {
    mount: (source, target, fstype, flags, data) => ctx.sys.mount(source, target, fstype, flags, data),
    format: (call) => formatMountCall(call),
  };
}

/** The way of a step with this idmap slot (none: mount(2)). */
export function newMountOf(idmap: string | undefined, ctx: OpsContext, run: PlanRun): NewMount {
  if (idmap === undefined) return plainMount(ctx);
  return {
    mount: (source, target, fstype, flags, data) => runFsContextStep(idmappedNewMount({ source, target, fstype, flags, data }, idmap), ctx, run),
    format: (call) => formatIdmappedNewMount(call, idmap),
  };
}
