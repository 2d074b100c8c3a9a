/**
 * What a bench run left mounted in its own namespace: the mounts of the table read after the
 * teardown that were not there when the run entered the namespace. The namespace ends with the
 * process, so nothing outside sees them: this is the only place a leak of the run can show.
 */
import type { MountInfo } from "../mountinfo/types.ts";

/** A mount left behind, as `--json` reports it. */
export interface Leftover {
  readonly target: string;
  readonly source: string;
  readonly fstype: string;
}

/**
 * The mounts of after that are not in before. A mount id can be reused once its mount is gone,
 * so a mount counts as the same only with the same id at the same mount point.
 */
export function mountsAdded(before: readonly MountInfo[], after: readonly MountInfo[]): Leftover[] {
  const known = new Set(before.map(key));
  return after.filter((m) => !known.has(key(m))).map((m) => ({ target: m.mountpoint, source: m.source, fstype: m.fstype }));
}

function key(m: MountInfo): string {
  return `${m.id} ${m.mountpoint}`;
}
