/**
 * Mount tables and MountInfo records a library caller passes back (parseMountInfo's, or made
 * by hand): checked where a call takes them, so that a wrong kind is a PlanError naming the
 * argument, never a TypeError part-way. A record a call reads whole (the findmnt formatters)
 * must have its text fields strings; a table's rows are checked by the loop that reads them,
 * for what that loop reads (a lookup: the mount point). Pure.
 */
import { PlanError, shownValue } from "../errors.ts";
import type { MountInfo } from "./types.ts";

type Fields = { readonly [K in keyof MountInfo]?: unknown };

/**
 * m as a caller's MountInfo read whole (a findmnt record, any column of a table): an object whose
 * root, mountpoint, options, fstype, source and superOptions are strings and optional a list.
 */
export function requireMountInfo(m: unknown, field: string, action: string): asserts m is MountInfo {
  const f = m as Fields;
  if (
    typeof m !== "object" ||
    m === null ||
    typeof f.mountpoint !== "string" ||
    typeof f.root !== "string" ||
    typeof f.source !== "string" ||
    typeof f.fstype !== "string" ||
    typeof f.options !== "string" ||
    typeof f.superOptions !== "string" ||
    !Array.isArray(f.optional)
  ) {
    throw badMountInfo(m, field, action);
  }
}

/** m as a call reads two of its text fields (findmntSource: root and source): an object with those strings. */
export function requireMountText(m: unknown, field: string, action: string, first: keyof MountInfo, second: keyof MountInfo): asserts m is MountInfo {
  if (typeof m !== "object" || m === null || typeof (m as Fields)[first] !== "string" || typeof (m as Fields)[second] !== "string") throw badMountInfo(m, field, action);
}

/** A table a caller passes: a list (its rows are the reading loop's to check). */
export function requireMountTable(mounts: unknown, action: string): asserts mounts is readonly MountInfo[] {
  if (!Array.isArray(mounts)) throw new PlanError(`${action}: expected a mount table (a list), got ${shownValue(mounts)}`);
}

/** A row as a lookup reads it: its mountpoint a string (null, 5 or "x" have none). */
export function requireMountRow(m: unknown, i: number, action: string): asserts m is MountInfo {
  if (typeof (m as Fields | null | undefined)?.mountpoint !== "string") throw badMountInfo(m, `mounts[${i}]`, action);
}

export function badMountInfo(m: unknown, field: string, action: string): PlanError {
  return new PlanError(`${action}: ${field} must be a MountInfo (an object as parseMountInfo makes), got ${shownValue(m)}`);
}
