/**
 * Idmapped overlays: each lower layer (data-only ones too) idmapped and read-only, the upper
 * layer as it is (containerd idmaps lowers only). Two strategies, as for every overlay
 * (facts.strategy, which MOUNTKIT_STRATEGY can force):
 *
 *   fd      (containerd#11354) each layer a detached, idmapped, read-only tree, open_tree
 *           (OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY), handed to
 *           the overlay's fs context by fsconfig(FSCONFIG_SET_FD, "lowerdir+"). No temp mount
 *           point ever exists. The tree fds stay open until FSCONFIG_CMD_CREATE has returned
 *           (closed earlier, a detached tree dissolves and CMD_CREATE fails with EINVAL), and
 *           are closed right then, by the fs-context step (closeAfterCreate); on a failure
 *           before it, the plan's end closes them. Needs overlay layer fds
 *           (facts.overlayLayerFd); without them the legacy strategy is used.
 *           Two layers or more share one clone: the layers' common parent directory is
 *           cloned and idmapped once, and each layer opened inside it (openat2, checked to be
 *           the same directory through the parent's mount; else the layer gets its own clone).
 *           A clone and its idmap cost about 37 us per layer in C; opening a layer inside the
 *           shared one is a few microseconds.
 *   legacy  the seed's prepareIDMappedOverlay: each layer idmapped read-only into a 0700 temp
 *           dir, the overlay mounted on those by mount(2) (compacted like any long overlay,
 *           as containerd recomputes the options after that step), then every temp mount
 *           unmounted (EBUSY policy) and its dir removed with rmdir. A temp mount that stays
 *           busy is left mounted read-only: nothing is ever deleted through it.
 *           Two layers or more share one temp mount, as in containerd since #12092: their
 *           common parent idmapped read-only once at TEMP/layers, and TEMP/N a symlink to the
 *           layer's path in it, checked to be the same directory there (else TEMP/N gets the
 *           layer's own temp mount). The overlay's options name TEMP/N either way; the
 *           symlinks are unlinked after it, never anything they point to.
 *
 * Pure.
 */
import { PlanError } from "../errors.ts";
import { requireFacts } from "./caller-input.ts";
import type { KernelFacts, Strategy } from "./facts.ts";
import type { LayerSource } from "./fs-context-step.ts";
import type { LinkLayerStep } from "./idmap-steps.ts";
import { idmappedLayerSteps, idmapTreeSteps, openLayerStep, pathBelow, sharedLayerParent, USERNS_SLOT, usernsStep, type UserNamespace } from "./idmap-tree.ts";
import { MOUNT_ATTR } from "./mount-api-flags.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { fsContextStep, overlayLegacyStep, upperSource, workSource } from "./overlay.ts";
import { overlayConfig, type OverlayConfig } from "./overlay-options.ts";
import { propagationSteps } from "./propagation.ts";
import type { Plan, Step } from "./steps.ts";

const TEMP_DIR_MODE = 0o700;
/** The shared clone of the layers' parent: closed when the plan ends (after CMD_CREATE). */
const SHARED_TREE_SLOT = "layers";
/** The legacy strategy's one temp mount of the layers' parent, in its temp dir. */
const SHARED_TEMP_NAME = "layers";

/** How idmapped overlays are mounted under these facts. */
export function idmapOverlayStrategy(facts: KernelFacts): Strategy {
  requireFacts(facts, "idmapped overlay strategy");
  return idmapStrategyOf(facts);
}

function idmapStrategyOf(facts: KernelFacts): Strategy {
  return facts.strategy === "fd" && facts.overlayLayerFd ? "fd" : "legacy";
}

export function planIdmappedOverlay(ctx: MountContext, pair: UserNamespace): Plan {
  const config = overlayConfig(ctx.options.data);
  if (config.lowerdirs.length + config.datadirs.length === 0) {
    throw new PlanError(`${ctx.action}: overlay with uidmap/gidmap needs lowerdir=`);
  }
  return idmapStrategyOf(ctx.facts) === "fd" ? planFd(ctx, config, pair) : planLegacy(ctx, config, pair);
}

