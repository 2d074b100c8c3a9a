/**
 * Locating mount helpers on disk. A helper runs as root, so it is looked up in fixed system
 * directories (HELPER_SEARCH_DIRS), never through PATH, unless the caller names a helper dir.
 */
import { isAbsolute, join } from "../path.ts";
import { HelperError, PlanError, quotePath } from "../errors.ts";
import { requireList, requireObject, requirePath } from "../plan/caller-input.ts";
import { HELPER_SEARCH_DIRS } from "../plan/fuse.ts";
import { accessible, X_OK } from "../sys/file.ts";
import { fileType } from "../sys/stat.ts";
import type { HelperStep, Plan } from "../plan/steps.ts";
import type { ExternalHelpers } from "../plan/external-helper.ts";
import { canonicalPath } from "./block-devices.ts";
import type { OpsContext } from "./context.ts";
import { enteredMountNamespace } from "./enter-namespace.ts";

/** The directories searched for helpers: the caller's helper dir alone, or the system ones. */
export function helperSearchDirs(ctx: Pick<OpsContext, "helperDir">): readonly string[] {
  requireObject(ctx, "ctx", "helper search dirs", "an object with helperDir");
  if (ctx.helperDir === undefined) return HELPER_SEARCH_DIRS;
  requirePath(ctx.helperDir, "helperDir", "helper search dirs");
  if (!isAbsolute(ctx.helperDir)) {
    throw new PlanError(`helper dir ${quotePath(ctx.helperDir)} is not an absolute path`);
  }
  return [ctx.helperDir];
}

/** The first dir/name that is an executable regular file, or undefined. */
export function locateHelper(name: string, dirs: readonly string[]): string | undefined {
  requirePath(name, "name", "locate helper");
  requireList(dirs, "dirs", "locate helper");
  for (let i = 0; i < dirs.length; i++) requirePath(dirs[i], `dirs[${i}]`, "locate helper");
  for (const dir of dirs) {
    const path = join(dir, name);
    // absent or not executable here: try the next dir
    if (fileType(path) === "file" && accessible(path, X_OK)) return path;
  }
  return undefined;
}

/**
 * The plan with every helper step's path filled in. A helper that cannot be found fails the
 * whole plan before anything runs.
 */
export function locateHelpers(plan: Plan, ctx: OpsContext): Plan {
  if (!needsHelperPath(plan)) return plan;
  const dirs = helperSearchDirs(ctx);
  const steps = plan.steps.map((step) => {
    if (step.op !== "helper" || step.path !== null) return step;
    const path = locateHelper(step.helper, dirs);
    if (path === undefined) throw helperNotFound(step, dirs, ctx.helperDir !== undefined);
    return { ...step, path } satisfies HelperStep;
  });
  return { action: plan.action, steps };
}

/** A helper step still without its path; a loop, as every mount asks. */
function needsHelperPath(plan: Plan): boolean {
  for (const step of plan.steps) if (step.op === "helper" && step.path === null) return true;
  return false;
}

function helperNotFound(step: HelperStep, dirs: readonly string[], userDir: boolean): HelperError {
  return new HelperError(
    `${step.action}: mount helper ${step.helper} not found in ${dirs.map(quotePath).join(":")}`,
    step.helper,
    step.argv,
    null,
    "",
    { hint: notFoundHint(step.helper, userDir) },
  );
}

function notFoundHint(helper: string, userDir: boolean): string {
  const namespace = enteredMountNamespace();
  if (namespace !== undefined) {
    // -N: the dirs are the other namespace's, which need not hold what the caller's does
    return `helpers are looked up and run in the filesystem of mount namespace ${namespace} (-N), not the caller's: install ${helper} there${userDir ? ", or name a helper dir there" : ""}`;
  }
  if (userDir) return `put an executable ${helper} in the helper dir, or leave the helper dir unset`;
  return "install it (Debian: apt-get install fuse3), or name its directory with --helper-dir";
}

/**
 * util-linux's mount.TYPE helpers as a plan looks them up: the first name found in the helper
 * dirs, each name looked up once per plan (a planner asks when it claims and when it plans);
 * -s for mount -s, -n for mount(8)'s -n, -v when syscalls are logged (mount -v), as libmount
 * passes them; paths by realpath(3) unless mount -c.
 */
export function externalHelpers(ctx: OpsContext): ExternalHelpers {
  const dirs = helperSearchDirs(ctx);
  const found = new Map<string, string | undefined>();
  const where = (name: string): string | undefined => {
    if (!found.has(name)) found.set(name, locateHelper(name, dirs));
    return found.get(name);
  };
  return {
    find(names) {
      for (const name of names) {
        const path = where(name);
        if (path !== undefined) return { name, path };
      }
      return undefined;
    },
    flags: [...(ctx.sloppy ? ["-s"] : []), ...(ctx.noMtab ? ["-n"] : []), ...(ctx.log !== undefined ? ["-v"] : [])],
    // libmount's canonicalize_path, /dev/dm-N as /dev/mapper/NAME included
    canonicalPath: ctx.noCanonicalize ? (path) => path : canonicalPath,
  };
}
