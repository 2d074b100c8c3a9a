/**
 * Hints for failed mounts: what mount(8) would say. Runs only on the failure path, so it
 * may look at the filesystem.
 */
import { Errno } from "../errno.ts";
import { quotePath, SyscallError } from "../errors.ts";
import type { Mount } from "../plan/mount-request.ts";
import { fileType } from "../sys/stat.ts";
import { overlayHint } from "./overlay-hints.ts";

export function mountHint(err: SyscallError, mount: Mount, target: string): string | undefined {
  if (mount.type === "overlay") {
    const hint = overlayHint(err, mount);
    if (hint !== undefined) return hint ?? undefined;
  }
  switch (err.errno) {
    case Errno.ENOENT:
      if (fileType(target) === undefined) return `mount point ${quotePath(target)} does not exist`;
      if (mount.source.startsWith("/") && fileType(mount.source) === undefined) {
        return `source ${quotePath(mount.source)} does not exist`;
      }
      return undefined;
    case Errno.ENOTDIR:
      return `mount point ${quotePath(target)} is not a directory, or a path component is not`;
    case Errno.ENODEV:
      return `unknown filesystem type ${JSON.stringify(mount.type)} (not in /proc/filesystems)`;
    case Errno.ENOTBLK:
      return `source ${quotePath(mount.source)} is not a block device${fileType(mount.source) === "file" ? " (use -o loop for an image file)" : ""}`;
    case Errno.EPERM:
    case Errno.EACCES:
      return "mounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root)";
    case Errno.EBUSY:
      return `${quotePath(target)} or the source is busy`;
    case Errno.EINVAL:
      return "wrong fs type, bad option, bad superblock, or a propagation/remount on a path that is not a mount point";
    default:
      return undefined;
  }
}
