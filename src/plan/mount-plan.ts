/**
 * planMount: a mount request -> a plan. Each feature is a planner in PLANNERS, tried in
 * order; the first that claims the request plans it. Pure.
 */
import { optionalString, requireFacts, requireFunction, requireObject } from "./caller-input.ts";
import type { KernelFacts } from "./facts.ts";
import { mountContext, planFor, type Mount, type MountContext, type PlanEnv } from "./mount-request.ts";
import { setOwnerStep } from "./mountpoint-owner.ts";
import { externalHelperPlanner } from "./external-helper.ts";
import { fusePlanner } from "./fuse.ts";
import { idmapPlanner } from "./idmap.ts";
import { loopPlanner } from "./loop.ts";
import { movePlanner } from "./move.ts";
import { overlayPlanner } from "./overlay.ts";
import { propagationPlanner } from "./propagation.ts";
import { planPlain } from "./plain.ts";
import type { Plan } from "./steps.ts";
import { withSubdir } from "./subdir.ts";
import { setTreeAttrsStep } from "./recursive-attrs.ts";
import { copyUpContext, withCopyUp } from "./copy-up.ts";

export interface Planner {
  readonly name: string;
  claims(ctx: MountContext): boolean;
  plan(ctx: MountContext): Plan;
}

const plainPlanner: Planner = { name: "plain", claims: () => true, plan: planPlain };

export const PLANNERS: readonly Planner[] = [movePlanner, propagationPlanner, fusePlanner, externalHelperPlanner, idmapPlanner, loopPlanner, overlayPlanner, plainPlanner];

/** No env: the shared default, which needs no check. */
const NO_ENV: PlanEnv = Object.freeze({});

export function planMount(mount: Mount, target: string, facts: KernelFacts, env: PlanEnv = NO_ENV): Plan {
  // the one argument a caller of the pure planner must make: kernelFacts() or factsForVersion()
  requireFacts(facts, "mount");
  if (env !== NO_ENV) checkPlanEnv(env);
  return planRequest(mount, target, facts, env);
}

/** The callbacks of a caller's env, called part-way through planning: functions, or a PlanError before. */
const ENV_CALLBACKS = ["sourceKind", "deviceOfTag", "deviceName", "userId", "groupId", "realUserId", "realGroupId", "selinuxEnabled"] as const;

function checkPlanEnv(env: unknown): asserts env is PlanEnv {
  requireObject(env, "env", "mount");
  const fields = env as Record<string, unknown>;
  for (const field of ENV_CALLBACKS) {
    if (fields[field] !== undefined) requireFunction(fields[field], `env.${field}`, "mount");
  }
  optionalString(fields.tempDir, "env.tempDir", "mount");
  if (fields.externalHelpers !== undefined) requireObject(fields.externalHelpers, "env.externalHelpers", "mount");
}

/** planMount for ops/, whose facts and env it made itself: checked there, not again per mount. */
export function planRequest(mount: Mount, target: string, facts: KernelFacts, env: PlanEnv): Plan {
  const request = mountContext(mount, target, facts, env);
  const { copyUp } = request.options;
  // tmpcopyup: the tmpfs planned read-write, to be filled before anything else (copy-up.ts)
  const ctx = copyUp ? copyUpContext(request) : request;
  for (const planner of PLANNERS) {
    if (!planner.claims(ctx)) continue;
    let plan = planner.plan(ctx);
    // X-mount.subdir: the filesystem mounted on a temp dir, one directory of it on the target (subdir.ts)
    if (ctx.options.subdir !== undefined) plan = withSubdir(plan, ctx, ctx.options.subdir);
    // tmpcopyup: the directory opened before the mount, copied into the tmpfs after it (copy-up.ts)
    if (copyUp) plan = withCopyUp(plan, request);
    // rro, ro=recursive...: the whole tree at the target, once it is mounted (recursive-attrs.ts)
    const attrs = ctx.options.recursiveAttrs;
    if (attrs !== undefined) plan = planFor(ctx, [...plan.steps, setTreeAttrsStep(ctx, attrs)]);
    // X-mount.owner/group/mode: the mount's root changed once it is mounted (mountpoint-owner.ts)
    const owner = ctx.options.userspace.length === 0 ? undefined : setOwnerStep(ctx);
    return owner === undefined ? plan : planFor(ctx, [...plan.steps, owner]);
  }
  throw new Error("unreachable: the plain planner claims every mount");
}
