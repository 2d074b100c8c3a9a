/**
 * Checks of a value's kind, for what the library's callers pass (plan/caller-input.ts says why):
 * a string, a path (a string without NUL), a list, an object, a function, or a PlanError
 * "<action>: <field> must be ..., got 5" naming the field and the value. A typeof (or
 * Array.isArray) each, the message made only on failure. Pure: mountinfo/ and plan/ both use it.
 */
import { PlanError, quotePath, shownValue } from "./errors.ts";

/** A PlanError unless value is a string: "<action>: <field> must be a string, got 5". */
export function requireString(value: unknown, field: string, action: string): asserts value is string {
  if (typeof value !== "string") throw new PlanError(`${action}: ${field} must be a string, got ${shownValue(value)}`);
}

/** requireString, and no NUL byte: C would see the path end there and name another file. */
export function requirePath(value: unknown, field: string, action: string): asserts value is string {
  requireString(value, field, action);
  if (value.includes("\0")) throw new PlanError(`${action}: ${field} ${quotePath(value)} contains a NUL byte`);
}

/** requirePath for an optional field: undefined passes. */
export function optionalPath(value: unknown, field: string, action: string): asserts value is string | undefined {
  if (value !== undefined) requirePath(value, field, action);
}

/** requireString for an optional field: undefined passes. */
export function optionalString(value: unknown, field: string, action: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== "string") requireString(value, field, action);
}

/**
 * A list where one of strings (or of what `items` says) belongs: "<action>: <field> must be a
 * list of strings, got 5" otherwise. Its items are the loop's that reads them (requireString
 * where one is not a string), so the list is walked once.
 */
export function requireList(value: unknown, field: string, action: string, items = "strings"): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new PlanError(`${action}: ${field} must be a list of ${items}, got ${shownValue(value)}`);
}

/**
 * A list of strings that no loop of the call reads before it is used (argv, dirs): walked here,
 * a typeof per item; "<action>: <field>[2] must be a string, got 5".
 */
export function requireStringList(value: unknown, field: string, action: string): asserts value is readonly string[] {
  if (!Array.isArray(value)) requireList(value, field, action);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== "string") requireString(value[i], `${field}[${i}]`, action);
  }
}

/**
 * An object of the kind `what` names ("an object", "a step of a plan (an object)"): not null,
 * not a list. "<action>: <field> must be <what>, got 5" otherwise.
 */
export function requireObject(value: unknown, field: string, action: string, what = "an object"): asserts value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new PlanError(`${action}: ${field} must be ${what}, got ${shownValue(value)}`);
}

/** A callback the call runs: a function, or a PlanError before anything is mounted. */
export function requireFunction(value: unknown, field: string, action: string): void {
  if (typeof value !== "function") throw new PlanError(`${action}: ${field} must be a function, got ${shownValue(value)}`);
}
