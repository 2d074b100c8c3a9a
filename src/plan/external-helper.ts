/**
 * util-linux's external mount helpers: mount(8) hands a filesystem type that has a program
 * mount.TYPE in the helper dirs (mount.nfs, mount.cifs, mount.ntfs-3g...) to that program,
 * which knows what the kernel alone does not (an NFS server's address, CIFS credentials).
 * libmount's argv shape:
 *
 *   mount.TYPE SOURCE TARGET [-s] [-v] -o OPTIONS [-t TYPE]
 *
 * -t only for a TYPE.SUBTYPE run by mount.TYPE's helper. Only when the caller asks (the CLI,
 * unless -i): containerd runs FUSE helpers alone (plan/fuse.ts), and so does the library by
 * default. Binds, moves, remounts, loop and idmapped mounts and type lists stay mountkit's,
 * as libmount keeps binds, moves and type patterns. Pure: ops/ finds the helper on disk
 * (PlanEnv.externalHelpers) and runs it.
 */
import { PlanError } from "../errors.ts";
import { MS } from "./flags.ts";
import type { Planner } from "./mount-plan.ts";
import { isTypeUnknown, planFor, type MountContext } from "./mount-request.ts";
import { isUserspaceExtension, lookupOption, withImpliedWords } from "./option-table.ts";
import { entryOptions, unquoteOption } from "./options.ts";
import { propagationSteps } from "./propagation.ts";
import type { HelperStep, Plan } from "./steps.ts";

/** What ops/ provides when the caller runs external helpers. */
export interface ExternalHelpers {
  /** The first of these helper names found in the helper dirs, with its path; undefined when none is. */
  find(names: readonly string[]): { readonly name: string; readonly path: string } | undefined;
  /** Flags every helper gets after SOURCE TARGET: -s (mount -s, sloppy), -v (mount -v). */
  readonly flags: readonly string[];
}

// Never a path: a type names a file in the helper dirs and nothing else.
const HELPER_TYPE = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/;

/**
 * The helper names mount(8) (umount(8): "umount") tries for a type, in order: mount.TYPE, then
 * for TYPE.SUBTYPE mount.TYPE without its last ".SUBTYPE" (libmount's helper lookup). None for
 * a type that is not a plain name, or that names no filesystem (none, auto, bind).
 */
export function helperNamesFor(type: string, command: "mount" | "umount" = "mount"): readonly string[] {
  if (isTypeUnknown(type) || type === "none" || type === "bind" || !HELPER_TYPE.test(type)) return [];
  const dot = type.lastIndexOf(".");
  return dot > 0 ? [`${command}.${type}`, `${command}.${type.slice(0, dot)}`] : [`${command}.${type}`];
}

/**
 * libmount's argv for an umount.TYPE helper: umount.TYPE TARGET [-l] [-f] [-v] [-r] [-t TYPE],
 * -t only for a TYPE.SUBTYPE run by umount.TYPE's helper.
 */
export function umountHelperArgv(
  helper: string,
  target: string,
  type: string,
  flags: { readonly lazy?: boolean; readonly force?: boolean; readonly verbose?: boolean; readonly readOnly?: boolean },
): string[] {
  return [
    helper,
    target,
    ...(flags.lazy ? ["-l"] : []),
    ...(flags.force ? ["-f"] : []),
    ...(flags.verbose ? ["-v"] : []),
    ...(flags.readOnly ? ["-r"] : []),
    ...(helper === `umount.${type}` ? [] : ["-t", type]),
  ];
}

/** A new mount of a named filesystem, the only kind mount(8) hands to a helper. */
function isHelperMount(ctx: MountContext): boolean {
  const { options } = ctx;
  if (options.flags & (MS.BIND | MS.MOVE | MS.REMOUNT)) return false;
  if (options.loop || options.uidmap !== undefined || options.gidmap !== undefined || options.idmap !== undefined) return false;
  return ctx.otherTypes.length === 0;
}

function helperOf(ctx: MountContext): { readonly name: string; readonly path: string } | undefined {
  const helpers = ctx.env.externalHelpers;
  if (helpers === undefined || !isHelperMount(ctx)) return undefined;
  const names = helperNamesFor(ctx.mount.type);
  return names.length === 0 ? undefined : helpers.find(names);
}

export const externalHelperPlanner: Planner = {
  name: "external-helper",
  // The look-up is made only when the caller runs helpers (env.externalHelpers); ops/ remembers its answers.
  claims: (ctx) => ctx.env.externalHelpers !== undefined && helperOf(ctx) !== undefined,
  plan: planExternalHelper,
};

