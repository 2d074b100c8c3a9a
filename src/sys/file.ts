/**
 * Files and directories through libc: mkdir(2), rmdir(2), unlink(2), access(2), lchown(2),
 * chmod(2), ftruncate(2), renameat2(2), symlink(2), mkdtemp(3), whole-file reads. The CLI's paths use these rather than node:fs, whose
 * import alone costs about 1 ms of each start (docs/bench.md).
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { close, O, open, readSome } from "./fd.ts";
import { bindLibc, cFd, cPath, syscallFailure } from "./libc.ts";
import { bytesFromText, cText, textFromBytes } from "../path-text.ts";
import { fileType } from "./stat.ts";

const libc = bindLibc({
  mkdir: { args: ["cstring", "u32"], returns: "i32" },
  rmdir: { args: ["cstring"], returns: "i32" },
  unlink: { args: ["cstring"], returns: "i32" },
  lchown: { args: ["cstring", "u32", "u32"], returns: "i32" },
  chown: { args: ["cstring", "u32", "u32"], returns: "i32" },
  chmod: { args: ["cstring", "u32"], returns: "i32" },
  access: { args: ["cstring", "i32"], returns: "i32" },
  mkdtemp: { args: ["ptr"], returns: "ptr" },
  ftruncate: { args: ["i32", "i64"], returns: "i32" },
  renameat2: { args: ["i32", "cstring", "i32", "cstring", "u32"], returns: "i32" },
  symlink: { args: ["cstring", "cstring"], returns: "i32" },
});

const AT_FDCWD = -100;
/** renameat2's flag: fail with EEXIST rather than replace what is at the new name */
const RENAME_NOREPLACE = 1;

/** access(2) modes. */
export const X_OK = 1;

/** mkdir(path, mode): fails with EEXIST when path exists. */
export function mkdir(path: string, mode: number): void {
  if (libc().mkdir(cPath(path, "mkdir(2)"), mode) !== 0) throw syscallFailure("mkdir(2)", [path]);
}

/** rmdir(path): an empty directory only; EBUSY on a mount point, ENOTEMPTY otherwise. */
export function rmdir(path: string): void {
  if (libc().rmdir(cPath(path, "rmdir(2)")) !== 0) throw syscallFailure("rmdir(2)", [path]);
}

/** unlink(path) */
export function unlink(path: string): void {
  if (libc().unlink(cPath(path, "unlink(2)")) !== 0) throw syscallFailure("unlink(2)", [path]);
}

/** ftruncate(fd, size): the file's length set to size (a sparse file when it grows); path names fd in errors */
export function ftruncate(fd: number, size: number, path: string): void {
  if (libc().ftruncate(cFd(fd, "ftruncate(2)", "fd", path), size) !== 0) throw syscallFailure("ftruncate(2)", [path]);
}

/** renameat2(from, to, RENAME_NOREPLACE): EEXIST when something is at `to` already, never replaced */
export function renameNoReplace(from: string, to: string): void {
  if (libc().renameat2(AT_FDCWD, cPath(from, "renameat2(2)"), AT_FDCWD, cPath(to, "renameat2(2)"), RENAME_NOREPLACE) !== 0) throw syscallFailure("renameat2(2)", [from, to]);
}

/** symlink(target, path): a symlink at path pointing to target */
export function symlink(target: string, path: string): void {
  if (libc().symlink(cPath(target, "symlink(2)"), cPath(path, "symlink(2)")) !== 0) throw syscallFailure("symlink(2)", [path, target]);
}

/** lchown(path, uid, gid); -1 (0xffffffff) leaves that id as it is. A symlink itself is changed, never its target. */
export function lchown(path: string, uid: number, gid: number): void {
  if (libc().lchown(cPath(path, "lchown(2)"), uid >>> 0, gid >>> 0) !== 0) throw syscallFailure("lchown(2)", [path]);
}

