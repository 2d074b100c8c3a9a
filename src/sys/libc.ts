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

/** The SyscallError for the call that just failed. */
export function syscallFailure(syscall: string, paths: readonly (string | null | undefined)[] = []): SyscallError {
  const errno = lastErrno();
  return new SyscallError(syscall, errno, paths.filter((p): p is string => typeof p === "string" && p !== ""));
}
