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

export const fusePlanner: Planner = {
  name: "fuse",
  claims: (ctx) => ctx.mount.type.startsWith("fuse.") || ctx.mount.type.startsWith("fuse3."),
  plan: (ctx) => refuse(`mount ${ctx.mount.type}: FUSE mount helpers`),
};

export const idmapPlanner: Planner = {
  name: "idmap",
  claims: (ctx) => ctx.options.uidmap !== undefined || ctx.options.gidmap !== undefined,
  plan: () => refuse("uidmap/gidmap: idmapped mounts"),
};
