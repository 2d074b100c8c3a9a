/**
 * Benchmark output: the JSON document of `mountkit bench --json`, and the table for people.
 */
import { formatDuration, formatRate } from "./stats.ts";
import type { Leftover } from "./leftovers.ts";
import type { WorkloadResult } from "./run.ts";

export interface BenchReport {
  readonly ok: boolean;
  readonly version: string;
  readonly kernel: string;
  /** measured seconds asked for per workload */
  readonly durationSec: number;
  /** how the run was isolated from the host */
  readonly isolation: { readonly method: string; readonly namespace: string; readonly scratch: string };
  /** the signal that stopped the run early, if one did */
  readonly interrupted: string | null;
  readonly workloads: readonly Record<string, unknown>[];
  /** mounts the run added to its own namespace and did not take down, read right before it exits: [] unless the teardown leaked */
  readonly leftovers: readonly Leftover[];
}

/**
 * One result as JSON: latencies in nanoseconds under `latencyNs`; `steps`, the kinds of step the
 * library's mount planned (the path measured), for workloads that mount.
 */
export function resultJson(r: WorkloadResult): Record<string, unknown> {
  const base = { name: r.name, group: r.group, status: r.status };
  switch (r.status) {
    case "ok":
      return {
        ...base,
        ...(r.steps === undefined ? {} : { steps: r.steps }),
        ops: r.stats.ops,
        opsPerSec: round(r.stats.opsPerSec),
        latencyNs: {
          mean: round(r.stats.meanNs),
          p50: round(r.stats.p50Ns),
          p99: round(r.stats.p99Ns),
          min: round(r.stats.minNs),
          max: round(r.stats.maxNs),
        },
      };
    case "skipped":
      return { ...base, reason: r.reason };
    case "failed":
      return { ...base, ...(r.steps === undefined ? {} : { steps: r.steps }), error: r.error };
    case "interrupted":
      return base;
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The results as an aligned text table, one line per workload (a skipped one says why), then
 * the steps each measured mount planned.
 */
export function resultTable(results: readonly WorkloadResult[]): string {
  const header = ["workload", "ops/s", "p50", "p99", "ops"] as const;
  const rows = results.map((r) =>
    r.status === "ok"
      ? [r.name, formatRate(r.stats.opsPerSec), formatDuration(r.stats.p50Ns), formatDuration(r.stats.p99Ns), String(r.stats.ops)]
      : { name: r.name, note: oneLine(r.status === "skipped" ? `skipped: ${r.reason}` : r.status === "failed" ? `failed: ${r.error}` : "interrupted") },
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (Array.isArray(row) ? row[i]! : i === 0 ? row.name : "").length)));
  const line = (row: readonly string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const body = rows.map((row) => (Array.isArray(row) ? line(row) : `${row.name.padEnd(widths[0]!)}  ${row.note}`));
  const planned = results.flatMap((r) => ("steps" in r && r.steps !== undefined ? [`  ${r.name}: ${r.steps.join(", ")}`] : []));
  const steps = planned.length === 0 ? [] : ["", "steps the library's mount planned (the path measured):", ...planned];
  return `${[line(header), ...body, ...steps].join("\n")}\n`;
}

/** A note as one row of the table: a helper's output in an error brings its newlines, written \n as stderr's messages write them. */
function oneLine(text: string): string {
  return text.replace(/\n/g, "\\n");
}
