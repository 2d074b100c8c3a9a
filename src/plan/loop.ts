/**
 * Loop-backed mounts (the `loop` option): containerd's semantics (autoclear, read-only when
 * the mount is, `direct-io`), plus util-linux's `offset=` and `sizelimit=`. Those three are
 * loop options, taken out of the filesystem's data. Pure.
 */
import { PlanError } from "../errors.ts";
import type { KernelFacts } from "./facts.ts";
import { MS, MS_PROPAGATION } from "./flags.ts";
import type { LoopMethod, LoopMountStep, LoopSetup } from "./loop-step.ts";
import type { Planner } from "./mount-plan.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { joinData } from "./options.ts";
import { checkDataSize } from "./plain.ts";
import { propagationSteps } from "./propagation.ts";
import { parseSize } from "./size.ts";
import type { Plan } from "./steps.ts";

export const loopPlanner: Planner = {
  name: "loop",
  claims: (ctx) => ctx.options.loop && (ctx.options.flags & MS.REMOUNT) === 0,
  plan: planLoop,
};

/**
 * LOOP_CONFIGURE where the kernel has it (5.8+), unless MOUNTKIT_STRATEGY=legacy asks for the
 * old pair. The kernel's default strategy is about overlay (6.8+) and does not decide this: the
 * legacy pair costs about 12 ms per attach against 27 us.
 */
export function loopMethod(facts: KernelFacts): LoopMethod {
  const forcedLegacy = facts.strategy === "legacy" && facts.strategySource === "environment";
  return facts.loopConfigure && !forcedLegacy ? "configure" : "set-fd";
}

/** The loop options among fs data items, and the data items left for the filesystem. */
export function takeLoopOptions(data: readonly string[]): { directIo: boolean; offset: number; sizeLimit: number; rest: string[] } {
  let directIo = false;
  let offset = 0;
  let sizeLimit = 0;
  const rest: string[] = [];
  for (const item of data) {
    if (item === "direct-io") directIo = true;
    else if (item.startsWith("offset=")) offset = parseSize("offset", item.slice("offset=".length));
    else if (item.startsWith("sizelimit=")) sizeLimit = parseSize("sizelimit", item.slice("sizelimit=".length));
    else rest.push(item);
  }
  return { directIo, offset, sizeLimit, rest };
}

export function planLoop(ctx: MountContext): Plan {
  const { mount, options } = ctx;
  if (options.flags & MS.BIND) throw new PlanError(`${ctx.action}: loop and bind cannot be combined`);
  if (mount.type === "" || mount.type === "bind") {
    throw new PlanError(`${ctx.action}: a loop mount needs the filesystem type`, { hint: "give it with -t TYPE (ext4, squashfs, erofs, ...)" });
  }
  if (mount.source === "") throw new PlanError(`${ctx.action}: a loop mount needs the image file as its source`);
  const { directIo, offset, sizeLimit, rest } = takeLoopOptions(options.data);
  const loop: LoopSetup = {
    file: mount.source,
    readOnly: (options.flags & MS.RDONLY) !== 0,
    autoclear: true,
    directIo,
    offset,
    sizeLimit,
    method: loopMethod(ctx.facts),
  };
  const data = joinData(rest);
  checkDataSize(ctx, data);
  const first: LoopMountStep = {
    op: "loop-mount",
    loop,
    target: ctx.target,
    fstype: mount.type,
    flags: options.flags & ~(MS_PROPAGATION | MS.REMOUNT),
    data: data === "" ? null : data,
    undoable: true,
  };
  return planFor(ctx, [first, ...propagationSteps(ctx)]);
}
