/**
 * Overlay mounts with any number of layers, by one of two strategies (facts.strategy, which
 * MOUNTKIT_STRATEGY can force):
 *   fd      one fsconfig call per option and per layer (`lowerdir+`), no length limit at all;
 *           a path over fsconfig's 256-byte value limit is passed as an O_PATH fd.
 *   legacy  the seed's mount(2) with every option in one string. From pagesize-512 bytes on,
 *           containerd's compaction: layers relative to their common parent directory and the
 *           mount made from a thread working in it. When that cannot fit the string in a
 *           page, a PlanError says so (mount(2) would cut it and mount a wrong overlay).
 * Remounts and binds of an overlay are plain mounts; loop and idmapped overlays are claimed
 * earlier by their own planners. Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import { byteLength } from "../path-text.ts";
import type { Strategy, KernelFacts } from "./facts.ts";
import { MS, MS_PROPAGATION } from "./flags.ts";
import { fsContextFlags } from "./fs-context-flags.ts";
import { FSCONFIG_VALUE_MAX, type FsContextStep, type FsParam, type LayerSource } from "./fs-context-step.ts";
import type { MountInDirStep } from "./mount-in-dir-step.ts";
import type { Planner } from "./mount-plan.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { compactConfig } from "./overlay-compaction.ts";
import { checkOverlayConfig, overlayConfig, overlayDataItems, type OverlayConfig } from "./overlay-options.ts";
import { requireFacts, requireList, requireObject, requireString } from "./caller-input.ts";
import { dataSize } from "./options.ts";
import { propagationSteps } from "./propagation.ts";
import type { MountStep, Plan } from "./steps.ts";

/** containerd compacts the lowerdirs once the options reach pagesize-512 bytes. */
export const COMPACTION_MARGIN = 512;

export const overlayPlanner: Planner = {
  name: "overlay",
  claims: (ctx) => ctx.mount.type === "overlay" && (ctx.options.flags & (MS.BIND | MS.REMOUNT | MS.MOVE)) === 0,
  plan: planOverlay,
};

/** The strategy overlay mounts use under these facts. */
export function overlayStrategy(facts: KernelFacts): Strategy {
  requireFacts(facts, "overlay strategy");
  return facts.strategy;
}

export function planOverlay(ctx: MountContext): Plan {
  const config = overlayConfig(ctx.options.data);
  const first =
    ctx.facts.strategy === "fd"
      ? fsContextStep(ctx, config, layerSourcesOf(config, ctx.facts))
      : overlayLegacyStep(ctx, config);
  return planFor(ctx, [first, ...propagationSteps(ctx)]);
}

/** Where each layer of an overlay comes from, for the fd strategy. */
export interface OverlayLayerSources {
  readonly lower: readonly LayerSource[];
  readonly data: readonly LayerSource[];
  readonly upper: LayerSource | undefined;
  readonly work: LayerSource | undefined;
}

/**
 * Each layer by path, or by an O_PATH fd opened at run time: past fsconfig's value limit, and
 * for an upperdir/workdir holding a backslash, which overlay unescapes in those two values
 * even through fsconfig (ovl_mount_dir; `lowerdir+`/`datadir+` are taken raw).
 */
export function overlayLayerSources(config: OverlayConfig, facts: KernelFacts): OverlayLayerSources {
  checkOverlayConfig(config, "overlay layer sources");
  requireFacts(facts, "overlay layer sources");
  return layerSourcesOf(config, facts);
}

/** overlayLayerSources of the config planOverlay parsed. */
function layerSourcesOf(config: OverlayConfig, facts: KernelFacts): OverlayLayerSources {
  return {
    lower: layerSources(config.lowerdirs, facts),
    data: config.datadirs.length === 0 ? NO_SOURCES : layerSources(config.datadirs, facts),
    upper: upperSource(config, facts),
    work: workSource(config, facts),
  };
}

/** The upperdir's source alone (callers that bring their own lower layers). */
export function upperSource(config: OverlayConfig, facts: KernelFacts): LayerSource | undefined {
  return config.upperdir === undefined ? undefined : unescapedLayerSource(config.upperdir, facts);
}

/** The workdir's source alone. */
export function workSource(config: OverlayConfig, facts: KernelFacts): LayerSource | undefined {
  return config.workdir === undefined ? undefined : unescapedLayerSource(config.workdir, facts);
}

const NO_SOURCES: readonly LayerSource[] = Object.freeze([]);

// Plain functions and loops, no closures made per plan: planning runs between a mount's
// syscalls, where what it touches is mostly out of the caches (docs/bench.md, "Where the time goes").
function layerSources(paths: readonly string[], facts: KernelFacts): LayerSource[] {
  const sources: LayerSource[] = [];
  for (let i = 0; i < paths.length; i++) sources.push(layerSource(paths[i]!, facts));
  return sources;
}

