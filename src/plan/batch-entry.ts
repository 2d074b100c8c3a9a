/**
 * One entry of a batch (apply, mountAll, fstab, temp mounts): a containerd Mount whose target
 * is a path inside the batch's root, plus what the input said about creating the target and
 * about failing, and the X-mount.mkdir option that asks for the target. Pure.
 */
import { PlanError, shownValue } from "../errors.ts";
import { normalize } from "../path.ts";
import { MS } from "./flags.ts";
import { isBind, type Mount } from "./mount-request.ts";
import { classifyOptions, entryOptions } from "./options.ts";
import { checkMount, checkMountList, requireObject, requireString } from "./caller-input.ts";

/** Create a missing target: directories with this mode (an empty file for a bind of a file). */
export interface CreateTarget {
  readonly mode: number;
}

/** Directories runtimes create for mount targets, and X-mount.mkdir's default. */
export const DEFAULT_TARGET_MODE = 0o755;

export interface BatchEntry {
  /** 1-based: the entry's number in a list, or its line in an fstab */
  readonly index: number;
  /** how messages name it: "entry 3" or "line 7" */
  readonly where: string;
  /** an fstab line's file, when the lines come from more than one (mount -a -T DIR) */
  readonly file?: string;
  /** the mount; target is a path inside the batch root ("" is the root itself) */
  readonly mount: Mount & { readonly target: string };
  /** create the target when it is missing; undefined: it must exist */
  readonly createTarget: CreateTarget | undefined;
  /** a failure is a warning, not a failure of the batch (fstab nofail) */
  readonly nofail: boolean;
  /** mounted read-write, made read-only once every entry of the batch is mounted (readOnlyAtTheEnd) */
  readonly readOnlyLater?: boolean;
}

/**
 * The entry with its `ro` taken out and made at the end of the batch, when it says ro and mounts
 * a new tmpfs (or, devToo, any mount on /dev): runc mounts such a tmpfs, and /dev, read-write and
 * remounts it read-only once every mount stands (finalizeRootfs), since the mount points of the
 * entries inside it (/dev/pts) are made in it, which a fresh tmpfs never holds. Unchanged
 * otherwise, for a tmpcopyup tmpfs (read-only before it is attached, docs/apply.md; it holds
 * the directory's own mount points), and when its options cannot be read (planning says why).
 */
export function readOnlyAtTheEnd(entry: BatchEntry, devToo: boolean): BatchEntry {
  const options = entry.mount.options.flatMap(entryOptions);
  let flags: number;
  let copyUp: boolean;
  let bind: boolean;
  try {
    ({ flags, copyUp } = classifyOptions(options));
    bind = isBind({ mount: entry.mount });
  } catch (err) {
    if (err instanceof PlanError) return entry;
    throw err;
  }
  if (!(flags & MS.RDONLY) || flags & MS.REMOUNT || copyUp) return entry;
  const dest = normalize(`/${entry.mount.target}`);
  if (!(entry.mount.type === "tmpfs" && !bind) && !(devToo && (dest === "/dev" || dest === "/dev/"))) return entry;
  return { ...entry, mount: { ...entry.mount, options: options.filter((o) => o !== "ro") }, readOnlyLater: true };
}

/**
 * Entries for containerd Mounts given to mountAll: numbered from 1, targets "" when unset. With
 * createTarget, a read-only tmpfs is made so at the end (readOnlyAtTheEnd): the targets inside it
 * are created in it.
 */
export function entriesFromMounts(mounts: readonly Mount[], createTarget?: CreateTarget, action = "mount all"): BatchEntry[] {
  requireString(action, "action", "mount all");
  if (createTarget !== undefined) checkCreateTarget(createTarget, "createTarget", action);
  // each field is read (its options copied) before planning would check it
  checkMountList(mounts, action);
  return mounts.map((m, i) =>
    withTargetCreated(
      {
        index: i + 1,
        where: `entry ${i + 1}`,
        mount: { type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] },
        createTarget: undefined,
        nofail: false,
      },
      createTarget,
    ),
  );
}

/**
 * Entries a library caller made and hands to runBatch (entriesFromMounts' or its own): a list
 * of objects, each named (where), its mount a Mount whose target is a string, its createTarget
 * none or a mode. Checked before the batch starts: a bad entry found part-way had mounts to undo.
 */
export function checkBatchEntries(entries: unknown, action: string): asserts entries is readonly BatchEntry[] {
  if (!Array.isArray(entries)) throw new PlanError(`${action}: expected a list of batch entries (entriesFromMounts), got ${shownValue(entries)}`);
  for (let i = 0; i < entries.length; i++) {
    const entry: unknown = entries[i];
    requireObject(entry, `entries[${i}]`, action, "a batch entry (an object, as entriesFromMounts makes)");
    const { where, mount, createTarget } = entry as { [K in keyof BatchEntry]?: unknown };
    requireString(where, `entries[${i}].where`, action);
    checkMount(mount, action, i + 1);
    requireString(mount.target, `entries[${i}].mount.target`, action);
    if (createTarget !== undefined) checkCreateTarget(createTarget, `entries[${i}].createTarget`, action);
  }
}

/** A CreateTarget: an object whose mode is a permission mode (0 to 0o7777). */
function checkCreateTarget(value: unknown, field: string, action: string): void {
  const mode = (value as { mode?: unknown } | null)?.mode;
  if (typeof value !== "object" || value === null || !Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777) {
    throw new PlanError(`${action}: ${field} must be {mode} with a mode from 0 to 0o7777, got ${shownValue(value)}`);
  }
}

/**
 * The entry with its missing target created (when create is given): and so a read-only tmpfs
 * made read-only at the end, once the targets inside it are created in it (readOnlyAtTheEnd).
 */
export function withTargetCreated(entry: BatchEntry, create: CreateTarget | undefined): BatchEntry {
  return create === undefined ? entry : readOnlyAtTheEnd({ ...entry, createTarget: create }, false);
}

/** X-mount.mkdir[=mode] (x-mount.mkdir too, as util-linux still accepts it): create the target. */
export function targetCreation(options: readonly string[], where: string): CreateTarget | undefined {
  let result: CreateTarget | undefined;
  for (const o of options) {
    const m = /^[xX]-mount\.mkdir(?:=(.*))?$/.exec(o);
    if (!m) continue;
    if (m[1] === undefined) result = { mode: DEFAULT_TARGET_MODE };
    else if (/^[0-7]{1,4}$/.test(m[1])) result = { mode: parseInt(m[1], 8) };
    else throw new PlanError(`${where}: X-mount.mkdir mode ${JSON.stringify(m[1])} is not an octal mode`);
  }
  return result;
}
