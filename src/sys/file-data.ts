/**
 * Copying a file's data, bound from libc: sendfile(2) (file to file through the kernel's page
 * cache, for any pair of filesystems), lseek(2) with SEEK_DATA/SEEK_HOLE (where a sparse file's
 * data is) and pwrite(2). Errors name `path`, the file the fd was opened from.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { bindLibc, cFd, lastErrno, syscallFailure } from "./libc.ts";

const libc = bindLibc({
  sendfile: { args: ["i32", "i32", "ptr", "u64"], returns: "i64" },
  lseek: { args: ["i32", "i64", "i32"], returns: "i64" },
  pwrite: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
});

/** lseek(2)'s whence values. */
export const SEEK = { SET: 0, DATA: 3, HOLE: 4 } as const;

// sendfile's *offset, read and advanced by the kernel (calls are synchronous).
const sendOffset = new BigInt64Array(1);

/**
 * sendfile(outFd, inFd, &offset, count) -> bytes copied (0 at the end of inFd): read at offset
 * of inFd, written at outFd's file position.
 */
export function sendfile(outFd: number, inFd: number, offset: number, count: number, path: string): number {
  sendOffset[0] = BigInt(offset);
  const n = Number(libc().sendfile(cFd(outFd, "sendfile(2)", "out fd", path), cFd(inFd, "sendfile(2)", "in fd", path), sendOffset, count));
  if (n < 0) throw syscallFailure("sendfile(2)", [path]);
  return n;
}

/** lseek(fd, offset, whence) -> the new offset. SEEK_DATA past the last data says ENXIO. */
export function lseek(fd: number, offset: number, whence: number, path: string): number {
  const n = Number(libc().lseek(cFd(fd, "lseek(2)", "fd", path), offset, whence));
  if (n < 0) throw syscallFailure("lseek(2)", [path]);
  return n;
}

/** pwrite(fd, bytes, offset) until all of bytes is written; EINTR is retried. */
export function writeAt(fd: number, bytes: Uint8Array, offset: number, path: string): void {
  cFd(fd, "pwrite(2)", "fd", path);
  let done = 0;
  while (done < bytes.byteLength) {
    const n = Number(libc().pwrite(fd, bytes.subarray(done), bytes.byteLength - done, offset + done));
    if (n > 0) done += n;
    else if (n < 0 && lastErrno() === Errno.EINTR) continue;
    else throw n < 0 ? syscallFailure("pwrite(2)", [path]) : new SyscallError("pwrite(2)", Errno.EIO, [path]);
  }
}
