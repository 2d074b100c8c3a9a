/**
 * mount(2) flags in the fd-based mount API's terms: superblock flags become fsconfig flag
 * parameters ("ro", "sync", ...), per-mount flags become fsmount's MOUNT_ATTR_* bits. mount(2)
 * with MS_RDONLY makes both the superblock and the mount read-only; so does "ro" here. Pure.
 */
import { PlanError } from "../errors.ts";
import { formatFlags, MS, MS_PROPAGATION } from "./flags.ts";
import { MOUNT_ATTR } from "./mount-api-flags.ts";

/** Superblock flags and the fsconfig flag names the VFS gives them (fs/fs_context.c). */
const SB_FLAG_PARAMS: ReadonlyArray<readonly [number, string]> = [
  [MS.RDONLY, "ro"],
  [MS.SYNCHRONOUS, "sync"],
  [MS.DIRSYNC, "dirsync"],
  [MS.LAZYTIME, "lazytime"],
  [MS.MANDLOCK, "mand"],
];

/**
 * mount(2) per-mount flags and the MOUNT_ATTR_* bit each becomes, atime modes aside (those are
 * one mode, not independent bits: see ATTRS, and bindAttrs in plan/idmap.ts).
 */
export const MS_TO_MOUNT_ATTR: ReadonlyArray<readonly [number, number]> = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY],
  [MS.NOSUID, MOUNT_ATTR.NOSUID],
  [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
  [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME],
  [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];

const ATTRS: ReadonlyArray<readonly [number, number]> = [
  ...MS_TO_MOUNT_ATTR,
  [MS.NOATIME, MOUNT_ATTR.NOATIME],
  [MS.STRICTATIME, MOUNT_ATTR.STRICTATIME],
];

/** Flags with no meaning here: relatime is fsmount's default, silent only quiets dmesg. */
const IGNORED = MS.RELATIME | MS.SILENT | MS_PROPAGATION;

export interface FsContextFlags {
  /** fsconfig(FSCONFIG_SET_FLAG) keys */
  readonly sbFlags: readonly string[];
  /** fsmount attr_flags */
  readonly attrFlags: number;
}

/** Every flag the fd API expresses (or ignores, as meaningless there): worked out on first use, not at load. */
let handled: number | undefined;

/** The flags of a mount(2) call that the fd API cannot express (MS_I_VERSION, MS_BIND...); 0 when none. */
export function flagsWithoutFsContextEquivalent(flags: number): number {
  handled ??= [...SB_FLAG_PARAMS, ...ATTRS].reduce((all, [ms]) => all | ms, IGNORED);
  return flags & ~handled;
}

/** Split mount(2) flags; a flag the fd API cannot express is a PlanError naming it. */
export function fsContextFlags(flags: number, request: { readonly action: string }): FsContextFlags {
  const sbFlags: string[] = [];
  let attrFlags = 0;
  for (const [ms, key] of SB_FLAG_PARAMS) {
    if (flags & ms) sbFlags.push(key);
  }
  for (const [ms, attr] of ATTRS) {
    if (flags & ms) attrFlags |= attr;
  }
  const rest = flagsWithoutFsContextEquivalent(flags);
  if (rest !== 0) {
    throw new PlanError(`${request.action}: ${formatFlags(rest)} has no equivalent in the fd-based mount API`, {
      hint: "drop the option, or use mount(2) with MOUNTKIT_STRATEGY=legacy",
    });
  }
  return { sbFlags, attrFlags };
}
