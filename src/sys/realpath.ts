/**
 * realpath(3), bound from libc: a path made absolute, without `.`, `..` or symlinks.
 */
import { SyscallError } from "../errors.ts";
import { bindLibc, cPath, syscallFailure } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";
import { READLINK_MAX } from "./readlink.ts";

const libc = bindLibc({ realpath: { args: ["cstring", "ptr"], returns: "ptr" } });

// PATH_MAX bytes, as realpath(3) requires of a caller's buffer; calls are synchronous.
const buffer = new Uint8Array(READLINK_MAX);

/** realpath(path), or undefined when it cannot be resolved (missing, no permission, a loop). */
export function existingRealpath(path: string): string | undefined {
  try {
    return realpath(path);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
}

/** realpath(path, buf): the canonical path; ENOENT when a component is missing. */
export function realpath(path: string): string {
  if (libc().realpath(cPath(path, "realpath(3)"), buffer) === null) throw syscallFailure("realpath(3)", [path]);
  const end = buffer.indexOf(0);
  return textFromBytes(buffer.subarray(0, end < 0 ? buffer.length : end));
}
