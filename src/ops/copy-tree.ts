/**
 * A directory's entries copied into another directory, recursively, every call relative to
 * the fds of the two directories (tmpcopyup: ops/copy-up.ts). Each entry is opened in the
 * source with
 *
 *   openat2(dir, name, O_PATH|O_NOFOLLOW|O_CLOEXEC, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)
 *
 * so a symlink is held as a symlink (copied as one: readlinkat, symlinkat; never followed, out
 * of the root or anywhere), a mount point is refused (EXDEV), and the entry's type is read from
 * the fd (statx AT_EMPTY_PATH): what is copied is the file that was opened, whatever is renamed
 * meanwhile. A file or directory is then read through /proc/self/fd/N, the same file again.
 *
 *   regular file    created O_EXCL, its data copied with its holes (copy-file-data.ts)
 *   directory       created, filled, then given its attributes (so its times stay)
 *   symlink         created pointing where it points
 *   fifo, device    mknodat with the same type and device numbers
 *   socket          left out: a socket file names a listener that is not copied, and a stale
 *                   one makes the container's own bind(2) there fail (EADDRINUSE)
 *   mount point     another filesystem mounted below the directory: its files are left out (a
 *                   host volume, /proc...: not the image's files, and hidden by the tmpfs
 *                   anyway); an empty directory or file stands in its place, with the owner,
 *                   mode and times its root shows
 *
 * Every copy takes the original's attributes (copy-attributes.ts). Hard links are copied as
 * separate files, as runc and crun copy them. Errors name the entry's path.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { O, RESOLVE } from "../sys/fd.ts";
import { S_IF } from "../sys/file-at.ts";
import type { FileStatus, Syscalls } from "../sys/seam.ts";
import { copyAttributes, TAKES_ALL, type RefusedXattr } from "./copy-attributes.ts";
import { copyFileData } from "./copy-file-data.ts";
import { closeQuietly } from "./plan-handles.ts";

/** How every entry is opened, in the source and in the copy: nothing followed, nothing crossed. */
const ENTRY_RESOLVE = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_XDEV;

/** A directory held by an fd opened for reading, and the path it stands for in messages. */
export interface HeldDirectory {
  readonly fd: number;
  readonly path: string;
}

/** What a copy left out, for the caller to tell. */
export interface CopyReport {
  /** entries copied */
  copied: number;
  readonly sockets: string[];
  readonly mountPoints: string[];
  readonly refusedXattrs: RefusedXattr[];
}

export function emptyReport(): CopyReport {
  return { copied: 0, sockets: [], mountPoints: [], refusedXattrs: [] };
}

/** Copy every entry of from into to (two directories held open; to is empty). */
export function copyEntries(sys: Syscalls, from: HeldDirectory, to: HeldDirectory, report: CopyReport): void {
  const names = named(from.path, () => sys.readDirFd(from.fd, from.path));
  for (const name of names) copyEntry(sys, from, to, name, report);
}

const procFd = (fd: number) => `/proc/self/fd/${fd}`;

function copyEntry(sys: Syscalls, from: HeldDirectory, to: HeldDirectory, name: string, report: CopyReport): void {
  const path = `${from.path}/${name}`;
  let entry: number;
  try {
    entry = sys.openat2(from.fd, name, O.PATH | O.NOFOLLOW | O.CLOEXEC, ENTRY_RESOLVE);
  } catch (err) {
    if (isErrno(err, Errno.EXDEV)) return copyMountPoint(sys, from, to, name, path, report);
    if (isErrno(err, Errno.ENOENT)) return; // removed since the directory was listed
    throw renamed(err, path);
  }
  try {
    const status = named(path, () => sys.statxFile(entry, "", AT.EMPTY_PATH));
    if (status.type === "socket") {
      report.sockets.push(path);
      return;
    }
    if (status.type === "dir") copyDirectory(sys, entry, status, to, name, path, report);
    else named(path, () => copyOther(sys, entry, status, to.fd, name, path, report));
    report.copied++;
  } finally {
    closeQuietly(sys, entry);
  }
}

