/**
 * findmnt --vfs-all: the VFS-OPTIONS column with every per-mount flag named, the defaults too
 * ("rw,exec,suid,dev,async,..."), as libmount's mnt_fs_get_vfs_options_all writes it. Pure:
 * option text in, option text out. Checked against util-linux 2.38 findmnt by
 * test/integration/findmnt-more.test.ts.
 */
import { MS } from "../plan/flags.ts";
import { splitOptionText } from "../option-text.ts";

/**
 * libmount 2.38's map of the kernel's per-mount options (MNT_LINUX_MAP), in its order: each
 * name, its MS_* bits, and whether the name means the bits clear (rw is MS_RDONLY cleared).
 * Its order is the order --vfs-all prints in.
 */
const LINUX_OPTIONS: readonly (readonly [name: string, bits: number, clears: boolean])[] = [
  ["ro", MS.RDONLY, false],
  ["rw", MS.RDONLY, true],
  ["exec", MS.NOEXEC, true],
  ["noexec", MS.NOEXEC, false],
  ["suid", MS.NOSUID, true],
  ["nosuid", MS.NOSUID, false],
  ["dev", MS.NODEV, true],
  ["nodev", MS.NODEV, false],
  ["sync", MS.SYNCHRONOUS, false],
  ["async", MS.SYNCHRONOUS, true],
  ["dirsync", MS.DIRSYNC, false],
  ["remount", MS.REMOUNT, false],
  ["bind", MS.BIND, false],
  ["rbind", MS.BIND | MS.REC, false],
  ["silent", MS.SILENT, false],
  ["loud", MS.SILENT, true],
  ["mand", MS.MANDLOCK, false],
  ["nomand", MS.MANDLOCK, true],
  ["atime", MS.NOATIME, true],
  ["noatime", MS.NOATIME, false],
  ["iversion", MS.I_VERSION, false],
  ["noiversion", MS.I_VERSION, true],
  ["diratime", MS.NODIRATIME, true],
  ["nodiratime", MS.NODIRATIME, false],
  ["relatime", MS.RELATIME, false],
  ["norelatime", MS.RELATIME, true],
  ["strictatime", MS.STRICTATIME, false],
  ["nostrictatime", MS.STRICTATIME, true],
  ["lazytime", MS.LAZYTIME, false],
  ["nolazytime", MS.LAZYTIME, true],
  ["unbindable", MS.UNBINDABLE, false],
  ["runbindable", MS.UNBINDABLE | MS.REC, false],
  ["private", MS.PRIVATE, false],
  ["rprivate", MS.PRIVATE | MS.REC, false],
  ["slave", MS.SLAVE, false],
  ["rslave", MS.SLAVE | MS.REC, false],
  ["shared", MS.SHARED, false],
  ["rshared", MS.SHARED | MS.REC, false],
  ["symfollow", MS.NOSYMFOLLOW, true],
  ["nosymfollow", MS.NOSYMFOLLOW, false],
];

const BY_NAME = new Map(LINUX_OPTIONS.map((entry) => [entry[0], entry]));

// mount(8)'s user options, which libmount reads as flags too (its MS_SECURE and MS_OWNERSECURE)
const USER_OPTION_BITS: ReadonlyMap<string, number> = new Map([
  ["user", MS.NOEXEC | MS.NOSUID | MS.NODEV],
  ["users", MS.NOEXEC | MS.NOSUID | MS.NODEV],
  ["owner", MS.NOSUID | MS.NODEV],
  ["group", MS.NOSUID | MS.NODEV],
]);

/**
 * The MS_* bits an option text sets, as libmount's mnt_optstr_get_flags reads them: each known
 * name sets or clears its bits in turn (the last wins), an option with a value is none of them,
 * and user, users, owner and group set the bits mount(8) adds for them.
 */
export function optionTextBits(text: string): number {
  let bits = 0;
  for (const item of splitOptionText(text)) {
    const eq = item.indexOf("=");
    if (eq >= 0 && eq < item.length - 1) continue;
    const name = eq < 0 ? item : item.slice(0, eq);
    const entry = BY_NAME.get(name);
    if (entry !== undefined) bits = entry[2] ? bits & ~entry[1] : bits | entry[1];
    else bits |= USER_OPTION_BITS.get(name) ?? 0;
  }
  return bits;
}

/**
 * VFS-OPTIONS with --vfs-all of a mount (its OPTIONS text: vfs and fs options merged) or an
 * fstab line (its options as written): for each pair of the map, the name that holds, in the
 * map's order. A map entry is printed when any of its bits is set (so rbind's MS_REC prints
 * runbindable and rprivate too, as libmount prints them) or, for one that clears, when none is.
 * null (an empty cell) when there is no option text at all.
 */
export function vfsOptionsAll(text: string | undefined): string | null {
  if (text === undefined) return null;
  const bits = optionTextBits(text);
  const names: string[] = [];
  for (const [name, entryBits, clears] of LINUX_OPTIONS) {
    if ((entryBits & bits) !== 0 ? !clears : clears) names.push(name);
  }
  return names.join(",");
}