/** chown(path, uid, gid), following a symlink (a /proc/self/fd link to its file); -1 leaves that id. */
export function chown(path: string, uid: number, gid: number): void {
  if (libc().chown(cPath(path, "chown(2)"), uid >>> 0, gid >>> 0) !== 0) throw syscallFailure("chown(2)", [path]);
}

/** chmod(path, mode) */
export function chmod(path: string, mode: number): void {
  if (libc().chmod(cPath(path, "chmod(2)"), mode) !== 0) throw syscallFailure("chmod(2)", [path]);
}

/** access(path, mode) === 0: the caller may use path that way (X_OK: execute). */
export function accessible(path: string, mode: number): boolean {
  return !path.includes("\0") && libc().access(cText(path), mode) === 0;
}

/** open(path, O_WRONLY|O_CREAT|O_EXCL), then close: an empty file; EEXIST when path exists. */
export function createEmptyFile(path: string, mode: number): void {
  close(open(path, O.WRONLY | O.CREAT | O.EXCL | O.CLOEXEC, mode));
}

/**
 * mkdir -p: path and its missing parents, each with mode (what the umask leaves of it). An
 * existing directory is fine; an existing file is EEXIST, as mkdir(2) says.
 */
export function mkdirAll(path: string, mode: number): void {
  if (libc().mkdir(cPath(path, "mkdir(2)"), mode) === 0) return;
  const err = syscallFailure("mkdir(2)", [path]);
  if (err.errno === Errno.EEXIST) {
    if (fileType(path) === "dir") return;
    throw err;
  }
  const parent = path.replace(/\/+[^/]*\/*$/, "");
  if (err.errno !== Errno.ENOENT || parent === "" || parent === path) throw err;
  mkdirAll(parent, mode);
  mkdir(path, mode);
}

/** mkdtemp(prefix + "XXXXXX"): a new directory, mode 0700, with a unique name; its path. */
export function makeUniqueDir(prefix: string): string {
  const template = cPath(`${prefix}XXXXXX`, "mkdtemp(3)");
  // mkdtemp writes the name into its argument: always a buffer here, never a string.
  const buffer = typeof template === "string" ? bytesFromText(`${template}\0`) : template;
  if (libc().mkdtemp(buffer) === null) throw syscallFailure("mkdtemp(3)", [`${prefix}XXXXXX`]);
  return textFromBytes(buffer.subarray(0, buffer.length - 1));
}

// One read buffer, kept between calls (they are synchronous; each Worker has its own): a
// mountinfo table read again and again is read into memory already mapped, not into a fresh
// zeroed allocation each time. One grown past 4 MiB is dropped after its read.
const KEPT_BUFFER_MAX = 4 * 1024 * 1024;
let readBuffer: Uint8Array | undefined;

/**
 * The whole content of a file as UTF-8 text (proc files included, whose size reads as 0);
 * bytes that are not UTF-8 are held as path-text.ts says, so paths in it keep their bytes.
 */
export function readTextFile(path: string): string {
  const fd = open(path, O.RDONLY | O.CLOEXEC);
  try {
    return readTextFd(fd, path);
  } finally {
    close(fd);
  }
}

/** Read fd to its end as UTF-8 text; path names it in errors ("stdin" for fd 0). */
export function readTextFd(fd: number, path: string): string {
  let buffer = (readBuffer ??= new Uint8Array(16 * 1024));
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(buffer.length * 2);
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = readSome(fd, buffer.subarray(length));
    if (n > 0) length += n;
    else if (n === 0) break;
    else if (n === -Errno.EAGAIN) Bun.sleepSync(1); // a non-blocking stdin with nothing yet
    else if (n !== -Errno.EINTR) throw new SyscallError("read(2)", -n, [path]);
  }
  if (buffer.length <= KEPT_BUFFER_MAX) readBuffer = buffer;
  return textFromBytes(buffer.subarray(0, length));
}
