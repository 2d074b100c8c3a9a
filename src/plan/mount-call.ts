/**
 * A mount(2) call as plans print it: the arguments for --dry-run --json, and the C-like line.
 * Every step kind that makes a mount(2) call uses these, so they all print alike. Pure.
 */
import { formatFlags } from "./flags.ts";

export interface MountCall {
  readonly source: string | null;
  readonly target: string;
  readonly fstype: string | null;
  readonly flags: number;
  readonly data: string | null;
}

/** The arguments with the flags as a number and as names (MS_BIND|MS_REC). */
export function mountCallArgs(call: MountCall): Record<string, unknown> {
  return {
    source: call.source,
    target: call.target,
    fstype: call.fstype,
    flags: call.flags,
    flagNames: formatFlags(call.flags),
    data: call.data,
  };
}

/** A string argument as C would show it: quoted, or NULL. */
export function cString(s: string | null): string {
  return s === null ? "NULL" : JSON.stringify(s);
}

/** mount("tmpfs", "/x", "tmpfs", MS_NOSUID, "size=1m"); fstypeShown replaces the quoted type */
export function formatMountCall(call: MountCall, fstypeShown = cString(call.fstype)): string {
  return `mount(${cString(call.source)}, ${cString(call.target)}, ${fstypeShown}, ${formatFlags(call.flags)}, ${cString(call.data)})`;
}