export function planExternalHelper(ctx: MountContext): Plan {
  const helper = helperOf(ctx);
  if (helper === undefined) throw new Error(`unreachable: no mount helper for ${ctx.mount.type}`);
  if (ctx.options.subdir !== undefined) {
    throw new PlanError(`${ctx.action}: X-mount.subdir cannot be used with the mount helper ${helper.name}`, {
      hint: "mount the filesystem, then bind mount the directory (--bind); or -i to mount without the helper",
    });
  }
  const { mount, target } = ctx;
  const argv = externalHelperArgv(helper.name, mount.type, mount.source, target, { flags: ctx.env.externalHelpers!.flags, options: helperOptionString(mount.options) });
  const run: HelperStep = { op: "helper", role: "mount", helper: helper.name, path: helper.path, argv, target, action: ctx.action, undoable: true };
  return planFor(ctx, [run, ...propagationSteps(ctx)]);
}

/** What a helper gets besides SOURCE TARGET: the flags (-s, -v) and the -o string. */
export interface HelperArguments {
  readonly flags: readonly string[];
  /** helperOptionString's; "" for none (no -o then) */
  readonly options: string;
}

/** libmount's argv for a mount.TYPE helper (`helper` its name): mount.TYPE SOURCE TARGET [-s] [-v] [-o OPTIONS] [-t TYPE]. */
export function externalHelperArgv(helper: string, type: string, source: string, target: string, args: HelperArguments): string[] {
  return [
    helper,
    source === "" ? "none" : source,
    target,
    ...args.flags,
    ...(args.options === "" ? [] : ["-o", args.options]),
    ...(helper === `mount.${type}` ? [] : ["-t", type]),
  ];
}

/**
 * A mount whose type is read from the superblock, when the caller runs helpers and mount(8)
 * would hand it to one: what the helper of the type found gets (ops/probe.ts looks it up once
 * the type is known, as libmount looks up the helper of the type it probed). undefined when
 * the kernel mounts it whatever the type.
 */
export function probedHelperArguments(ctx: MountContext): HelperArguments | undefined {
  const helpers = ctx.env.externalHelpers;
  if (helpers === undefined || !isHelperMount(ctx) || ctx.options.subdir !== undefined) return undefined;
  return { flags: helpers.flags, options: helperOptionString(ctx.mount.options) };
}

/**
 * An image or loop mount with no type, when the caller runs helpers: what the helper of the
 * type read from the loop device's superblock gets (ops/loop.ts), as libmount hands a probed
 * loop device to mount.TYPE. The loop options are left out: the device is attached already.
 * undefined when the kernel mounts it whatever the type (helpers not run, an idmapped mount,
 * X-mount.subdir).
 */
export function probedLoopHelperArguments(ctx: MountContext): HelperArguments | undefined {
  const helpers = ctx.env.externalHelpers;
  const { options } = ctx;
  if (helpers === undefined || options.subdir !== undefined || options.uidmap !== undefined || options.gidmap !== undefined || options.idmap !== undefined) return undefined;
  return { flags: helpers.flags, options: helperOptionString(ctx.mount.options.flatMap(entryOptions).filter((o) => !isLoopOption(o))) };
}

function isLoopOption(item: string): boolean {
  return item === "loop" || item.startsWith("loop=") || item === "direct-io";
}

/**
 * The options as one -o string, as libmount hands them on: without the words it keeps from
 * helpers (its MNT_NOHLPS options: auto, noauto, comment=, x-* and X-* (X-mount.* among them:
 * mountkit carries those out), the loop device's offset=, sizelimit=, encryption=), without
 * "defaults", and without what mountkit applies afterwards (propagation, recursive
 * attributes); user, users, owner and group with the nosuid, nodev, noexec they imply.
 * Quotes stay as given (context="a,b"), as libmount hands them on.
 */
export function helperOptionString(options: readonly string[]): string {
  const kept: string[] = [];
  for (const entry of options) {
    for (const item of entryOptions(entry)) {
      if (!passedToHelper(unquoteOption(item))) continue;
      // quotes as given (context="a,b"); an item read whole with a bare comma is quoted, as util-linux writes it
      for (const word of withImpliedWords(item)) kept.push(word.includes(",") && !word.includes('"') ? quoteValue(word) : word);
    }
  }
  return kept.join(",");
}

const KEPT_FROM_HELPERS = new Set(["auto", "noauto", "defaults", "comment"]);
const KEPT_FROM_HELPERS_VALUED = /^(comment|offset|sizelimit|encryption)=/;

function passedToHelper(item: string): boolean {
  if (KEPT_FROM_HELPERS.has(item) || KEPT_FROM_HELPERS_VALUED.test(item) || isUserspaceExtension(item)) return false;
  const kind = lookupOption(item)?.behaviour.kind;
  return kind !== "propagation" && kind !== "recursive" && kind !== "noop";
}

function quoteValue(item: string): string {
  const eq = item.indexOf("=");
  return eq < 0 ? `"${item}"` : `${item.slice(0, eq + 1)}"${item.slice(eq + 1)}"`;
}