/** A directory: created, filled from the source opened again through its fd, then given its attributes. */
function copyDirectory(sys: Syscalls, entry: number, status: FileStatus, to: HeldDirectory, name: string, path: string, report: CopyReport): void {
  const [source, copy] = named(path, () => {
    sys.mkdirat(to.fd, name, 0o700);
    const copy = sys.openat2(to.fd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, ENTRY_RESOLVE);
    try {
      return [sys.open(procFd(entry), O.RDONLY | O.DIRECTORY | O.CLOEXEC), copy];
    } catch (err) {
      closeQuietly(sys, copy);
      throw err;
    }
  });
  try {
    copyEntries(sys, { fd: source, path }, { fd: copy, path }, report);
    named(path, () => copyAttributes(sys, entry, copy, status, TAKES_ALL, report.refusedXattrs, path));
  } finally {
    closeQuietly(sys, source);
    closeQuietly(sys, copy);
  }
}

/** Anything but a directory or a socket: made in dir, then given the original's attributes. */
function copyOther(sys: Syscalls, entry: number, status: FileStatus, dir: number, name: string, path: string, report: CopyReport): void {
  const copy = makeCopy(sys, entry, status, dir, name, path);
  try {
    copyAttributes(sys, entry, copy, status, TAKES_ALL, report.refusedXattrs, path);
  } finally {
    closeQuietly(sys, copy);
  }
}

/** The copy of a file, link or node made in dir under name, held by an fd (O_PATH but for a file). */
function makeCopy(sys: Syscalls, entry: number, status: FileStatus, dir: number, name: string, path: string): number {
  switch (status.type) {
    case "file": {
      const copy = sys.openat2(dir, name, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, ENTRY_RESOLVE, 0o600);
      try {
        const source = sys.open(procFd(entry), O.RDONLY | O.CLOEXEC);
        try {
          copyFileData(sys, source, copy, status.size, path);
        } finally {
          closeQuietly(sys, source);
        }
      } catch (err) {
        closeQuietly(sys, copy);
        throw err;
      }
      return copy;
    }
    case "link":
      sys.symlinkat(sys.readlinkat(entry, ""), dir, name);
      break;
    case "fifo":
    case "char":
    case "block":
      sys.mknodat(dir, name, NODE_TYPES[status.type] | 0o600, status.rdevMajor, status.rdevMinor);
      break;
    default:
      throw new Error(`internal: ${status.type} ${path} is not copied as a file`);
  }
  return sys.openat2(dir, name, O.PATH | O.NOFOLLOW | O.CLOEXEC, ENTRY_RESOLVE);
}

const NODE_TYPES = { fifo: S_IF.FIFO, char: S_IF.CHR, block: S_IF.BLK } as const;

/**
 * A mount point in the source: what its root shows (statx by name crosses into the mount) is
 * made as an empty directory or file with that owner, mode and times; nothing of the mount is read.
 */
function copyMountPoint(sys: Syscalls, from: HeldDirectory, to: HeldDirectory, name: string, path: string, report: CopyReport): void {
  named(path, () => {
    const status = sys.statxFile(from.fd, name, AT.SYMLINK_NOFOLLOW | AT.NO_AUTOMOUNT);
    if (status.type === "dir") sys.mkdirat(to.fd, name, 0o700);
    const copy = status.type === "dir" ? sys.openat2(to.fd, name, O.PATH | O.NOFOLLOW | O.CLOEXEC, ENTRY_RESOLVE) : sys.openat2(to.fd, name, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, ENTRY_RESOLVE, 0o600);
    try {
      copyAttributes(sys, undefined, copy, status, TAKES_ALL, report.refusedXattrs, path);
    } finally {
      closeQuietly(sys, copy);
    }
  });
  report.mountPoints.push(path);
  report.copied++;
}

/** Run call; a SyscallError from it names path (the entry), not the name or fd it was given. */
export function named<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw renamed(err, path);
  }
}

/** err as a SyscallError naming path; other errors unchanged. */
function renamed(err: unknown, path: string): unknown {
  if (!(err instanceof SyscallError) || (err.paths.length === 1 && err.paths[0] === path)) return err;
  const copy = new SyscallError(err.syscall, err.errno, [path], err.action);
  copy.hint = err.hint;
  return err.details.length > 0 ? copy.withDetails(...err.details) : copy;
}
