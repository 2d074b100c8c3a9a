/**
 * Files named relative to a directory fd, bound from libc: mkdirat(2), mknodat(2),
 * symlinkat(2), readlinkat(2), fchownat(2), utimensat(2). With a name of one component and
 * no link followed, a call cannot leave the directory the fd holds, whatever is renamed
 * around it. Errors name `path` as given (a name in dfd, or "" with AT_EMPTY_PATH: none).
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { bindLibc, cDirFd, cPath, syscallFailure } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";
import { READLINK_MAX } from "./readlink.ts";
import type { Timestamp } from "./stat.ts";

const libc = bindLibc({
  mkdirat: { args: ["i32", "cstring", "u32"], returns: "i32" },
  mknodat: { args: ["i32", "cstring", "u32", "u64"], returns: "i32" },
  symlinkat: { args: ["cstring", "i32", "cstring"], returns: "i32" },
  readlinkat: { args: ["i32", "cstring", "ptr", "u64"], returns: "i64" },
  fchownat: { args: ["i32", "cstring", "u32", "u32", "i32"], returns: "i32" },
  utimensat: { args: ["i32", "cstring", "ptr", "i32"], returns: "i32" },
});

/** mknodat's file types (S_IFMT values), for the mode argument. */
export const S_IF = {
  FIFO: 0o010000,
  CHR: 0o020000,
  BLK: 0o060000,
} as const;

/** utimensat's tv_nsec meaning "leave this timestamp as it is". */
export const UTIME_OMIT = (1 << 30) - 2;

/** mkdirat(dfd, path, mode) */
export function mkdirat(dfd: number, path: string, mode: number): void {
  if (libc().mkdirat(cDirFd(dfd, "mkdirat(2)", path), cPath(path, "mkdirat(2)"), mode) !== 0) throw syscallFailure("mkdirat(2)", [path]);
}

/** mknodat(dfd, path, type|mode, makedev(major, minor)): a fifo or a device node. */
export function mknodat(dfd: number, path: string, mode: number, major: number, minor: number): void {
  if (libc().mknodat(cDirFd(dfd, "mknodat(2)", path), cPath(path, "mknodat(2)"), mode, makedev(major, minor)) !== 0) throw syscallFailure("mknodat(2)", [path]);
}

/** glibc's makedev(3): the 64-bit dev_t of a major and minor number. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/** symlinkat(target, dfd, path): a symlink at path pointing to target (never looked at) */
export function symlinkat(target: string, dfd: number, path: string): void {
  if (libc().symlinkat(cPath(target, "symlinkat(2)"), cDirFd(dfd, "symlinkat(2)", path), cPath(path, "symlinkat(2)")) !== 0) throw syscallFailure("symlinkat(2)", [path]);
}

// One buffer: calls are synchronous and each Worker has its own module instance.
const linkBuffer = new Uint8Array(READLINK_MAX);

/**
 * readlinkat(dfd, path, buf, PATH_MAX): a symlink's target (with "", of the O_PATH fd of a
 * symlink). A failure throws, as a copy expects none (readlink.ts returns the errno instead).
 */
export function readlinkat(dfd: number, path: string): string {
  const n = Number(libc().readlinkat(cDirFd(dfd, "readlinkat(2)", path), cPath(path, "readlinkat(2)"), linkBuffer, READLINK_MAX));
  if (n < 0) throw syscallFailure("readlinkat(2)", [path]);
  if (n >= READLINK_MAX) throw new SyscallError("readlinkat(2)", Errno.ENAMETOOLONG, path === "" ? [] : [path]); // cut silently by the kernel
  return textFromBytes(linkBuffer.subarray(0, n));
}

/** fchownat(dfd, path, uid, gid, flags); -1 keeps that id. AT_SYMLINK_NOFOLLOW, or AT_EMPTY_PATH on an O_PATH fd, changes a symlink itself. */
export function fchownat(dfd: number, path: string, uid: number, gid: number, flags: number): void {
  if (libc().fchownat(cDirFd(dfd, "fchownat(2)", path), cPath(path, "fchownat(2)"), uid >>> 0, gid >>> 0, flags) !== 0) throw syscallFailure("fchownat(2)", [path]);
}

// struct timespec[2] {s64 tv_sec; s64 tv_nsec}: access time, then modification time.
const times = new BigInt64Array(4);

/**
 * utimensat(dfd, path, {atime, mtime}, flags); an undefined timestamp is UTIME_OMIT (left as it
 * is). With AT_EMPTY_PATH and "", of dfd's own file (an O_PATH fd of a symlink too).
 */
export function utimensat(dfd: number, path: string, atime: Timestamp | undefined, mtime: Timestamp | undefined, flags: number): void {
  times[0] = BigInt(atime?.sec ?? 0);
  times[1] = BigInt(atime?.nsec ?? UTIME_OMIT);
  times[2] = BigInt(mtime?.sec ?? 0);
  times[3] = BigInt(mtime?.nsec ?? UTIME_OMIT);
  if (libc().utimensat(cDirFd(dfd, "utimensat(2)", path), cPath(path, "utimensat(2)"), times, flags) !== 0) throw syscallFailure("utimensat(2)", [path]);
}
