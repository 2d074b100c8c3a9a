/**
 * util-linux's umount.TYPE helpers (umount.nfs, umount.udisks2...): umount(8) hands the
 * unmount of a mount whose type has one to that program, which tells the server or daemon
 * what the kernel does not. Only when the caller asks (the CLI, unless -i); the helper is
 * looked up as mount.TYPE helpers are (helpers.ts), and its exit status is the outcome; its
 * stdio is the caller's choice (OpsOptions.helperStdio). As libmount does, this holds for every
 * mount umount takes down: one operand, -R, -A and -a.
 */
import { Errno } from "../errno.ts";
import { HelperError, isErrno, quotePath } from "../errors.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { helperNamesFor, umountHelperArgv } from "../plan/external-helper.ts";
import { formatExec } from "../plan/steps.ts";
import type { ProcessExit } from "../sys/seam.ts";
import { fileType } from "../sys/stat.ts";
import { opsContext, type OpsContext } from "./context.ts";
import { describeExit } from "./fuse-unmount.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";
import { reachableMountId } from "./mount-id.ts";
import { HELPER_ECHILD, retrySync } from "./retry.ts";
import type { UnmountOptions } from "./unmount.ts";

export interface HelperUnmountOptions extends UnmountOptions {
  /** umount -r: the helper gets -r (remount read-only what stays busy) */
  readOnlyWhenBusy?: boolean;
}

/**
 * Unmounts a mount (its mountinfo entry, the top one at its mount point) with its type's
 * umount.TYPE helper: true when one ran and succeeded, false when the type has none (the caller
 * unmounts it itself). A helper that fails is a HelperError with its argv, status and output.
 */
export interface HelperUnmounter {
  (top: MountInfo): boolean;
  /** whether mounts of this type have a helper (looked up once per type) */
  hasHelper(type: string): boolean;
}

/**
 * Each type's helper (or none) as found in the helper dirs, per options object: umount's
 * operands share the command's options, so a type is looked up once per command, not once per
 * operand (six dirs times each name the type's magic may stand for: 18 statx per tmpfs).
 */
const helpersFoundFor = new WeakMap<HelperUnmountOptions, Map<string, { readonly name: string; readonly path: string } | null>>();

/**
 * The helper unmounter of one command, or undefined when the caller runs no helpers. Each
 * type's helper is looked up once: -R and -a take down many mounts of few types.
 */
export function helperUnmounter(options: HelperUnmountOptions): HelperUnmounter | undefined {
  if (!options.externalHelpers) return undefined;
  const ctx = opsContext(options);
  const dirs = helperSearchDirs(ctx);
  let found = helpersFoundFor.get(options);
  if (found === undefined) helpersFoundFor.set(options, (found = new Map()));
  const helperOf = (type: string) => {
    let helper = found.get(type);
    if (helper === undefined) {
      helper = null;
      for (const name of helperNamesFor(type, "umount")) {
        const path = locateHelper(name, dirs);
        if (path !== undefined) {
          helper = { name, path };
          break;
        }
      }
      found.set(type, helper);
    }
    return helper;
  };
  const unmountWithHelper = (top: MountInfo): boolean => {
    const helper = helperOf(top.fstype);
    // A mount point that cannot be reached (hidden under a later mount) is left to umount2,
    // whose ENOENT the recursive and table unmounts take as "try again next pass".
    if (helper === null || fileType(top.mountpoint) === undefined) return false;
    const { name, path } = helper;
    const argv = umountHelperArgv(name, top.mountpoint, top.fstype, {
      noMtab: options.noMtab,
      lazy: options.lazy,
      force: options.force,
      verbose: ctx.log !== undefined,
      readOnly: options.readOnlyWhenBusy,
    });
    ctx.log?.(formatExec(path, argv));
    // umount --fake runs no helper: it is taken to unmount the mount, as util-linux's fake takes it
    if (ctx.fakeUnmounts !== undefined) {
      ctx.fakeUnmounts.unmountedByHelper(top.mountpoint);
      return true;
    }
    const exit = runUnlessUnmounted(top.mountpoint, path, argv, helperEnvironment(dirs), ctx);
    if (exit === "unmounted") return true;
    ctx.log?.(`${name}: ${describeExit(exit)}`);
    if (exit.exitCode === 0) return true;
    throw new HelperError(`unmount ${quotePath(top.mountpoint)}: umount helper ${quotePath(path)} ${describeExit(exit)}`, name, argv, exit.exitCode, exit.output, {
      hint: "-i unmounts it without the helper",
    });
  };
  return Object.assign(unmountWithHelper, { hasHelper: (type: string) => helperOf(type) !== null });
}

/**
 * Run the helper; when its wait is lost (ECHILD: something else in the process reaped it), the
 * mount ID at the mount point says whether it unmounted before: changed, "unmounted" (running
 * it again, or umount2, would take down the mount below); unchanged, run it again, under the
 * mount helpers' HELPER_ECHILD policy, then a HelperError naming the ECHILD.
 */
function runUnlessUnmounted(mountpoint: string, path: string, argv: readonly string[], env: readonly string[], ctx: OpsContext): ProcessExit | "unmounted" {
  const name = argv[0]!;
  const before = reachableMountId(mountpoint, ctx);
  let tries = 0;
  try {
    return retrySync(HELPER_ECHILD, (attempt): ProcessExit | "unmounted" => {
      tries = attempt;
      try {
        return ctx.sys.runProcess(path, argv, env, ctx.helperStdio ?? "capture");
      } catch (err) {
        if (!isErrno(err, Errno.ECHILD)) throw err;
        const after = reachableMountId(mountpoint, ctx);
        if (before !== undefined && after !== undefined && after !== before) {
          ctx.log?.(`${name}: waitpid lost the child (ECHILD); the mount ID of ${mountpoint} changed (${before} -> ${after}): it unmounted`);
          return "unmounted";
        }
        ctx.log?.(`${name}: waitpid lost the child (ECHILD), the mount still there: try ${attempt} of ${HELPER_ECHILD.attempts}`);
        throw err; // the policy runs it again
      }
    });
  } catch (err) {
    if (!isErrno(err, Errno.ECHILD)) throw err;
    throw new HelperError(`unmount ${quotePath(mountpoint)}: umount helper ${quotePath(path)}: waitpid lost the child (ECHILD) on all ${tries} tries`, name, argv, null, "", {
      cause: err,
      hint: "something in this process reaps children it did not start (containerd#4387)",
    });
  }
}
