/**
 * Runs the legacy idmapped overlay's shared temp mount (plan/idmap-steps.ts SharedTempStep,
 * LinkLayerStep, ReleaseLayerStep): one idmapped read-only clone of the layers' parent
 * attached in the temp dir, each layer a symlink to its path in it, and every layer that cannot
 * be taken from it given its own temp mount instead. The shared mount is an optimisation, never
 * a failure: when the kernel refuses it, or a layer is not what its path names there, the layer
 * is mounted alone, whose errors are then the mount's.
 */
import { SyscallError } from "../errors.ts";
import { AT, AT_FDCWD, MOVE_MOUNT } from "../plan/mount-api-flags.ts";
import { SHARED_TREE_ATTRS, type LinkLayerStep, type ReleaseLayerStep, type SharedTempStep } from "../plan/idmap-steps.ts";
import { sameFile } from "../sys/stat.ts";
import type { OpsContext } from "./context.ts";
import { closeQuietly, handleFd } from "./plan-handles.ts";
import type { PlanRun } from "./run-plan.ts";
import { idmappedClone, isIdmapRefusal } from "./idmap-shared.ts";
import { explainIdmapRefusal } from "./idmap-refusal.ts";
import { recordAttached, recordDir, recordLink, removeLink, stateOf, unmountTemp } from "./idmap-temp.ts";
import { makeTempLocationDir } from "./temp-location.ts";

/** The shared temp mount of one run: where it is, and the mount IDs a layer is checked against. */
export interface SharedTemp {
  readonly target: string;
  /** the mount the parent directory is on: a layer on another one is behind a mount point */
  readonly parentMountId: number;
  /** the clone's own mount: where every layer's path through it must end */
  readonly cloneMountId: number;
}

const LAYER_DIR_MODE = 0o700;

/** statx of the parent, its idmapped read-only clone attached at target; on any refusal the run goes on without it. */
export function runSharedTempStep(step: SharedTempStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  let tree = -1;
  let shared: SharedTemp;
  try {
    const parent = sys.statxIdentity(AT_FDCWD, step.path, 0);
    if (parent.mountId === 0) return; // no mount IDs (before Linux 5.8): no way to check a layer
    tree = idmappedClone(sys, step.path, handleFd(run, step.usernsSlot), SHARED_TREE_ATTRS, false);
    const clone = sys.statxIdentity(tree, "", AT.EMPTY_PATH); // its ID stays the same once attached
    sys.moveMount(tree, "", AT_FDCWD, step.target, MOVE_MOUNT.F_EMPTY_PATH);
    shared = { target: step.target, parentMountId: parent.mountId, cloneMountId: clone.mountId };
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    ctx.log?.(`shared temp mount of ${JSON.stringify(step.path)} refused (${err.syscall}: ${err.errnoName}): one temp mount per layer`);
    return;
  } finally {
    if (tree >= 0) closeQuietly(sys, tree);
  }
  const state = stateOf(run);
  state.sharedTemp = shared;
  recordAttached(state, step.target, "temp-lower", ctx, run);
}

/** The layer's symlink into the shared temp mount when it is the same directory there; else its own temp mount at link. */
export function runLinkLayerStep(step: LinkLayerStep, ctx: OpsContext, run: PlanRun): void {
  const state = stateOf(run);
  const shared = state.sharedTemp;
  if (shared !== undefined && sameInShared(step, shared, ctx)) {
    ctx.sys.symlink(step.linkTarget, step.link);
    recordLink(state, step.link, ctx, run);
    return;
  }
  makeTempLocationDir(ctx.sys, step.link, LAYER_DIR_MODE);
  recordDir(state, step.link, ctx, run);
  let tree: number;
  const usernsFd = handleFd(run, step.usernsSlot);
  try {
    tree = idmappedClone(ctx.sys, step.path, usernsFd, SHARED_TREE_ATTRS, false);
  } catch (err) {
    if (isIdmapRefusal(err)) explainIdmapRefusal(err, { path: step.path, recursive: false, overlayLayer: true }, usernsFd, ctx.sys);
    if (err instanceof SyscallError) err.withDetails(step.path); // the action names the target only
    throw err;
  }
  try {
    ctx.sys.moveMount(tree, "", AT_FDCWD, step.link, MOVE_MOUNT.F_EMPTY_PATH);
  } catch (err) {
    if (err instanceof SyscallError) err.withDetails(step.link);
    throw err;
  } finally {
    closeQuietly(ctx.sys, tree);
  }
  recordAttached(state, step.link, "temp-lower", ctx, run);
}

/**
 * step.via (the layer's path through the shared mount) is the directory step.path names, on the
 * shared mount itself, and step.path is on the parent's mount. The clone holds the parent's
 * mount alone, so a layer behind a mount point below the parent would be the directory under
 * it there; a symlink leading out of the parent would resolve outside the clone, to a layer
 * that is not idmapped: either fails the check.
 */
function sameInShared(step: LinkLayerStep, shared: SharedTemp, ctx: OpsContext): boolean {
  const { sys } = ctx;
  try {
    const wanted = sys.statxIdentity(AT_FDCWD, step.path, 0);
    if (wanted.mountId === shared.parentMountId) {
      const found = sys.statxIdentity(AT_FDCWD, step.via, 0);
      if (found.mountId === shared.cloneMountId && sameFile(found, wanted)) return true;
    }
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
  }
  ctx.log?.(`layer ${JSON.stringify(step.path)} is not the same directory in the shared temp mount: its own temp mount`);
  return false;
}

/** unlink the layer's symlink; or unmount (EBUSY policy) and rmdir its own temp mount. */
export function runReleaseLayerStep(step: ReleaseLayerStep, ctx: OpsContext, run: PlanRun): void {
  const state = stateOf(run);
  if (state.links.has(step.link)) {
    removeLink(state, step.link, ctx);
    return;
  }
  if (state.attached.has(step.link)) unmountTemp(state, step.link, ctx);
  ctx.sys.rmdir(step.link);
  state.dirs.delete(step.link);
}
