/**
 * What a copied file takes of its original besides its data: owner and group, permission bits,
 * extended attributes, access and modification times (the change time is the kernel's; a
 * birth time cannot be set). Both files are held by fds (an O_PATH fd for a symlink, a fifo or a
 * device node): nothing is looked up by name, and a symlink is changed itself, never followed.
 *
 * The order matters: chown clears the set-id bits and security.capability, so the mode and the
 * xattrs come after it; setting xattrs leaves the times alone, so they come last.
 */
import { Errno } from "../errno.ts";
import { isErrno } from "../errors.ts";
import { AT } from "../plan/mount-api-flags.ts";
import type { FileStatus, Syscalls } from "../sys/seam.ts";

/** What of the original a copy takes: everything, but for the tmpfs root the options may set some (mode=, uid=, gid=). */
export interface Takes {
  readonly uid: boolean;
  readonly gid: boolean;
  readonly mode: boolean;
}

export const TAKES_ALL: Takes = { uid: true, gid: true, mode: true };

/** A copied item's xattr the tmpfs would not take (EOPNOTSUPP: a namespace it does not keep). */
export interface RefusedXattr {
  readonly path: string;
  readonly name: string;
}

const procFd = (fd: number) => `/proc/self/fd/${fd}`;

/**
 * Give `to` the attributes in `status`, and the xattrs of `from` (the file status is of; none
 * when undefined). Xattrs the tmpfs refuses are added to `refused`; any other failure is thrown
 * (its path is the caller's to name).
 */
export function copyAttributes(sys: Syscalls, from: number | undefined, to: number, status: FileStatus, takes: Takes, refused: RefusedXattr[], path: string): void {
  if (takes.uid || takes.gid) sys.fchownat(to, "", takes.uid ? status.uid : -1, takes.gid ? status.gid : -1, AT.EMPTY_PATH);
  // a symlink has no mode of its own (the kernel refuses to set one: EOPNOTSUPP)
  if (takes.mode && status.type !== "link") sys.chmod(procFd(to), status.mode);
  if (from !== undefined) copyXattrs(sys, procFd(from), procFd(to), refused, path);
  sys.utimensat(to, "", status.atime, status.mtime, AT.EMPTY_PATH);
}

/** Every xattr of from that the caller may read, set on to; one the tmpfs does not keep is recorded in refused. */
function copyXattrs(sys: Syscalls, from: string, to: string, refused: RefusedXattr[], path: string): void {
  let names: string[];
  try {
    names = sys.listXattrs(from);
  } catch (err) {
    if (isErrno(err, Errno.EOPNOTSUPP)) return; // the source filesystem keeps none
    throw err;
  }
  for (const name of names) {
    let value: Uint8Array;
    try {
      value = sys.getXattr(from, name);
    } catch (err) {
      if (isErrno(err, Errno.ENODATA)) continue; // removed since it was listed
      throw err;
    }
    try {
      sys.setXattr(to, name, value);
    } catch (err) {
      if (!isErrno(err, Errno.EOPNOTSUPP)) throw err;
      refused.push({ path, name });
    }
  }
}
