/**
 * The signals this process ignores, as the kernel shows them in /proc/thread-self/status
 * ("SigIgn:\t0000000000000006": bit N-1 set for each ignored signal N, proc(5)).
 *
 * A caller's ignore is an instruction that outlives exec: nohup(1) starts its command with
 * SIGHUP ignored, and a shell starts a script's background job with SIGINT and SIGQUIT ignored
 * (POSIX). Read this before installing a handler of one's own, which replaces the ignore. Bun
 * ignores SIGPIPE and SIGXFSZ itself at start-up, so those two say nothing of the caller.
 */
import { readTextFile } from "./file.ts";

export function ignoredSignals(): number[] {
  return parseIgnoredSignals(readTextFile("/proc/thread-self/status"));
}

/** The signal numbers of a status file's SigIgn mask; [] when it has none. */
export function parseIgnoredSignals(status: string): number[] {
  const hex = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  if (hex === undefined) return [];
  const mask = BigInt(`0x${hex}`);
  const signals: number[] = [];
  for (let n = 1; n <= hex.length * 4; n++) if ((mask >> BigInt(n - 1)) & 1n) signals.push(n);
  return signals;
}
