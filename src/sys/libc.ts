/**
 * The one place libc is opened. Each kernel-interface module binds the symbols it needs
 * through bindLibc(), lazily, so a command only pays for the bindings it uses.
 * Every failure becomes a SyscallError carrying the syscall, errno and paths.
 */
import { dlopen, read, type FFIFunction, type Library, type Pointer } from "bun:ffi";
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { cText } from "../path-text.ts";

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
  if (path.includes("\0")) throw new SyscallError(syscall, Errno.EINVAL, [path]);
}

/**
 * A path as a `cstring` argument: refused when it holds a NUL (see refuseNul), and in the form
 * that reaches C as the bytes it stands for (path-text.ts: a name that is not UTF-8).
 */
export function cPath(path: string, syscall: string): string | Uint8Array {
  refuseNul(path, syscall);
  return cText(path);
}

/** The SyscallError for the call that just failed. */
export function syscallFailure(syscall: string, paths: readonly (string | null | undefined)[] = []): SyscallError {
  const errno = lastErrno();
  return new SyscallError(syscall, errno, paths.filter((p): p is string => typeof p === "string" && p !== ""));
}
