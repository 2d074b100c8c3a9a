/**
 * The flags a remount keeps from the mount (MountStep.inheritFlags), as the mount has them now:
 * mount(8) keeps what the options do not mention, and the kernel clears what the call omits.
 */
import { readMountInfo } from "../mountinfo/read.ts";
import { splitOptionText } from "../option-text.ts";
import { MS, statfsFlagsToMs } from "../plan/flags.ts";
import { lazytimeRead } from "../plan/plain.ts";
import { SB } from "../sys/statmount.ts";
import type { OpsContext } from "./context.ts";
import { mountIdOf } from "./mount-id.ts";
import { superblockStatus } from "./superblock-status.ts";

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
  const superblockFlags = lazytimeRead(ctx.facts) === "statmount" ? superblockStatus(target, ctx, "reading lazytime from mountinfo")?.superblockFlags : undefined;
  if (superblockFlags !== undefined) return (superblockFlags & SB.LAZYTIME) !== 0;
  return superOptionsOf(target, ctx).includes("lazytime");
}

function superOptionsOf(target: string, ctx: OpsContext): readonly string[] {
  const id = mountIdOf(target, ctx);
  const superOptions = readMountInfo().find((m) => m.id === id)?.superOptions;
  return superOptions === undefined ? [] : splitOptionText(superOptions);
}
