/**
 * What the library's callers pass, checked where it enters: callers write JavaScript too, so the
 * types do not hold them. A value of the wrong kind (undefined, a number where a path belongs,
 * options that are no list), a NUL byte in a string (C would read it cut short) or a number
 * no call can take is a PlanError naming the field and the value, before any syscall; never a
 * TypeError from deep inside, nor a call made with what C would cut. Each check is a typeof or
 * a single includes("\0") per field: planning is on every mount's path (docs/bench.md). Pure.
 */
import { PlanError, shownValue } from "../errors.ts";
import { requireList, requirePath, requireString } from "../caller-kinds.ts";
import type { Mount } from "./mount-request.ts";

// the checks of a value's kind alone, which mountinfo/ (below plan/) uses too
export { optionalPath, optionalString, requireFunction, requireList, requireObject, requirePath, requireString, requireStringList } from "../caller-kinds.ts";

/** The kernel's facts a plan is made for (kernelFacts(), factsForVersion()): an object. */
export function requireFacts(facts: unknown, action: string): asserts facts is object {
  if (typeof facts !== "object" || facts === null || Array.isArray(facts)) throw new PlanError(`${action}: facts must be the kernel's facts (kernelFacts()), got ${shownValue(facts)}`);
}

/**
 * The syscall seam a call is given (libcSyscalls, injectFaults' wrapper, a caller's fake): an
 * object with `method`, the first call it makes; a TypeError at that call otherwise, or (where
 * the call's failure is an answer, probeOverlay) a wrong answer.
 */
export function requireSyscalls(sys: unknown, method: string, action: string): void {
  if (typeof sys !== "object" || sys === null || typeof (sys as Record<string, unknown>)[method] !== "function") {
    throw new PlanError(`${action}: sys must be a Syscalls object with ${method}() (libcSyscalls), got ${shownValue(sys)}`);
  }
}

/** The options bag of a call: undefined (the default) or an object (a list is none: its fields are not read). */
export function requireOptionsObject(options: unknown, action: string): void {
  if (options !== undefined && (typeof options !== "object" || options === null || Array.isArray(options))) {
    throw new PlanError(`${action}: options must be an object, got ${shownValue(options)}`);
  }
}

/**
 * A Mount as containerd's {type, source, target?, options}: an object, type and source strings,
 * target absent or a string, options a list of strings, none holding a NUL byte. Other fields
 * are ignored, as containerd's Go struct ignores what it does not name. The message starts with
 * action, and "entry N" when index is given ("mount all: entry 2: ..."), made only on failure.
 */
export function checkMount(m: unknown, action: string, index?: number): asserts m is Mount {
  checkTypeAndOptions(m, action, index);
  const { source, target } = m as { [K in keyof Mount]: unknown };
  if (typeof source !== "string" || source.includes("\0")) requirePath(source, "source", where(action, index));
  if (target !== undefined && (typeof target !== "string" || target.includes("\0"))) requirePath(target, "target", where(action, index));
}

/**
 * The part of checkMount that helpers reading only a Mount's type and options (readOnly,
 * readonlyMounts: what they do not read they copy as it is) need.
 */
export function checkTypeAndOptions(m: unknown, action: string, index?: number): asserts m is Pick<Mount, "type" | "options"> {
  if (typeof m !== "object" || m === null || Array.isArray(m)) {
    throw new PlanError(`${where(action, index)}: expected a Mount {type, source, options}, got ${shownValue(m)}`);
  }
  const { type, options } = m as { [K in keyof Mount]: unknown };
  if (typeof type !== "string") requireString(type, "type", where(action, index));
  if (type.includes("\0")) throw new PlanError(`${where(action, index)}: invalid filesystem type ${JSON.stringify(type)}`);
  checkOptionList(options, action, index);
}

/** Mount.options: a list (no holes) of strings holding no NUL byte. */
export function checkOptionList(options: unknown, action: string, index?: number): asserts options is readonly string[] {
  if (!Array.isArray(options)) requireList(options, "options", where(action, index));
  for (let i = 0; i < options.length; i++) {
    const option: unknown = options[i];
    if (typeof option !== "string") requireString(option, `options[${i}]`, where(action, index));
    if (option.includes("\0")) throw new PlanError(`${where(action, index)}: option ${JSON.stringify(option)} contains a NUL byte`);
  }
}

/**
 * A list of Mounts, each checked (checkMount, or with typeAndOptionsOnly checkTypeAndOptions),
 * named "entry N" from 1 as batches name them.
 */
export function checkMountList(mounts: unknown, action: string, typeAndOptionsOnly = false): asserts mounts is readonly Mount[] {
  if (!Array.isArray(mounts)) throw new PlanError(`${action}: expected a list of Mounts, got ${shownValue(mounts)}`);
  for (let i = 0; i < mounts.length; i++) {
    if (typeAndOptionsOnly) checkTypeAndOptions(mounts[i], action, i + 1);
    else checkMount(mounts[i], action, i + 1);
  }
}

/** "mount all: entry 2", or the action alone. */
function where(action: string, index: number | undefined): string {
  return index === undefined ? action : `${action}: entry ${index}`;
}

/**
 * A count of bytes a C u64 takes (a loop device's offset and sizelimit): a whole number from 0
 * to 2^53 - 1. A larger one would lose its low bits on the way, and a negative one wrap to
 * 2^64 - n: the device would show another part of the file than asked.
 */
export function requireByteCount(value: unknown, field: string, action: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new PlanError(`${action}: ${field} must be a whole number of bytes from 0 to 2^53 - 1, got ${shownValue(value)}`);
  }
}

/** The largest fd: a C int. */
const FD_MAX = 0x7fff_ffff;

/** A file descriptor a call is given: a whole number from 0 to 2^31 - 1 (a C int). */
export function requireFd(value: unknown, field: string, action: string): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > FD_MAX) {
    throw new PlanError(`${action}: invalid ${field} ${shownValue(value)} (a file descriptor is a whole number from 0 to ${FD_MAX})`);
  }
}

/** A bit mask a C unsigned field takes (mount_setattr's attr_set, attr_clr, propagation): 0 to 2^53 - 1. */
export function requireBits(value: unknown, field: string, action: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new PlanError(`${action}: ${field} must be a whole number from 0 (a mask of flags), got ${shownValue(value)}`);
  }
}
