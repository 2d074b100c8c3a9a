/**
 * Unmounting a FUSE mount that umount2 may not remove: `fusermount3 -u`, then `fusermount -u`,
 * as containerd's unmountFUSE does. fusermount is setuid and lets a user unmount their own FUSE
 * mounts, where umount2 says EPERM.
 *
 * containerd runs them first, after a statfs(2) of every target. mountkit calls them only after
 * umount2 said EPERM: for a caller allowed to unmount, fusermount -u is that same umount2 (with
 * /etc/mtab a link to /proc/self/mounts), and the statfs first cost every unmount a syscall and
 * blocked for good on a FUSE mount whose daemon hangs (statfs waits for the daemon; umount2 does
 * not). Nor is FUSE told by statfs after the EPERM: it waits for a hung daemon and fails with
 * ENOTCONN once the daemon died, which is when a user needs fusermount most; statmount(2) or
 * mountinfo tell it without asking the filesystem. The helpers are skipped for MNT_FORCE or
 * MNT_EXPIRE, which only umount2 can do.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { lookupMount } from "../mountinfo/lookup.ts";
import { MNT } from "../plan/flags.ts";
import { FUSE_SUPER_MAGIC, FUSE_UNMOUNT_HELPERS, isFuseMountType } from "../plan/fuse.ts";
import { formatExec } from "../plan/steps.ts";
import { existingRealpath } from "../sys/realpath.ts";
import type { ProcessExit } from "../sys/seam.ts";
import type { OpsContext } from "./context.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";
import { reachableMountId } from "./mount-id.ts";
import { statmountUsable, superblockStatus } from "./superblock-status.ts";
import { mountTableFor } from "./umount-fake.ts";

/** What the fusermount helpers did with a target. */
export type FuseUnmountResult = "not-fuse" | "unmounted" | "helpers-failed";

/**
 * Unmount target with the fusermount helpers when it is on a FUSE filesystem ("not-fuse"
 * otherwise, and for flags only umount2 knows).
 */
export function unmountFuseWithHelpers(target: string, flags: number, ctx: OpsContext): FuseUnmountResult {
  if ((flags & ~MNT.DETACH) !== 0) return "not-fuse";
  if (!isFuse(target, ctx)) return "not-fuse";
  const dirs = helperSearchDirs(ctx);
  // what a helper whose wait is lost (ECHILD) left behind shows in the target's mount ID
  const before = reachableMountId(target, ctx);
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
    // umount --fake runs no helper: it is taken to unmount the mount at target, and to fail
    // where the table has none there, as fusermount fails ("not found in /etc/mtab")
    if (ctx.fakeUnmounts !== undefined) {
      if (ctx.fakeUnmounts.unmountedByHelper(target)) return "unmounted";
      continue;
    }
    try {
      const exit = ctx.sys.runProcess(path, argv, (env ??= helperEnvironment(dirs)));
      ctx.log?.(`${name}: ${describeExit(exit)}`);
      if (exit.exitCode === 0) return "unmounted";
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      ctx.log?.(`${name}: ${err.message}`);
      if (isErrno(err, Errno.ECHILD) && before !== undefined) {
        // Unmounted before its wait was lost? Then another umount2 would take down the mount
        // below it, if any. Unchanged, or unreachable (still a FUSE mount, its daemon gone),
        // the next helper (or umount2) tries.
        const after = reachableMountId(target, ctx);
        if (after !== undefined && after !== before) {
          ctx.log?.(`mount ID of ${target} changed (${before} -> ${after}): ${name} unmounted it`);
          return "unmounted";
        }
      }
    }
  }
  return "helpers-failed";
}

/**
 * Whether the mount holding target is FUSE, told without asking the filesystem (statfs would
 * wait for a hung daemon, and say ENOTCONN for a dead one): statmount(2)'s superblock magic
 * (Linux 6.8), else the type mountinfo (a fake's, under umount --fake) gives the mount at
 * target's real path. A target that cannot be reached or looked up is not FUSE.
 */
function isFuse(target: string, ctx: OpsContext): boolean {
  try {
    // statmount asks the kernel, where a mount umount --fake imagined gone is still on top
    if (statmountUsable(ctx) && ctx.fakeUnmounts === undefined) {
      const status = superblockStatus(target, ctx, "mountinfo tells the type");
      if (status !== undefined) return status.superblockMagic === FUSE_SUPER_MAGIC;
    }
    const real = existingRealpath(target);
    if (real === undefined) return false;
    const holding = lookupMount(mountTableFor(ctx), real);
    return holding !== undefined && isFuseMountType(holding.fstype);
  } catch (err) {
    if (err instanceof SyscallError) return false;
    throw err;
  }
}

function realFile(path: string): string {
  return existingRealpath(path) ?? path;
}

/** "exited 0", "exited 1: fusermount3: entry for /x not found", "killed by signal 9" */
export function describeExit(exit: ProcessExit): string {
  const how = exit.exitCode !== null ? `exited ${exit.exitCode}` : `killed by signal ${exit.signal ?? "?"}`;
  const output = exit.output.trim();
  return output ? `${how}: ${output}` : how;
}
