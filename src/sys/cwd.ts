/**
 * The working directory with its bytes. Bun's process.cwd() (and so node:path's resolve() of a
 * relative path) puts U+FFFD for bytes that are not UTF-8; getcwd(3) is asked then.
 */
import { resolve } from "../path.ts";
import { textFromBytes } from "../path-text.ts";
import { bindLibc, syscallFailure } from "./libc.ts";
import { READLINK_MAX } from "./readlink.ts";

const libc = bindLibc({ getcwd: { args: ["ptr", "u64"], returns: "ptr" } });

/** The working directory (getcwd(3) when Bun's answer lost bytes). */
export function currentDirectory(): string {
  const cwd = process.cwd();
  if (!cwd.includes("\uFFFD")) return cwd;
  const buffer = new Uint8Array(READLINK_MAX);
  if (libc().getcwd(buffer, buffer.length) === null) throw syscallFailure("getcwd(3)");
  return textFromBytes(buffer.subarray(0, buffer.indexOf(0)));
}

/** path made absolute against the working directory, normalized (node:path's resolve, bytes kept). */
export function absolutePath(...paths: string[]): string {
  return resolve(currentDirectory(), ...paths);
}
