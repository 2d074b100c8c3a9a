/**
 * util-linux's X-mount.owner=, X-mount.group= and X-mount.mode= (mount(8), 2.38): once
 * mounted, the mount's root directory gets that owner, group and mode, by lchown(2) then
 * chmod(2), as mount(8)'s post-mount hook does. A name resolves as util-linux resolves it
 * (getpwnam/getgrnam, through PlanEnv); a number is taken as it is. A failure unmounts again
 * and restores what was changed, where util-linux leaves the mount. Pure.
 */
import { PlanError } from "../errors.ts";
import { idOfName } from "./id-names.ts";
import type { MountContext } from "./mount-request.ts";

export interface SetOwnerStep {
  readonly op: "set-owner";
  readonly target: string;
  /** the new owner; -1 leaves it */
  readonly uid: number;
  /** the new group; -1 leaves it */
  readonly gid: number;
  /** the new permission bits; null leaves them */
  readonly mode: number | null;
}

const OWNER_OPTION = /^[xX]-mount\.(owner|group|mode)(?:=(.*))?$/;

/** The step for the request's X-mount.owner/group/mode options (the last of each wins), or undefined without them. */
export function setOwnerStep(ctx: MountContext): SetOwnerStep | undefined {
  const given: { owner?: string; group?: string; mode?: string } = {};
  for (const item of ctx.options.userspace) {
    const match = OWNER_OPTION.exec(item);
    if (match === null) continue;
    const [, key, value] = match as unknown as [string, "owner" | "group" | "mode", string | undefined];
    if (value === undefined || value === "") throw new PlanError(`${ctx.action}: ${item} needs a value (X-mount.${key}=${key === "mode" ? "MODE" : "NAME|ID"})`);
    given[key] = value;
  }
  if (given.owner === undefined && given.group === undefined && given.mode === undefined) return undefined;
  return {
    op: "set-owner",
    target: ctx.target,
    uid: given.owner === undefined ? -1 : idOf(ctx, "owner", given.owner),
    gid: given.group === undefined ? -1 : idOf(ctx, "group", given.group),
    mode: given.mode === undefined ? null : modeOf(ctx, given.mode),
  };
}

/** A numeric id as given, or a name through the environment's look-up. */
function idOf(ctx: MountContext, key: "owner" | "group", value: string): number {
  if (/^\d+$/.test(value)) {
    const id = Number(value);
    // (uid_t)-1 means "unchanged" to lchown(2): it is no id
    if (id < 0xffffffff) return id;
    throw new PlanError(`${ctx.action}: X-mount.${key}=${value} is not a valid ${key === "owner" ? "user" : "group"} id`);
  }
  return idOfName(key === "owner" ? "user" : "group", value, `X-mount.${key}=${value}`, ctx.env, ctx.action);
}

/** An octal mode up to 07777 (755, 0755, 01777), as mount(8) reads it. */
function modeOf(ctx: MountContext, value: string): number {
  const mode = /^[0-7]+$/.test(value) ? parseInt(value, 8) : Number.NaN;
  if (mode <= 0o7777) return mode;
  throw new PlanError(`${ctx.action}: X-mount.mode=${value} is not an octal mode (such as 0755)`);
}

/** How --dry-run shows the step: the calls, C-like. */
export function formatSetOwnerStep(step: SetOwnerStep): string {
  const lines: string[] = [];
  if (step.uid !== -1 || step.gid !== -1) lines.push(`lchown(${JSON.stringify(step.target)}, ${step.uid}, ${step.gid})`);
  if (step.mode !== null) lines.push(`chmod(${JSON.stringify(step.target)}, 0${step.mode.toString(8).padStart(3, "0")})`);
  return lines.join("\n");
}

/** How --dry-run --json shows it. */
export function describeSetOwnerStep(step: SetOwnerStep): Record<string, unknown> {
  const syscalls = [...(step.uid !== -1 || step.gid !== -1 ? ["lchown"] : []), ...(step.mode !== null ? ["chmod"] : [])];
  return { op: step.op, syscalls, args: { target: step.target, uid: step.uid, gid: step.gid, mode: step.mode } };
}
