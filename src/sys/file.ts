/**
 * Directories and one-shot file writes: mkdir(2), rmdir(2), and open/write/close for files
 * that must be written in a single write(2) (/proc/PID/uid_map and gid_map).
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { close, O, open } from "./fd.ts";
import { bindLibc, syscallFailure } from "./libc.ts";

const libc = bindLibc({
  mkdir: { args: ["cstring", "u32"], returns: "i32" },
  rmdir: { args: ["cstring"], returns: "i32" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
});

/** mkdir(path, mode): fails with EEXIST when path exists. */
export function mkdir(path: string, mode: number): void {
  if (libc().mkdir(path, mode) !== 0) throw syscallFailure("mkdir(2)", [path]);
}

/** rmdir(path): an empty directory only; EBUSY on a mount point, ENOTEMPTY otherwise. */
export function rmdir(path: string): void {
  if (libc().rmdir(path) !== 0) throw syscallFailure("rmdir(2)", [path]);
}

/**
 * open(path, O_WRONLY|O_CLOEXEC); write(fd, text) once; close(fd). A short write is an
 * error (EIO): the proc map files take their whole content in one write or nothing.
 */
export function writeFileOnce(path: string, text: string): void {
  const bytes = Buffer.from(text);
  const fd = open(path, O.WRONLY | O.CLOEXEC);
  try {
    const n = Number(libc().write(fd, bytes, bytes.byteLength));
    if (n < 0) throw syscallFailure("write(2)", [path]);
    if (n !== bytes.byteLength) throw new SyscallError("write(2)", Errno.EIO, [path]);
  } finally {
    try {
      close(fd);
    } catch {
      // the write's outcome is what the caller needs; a failed close must not replace it
    }
  }
}
