/**
 * The names in a directory through node:fs, with their bytes (path-text.ts). A module of its
 * own: node:fs costs a start-up about 1 ms, which the commands that never list a directory
 * must not pay (docs/bench.md).
 */
import { readdirSync } from "node:fs";
import { fsPath, textFromBytes } from "../path-text.ts";

/** The names in a directory (not . and ..); errors as node:fs throws them. */
export function readDirNames(path: string): string[] {
  return readdirSync(fsPath(path), { encoding: "buffer" }).map((name) => textFromBytes(name));
}
