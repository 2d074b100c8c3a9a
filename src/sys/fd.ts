/**
 * File descriptors: open(2), close(2), read(2), pread(2), write(2), fcntl(2) (F_DUPFD_CLOEXEC, F_GETFD), flock(2), bound from libc.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { bindLibc, cDirFd, cFd, cPath, lastErrno, syscallFailure } from "./libc.ts";
import { bytesFromText } from "../path-text.ts";

const libc = bindLibc({
  open: { args: ["cstring", "i32", "u32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  // variadic in C; its third argument is an int for F_DUPFD_CLOEXEC, ignored for F_GETFD
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  // syscall(SYS_openat2, dfd, path, &how, sizeof how): glibc before 2.39 has no wrapper
  syscall: { args: ["i64", "i64", "cstring", "ptr", "i64"], returns: "i32" },
});

/** openat2(2): asm-generic number, shared by x86_64 and arm64 (Linux 5.6). */
export const SYS_OPENAT2 = 437;

// The RESOLVE_* flags live with the mount API's constants, which plans print.
export { RESOLVE } from "../plan/mount-api-flags.ts";

export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NONBLOCK: 0o4000,
  DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000,
  CLOEXEC: 0o2000000,
  PATH: 0o10000000,
} as const;

/** open(path, flags, mode) -> fd */
export function open(path: string, flags: number, mode = 0): number {
  const fd = libc().open(cPath(path, "open(2)"), flags, mode);
  if (fd < 0) throw syscallFailure("open(2)", [path]);
  return fd;
}

// struct open_how {u64 flags, mode, resolve}: one buffer, filled per call (calls are synchronous).
export const OPEN_HOW_SIZE = 24;
const openHow = new Uint32Array(OPEN_HOW_SIZE / 4);

/**
 * openat2(dfd, path, {flags, mode, resolve}) -> fd. With RESOLVE_BENEATH and RESOLVE_NO_XDEV the
 * path cannot leave the tree below dfd, by "..", a symlink or a mount point. mode: a file
 * O_CREAT makes (the kernel refuses one without O_CREAT).
 */
export function openat2(dfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const cpath = cPath(path, "openat2(2)");
  cDirFd(dfd, "openat2(2)", path);
  openHow[0] = flags;
  openHow[2] = mode;
  openHow[4] = resolve;
  const fd = libc().syscall(SYS_OPENAT2, dfd, cpath, openHow, openHow.byteLength);
  if (fd < 0) throw syscallFailure("openat2(2)", [path]);
  return fd;
}

/** open(path, O_PATH|O_CLOEXEC): a handle on a path that grants no I/O (overlay layers by fd). */
export function openPath(path: string): number {
  return open(path, O.PATH | O.CLOEXEC);
}

/** close(fd) */
export function close(fd: number): void {
  if (libc().close(cFd(fd, "close(2)")) !== 0) throw syscallFailure("close(2)");
}

/** flock(2) operations. */
export const LOCK = {
  SH: 1,
  EX: 2,
  NB: 4,
  UN: 8,
} as const;

/** flock(fd, operation); path names fd in errors (EWOULDBLOCK, which is EAGAIN, for a lock held with LOCK_NB) */
export function flock(fd: number, operation: number, path: string): void {
  if (libc().flock(cFd(fd, "flock(2)", "fd", path), operation) !== 0) throw syscallFailure("flock(2)", [path]);
}

/** fcntl(2) commands, and the one fd flag. */
export const F = {
  GETFD: 1,
  DUPFD_CLOEXEC: 1030,
} as const;
export const FD_CLOEXEC = 1;

/** fcntl(fd, F_GETFD) -> fd's flags (FD_CLOEXEC), or undefined when fd is not open (EBADF). */
export function fdFlags(fd: number): number | undefined {
  const flags = libc().fcntl(fd, F.GETFD, 0);
  if (flags >= 0) return flags;
  if (lastErrno() === Errno.EBADF) return undefined;
  throw syscallFailure("fcntl(2)");
}