function layerSource(path: string, facts: KernelFacts): LayerSource {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short paths skip the byte count.
  const long = path.length * 3 + 1 > FSCONFIG_VALUE_MAX && byteLength(path) + 1 > FSCONFIG_VALUE_MAX;
  return long ? openedLayer(path, facts) : { kind: "path", path };
}

function unescapedLayerSource(path: string, facts: KernelFacts): LayerSource {
  return path.includes("\\") ? openedLayer(path, facts) : layerSource(path, facts);
}

function openedLayer(path: string, facts: KernelFacts): LayerSource {
  return { kind: "opath", path, pass: facts.overlayLayerFd ? "fd" : "proc-path" };
}

/**
 * The fd strategy's step. Callers that bring their own layers (detached idmapped trees as
 * "handle" sources) pass them in `sources`; the other options come from `config`.
 */
export function overlayFsContextStep(ctx: MountContext, config: OverlayConfig, sources: OverlayLayerSources): FsContextStep {
  const action = "overlay fs context step";
  requireObject(ctx, "ctx", action, "a mount's context (an object)");
  requireObject(ctx.options, "ctx.options", action, "classifyOptions' result (an object)");
  requireObject(ctx.mount, "ctx.mount", action, "a Mount (an object)");
  requireString(ctx.mount.source, "ctx.mount.source", action);
  requireString(ctx.target, "ctx.target", action);
  checkOverlayConfig(config, action);
  requireObject(sources, "sources", action, "OverlayLayerSources (an object)");
  requireList(sources.lower, "sources.lower", action, "layer sources");
  requireList(sources.data, "sources.data", action, "layer sources");
  return fsContextStep(ctx, config, sources);
}

/** overlayFsContextStep of what the overlay planners made themselves. */
export function fsContextStep(ctx: MountContext, config: OverlayConfig, sources: OverlayLayerSources): FsContextStep {
  const { sbFlags, attrFlags } = fsContextFlags(ctx.options.flags, ctx); // ctx: its action is described only for an error
  const params: FsParam[] = [];
  if (ctx.mount.source !== "") params.push({ kind: "string", key: "source", value: ctx.mount.source });
  for (const key of sbFlags) params.push({ kind: "flag", key });
  for (const item of config.other) {
    const eq = item.indexOf("=");
    params.push(eq < 0 ? { kind: "flag", key: item } : { kind: "string", key: item.slice(0, eq), value: item.slice(eq + 1) });
  }
  for (const source of sources.lower) params.push({ kind: "layer", key: "lowerdir+", source });
  for (const source of sources.data) params.push({ kind: "layer", key: "datadir+", source });
  if (sources.upper) params.push({ kind: "layer", key: "upperdir", source: sources.upper });
  if (sources.work) params.push({ kind: "layer", key: "workdir", source: sources.work });
  return { op: "fs-context", fstype: "overlay", params, attrFlags, target: ctx.target, undoable: true };
}

/** The legacy strategy's step: mount(2), compacted from pagesize-512 bytes on. */
export function overlayLegacyStep(ctx: MountContext, config: OverlayConfig): MountStep | MountInDirStep {
  const { pageSize } = ctx.facts;
  const flags = ctx.options.flags & ~(MS_PROPAGATION | MS.REMOUNT);
  const source = ctx.mount.source === "" ? "none" : ctx.mount.source;
  const data = overlayDataItems(config).join(",");
  const size = dataSize(data);
  const direct: MountStep = {
    op: "mount",
    role: "mount",
    source,
    target: ctx.target,
    fstype: "overlay",
    flags,
    data,
    inheritFlags: 0,
    undoable: true,
  };
  if (size < pageSize - COMPACTION_MARGIN) return direct;

  const compaction = compactConfig(config);
  if (compaction === undefined) {
    if (size <= pageSize) return direct;
    throw tooLong(ctx, size, "the layers share no parent directory to compact them against");
  }
  for (const [key, path] of [["upperdir", config.upperdir], ["workdir", config.workdir]] as const) {
    if (path !== undefined && !path.startsWith("/")) {
      throw new PlanError(`${ctx.action}: ${key} ${quotePath(path)} must be absolute: compaction mounts from ${quotePath(compaction.dir)}`);
    }
  }
  const compacted = overlayDataItems(compaction.config).join(",");
  const compactedSize = dataSize(compacted);
  if (compactedSize > pageSize) {
    throw tooLong(ctx, compactedSize, `even with the layers relative to ${quotePath(compaction.dir)}`);
  }
  return { op: "mount-in-dir", dir: compaction.dir, source, target: ctx.target, fstype: "overlay", flags, data: compacted, undoable: true };
}

function tooLong(ctx: MountContext, size: number, why: string): PlanError {
  return new PlanError(
    `${ctx.action}: overlay options are ${size} bytes with the NUL, more than the ${ctx.facts.pageSize}-byte page mount(2) takes, ${why}`,
    { hint: "use the fd strategy (MOUNTKIT_STRATEGY=fd, Linux 6.8+), which passes each layer on its own" },
  );
}
