/**
 * The mount-in-dir step: mount(2) made by a thread whose working directory is `dir`, so that
 * relative paths in the data resolve against it. containerd's compacted overlay mount: the
 * thread first leaves the process's shared fs state (unshare(CLONE_FS)), so the process's own
 * working directory never changes.
 *
 *   [thread] unshare(CLONE_FS); chdir(dir); mount(source, target, fstype, flags, data)
 *
 * The target is resolved against the process's working directory before the call. Pure.
 */
import { formatFlags } from "./flags.ts";

export interface MountInDirStep {
  readonly op: "mount-in-dir";
  /** the working directory of the mounting thread */
  readonly dir: string;
  readonly source: string | null;
  readonly target: string;
  readonly fstype: string | null;
  readonly flags: number;
  readonly data: string | null;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
}

export function describeMountInDirStep(step: MountInDirStep): Record<string, unknown> {
  return {
    op: step.op,
    syscall: "mount",
    dir: step.dir,
    args: {
      source: step.source,
      target: step.target,
      fstype: step.fstype,
      flags: step.flags,
      flagNames: formatFlags(step.flags),
      data: step.data,
    },
    undoable: step.undoable,
  };
}

export function formatMountInDirStep(step: MountInDirStep): string {
  const q = (s: string | null) => (s === null ? "NULL" : JSON.stringify(s));
  return (
    `[thread] unshare(CLONE_FS); chdir(${q(step.dir)})\n` +
    `[thread] mount(${q(step.source)}, ${q(step.target)}, ${q(step.fstype)}, ${formatFlags(step.flags)}, ${q(step.data)})`
  );
}
