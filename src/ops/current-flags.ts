/**
 * The flags a remount keeps from the mount (MountStep.inheritFlags), as the mount has them now:
 * mount(8) keeps what the options do not mention, and the kernel clears what the call omits.
 */
import { Errno } from "../errno.ts";
import { isErrno } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { splitOptionText } from "../option-text.ts";
import { MS, statfsFlagsToMs } from "../plan/flags.ts";
import { lazytimeRead } from "../plan/plain.ts";
import { SB, STATMOUNT } from "../sys/statmount.ts";
import type { OpsContext } from "./context.ts";
import { mountIdOf } from "./mount-id.ts";

/** statfs(target)'s flags among inherit; lazytime, which statfs has no bit for, from statmount(2) or mountinfo. */
export function currentFlags(target: string, inherit: number, ctx: OpsContext): number {
  let flags = statfsFlagsToMs(ctx.sys.statfs(target).flags) & inherit;
  // A remount without MS_LAZYTIME turns it off (the kernel's MS_RMT_MASK holds it).
  if (inherit & MS.LAZYTIME && hasLazytime(target, ctx)) flags |= MS.LAZYTIME;
  return flags;
}

/**
 * Whether the superblock of the mount at target has lazytime: statmount(2)'s sb_flags (two
 * syscalls whatever the table size) where lazytimeRead chooses it and it answers, else the
 * superblock options of its mountinfo entry (a read of the whole table: 50 us at 30 mounts,
 * milliseconds at thousands).
 */
function hasLazytime(target: string, ctx: OpsContext): boolean {
  const superblockFlags = lazytimeRead(ctx.facts) === "statmount" ? statmountSuperblockFlags(target, ctx) : undefined;
  if (superblockFlags !== undefined) return (superblockFlags & SB.LAZYTIME) !== 0;
  return superOptionsOf(target, ctx).includes("lazytime");
}

/**
 * statmount's sb_flags for the mount at target (statx STATX_MNT_ID_UNIQUE gives its ID), or
 * undefined when the kernel gives no unique ID, or statmount says ENOSYS or EPERM (a seccomp
 * filter that predates it, as container runtimes' may): mountinfo answers then.
 */
function statmountSuperblockFlags(target: string, ctx: OpsContext): number | undefined {
  const id = ctx.sys.statxUniqueMountId(target);
  if (id === undefined) {
    ctx.log?.(`statx gave no unique mount ID for ${target} (STATX_MNT_ID_UNIQUE is Linux 6.8): reading lazytime from mountinfo`);
    return undefined;
  }
  try {
    const status = ctx.sys.statmount(id, STATMOUNT.SB_BASIC);
    return status.mask & STATMOUNT.SB_BASIC ? status.superblockFlags : undefined;
  } catch (err) {
    if (!isErrno(err, Errno.ENOSYS) && !isErrno(err, Errno.EPERM)) throw err;
    ctx.log?.(`statmount(2): ${err.errnoName}: reading lazytime from mountinfo`);
    return undefined;
  }
}

function superOptionsOf(target: string, ctx: OpsContext): readonly string[] {
  const id = mountIdOf(target, ctx);
  const superOptions = readMountInfo().find((m) => m.id === id)?.superOptions;
  return superOptions === undefined ? [] : splitOptionText(superOptions);
}
