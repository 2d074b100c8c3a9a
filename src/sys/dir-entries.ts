/**
 * The names in a directory held by an fd, with getdents64(2) (glibc's wrapper, 2.30): what a
 * copy walks, never a path looked up again. Names keep their bytes (path-text.ts).
 */
import { bindLibc, cFd, syscallFailure } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";

const libc = bindLibc({ getdents64: { args: ["i32", "ptr", "u64"], returns: "i64" } });

/** struct linux_dirent64 {u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]} */
export const DIRENT64_OFFSET = { reclen: 16, type: 18, name: 19 } as const;

// One buffer: calls are synchronous and each Worker has its own module instance.
const buffer = new Uint8Array(32 * 1024);
const view = new DataView(buffer.buffer);

/**
 * Every name in the directory fd holds, "." and ".." left out, read from the fd's position (a
 * directory just opened: all of them). path names the directory in errors.
 */
export function readDirFd(fd: number, path: string): string[] {
  cFd(fd, "getdents64(2)", "fd", path);
  const names: string[] = [];
  for (;;) {
    const n = Number(libc().getdents64(fd, buffer, buffer.byteLength));
    if (n < 0) throw syscallFailure("getdents64(2)", [path]);
    if (n === 0) return names;
    for (let at = 0; at < n; at += view.getUint16(at + DIRENT64_OFFSET.reclen, true)) {
      const start = at + DIRENT64_OFFSET.name;
      const end = buffer.indexOf(0, start);
      const name = buffer.subarray(start, end);
      if (isDot(name)) continue;
      names.push(textFromBytes(name));
    }
  }
}

/** "." or "..": 0x2e once or twice. */
function isDot(name: Uint8Array): boolean {
  return name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e));
}
