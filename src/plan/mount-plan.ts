/**
 * planMount: a mount request -> a plan. Each feature is a planner in PLANNERS, tried in
 * order; the first that claims the request plans it. Pure.
 */
import type { KernelFacts } from "./facts.ts";
import { mountContext, type Mount, type MountContext } from "./mount-request.ts";
import { loopPlanner } from "./loop.ts";
import { overlayPlanner } from "./overlay.ts";
import { planPlain } from "./plain.ts";
import type { Plan } from "./steps.ts";
import { fusePlanner, idmapPlanner } from "./unsupported.ts";

export interface Planner {
  readonly name: string;
  claims(ctx: MountContext): boolean;
  plan(ctx: MountContext): Plan;
}

const plainPlanner: Planner = { name: "plain", claims: () => true, plan: planPlain };

export const PLANNERS: readonly Planner[] = [fusePlanner, idmapPlanner, loopPlanner, overlayPlanner, plainPlanner];

export function planMount(mount: Mount, target: string, facts: KernelFacts): Plan {
  const ctx = mountContext(mount, target, facts);
  for (const planner of PLANNERS) if (planner.claims(ctx)) return planner.plan(ctx);
  throw new Error("unreachable: the plain planner claims every mount");
}
