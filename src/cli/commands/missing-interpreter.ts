/**
 * Why a command that exists fails to start with ENOENT: the kernel answers so when what the
 * file needs to run is missing, its `#!` interpreter or its ELF loader (PT_INTERP), and the
 * message then names only the file, which is there. Common on a minimal host: no /bin/sh, a
 * binary copied without its libraries' loader.
 */
import { close, O, open, readAt } from "../../sys/fd.ts";
import { fileType } from "../../sys/stat.ts";
import { quotePath, SyscallError } from "../../errors.ts";
import { textFromBytes } from "../../path-text.ts";

/** The shell execvp(3) runs a file with when the kernel cannot execute it (no `#!`, not ELF). */
const FALLBACK_SHELL = "/bin/sh";

/** Enough of a file for its `#!` line (the kernel reads 256 bytes of it) or its ELF headers. */
const HEAD_SIZE = 4096;

/** A hint for ENOENT from starting path, an existing regular file; undefined when none is found missing. */
export function missingInterpreterHint(path: string): string | undefined {
  const head = fileHead(path);
  if (head === undefined) return undefined;
  const needed = neededInterpreter(head);
  if (needed !== undefined && fileType(needed.path) !== undefined) return undefined;
  if (needed === undefined) return `${quotePath(path)} exists, but ${FALLBACK_SHELL}, which runs a file without #!, does not`;
  return `${quotePath(path)} exists, but ${needed.what} ${quotePath(needed.path)} does not`;
}

/** The interpreter a file's head names: its `#!` line's, or an ELF file's PT_INTERP; undefined for neither. */
export function neededInterpreter(head: Uint8Array): { path: string; what: string } | undefined {
  if (head[0] === 0x23 && head[1] === 0x21) {
    const line = textFromBytes(head.subarray(2, Math.min(head.length, 256))).split("\n")[0]!;
    const path = line.trim().split(/[ \t]/)[0];
    return path ? { path, what: "its #! interpreter" } : undefined;
  }
  const loader = elfInterpreter(head);
  return loader === undefined ? undefined : { path: loader, what: "its dynamic linker (ELF interpreter)" };
}

const PT_INTERP = 3;

/** PT_INTERP of a 64-bit little-endian ELF file whose program headers and path are in head. */
function elfInterpreter(head: Uint8Array): string | undefined {
  // "\x7fELF", ELFCLASS64, ELFDATA2LSB
  if (head.length < 64 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46 || head[4] !== 2 || head[5] !== 1) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > head.length) return undefined;
    if (view.getUint32(at, true) !== PT_INTERP) continue;
    const offset = Number(view.getBigUint64(at + 8, true));
    const size = Number(view.getBigUint64(at + 32, true));
    if (offset + size > head.length || size === 0) return undefined;
    return textFromBytes(head.subarray(offset, offset + size)).replace(/\0.*$/s, "");
  }
  return undefined;
}

function fileHead(path: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = open(path, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
  try {
    const buffer = new Uint8Array(HEAD_SIZE);
    return buffer.subarray(0, readAt(fd, buffer, 0, path));
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  } finally {
    close(fd);
  }
}
