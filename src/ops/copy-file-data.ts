/**
 * A regular file's data copied from one fd to another, its holes kept: lseek(SEEK_DATA) and
 * lseek(SEEK_HOLE) find each stretch of data (a filesystem without holes reports one, the whole
 * file), sendfile(2) copies it inside the kernel, ftruncate(2) sets the length, so a sparse file
 * takes in the tmpfs only what it holds. copy_file_range(2) is not used: across filesystems (the
 * rootfs into a new tmpfs, always) this kernel refuses it (EXDEV). Where a file cannot be read
 * by sendfile (EINVAL: a filesystem without splice), pread/pwrite through a buffer.
 */
import { Errno } from "../errno.ts";
import { isErrno } from "../errors.ts";
import { SEEK } from "../sys/file-data.ts";
import type { Syscalls } from "../sys/seam.ts";

/** The most sendfile(2) moves in one call is just under 2 GiB; ask for 1 GiB at a time. */
const SENDFILE_CHUNK = 1 << 30;
/** The buffer of the pread/pwrite fallback. */
const BUFFER_SIZE = 128 * 1024;

/** Copy size bytes of from (opened for reading) into to (a new, empty file opened for writing); path names both in errors. */
export function copyFileData(sys: Syscalls, from: number, to: number, size: number, path: string): void {
  let offset = 0;
  while (offset < size) {
    const start = nextData(sys, from, offset, path);
    if (start === undefined || start >= size) break;
    const end = Math.min(sys.lseek(from, start, SEEK.HOLE, path), size);
    copyRange(sys, from, to, start, end, path);
    offset = end;
  }
  // the length, with a hole at the end where the source has one
  sys.ftruncate(to, size, path);
}

/** Where the next data at or after offset starts; undefined when only a hole is left (ENXIO). */
function nextData(sys: Syscalls, fd: number, offset: number, path: string): number | undefined {
  try {
    return sys.lseek(fd, offset, SEEK.DATA, path);
  } catch (err) {
    if (isErrno(err, Errno.ENXIO)) return undefined;
    throw err;
  }
}

/** Bytes [start, end) of from written at the same offsets of to; stops early where from ends (it shrank). */
function copyRange(sys: Syscalls, from: number, to: number, start: number, end: number, path: string): void {
  sys.lseek(to, start, SEEK.SET, path); // sendfile writes at the file position
  let at = start;
  while (at < end) {
    let n: number;
    try {
      n = sys.sendfile(to, from, at, Math.min(end - at, SENDFILE_CHUNK), path);
    } catch (err) {
      if (!isErrno(err, Errno.EINVAL) && !isErrno(err, Errno.ENOSYS)) throw err;
      return copyThroughBuffer(sys, from, to, at, end, path);
    }
    if (n === 0) return;
    at += n;
  }
}

/** The fallback: pread into a buffer, pwrite it out, from at to end. */
function copyThroughBuffer(sys: Syscalls, from: number, to: number, at: number, end: number, path: string): void {
  const buffer = new Uint8Array(Math.min(BUFFER_SIZE, end - at));
  while (at < end) {
    const chunk = buffer.subarray(0, Math.min(buffer.byteLength, end - at));
    const n = sys.readAt(from, chunk, at, path);
    if (n === 0) return;
    sys.writeAt(to, chunk.subarray(0, n), at, path);
    at += n;
  }
}
