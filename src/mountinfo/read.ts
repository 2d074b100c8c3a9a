/**
 * The one place mountinfo/ touches the system: reading the table. Everything else here is pure.
 */
import { readTextFile } from "../sys/file.ts";
import { PlanError, shownValue } from "../errors.ts";
import { requirePath } from "../caller-kinds.ts";
import { parseMountInfo, parseMountInfoLenient, type LenientMountInfo } from "./parse.ts";
import type { MountInfo } from "./types.ts";

/**
 * The mount table of a process, from /proc/<pid>/mountinfo. The default, "thread-self", is
 * the calling thread's view, which differs from "self" after a thread-level setns/unshare.
 */
export function readMountInfo(pid: number | "self" | "thread-self" = "thread-self"): MountInfo[] {
  // pid is put into a path: "../1" or 1.5 would name another file, or none
  if (pid !== "self" && pid !== "thread-self" && !(Number.isSafeInteger(pid) && (pid as number) > 0)) {
    throw new PlanError(`read mountinfo: pid must be a process id (a whole number from 1), "self" or "thread-self", got ${shownValue(pid)}`);
  }
  return readMountInfoFile(`/proc/${pid}/mountinfo`);
}

/** A mountinfo table from any file (a saved copy, or a /proc path). */
export function readMountInfoFile(path: string): MountInfo[] {
  requirePath(path, "path", "read mountinfo");
  // The kernel escapes only space, tab, newline and backslash; other bytes of a path arrive
  // raw, so a name that is not valid UTF-8 decodes with U+FFFD in it.
  return parseMountInfo(readTextFile(path));
}

/** A saved mountinfo table read as findmnt -F reads one: bad lines left out and listed (parseMountInfoLenient). */
export function readMountInfoFileLenient(path: string): LenientMountInfo {
  requirePath(path, "path", "read mountinfo");
  return parseMountInfoLenient(readTextFile(path));
}
