/**
 * Runs the idmap steps of a plan (plan/idmap-steps.ts). fds go through the plan's handles
 * (ops/plan-handles.ts): a tree this run cloned is owned and closed at its `close` step or when
 * the plan ends; the user namespace fd is borrowed from the cache and never closed here.
 * What a run attaches and creates is recorded with its undo in ops/idmap-temp.ts.
 */
import { Errno } from "../errno.ts";
import { isErrno, quotePath, SyscallError } from "../errors.ts";
import { LAYER_RESOLVE, SUBDIR_TREE_FLAGS, type IdmapStep } from "../plan/idmap-steps.ts";
import { O } from "../sys/fd.ts";
import { AT, AT_FDCWD, MOUNT_ATTR } from "../plan/mount-api-flags.ts";
import type { OpsContext } from "./context.ts";
import type { PlanRun } from "./run-plan.ts";
import { openUserNamespace, usernsFdFor } from "./userns.ts";
import { closeHandle, closeQuietly, handleFd, lendHandle, ownHandle } from "./plan-handles.ts";
import { makeTempLocationDir } from "./temp-location.ts";
import { runOpenLayerStep, runSharedTreeStep } from "./idmap-shared.ts";
import { runLinkLayerStep, runReleaseLayerStep, runSharedTempStep } from "./idmap-shared-temp.ts";
import { recordAttached, recordDir, stateOf, unmountTemp } from "./idmap-temp.ts";
import { explainIdmapRefusal } from "./idmap-refusal.ts";

export function runIdmapStep(step: IdmapStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  switch (step.op) {
    case "userns":
      lendHandle(run, step.slot, usernsFdFor(step, sys)); // a userns step holds the pair's maps
      return;
    case "open_userns":
      ownHandle(run, step.slot, openUserNamespace(step.path, sys));
      return;
    case "borrow_fd":
      lendHandle(run, step.slot, step.fd);
      return;
    case "open_tree":
      try {
        ownHandle(run, step.slot, sys.openTree(AT_FDCWD, step.path, step.flags));
      } catch (err) {
        throw naming(err, step.path);
      }
      return;
    case "mount_setattr": {
      const fd = handleFd(run, step.slot);
      const usernsFd = step.usernsSlot === null ? 0 : handleFd(run, step.usernsSlot);
      try {
        sys.mountSetattr(fd, "", step.flags, step.attrSet, step.attrClr, step.propagation ?? 0, usernsFd);
      } catch (err) {
        if (step.attrSet & MOUNT_ATTR.IDMAP) explainIdmapRefusal(err, { path: step.tree, recursive: (step.flags & AT.RECURSIVE) !== 0, overlayLayer: step.overlayLayer === true }, usernsFd, sys);
        throw naming(err, step.tree);
      }
      return;
    }
    case "idmap_shared_tree":
      stateOf(run).shared = runSharedTreeStep(step, ctx, run);
      return;
    case "open_layer":
      runOpenLayerStep(step, run.idmap?.shared, ctx, run);
      return;
    case "open_subdir":
      ownHandle(run, step.slot, openSubdirTree(step.root, step.path, sys));
      return;
    case "move_mount": {
      try {
        sys.moveMount(handleFd(run, step.slot), "", AT_FDCWD, step.target, step.flags);
      } catch (err) {
        throw naming(err, step.role === "temp-lower" ? step.target : undefined); // the action names the target already
      }
      recordAttached(stateOf(run), step.target, step.role, ctx, run);
      return;
    }
    case "close":
      closeHandle(run, step.slot, sys);
      return;
    case "mkdir": {
      makeTempLocationDir(sys, step.path, step.mode);
      recordDir(stateOf(run), step.path, ctx, run);
      return;
    }
    case "rmdir":
      sys.rmdir(step.path);
      stateOf(run).dirs.delete(step.path);
      return;
    case "unmount_temp":
      unmountTemp(stateOf(run), step.target, ctx);
      return;
    case "idmap_shared_temp":
      runSharedTempStep(step, ctx, run);
      return;
    case "link_layer":
      runLinkLayerStep(step, ctx, run);
      return;
    case "release_layer":
      runReleaseLayerStep(step, ctx, run);
      return;
    case "release_shared_temp":
      if (run.idmap?.attached.has(step.target)) unmountTemp(run.idmap, step.target, ctx);
      return;
  }
}

/** The failure of a call on a tree, naming its path (the action alone names only the target). */
function naming(err: unknown, path: string | undefined): unknown {
  if (err instanceof SyscallError && path !== undefined) err.withDetails(path);
  return err;
}

/**
 * X-mount.subdir's detached clone of root/path, resolved beneath root's filesystem (no "..",
 * symlink or mount point out of it). The fds it opens on the way are closed.
 */
function openSubdirTree(root: string, path: string, sys: OpsContext["sys"]): number {
  const rootFd = sys.openPath(root);
  let dirFd: number;
  try {
    dirFd = sys.openat2(rootFd, path, O.PATH | O.DIRECTORY | O.CLOEXEC, LAYER_RESOLVE);
  } catch (err) {
    if (isErrno(err, Errno.EXDEV)) (err as SyscallError).hint = "a symlink, \"..\" or mount point on the way leads out of the filesystem; name the directory itself";
    // said here: the mount's own hints would look for the source or mount point instead
    if (isErrno(err, Errno.ENOENT) || isErrno(err, Errno.ENOTDIR)) (err as SyscallError).hint = `X-mount.subdir names a directory in the filesystem mounted, and it has no directory ${quotePath(path)}`;
    throw naming(err, `${path} below the filesystem's root (X-mount.subdir)`);
  } finally {
    closeQuietly(sys, rootFd);
  }
  try {
    return sys.openTree(dirFd, "", SUBDIR_TREE_FLAGS);
  } catch (err) {
    throw naming(err, path);
  } finally {
    closeQuietly(sys, dirFd);
  }
}
