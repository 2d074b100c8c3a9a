/**
 * Whether this host runs SELinux, as libselinux's is_selinux_enabled() finds it: selinuxfs
 * mounted read-write at /sys/fs/selinux (or the old /selinux). A container is given it
 * read-only, or not at all, when SELinux is not its to use. Asked once per process, and only
 * of a mount with a SELinux option (plan/selinux-options.ts).
 */
import { ST } from "../plan/flags.ts";
import { statfs } from "../sys/stat.ts";

const SELINUX_MAGIC = 0xf97cff8c;
const SELINUXFS_MOUNTS = ["/sys/fs/selinux", "/selinux"];

let cached: boolean | undefined;

export function selinuxEnabled(): boolean {
  return (cached ??= SELINUXFS_MOUNTS.some(isWritableSelinuxfs));
}

function isWritableSelinuxfs(path: string): boolean {
  try {
    const fs = statfs(path);
    return fs.type === SELINUX_MAGIC && (fs.flags & ST.RDONLY) === 0;
  } catch {
    return false; // no such directory: no selinuxfs there
  }
}
