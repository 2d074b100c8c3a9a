/**
 * Extended attributes, bound from libc: listxattr(2), getxattr(2), setxattr(2). These follow
 * a symlink at the end of path; given /proc/self/fd/N they act on the very file fd N holds (an
 * O_PATH fd of a symlink: the symlink itself, as l*xattr would), with no name looked up.
 */
import { Errno } from "../errno.ts";
import { bindLibc, cArgument, cPath, lastErrno, syscallFailure } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";

const libc = bindLibc({
  listxattr: { args: ["cstring", "ptr", "u64"], returns: "i64" },
  getxattr: { args: ["cstring", "cstring", "ptr", "u64"], returns: "i64" },
  setxattr: { args: ["cstring", "cstring", "ptr", "u64", "i32"], returns: "i32" },
});

/** The largest value or name list the kernel hands out (XATTR_SIZE_MAX, XATTR_LIST_MAX). */
const XATTR_MAX = 65536;

/** listxattr(path): the names of path's extended attributes (those the caller may see). */
export function listXattrs(path: string): string[] {
  const list = readSized("listxattr(2)", path, (buffer) => libc().listxattr(cPath(path, "listxattr(2)"), buffer, buffer?.byteLength ?? 0));
  const names: string[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] !== 0) continue;
    if (i > start) names.push(textFromBytes(list.subarray(start, i)));
    start = i + 1;
  }
  return names;
}

/** getxattr(path, name): the attribute's value. */
export function getXattr(path: string, name: string): Uint8Array {
  const key = cArgument(name, "getxattr(2)", "name", path, name);
  return readSized("getxattr(2)", path, (buffer) => libc().getxattr(cPath(path, "getxattr(2)"), key, buffer, buffer?.byteLength ?? 0));
}

/** setxattr(path, name, value, 0): created or replaced. */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  // an empty value is passed as NULL with size 0, which setxattr(2) takes as such
  if (libc().setxattr(cPath(path, "setxattr(2)"), cArgument(name, "setxattr(2)", "name", path, name), value.byteLength === 0 ? null : value, value.byteLength, 0) !== 0) throw syscallFailure("setxattr(2)", [path]);
}

/**
 * The size-then-fill dance of the xattr calls: ask the size (a NULL buffer), then fill a buffer
 * of that size; ERANGE means it grew in between, so ask again.
 */
function readSized(syscall: string, path: string, call: (buffer: Uint8Array | null) => number | bigint): Uint8Array {
  for (;;) {
    const size = Number(call(null));
    if (size < 0) throw syscallFailure(syscall, [path]);
    if (size === 0) return new Uint8Array(0);
    const buffer = new Uint8Array(Math.min(size, XATTR_MAX));
    const n = Number(call(buffer));
    if (n >= 0) return buffer.subarray(0, n);
    if (lastErrno() !== Errno.ERANGE) throw syscallFailure(syscall, [path]);
  }
}
