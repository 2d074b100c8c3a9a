/**
 * mitata as the measuring engine. A workload is measured in short slices so that the event
 * loop can deliver SIGINT between them and scripts/bench.ts can alternate contenders.
 */
import { measure } from "mitata";

/** The longest slice: the most a Ctrl-C waits before the run stops and cleans up. */
export const MAX_SLICE_MS = 250;

/**
 * Run op for about sliceMs of measured time; one latency (ns) per operation. mitata batches
 * operations faster than its threshold into one sample; batching is off so that percentiles
 * are per-operation latencies. No forced GC either: collecting what the library allocates is
 * part of its cost.
 */
export async function measureSlice(op: () => void, sliceMs: number): Promise<number[]> {
  const stats = await measure(op, {
    min_cpu_time: sliceMs * 1e6,
    batch_threshold: 0,
    min_samples: 3,
    gc: false,
  });
  return stats.samples;
}

/** Let the event loop run (signal handlers, timers) between slices. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
