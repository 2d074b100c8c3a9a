/**
 * The benchmark runner: for each workload, skip it with the reason when it cannot run here,
 * otherwise set it up on its own tmpfs, measure its operation with mitata for the requested
 * time, and release everything it made, whatever happens (a failure, or a stop request).
 */
import type { Sandbox } from "./sandbox.ts";
import { MAX_SLICE_MS, measureSlice, yieldToEventLoop } from "./measure.ts";
import { latencyStats, type LatencyStats } from "./stats.ts";
import type { BenchHost, Workload, WorkloadGroup } from "./workload.ts";

interface ResultBase {
  readonly name: string;
  readonly group: WorkloadGroup;
  readonly summary: string;
}

/** The kinds of step the library's mount planned for the workload (the path measured), when it mounts. */
interface PlannedPath {
  readonly steps?: readonly string[];
}

export type WorkloadResult =
  | (ResultBase & PlannedPath & { readonly status: "ok"; readonly stats: LatencyStats })
  | (ResultBase & { readonly status: "skipped"; readonly reason: string })
  | (ResultBase & PlannedPath & { readonly status: "failed"; readonly error: string })
  /** stopped by a signal before anything was measured */
  | (ResultBase & { readonly status: "interrupted" });

export interface Progress {
  /** 0-based index of the workload among those selected */
  readonly index: number;
  readonly total: number;
  readonly name: string;
  readonly phase: "setup" | "measure" | "teardown";
  /** measured seconds so far, and the target */
  readonly measuredSec: number;
  readonly durationSec: number;
  /** ops/s so far, once something was measured */
  readonly opsPerSec?: number;
}

export interface RunOptions {
  readonly workloads: readonly Workload[];
  /** measured seconds per workload */
  readonly durationSec: number;
  readonly host: BenchHost;
  readonly sandbox: Sandbox;
  readonly onProgress?: (progress: Progress) => void;
  /** polled between slices: true stops the run (the current workload is still torn down) */
  readonly stopRequested?: () => boolean;
  /** measures one slice; mitata's by default (tests pass a stand-in) */
  readonly measure?: (op: () => void, sliceMs: number) => Promise<number[]>;
}

export async function runBench(options: RunOptions): Promise<WorkloadResult[]> {
  // The binary starts with the JIT reluctant (scripts/build.ts), which suits one-off commands:
  // throughput is measured at JavaScriptCore's normal policy, as a long-running caller has it.
  Bun.unsafe.setJITPolicy(1);
  const results: WorkloadResult[] = [];
  const stop = options.stopRequested ?? (() => false);
  for (const [index, workload] of options.workloads.entries()) {
    const base: ResultBase = { name: workload.name, group: workload.group, summary: workload.summary };
    // A signal that came while the last workload failed or tore down (all synchronous: Ctrl-C
    // that killed its mkfs.ext4 too) reaches its handler only once the event loop turns.
    await yieldToEventLoop();
    if (stop()) {
      results.push({ ...base, status: "interrupted" });
      continue;
    }
    let reason: string | undefined;
    try {
      reason = workload.unavailable(options.host);
    } catch (err) {
      // a probe that failed in a way it does not know: this workload's failure, not the run's
      results.push({ ...base, status: "failed", error: errorMessage(err) });
      continue;
    }
    if (reason !== undefined) {
      results.push({ ...base, status: "skipped", reason });
      continue;
    }
    results.push(await runWorkload(workload, base, index, options, stop));
  }
  return results;
}

async function runWorkload(
  workload: Workload,
  base: ResultBase,
  index: number,
  options: RunOptions,
  stop: () => boolean,
): Promise<WorkloadResult> {
  const measure = options.measure ?? measureSlice;
  const total = options.workloads.length;
  const report = (phase: Progress["phase"], measuredNs: number, samples: readonly number[]) =>
    options.onProgress?.({
      index,
      total,
      name: workload.name,
      phase,
      measuredSec: measuredNs / 1e9,
      durationSec: options.durationSec,
      ...(samples.length ? { opsPerSec: (samples.length * 1e9) / measuredNs } : {}),
    });

  const samples: number[] = [];
  let measuredNs = 0;
  let failure: string | undefined;
  let planned: PlannedPath = {};
  report("setup", 0, samples);
  const dir = options.sandbox.workloadDir(workload.name);
  try {
    const prepared = workload.setup(dir, options.host);
    if (prepared.steps !== undefined) planned = { steps: prepared.steps };
    try {
      const budgetNs = options.durationSec * 1e9;
      while (measuredNs < budgetNs && !stop()) {
        const sliceMs = Math.max(1, Math.min(MAX_SLICE_MS, (budgetNs - measuredNs) / 1e6));
        const slice = await measure(prepared.op, sliceMs);
        for (const s of slice) {
          samples.push(s);
          measuredNs += s;
        }
        report("measure", measuredNs, samples);
        await yieldToEventLoop();
      }
    } finally {
      report("teardown", measuredNs, samples);
      prepared.teardown?.();
    }
  } catch (err) {
    failure = errorMessage(err);
  } finally {
    options.sandbox.releaseWorkloadDir(dir);
  }
  if (failure !== undefined) return { ...base, ...planned, status: "failed", error: failure };
  if (samples.length === 0) return { ...base, status: "interrupted" };
  return { ...base, ...planned, status: "ok", stats: latencyStats(samples) };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
