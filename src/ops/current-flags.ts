/**
 * The flags a remount keeps from the mount (MountStep.inheritFlags), as the mount has them now:
 * mount(8) keeps what the options do not mention, and the kernel clears what the call omits.
 */
import { readMountInfo } from "../mountinfo/read.ts";
import { splitOptionText } from "../option-text.ts";
import { MS, statfsFlagsToMs } from "../plan/flags.ts";
import type { OpsContext } from "./context.ts";
import { mountIdOf } from "./mount-id.ts";

/** statfs(target)'s flags among inherit; lazytime, which statfs has no bit for, from mountinfo. */
export function currentFlags(target: string, inherit: number, ctx: OpsContext): number {
  let flags = statfsFlagsToMs(ctx.sys.statfs(target).flags) & inherit;
  // A remount without MS_LAZYTIME turns it off (the kernel's MS_RMT_MASK holds it); only the
  // superblock options in mountinfo say whether it is on, so the table is read for it.
  if (inherit & MS.LAZYTIME && superOptionsOf(target, ctx).includes("lazytime")) flags |= MS.LAZYTIME;
  return flags;
}

function superOptionsOf(target: string, ctx: OpsContext): readonly string[] {
  const id = mountIdOf(target, ctx);
  const superOptions = readMountInfo().find((m) => m.id === id)?.superOptions;
  return superOptions === undefined ? [] : splitOptionText(superOptions);
}
