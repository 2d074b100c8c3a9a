/**
 * Features the option table recognises whose planners are not built yet. They claim their
 * requests and refuse them clearly, so that nothing is silently mounted without them.
 */
import { NotSupportedError } from "../errors.ts";
import type { Planner } from "./mount-plan.ts";

function refuse(feature: string): never {
  throw new NotSupportedError(`${feature}: not supported yet`, {
    hint: "this mountkit build recognises the option but cannot mount it",
  });
}

export const idmapPlanner: Planner = {
  name: "idmap",
  claims: (ctx) => ctx.options.uidmap !== undefined || ctx.options.gidmap !== undefined,
  plan: () => refuse("uidmap/gidmap: idmapped mounts"),
};

export const loopPlanner: Planner = {
  name: "loop",
  claims: (ctx) => ctx.options.loop,
  plan: () => refuse("loop: loop devices"),
};
