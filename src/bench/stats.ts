/**
 * Latency statistics over per-operation samples (nanoseconds), merged from several measured
 * slices. Percentiles are picked the way mitata picks them, so merged and single-slice figures agree.
 */

export interface LatencyStats {
  /** operations measured */
  readonly ops: number;
  readonly opsPerSec: number;
  readonly meanNs: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
  readonly minNs: number;
  readonly maxNs: number;
}

/** Stats of samples (not mutated). Throws on an empty list: nothing was measured. */
export function latencyStats(samples: readonly number[]): LatencyStats {
  if (samples.length === 0) throw new Error("bench: no samples to summarise");
  const sorted = Float64Array.from(samples).sort();
  let total = 0;
  for (const s of sorted) total += s;
  const mean = total / sorted.length;
  const at = (q: number) => sorted[Math.floor(q * (sorted.length - 1))]!;
  return {
    ops: sorted.length,
    opsPerSec: mean > 0 ? 1e9 / mean : Infinity,
    meanNs: mean,
    p50Ns: at(0.5),
    p99Ns: at(0.99),
    minNs: sorted[0]!,
    maxNs: sorted[sorted.length - 1]!,
  };
}

/** "12.3 us", "1.20 ms", "850 ns": three significant digits. */
export function formatDuration(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${sig3(ns / 1e3)} us`;
  if (ns < 1e9) return `${sig3(ns / 1e6)} ms`;
  return `${sig3(ns / 1e9)} s`;
}

/** Operations per second with thousands separators, three significant digits below 1000. */
export function formatRate(opsPerSec: number): string {
  if (opsPerSec >= 999.5) return Math.round(opsPerSec).toLocaleString("en-US"); // 999.6 is "1,000", not "1000"
  return sig3(opsPerSec);
}

function sig3(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
