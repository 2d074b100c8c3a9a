/**
 * Kernel flag sets used by plans, one source of truth each, with their names so that
 * errors, dry runs and --json print `MS_BIND|MS_REC` rather than 20480.
 * Values are from <linux/mount.h> and <sys/mount.h> (identical on x86_64 and arm64).
 */
import { PlanError, shownValue } from "../errors.ts";

/** mount(2) flags. */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 0x10000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  KERNMOUNT: 0x400000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** The propagation types; the kernel takes exactly one per mount(2) call. */
export const MS_PROPAGATION = MS.SHARED | MS.PRIVATE | MS.SLAVE | MS.UNBINDABLE;

/** Flags that select how atime is updated; setting one clears the others (last wins). */
export const MS_ATIME_MODE = MS.NOATIME | MS.RELATIME | MS.STRICTATIME;

/** umount2(2) flags. */
export const MNT = {
  FORCE: 0x1,
  DETACH: 0x2,
  EXPIRE: 0x4,
  NOFOLLOW: 0x8,
} as const;

/**
 * statfs(2) f_flags bits (ST_*). They equal the MS_* bits except ST_RELATIME and
 * ST_NOSYMFOLLOW, which is why they are mapped rather than copied (a containerd bug).
 */
export const ST = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  VALID: 0x20,
  MANDLOCK: 0x40,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  RELATIME: 0x1000,
  NOSYMFOLLOW: 0x2000,
} as const;

const ST_TO_MS: ReadonlyArray<readonly [number, number]> = [
  [ST.RDONLY, MS.RDONLY],
  [ST.NOSUID, MS.NOSUID],
  [ST.NODEV, MS.NODEV],
  [ST.NOEXEC, MS.NOEXEC],
  [ST.SYNCHRONOUS, MS.SYNCHRONOUS],
  [ST.MANDLOCK, MS.MANDLOCK],
  [ST.NOATIME, MS.NOATIME],
  [ST.NODIRATIME, MS.NODIRATIME],
  [ST.RELATIME, MS.RELATIME],
  [ST.NOSYMFOLLOW, MS.NOSYMFOLLOW],
];

/** statfs f_flags (ST_*) as the equivalent MS_* flags. */
export function statfsFlagsToMs(stFlags: number): number {
  if (!Number.isSafeInteger(stFlags) || stFlags < 0) throw notAMask("statfs flags", "stFlags", stFlags);
  let ms = 0;
  for (const [st, m] of ST_TO_MS) if ((stFlags & st) === st) ms |= m;
  return ms;
}

/**
 * The per-mount flags the kernel locks when a mount is copied into a less privileged user
 * namespace (CL_UNPRIVILEGED: MNT_LOCK_READONLY, _NODEV, _NOSUID, _NOEXEC, _ATIME).
 * A remount inside that namespace must keep them or it fails with EPERM.
 */
export const MS_LOCKED_IN_USERNS =
  MS.RDONLY | MS.NODEV | MS.NOEXEC | MS.NOSUID | MS.NOATIME | MS.RELATIME | MS.NODIRATIME;

/**
 * The locked flags in effect on a mount, from its statfs f_flags. containerd's
 * getUnprivilegedMountFlags ranged over slice indices (0..6) instead of the flag values and
 * compared ST_RELATIME as if it were MS_RELATIME; this uses the values and maps the bits.
 */
export function lockedMountFlags(stFlags: number): number {
  return statfsFlagsToMs(stFlags) & MS_LOCKED_IN_USERNS;
}

/** "MS_BIND|MS_REC"; "0" for none; unknown bits as hex. */
export function formatFlags(flags: number, table: Readonly<Record<string, number>> = MS, prefix = "MS_"): string {
  if (!Number.isSafeInteger(flags) || flags < 0) throw notAMask("format flags", "flags", flags);
  if (typeof table !== "object" || table === null || Array.isArray(table)) throw new PlanError(`format flags: table must be an object of flags by name (MS, MNT), got ${shownValue(table)}`);
  if (typeof prefix !== "string") throw new PlanError(`format flags: prefix must be a string, got ${shownValue(prefix)}`);
  if (flags === 0) return "0";
  const names: string[] = [];
  let rest = flags;
  for (const [name, bit] of Object.entries(table)) {
    if ((flags & bit) === bit && bit !== 0) {
      names.push(prefix + name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(`0x${(rest >>> 0).toString(16)}`);
  return names.join("|");
}

/** A flags argument that is no mask: NaN, "5" or -1 read as a mask gave a wrong answer, not an error. */
function notAMask(action: string, field: string, value: unknown): PlanError {
  return new PlanError(`${action}: ${field} must be a whole number from 0 (a mask of flags), got ${shownValue(value)}`);
}
