/**
 * The one place libc is opened. Each kernel-interface module binds the symbols it needs
 * through bindLibc(), lazily, so a command only pays for the bindings it uses.
 * Every failure becomes a SyscallError carrying the syscall, errno and paths.
 */
import { dlopen, read, type FFIFunction, type Library, type Pointer } from "bun:ffi";
import { Errno } from "../errno.ts";
import { shownValue, SyscallError } from "../errors.ts";
import { cText } from "../path-text.ts";
import { AT_FDCWD } from "../plan/mount-api-flags.ts";

export const LIBC_PATH = "libc.so.6";

/** Bind a set of libc symbols on first use. */
export function bindLibc<const T extends Record<string, FFIFunction>>(symbols: T): () => Library<T>["symbols"] {
  let bound: Library<T>["symbols"] | undefined;
  return () => (bound ??= dlopen(LIBC_PATH, symbols).symbols);
}

const errnoLib = bindLibc({ __errno_location: { args: [], returns: "ptr" } });
let errnoPointer: Pointer | null = null;

/** errno of the calling thread, read right after the failed call. */
export function lastErrno(): number {
  errnoPointer ??= errnoLib().__errno_location() as Pointer | null;
  if (errnoPointer === null) throw new Error("__errno_location returned NULL");
  return read.i32(errnoPointer, 0);
}

/**
 * A `cstring` argument reaches C cut at its first NUL, so a path holding one would name another
 * file: refuse it before the call (EINVAL), as node:fs refuses it.
 */
export function refuseNul(path: string, syscall: string): void {
  if (path.includes("\0")) throw nulRefused(syscall, "path", [path]);
}

/** The EINVAL of a call not made: `argument` holds a NUL byte. paths: what the call was about. */
export function nulRefused(syscall: string, argument: string, paths: readonly (string | null | undefined)[]): SyscallError {
  const named = paths.filter((p): p is string => typeof p === "string" && p !== "");
  return new SyscallError(syscall, Errno.EINVAL, named).withDetails(`not called: its ${argument} holds a NUL byte, where C would read its end`);
}

/**
 * A path as a `cstring` argument: refused when it holds a NUL (see refuseNul), and in the form
 * that reaches C as the bytes it stands for (path-text.ts: a name that is not UTF-8).
 */
export function cPath(path: string, syscall: string): string | Uint8Array {
  refuseNul(path, syscall);
  return cText(path);
}

/**
 * A `cstring` argument that is no path (a filesystem type, mount data, an fsconfig key or value),
 * refused as cPath refuses a path, the error naming the argument and the paths the call is about
 * (arguments, not a list: no array made on every call). null stays NULL.
 */
export function cArgument(text: string | null, syscall: string, argument: string, path?: string | null, otherPath?: string | null): string | Uint8Array | null {
  if (text === null) return null;
  refuseNulArgument(text, syscall, argument, path, otherPath);
  return cText(text);
}

/** cArgument's refusal alone, for a string handed to C elsewhere (another thread). */
export function refuseNulArgument(text: string | null, syscall: string, argument: string, path?: string | null, otherPath?: string | null): void {
  if (text !== null && text.includes("\0")) throw nulRefused(syscall, argument, [path, otherPath]);
}

/**
 * An fd argument as C takes it (an int): a whole number from 0 to 2^31 - 1, returned as it is.
 * bun:ffi passes NaN, undefined, null or 0.5 as 0 (stdin), 1.7 as 1 and 2^32 + 1 as 1, so a
 * caller's slip would act on another open file: refused before the call (EBADF, the kernel's
 * answer to a negative fd), naming the call, the argument, its value and path (the file fd was
 * opened from, when the call names one). A typeof and two compares: no allocation unless refused.
 */
export function cFd(fd: number, syscall: string, argument = "fd", path?: string | null): number {
  if (typeof fd !== "number" || (fd | 0) !== fd || fd < 0) throw fdRefused(syscall, argument, fd, path, "");
  return fd;
}

/** cFd for a directory fd, which may also be AT_FDCWD: the working directory. */
export function cDirFd(dfd: number, syscall: string, path?: string | null, argument = "dfd"): number {
  if (typeof dfd !== "number" || (dfd | 0) !== dfd || (dfd < 0 && dfd !== AT_FDCWD)) throw fdRefused(syscall, argument, dfd, path, ", or AT_FDCWD");
  return dfd;
}

/** The EBADF of a call not made: `argument` is no fd C would read as that number. */
function fdRefused(syscall: string, argument: string, value: unknown, path: string | null | undefined, orElse: string): SyscallError {
  const named = typeof path === "string" && path !== "" ? [path] : [];
  return new SyscallError(syscall, Errno.EBADF, named).withDetails(`not called: its ${argument} ${shownValue(value)} is no file descriptor (a whole number from 0 to 2147483647${orElse})`);
}

/** The SyscallError for the call that just failed. */
export function syscallFailure(syscall: string, paths: readonly (string | null | undefined)[] = []): SyscallError {
  const errno = lastErrno();
  return new SyscallError(syscall, errno, paths.filter((p): p is string => typeof p === "string" && p !== ""));
}
