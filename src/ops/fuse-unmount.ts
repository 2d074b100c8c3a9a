/**
 * Unmounting a FUSE mount as containerd does (unmountFUSE): `fusermount3 -u`, then
 * `fusermount -u`, then plain umount2 as the fallback (the caller's). fusermount is setuid
 * and lets a user unmount their own FUSE mounts where umount2 would say EPERM.
 *
 * The check that routes here is one statfs(2) of the target, so plain unmounts stay cheap.
 * It is skipped for MNT_FORCE or MNT_EXPIRE, which only umount2 can do; MNT_FORCE is also
 * what to use on a FUSE mount whose daemon hangs, where even statfs would block.
 */
import { realpathSync } from "node:fs";
import { SyscallError } from "../errors.ts";
import { MNT } from "../plan/flags.ts";
import { FUSE_SUPER_MAGIC, FUSE_UNMOUNT_HELPERS } from "../plan/fuse.ts";
import { formatExec } from "../plan/steps.ts";
import type { ProcessExit } from "../sys/seam.ts";
import type { OpsContext } from "./context.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";

/**
 * Unmount target with the fusermount helpers when it is on a FUSE filesystem. True when a
 * helper unmounted it; false when it is not FUSE or every helper failed (then umount2 runs).
 */
export function unmountFuseWithHelpers(target: string, flags: number, ctx: OpsContext): boolean {
  if ((flags & ~MNT.DETACH) !== 0) return false;
  if (!isFuse(target, ctx)) return false;
  const dirs = helperSearchDirs(ctx);
  let env: string[] | undefined;
  const tried = new Set<string>();
  for (const name of FUSE_UNMOUNT_HELPERS) {
    const path = locateHelper(name, dirs);
    if (path === undefined) {
      ctx.log?.(`${name}: not found in ${dirs.join(":")}`);
      continue;
    }
    const file = realFile(path);
    if (tried.has(file)) continue; // Debian's fusermount is a link to fusermount3: it failed already
    tried.add(file);
    const argv = [name, "-u", ...(flags & MNT.DETACH ? ["-z"] : []), target];
    ctx.log?.(formatExec(path, argv));
    try {
      const exit = ctx.sys.runProcess(path, argv, (env ??= helperEnvironment(dirs)));
      ctx.log?.(`${name}: ${describeExit(exit)}`);
      if (exit.exitCode === 0) return true;
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      ctx.log?.(`${name}: ${err.message}`); // ECHILD included: the umount2 fallback settles it
    }
  }
  return false;
}

/** statfs(target).f_type is FUSE_SUPER_MAGIC. A target statfs cannot reach is left to umount2. */
function isFuse(target: string, ctx: OpsContext): boolean {
  try {
    return ctx.sys.statfs(target).type === FUSE_SUPER_MAGIC;
  } catch {
    return false;
  }
}

function realFile(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** "exited 0", "exited 1: fusermount3: entry for /x not found", "killed by signal 9" */
export function describeExit(exit: ProcessExit): string {
  const how = exit.exitCode !== null ? `exited ${exit.exitCode}` : `killed by signal ${exit.signal ?? "?"}`;
  const output = exit.output.trim();
  return output ? `${how}: ${output}` : how;
}