function planFd(ctx: MountContext, config: OverlayConfig, pair: UserNamespace): Plan {
  const steps: Step[] = [usernsStep(pair)];
  const handles: string[] = [];
  const { lowerdirs, datadirs } = config;
  const parent = sharedLayerParent(datadirs.length === 0 ? lowerdirs : [...lowerdirs, ...datadirs]);
  if (parent !== undefined) steps.push({ op: "idmap_shared_tree", slot: SHARED_TREE_SLOT, path: parent, usernsSlot: USERNS_SLOT });
  const lower = handleLayers(lowerdirs, parent, steps, handles);
  const data = handleLayers(datadirs, parent, steps, handles);
  // upper and work stay plain paths (by O_PATH fd past fsconfig's value limit)
  const sources = { lower, data, upper: upperSource(config, ctx.facts), work: workSource(config, ctx.facts) };
  steps.push({ ...fsContextStep(ctx, config, sources), closeAfterCreate: handles }, ...propagationSteps(ctx));
  return planFor(ctx, steps);
}

/**
 * Each layer's steps (opened in the shared clone of parent, or cloned alone) appended to steps,
 * its slot to handles; returns the layers as handle sources. A loop, no closure per plan.
 */
function handleLayers(paths: readonly string[], parent: string | undefined, steps: Step[], handles: string[]): LayerSource[] {
  const sources: LayerSource[] = [];
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i]!;
    const handle = `layer${handles.length}`;
    handles.push(handle);
    if (parent !== undefined) steps.push(openLayerStep(path, handle, SHARED_TREE_SLOT, parent));
    else steps.push(...idmappedLayerSteps(path, handle));
    sources.push({ kind: "handle", handle, label: path });
  }
  return sources;
}

function planLegacy(ctx: MountContext, config: OverlayConfig, pair: UserNamespace): Plan {
  const tempDir = ctx.env.tempDir;
  if (tempDir === undefined || tempDir === "") {
    throw new PlanError(`${ctx.action}: an idmapped overlay needs a temp directory for its lower layers`, {
      hint: "plan it through mount()/planOnly(), which choose one under the temp mount location",
    });
  }
  // Every layer is replaced by its idmapped temp path, in order; the overlay's own rendering
  // escapes them, and compacts them (relative to tempDir) when the options grow past a page.
  const layers = [...config.lowerdirs, ...config.datadirs];
  const temps = layers.map((_, i) => `${tempDir}/${i}`);
  const split = config.lowerdirs.length;
  const overlay = overlayLegacyStep(ctx, { ...config, lowerdirs: temps.slice(0, split), datadirs: temps.slice(split) });

  const steps: Step[] = [usernsStep(pair), { op: "mkdir", path: tempDir, mode: TEMP_DIR_MODE }];
  const parent = sharedLayerParent(layers);
  if (parent === undefined) {
    layers.forEach((layer, i) => {
      steps.push({ op: "mkdir", path: temps[i]!, mode: TEMP_DIR_MODE });
      steps.push(...idmapTreeSteps(layer, temps[i]!, USERNS_SLOT, { attrSet: MOUNT_ATTR.RDONLY }, `lower${i}`, "temp-lower"));
    });
    steps.push(overlay, ...propagationSteps(ctx));
    for (const temp of temps) {
      steps.push({ op: "unmount_temp", target: temp, retry: "unmount-busy" });
      steps.push({ op: "rmdir", path: temp });
    }
  } else {
    const shared = `${tempDir}/${SHARED_TEMP_NAME}`;
    steps.push({ op: "mkdir", path: shared, mode: TEMP_DIR_MODE });
    steps.push({ op: "idmap_shared_temp", path: parent, target: shared, usernsSlot: USERNS_SLOT });
    layers.forEach((layer, i) => steps.push(linkLayerStep(layer, temps[i]!, parent, shared)));
    steps.push(overlay, ...propagationSteps(ctx));
    for (const temp of temps) steps.push({ op: "release_layer", link: temp, retry: "unmount-busy" });
    steps.push({ op: "release_shared_temp", target: shared, retry: "unmount-busy" }, { op: "rmdir", path: shared });
  }
  steps.push({ op: "rmdir", path: tempDir });
  return planFor(ctx, steps);
}

/** A layer's link to its path in the shared temp mount (relative, so it holds wherever the temp dir is). */
function linkLayerStep(layer: string, link: string, parent: string, shared: string): LinkLayerStep {
  const below = pathBelow(parent, layer);
  const inShared = below === "." ? "" : `/${below}`;
  return { op: "link_layer", path: layer, link, linkTarget: `${SHARED_TEMP_NAME}${inShared}`, via: `${shared}${inShared}`, usernsSlot: USERNS_SLOT };
}
