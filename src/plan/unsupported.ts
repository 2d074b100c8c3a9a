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

export const loopPlanner: Planner = {
  name: "loop",
  claims: (ctx) => ctx.options.loop,
  plan: () => refuse("loop: loop devices"),
};
