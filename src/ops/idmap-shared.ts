/**
 * Runs the shared clone of an idmapped overlay's layers (plan/idmap-steps.ts SharedTreeStep,
 * OpenLayerStep): one idmapped read-only clone of the layers' parent, each layer opened inside
 * it, and every layer that cannot be taken from it given its own clone instead. The shared
 * clone is an optimisation, never a failure: when the kernel refuses it, or a layer is not what
 * its path names, the layer is cloned alone, whose errors are then the mount's.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { AT, AT_FDCWD, MOUNT_ATTR } from "../plan/mount-api-flags.ts";
import { LAYER_RESOLVE, SHARED_TREE_ATTRS, SHARED_TREE_FLAGS, type OpenLayerStep, type SharedTreeStep } from "../plan/idmap-steps.ts";
import { O } from "../sys/fd.ts";
import { sameFile } from "../sys/stat.ts";
import type { Syscalls } from "../sys/seam.ts";
import type { OpsContext } from "./context.ts";
import { closeQuietly, handleFd, ownHandle } from "./plan-handles.ts";
import type { PlanRun } from "./run-plan.ts";
import { explainIdmapRefusal } from "./idmap-refusal.ts";

/** The shared clone of one run: where it came from, and the mount IDs a layer is checked against. */
export interface SharedTree {
  readonly slot: string;
  /** the mount the parent directory is on: a layer on another one is behind a mount point */
  readonly parentMountId: number;
  /** the clone's own mount: where every fd opened inside it must be */
  readonly cloneMountId: number;
}

const LAYER_OPEN_FLAGS = O.PATH | O.DIRECTORY | O.CLOEXEC; // as plan/idmap-steps.ts prints it

/** Errnos that say the process or the system ran out of something, not that the layer is not what its path names. */
const OUT_OF_RESOURCES: ReadonlySet<number> = new Set([Errno.EMFILE, Errno.ENFILE, Errno.ENOMEM]);

/** open_tree + mount_setattr of the parent; on any refusal the run goes on without it. */
export function runSharedTreeStep(step: SharedTreeStep, ctx: OpsContext, run: PlanRun): SharedTree | undefined {
  const { sys } = ctx;
  let tree = -1;
  try {
    const parent = sys.statxIdentity(AT_FDCWD, step.path, 0);
    if (parent.mountId === 0) return undefined; // no mount IDs (before Linux 5.8): no way to check a layer
    tree = idmappedClone(sys, step.path, handleFd(run, step.usernsSlot), SHARED_TREE_ATTRS, false);
    const clone = sys.statxIdentity(tree, "", AT.EMPTY_PATH);
    ownHandle(run, step.slot, tree);
    return { slot: step.slot, parentMountId: parent.mountId, cloneMountId: clone.mountId };
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    if (tree >= 0) closeQuietly(sys, tree);
    ctx.log?.(`shared clone of ${JSON.stringify(step.path)} refused (${err.syscall}: ${err.errnoName}): one clone per layer`);
    return undefined;
  }
}

/** The layer from the shared clone when it is the same directory there; else its own clone. */
export function runOpenLayerStep(step: OpenLayerStep, shared: SharedTree | undefined, ctx: OpsContext, run: PlanRun): void {
  const fd = shared === undefined ? -1 : layerInShared(step, shared, ctx, run);
  ownHandle(run, step.slot, fd >= 0 ? fd : ownLayerClone(step, ctx, run));
}

/**
 * openat2 below the clone (no "..", symlink or mount point out of it), kept only if it is the
 * directory step.path names and step.path is on the parent's mount: the clone holds the
 * parent's mount alone, so a layer behind a mount point below the parent, or reached by a
 * symlink, would be another directory there (or the same one without its mount's attributes).
 * -1 when it cannot be used.
 */
function layerInShared(step: OpenLayerStep, shared: SharedTree, ctx: OpsContext, run: PlanRun): number {
  const { sys } = ctx;
  let fd = -1;
  try {
    const wanted = sys.statxIdentity(AT_FDCWD, step.path, 0);
    if (wanted.mountId !== shared.parentMountId) return -1;
    fd = sys.openat2(handleFd(run, shared.slot), step.relative, LAYER_OPEN_FLAGS, LAYER_RESOLVE);
    const found = sys.statxIdentity(fd, "", AT.EMPTY_PATH);
    if (found.mountId === shared.cloneMountId && sameFile(found, wanted)) return fd;
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    if (fd >= 0) closeQuietly(sys, fd);
    // out of fds or memory: a clone of its own would need more, and its error would name the
    // wrong call (open_tree, as if the layer were at fault)
    if (OUT_OF_RESOURCES.has(err.errno)) throw err.withDetails(step.path);
    fd = -1;
  }
  if (fd >= 0) closeQuietly(sys, fd);
  ctx.log?.(`layer ${JSON.stringify(step.path)} is not the same directory in the shared clone: its own clone`);
  return -1;
}

/** What idmappedLayerSteps makes for a layer of its own: a read-only idmapped clone. */
function ownLayerClone(step: OpenLayerStep, ctx: OpsContext, run: PlanRun): number {
  const usernsFd = handleFd(run, step.usernsSlot);
  try {
    return idmappedClone(ctx.sys, step.path, usernsFd, SHARED_TREE_ATTRS, false);
  } catch (err) {
    if (isIdmapRefusal(err)) explainIdmapRefusal(err, { path: step.path, recursive: false, overlayLayer: true }, usernsFd, ctx.sys);
    if (err instanceof SyscallError) err.withDetails(step.path); // the action names the target only
    throw err;
  }
}

/** The idmapping mount_setattr's failure, not open_tree's (a missing layer has its own hint). */
export function isIdmapRefusal(err: unknown): err is SyscallError {
  return err instanceof SyscallError && err.syscall === "mount_setattr(2)";
}

/**
 * open_tree(path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC[|AT_RECURSIVE]) + mount_setattr(IDMAP|attrSet):
 * a detached idmapped clone, the caller's to close; on failure nothing is left open.
 */
export function idmappedClone(sys: Syscalls, path: string, usernsFd: number, attrSet: number, recursive: boolean): number {
  const rec = recursive ? AT.RECURSIVE : 0;
  const tree = sys.openTree(AT_FDCWD, path, SHARED_TREE_FLAGS | rec);
  try {
    sys.mountSetattr(tree, "", AT.EMPTY_PATH | rec, MOUNT_ATTR.IDMAP | attrSet, 0, 0, usernsFd);
  } catch (err) {
    closeQuietly(sys, tree);
    throw err;
  }
  return tree;
}