/**
 * fcntl(fd, F_DUPFD_CLOEXEC, 0) -> a new fd, the lowest free, on the same open file and
 * close-on-exec: a handle the caller owns while fd stays someone else's.
 */
export function dupCloexec(fd: number): number {
  const copy = libc().fcntl(cFd(fd, "fcntl(2)"), F.DUPFD_CLOEXEC, 0);
  if (copy < 0) throw syscallFailure("fcntl(2)");
  return copy;
}

/** read(fd, buf, len) -> bytes read, or -errno when it fails (EAGAIN and ENODATA are expected). */
export function readSome(fd: number, buffer: Uint8Array): number {
  const n = Number(libc().read(fd, buffer, buffer.byteLength));
  return n < 0 ? -lastErrno() : n;
}

// Bound on its own, as isatty below: only a mount that probes a filesystem type reads this way.
const preadLib = bindLibc({ pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" } });

/**
 * pread(fd, buf, len, offset) until buf is full or the file ends -> the bytes read. EINTR is
 * retried; other errors are a SyscallError naming path, the file fd was opened from.
 */
export function readAt(fd: number, buffer: Uint8Array, offset: number, path: string): number {
  cFd(fd, "pread(2)", "fd", path);
  let filled = 0;
  while (filled < buffer.byteLength) {
    const n = Number(preadLib().pread(fd, buffer.subarray(filled), buffer.byteLength - filled, offset + filled));
    if (n === 0) break;
    if (n < 0) {
      const errno = lastErrno();
      if (errno === Errno.EINTR) continue;
      throw new SyscallError("pread(2)", errno, [path]);
    }
    filled += n;
  }
  return filled;
}

// Bound on its own: only a batch's progress line asks, and each symbol bound costs start-up.
const ttyLib = bindLibc({ isatty: { args: ["i32"], returns: "i32" } });

/** isatty(fd): whether fd is a terminal. (node:tty would load Node's stream modules, about 3 ms of start-up.) */
export function isTerminal(fd: number): boolean {
  return ttyLib().isatty(fd) === 1;
}

/** write(fd, buf, len) -> bytes written, or -errno when it fails (EAGAIN, EPIPE are expected). */
export function writeSome(fd: number, buffer: Uint8Array): number {
  const n = Number(libc().write(fd, buffer, buffer.byteLength));
  return n < 0 ? -lastErrno() : n;
}

/**
 * Write all of text to fd, as the bytes it stands for (a path that is not UTF-8 is printed as
 * its own bytes, as util-linux prints it: path-text.ts): a full non-blocking pipe is waited for, a reader that is gone
 * (EPIPE) ends the output quietly, any other failure is a SyscallError.
 */
export function writeAll(fd: number, text: string): void {
  let rest = bytesFromText(text);
  while (rest.length > 0) {
    const n = writeSome(fd, rest);
    if (n >= 0) rest = rest.subarray(n);
    else if (n === -Errno.EAGAIN) Bun.sleepSync(1); // a non-blocking pipe that is full: wait for the reader
    else if (n === -Errno.EPIPE) return; // the reader is gone (mountkit findmnt | head -1)
    else if (n !== -Errno.EINTR) throw new SyscallError("write(2)", -n, []);
  }
}

/**
 * One write(fd, bytes) that must take all of bytes (the proc map files take their whole content
 * in one write or nothing): a short write is EIO. Errors name path, the file fd was opened from.
 */
export function writeOnce(fd: number, bytes: Uint8Array, path: string): void {
  const n = writeSome(cFd(fd, "write(2)", "fd", path), bytes);
  if (n < 0) throw new SyscallError("write(2)", -n, [path]);
  if (n !== bytes.byteLength) throw new SyscallError("write(2)", Errno.EIO, [path]);
}
