/**
 * readlink(2), bound from libc. A path that is not a symlink is the common case when a
 * target is resolved component by component, so failure is a returned errno, not an
 * exception (as fd.ts readSome does for its expected errnos).
 */
import { Errno } from "../errno.ts";
import { bindLibc, cPath, lastErrno } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";

const libc = bindLibc({ readlink: { args: ["cstring", "ptr", "u64"], returns: "i64" } });

/** PATH_MAX: the longest target readlink can return here; a longer one is ENAMETOOLONG. */
export const READLINK_MAX = 4096;

// One buffer: calls are synchronous and each Worker has its own module instance.
const buffer = new Uint8Array(READLINK_MAX);

/**
 * readlink(path, buf, PATH_MAX): the link's target, or the errno (EINVAL: not a symlink). A path
 * holding a NUL byte is thrown (refuseNul), not answered EINVAL: that would read as "no link",
 * where C would have read the link at the path cut there.
 */
export function readlink(path: string): string | number {
  const n = Number(libc().readlink(cPath(path, "readlink(2)"), buffer, READLINK_MAX));
  if (n < 0) return lastErrno();
  if (n >= READLINK_MAX) return Errno.ENAMETOOLONG; // readlink cuts a longer target silently
  return textFromBytes(buffer.subarray(0, n));
}
