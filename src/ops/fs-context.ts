/**
 * Runs an fs-context step (plan/fs-context-step.ts): fsopen, one fsconfig per parameter,
 * CMD_CREATE, fsmount, move_mount. Handle layers are borrowed; those named in closeAfterCreate
 * are closed once CMD_CREATE has returned (on a failure before, the plan's end closes them).
 * Owns every fd it opens and closes each on every path:
 * a layer's O_PATH fd right after its fsconfig call (the kernel holds its own reference),
 * the mount fd after move_mount (closing it unmounts the tree if move_mount failed), the
 * context fd last. A step with detachInto makes no move_mount: its mount fd goes into that
 * handle, owned by the run, for the steps that fill and attach it. An idmapped step idmaps the
 * mount before it is attached (step.idmap).
 * A failed fsconfig or fsmount carries the kernel's messages from the context.
 */
import { SyscallError } from "../errors.ts";
import { layerLabel, type FsContextStep, type FsParam, type LayerSource } from "../plan/fs-context-step.ts";
import { AT, FSCONFIG, FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC, MOUNT_ATTR, MOVE_MOUNT } from "../sys/mount-api.ts";
import type { Syscalls } from "../sys/seam.ts";
import type { OpsContext } from "./context.ts";
import { closeHandle, closeQuietly, handleFd, ownHandle } from "./plan-handles.ts";
import { explainIdmapRefusal } from "./idmap-refusal.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";

export function runFsContextStep(step: FsContextStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  const fsfd = sys.fsopen(step.fstype, FSOPEN_CLOEXEC);
  try {
    for (const param of step.params) configure(sys, fsfd, param, run);
    try {
      sys.fsconfig(fsfd, FSCONFIG.CMD_CREATE, null, null, 0);
    } catch (err) {
      throw withKernelMessages(sys, fsfd, "FSCONFIG_CMD_CREATE", err);
    }
    if (step.closeAfterCreate) for (const handle of step.closeAfterCreate) closeHandle(run, handle, sys);
    let mntfd: number;
    try {
      mntfd = sys.fsmount(fsfd, FSMOUNT_CLOEXEC, step.attrFlags);
    } catch (err) {
      throw withKernelMessages(sys, fsfd, "fsmount", err);
    }
    try {
      if (step.idmap !== undefined) idmapNewMount(sys, mntfd, step.fstype, handleFd(run, step.idmap));
      if (step.detachInto === undefined) sys.moveMount(mntfd, "", AT.FDCWD, step.target, MOVE_MOUNT.F_EMPTY_PATH);
    } catch (err) {
      closeQuietly(sys, mntfd);
      throw err;
    }
    // detached: the run owns the mount from here (its close step, or the plan's end, dissolves it)
    if (step.detachInto !== undefined) ownHandle(run, step.detachInto, mntfd);
    else closeQuietly(sys, mntfd);
  } finally {
    closeQuietly(sys, fsfd);
  }
  if (step.undoable && run.undoWanted) run.rollback.push(() => undoMount(step.target, ctx));
}

function configure(sys: Syscalls, fsfd: number, param: FsParam, run: PlanRun): void {
  try {
    switch (param.kind) {
      case "flag":
        return sys.fsconfig(fsfd, FSCONFIG.SET_FLAG, param.key, null, 0);
      case "string":
        return sys.fsconfig(fsfd, FSCONFIG.SET_STRING, param.key, param.value, 0);
      case "layer":
        return configureLayer(sys, fsfd, param.key, param.source, run);
    }
  } catch (err) {
    throw withKernelMessages(sys, fsfd, describeParam(param), err);
  }
}

/** What was being configured, for an error: "index=maybe", "lowerdir+ /x". */
function describeParam(param: FsParam): string {
  if (param.kind === "flag") return param.key;
  if (param.kind === "string") return `${param.key}=${param.value}`;
  return `${param.key} ${layerLabel(param.source)}`;
}

function configureLayer(sys: Syscalls, fsfd: number, key: string, source: LayerSource, run: PlanRun): void {
  switch (source.kind) {
    case "path":
      return sys.fsconfig(fsfd, FSCONFIG.SET_STRING, key, source.path, 0);
    case "handle":
      // borrowed: the step that produced the fd owns it (closed after CMD_CREATE, or at the plan's end)
      return sys.fsconfig(fsfd, FSCONFIG.SET_FD, key, null, handleFd(run, source.handle));
    case "opath": {
      const fd = sys.openPath(source.path);
      try {
        if (source.pass === "fd") sys.fsconfig(fsfd, FSCONFIG.SET_FD, key, null, fd);
        // Kernels whose overlay takes no fds still resolve this short magic link to the layer.
        else sys.fsconfig(fsfd, FSCONFIG.SET_STRING, key, `/proc/self/fd/${fd}`, 0);
      } finally {
        closeQuietly(sys, fd);
      }
    }
  }
}

/**
 * A failed call on the context: name what was being configured and add what the kernel
 * logged into the context ("e overlay: failed to resolve '/x': -2" -> "overlay: ...").
 */
function withKernelMessages(sys: Syscalls, fsfd: number, what: string, err: unknown): unknown {
  if (err instanceof SyscallError) {
    err.withDetails(what, ...readKernelMessages(sys, fsfd));
  }
  return err;
}

/**
 * The messages the kernel queued on a filesystem context, formatted; none when they cannot be
 * read: they only explain a failure, which stands without them.
 */
export function readKernelMessages(sys: Syscalls, fsfd: number): string[] {
  try {
    return sys.fsContextMessages(fsfd).map(formatKernelMessage);
  } catch {
    return [];
  }
}

/** The kernel prefixes each message with its level: "e " error, "w " warning, "i " info. */
export function formatKernelMessage(message: string): string {
  // some messages end in newlines, which a one-line error must not carry (proc's hidepid refusal: two)
  const text = message.replace(/\n+$/, "");
  if (text.startsWith("e ")) return text.slice(2);
  if (text.startsWith("w ")) return `warning: ${text.slice(2)}`;
  if (text.startsWith("i ")) return `info: ${text.slice(2)}`;
  return text;
}

/** mount_setattr(mntfd, "", AT_EMPTY_PATH, {MOUNT_ATTR_IDMAP, userns}): the new mount idmapped while detached. */
function idmapNewMount(sys: Syscalls, mntfd: number, fstype: string, usernsFd: number): void {
  try {
    sys.mountSetattr(mntfd, "", AT.EMPTY_PATH, MOUNT_ATTR.IDMAP, 0, 0, usernsFd);
  } catch (err) {
    throw explainIdmapRefusal(err, { fstype }, usernsFd, sys);
  }
}
