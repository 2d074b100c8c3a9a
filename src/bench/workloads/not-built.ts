/**
 * Workloads of features that have not landed in this version. Each stays registered, so that
 * `mountkit bench` lists it as skipped with the reason; the feature's branch replaces its line
 * in registry.ts with its own file in this directory.
 */
import { notBuilt, type Workload } from "../workload.ts";

const OVERLAY_LAYERS = [1, 10, 100, 500] as const;
const OVERLAY_STRATEGIES = ["fd", "legacy"] as const;

export const overlayWorkloads: readonly Workload[] = OVERLAY_STRATEGIES.flatMap((strategy) =>
  OVERLAY_LAYERS.map((layers) =>
    notBuilt(`overlay-${layers}-${strategy}`, "overlay", `mount an overlay of ${layers} lower layers (${strategy} strategy), unmount it`),
  ),
);

export const loopWorkloads: readonly Workload[] = [
  notBuilt("loop-ext4", "loop", "attach an ext4 image to a loop device, mount it, unmount and detach"),
];

export const idmapWorkloads: readonly Workload[] = [
  notBuilt("idmap-bind", "idmap", "idmapped bind mount (uidmap/gidmap), unmount it"),
  notBuilt("idmap-overlay", "idmap", "overlay with idmapped lower layers, unmount it"),
];

export const applyWorkloads: readonly Workload[] = [
  notBuilt("apply-100", "apply", "apply a list of 100 mounts, unmount them"),
];
