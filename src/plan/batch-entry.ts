/**
 * One entry of a batch (apply, mountAll, fstab, temp mounts): a containerd Mount whose target
 * is a path inside the batch's root, plus what the input said about creating the target and
 * about failing, and the X-mount.mkdir option that asks for the target. Pure.
 */
import { PlanError } from "../errors.ts";
import type { Mount } from "./mount-request.ts";

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
  /** the mount; target is a path inside the batch root ("" is the root itself) */
  readonly mount: Mount & { readonly target: string };
  /** create the target when it is missing; undefined: it must exist */
  readonly createTarget: CreateTarget | undefined;
  /** a failure is a warning, not a failure of the batch (fstab nofail) */
  readonly nofail: boolean;
}

/** Entries for containerd Mounts given to mountAll: numbered from 1, targets "" when unset. */
export function entriesFromMounts(mounts: readonly Mount[], createTarget?: CreateTarget): BatchEntry[] {
  return mounts.map((m, i) => ({
    index: i + 1,
    where: `entry ${i + 1}`,
    mount: { type: m.type, source: m.source, target: m.target ?? "", options: [...m.options] },
    createTarget,
    nofail: false,
  }));
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
