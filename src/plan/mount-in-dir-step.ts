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
import { cString, formatMountCall, mountCallArgs, type MountCall } from "./mount-call.ts";

/** The mount(2) call, made from a thread whose working directory is dir. */
export interface MountInDirStep extends MountCall {
  readonly op: "mount-in-dir";
  /** the working directory of the mounting thread */
  readonly dir: string;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
}

export function describeMountInDirStep(step: MountInDirStep): Record<string, unknown> {
  return {
    op: step.op,
    syscall: "mount",
    dir: step.dir,
    args: mountCallArgs(step),
    undoable: step.undoable,
  };
}

export function formatMountInDirStep(step: MountInDirStep): string {
  return `[thread] unshare(CLONE_FS); chdir(${cString(step.dir)})\n[thread] ${formatMountCall(step)}`;
}
