/**
 * util-linux's external mount helpers: mount(8) hands a filesystem type that has a program
 * mount.TYPE in the helper dirs (mount.nfs, mount.cifs, mount.ntfs-3g...) to that program,
 * which knows what the kernel alone does not (an NFS server's address, CIFS credentials).
 * libmount's argv shape:
 *
 *   mount.TYPE SOURCE TARGET [-s] [-n] [-v] -o OPTIONS [-t TYPE]
 *
 * SOURCE (unless a network filesystem's) and TARGET canonical, as libmount makes them; -o
 * always (helper-options.ts); -t only for a TYPE.SUBTYPE run by mount.TYPE's helper. Only
 * when the caller asks (the CLI, unless -i): containerd runs FUSE helpers alone
 * (plan/fuse.ts), and so does the library by default. Binds, moves, remounts, loop and
 * idmapped mounts and type lists stay mountkit's, as libmount keeps binds, moves and type
 * patterns. Pure: ops/ finds the helper on disk and resolves paths (PlanEnv.externalHelpers)
 * and runs it.
 */
import { PlanError } from "../errors.ts";
import { isNetworkFilesystem, isPseudoFilesystem } from "../mountinfo/filesystem-kinds.ts";
import { MS } from "./flags.ts";
import type { Planner } from "./mount-plan.ts";
import { isTypeUnknown, planFor, type MountContext } from "./mount-request.ts";
import { helperOptionString } from "./helper-options.ts";
import { entryOptions } from "./options.ts";
import { propagationSteps } from "./propagation.ts";
import type { HelperStep, Plan } from "./steps.ts";

/** What ops/ provides when the caller runs external helpers. */
export interface ExternalHelpers {
  /** The first of these helper names found in the helper dirs, with its path; undefined when none is. */
  find(names: readonly string[]): { readonly name: string; readonly path: string } | undefined;
  /** Flags every helper gets after SOURCE TARGET: -s (mount -s, sloppy), -n (mount(8)'s -n, no mtab), -v (mount -v). */
  readonly flags: readonly string[];
  /**
   * The path as libmount hands it to a helper: realpath(3) of it, or the path as given when it
   * does not resolve (a missing path, srv:/export) or the caller said not to (mount -c).
   */
  canonicalPath(path: string): string;
}

/**
 * SOURCE and TARGET as a helper gets them: canonical, as libmount prepares them for the mount
 * (a relative target made absolute, a symlink followed), but a network or pseudo filesystem's
 * source (srv:/export, //srv/share, none), which names no path; an empty source is none.
 */
export function helperPaths(type: string, source: string, target: string, helpers: Pick<ExternalHelpers, "canonicalPath">): { source: string; target: string } {
  const asGiven = source === "" || isNetworkFilesystem(type) || isPseudoFilesystem(type);
  return { source: source === "" ? "none" : asGiven ? source : helpers.canonicalPath(source), target: helpers.canonicalPath(target) };
}

/**
 * /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/, walked by code unit (every mount and unmount asks, and the
 * pattern would be the process's first: docs/bench.md). Never a path: a type names a file in the
 * helper dirs and nothing else.
 */
export function isHelperType(type: string): boolean {
  if (type === "") return false;
  for (let i = 0; i < type.length; i++) {
    const code = type.charCodeAt(i);
    const alphanumeric = (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
    // _ + - anywhere, a dot after the first character
    if (!alphanumeric && code !== 0x5f && code !== 0x2b && code !== 0x2d && (code !== 0x2e || i === 0)) return false;
  }
  return true;
}

/**
 * The helper names mount(8) (umount(8): "umount") tries for a type, in order: mount.TYPE, then
 * for TYPE.SUBTYPE mount.TYPE without its last ".SUBTYPE" (libmount's helper lookup). None for
 * a type that is not a plain name, or that names no filesystem (none, auto, bind).
 */
export function helperNamesFor(type: string, command: "mount" | "umount" = "mount"): readonly string[] {
  if (isTypeUnknown(type) || type === "none" || type === "bind" || !isHelperType(type)) return [];
  const dot = type.lastIndexOf(".");
  return dot > 0 ? [`${command}.${type}`, `${command}.${type.slice(0, dot)}`] : [`${command}.${type}`];
}

/**
 * libmount's argv for an umount.TYPE helper: umount.TYPE TARGET [-n] [-l] [-f] [-v] [-r]
 * [-t TYPE], -t only for a TYPE.SUBTYPE run by umount.TYPE's helper.
 */
export function umountHelperArgv(
  helper: string,
  target: string,
  type: string,
  flags: { readonly noMtab?: boolean; readonly lazy?: boolean; readonly force?: boolean; readonly verbose?: boolean; readonly readOnly?: boolean },
): string[] {
  return [
    helper,
    target,
    ...(flags.noMtab ? ["-n"] : []),
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
  const helpers = ctx.env.externalHelpers!;
  const paths = helperPaths(mount.type, mount.source, target, helpers);
  const argv = externalHelperArgv(helper.name, mount.type, paths.source, paths.target, { flags: helpers.flags, options: helperOptionString(mount.options) });
  const run: HelperStep = { op: "helper", role: "mount", helper: helper.name, path: helper.path, argv, target, action: ctx.action, undoable: true, helperKind: "external" };
  return planFor(ctx, [run, ...propagationSteps(ctx)]);
}

/** What a helper gets besides SOURCE TARGET: the flags (-s, -n, -v) and the -o string. */
export interface HelperArguments {
  readonly flags: readonly string[];
  /** helperOptionString's: never empty (ro or rw at least) */
  readonly options: string;
}

/**
 * libmount's argv for a mount.TYPE helper (`helper` its name): mount.TYPE SOURCE TARGET [-s]
 * [-n] [-v] -o OPTIONS [-t TYPE]. SOURCE and TARGET as helperPaths gives them.
 */
export function externalHelperArgv(helper: string, type: string, source: string, target: string, args: HelperArguments): string[] {
  return [helper, source, target, ...args.flags, "-o", args.options, ...(helper === `mount.${type}` ? [] : ["-t", type])];
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
