/**
 * The errno table's lookups as the library exports them: a caller's argument of the wrong kind
 * ("16", NaN, a list) is a PlanError naming it, where the table would answer "E16" or "ENaN".
 * errno.ts stays data that imports nothing (errors.ts reads it); mountkit's own callers, which
 * pass the kernel's codes, use it directly.
 */
import { PlanError, shownValue } from "./errors.ts";
import * as table from "./errno.ts";

/** "EBUSY" for 16; "E16" for a code the table does not know. */
export function errnoName(code: number): string {
  if (!Number.isInteger(code)) throw notACode("errno name", code);
  return table.errnoName(code);
}

/** glibc's strerror text for the code. */
export function errnoMessage(code: number): string {
  if (!Number.isInteger(code)) throw notACode("errno message", code);
  return table.errnoMessage(code);
}

/** The code for a name such as "EBUSY", or undefined. */
export function errnoCode(name: string): number | undefined {
  if (typeof name !== "string") throw new PlanError(`errno code: name must be a string ("EBUSY"), got ${shownValue(name)}`);
  return table.errnoCode(name);
}

function notACode(action: string, code: unknown): PlanError {
  return new PlanError(`${action}: code must be an errno code (a whole number), got ${shownValue(code)}`);
}
