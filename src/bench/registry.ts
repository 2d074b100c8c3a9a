/**
 * Every benchmark workload, in the order they run. A feature adds its workloads with one
 * import line here and one file in workloads/.
 */
import { PlanError } from "../errors.ts";
import { applyWorkloads } from "./workloads/apply.ts";
import { fuseWorkloads } from "./workloads/fuse.ts";
import { idmapWorkloads } from "./workloads/idmap.ts";
import { loopWorkloads } from "./workloads/loop.ts";
import { mountinfoWorkloads } from "./workloads/mountinfo.ts";
import { overlayWorkloads } from "./workloads/overlay.ts";
import { plainWorkloads } from "./workloads/plain.ts";
import type { Workload } from "./workload.ts";

export const WORKLOADS: readonly Workload[] = [
  ...plainWorkloads,
  ...overlayWorkloads,
  ...loopWorkloads,
  ...idmapWorkloads,
  ...mountinfoWorkloads,
  ...applyWorkloads,
  ...fuseWorkloads,
];

/**
 * The workloads named, in registry order; all of them when none is named. An unknown name is a
 * usage error that lists the known ones. A name may also be a group ("overlay", "mountinfo").
 */
export function selectWorkloads(names: readonly string[], registry: readonly Workload[] = WORKLOADS): Workload[] {
  if (names.length === 0) return [...registry];
  const wanted = new Set<string>();
  for (const name of names) {
    const matches = registry.filter((w) => w.name === name || w.group === name);
    if (matches.length === 0) {
      throw new PlanError(`bench: unknown workload ${JSON.stringify(name)}`, {
        hint: `known: ${registry.map((w) => w.name).join(", ")}`,
      });
    }
    for (const w of matches) wanted.add(w.name);
  }
  return registry.filter((w) => wanted.has(w.name));
}
