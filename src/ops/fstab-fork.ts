/**
 * mount -a -F: the fstab's lines mounted in parallel, each by a process of its own that the
 * caller starts (the CLI runs `mountkit mount` for the line). A line starts once every earlier
 * line it depends on has finished (plan/fstab-fork.ts), at most `concurrency` at once; as in
 * mount -a, lines already mounted are skipped (looked up when the line is about to start), a
 * failure leaves the others mounted, and a nofail line's failure is a warning.
 */
import { BatchError, MountFailedError, MountkitError, PlanError } from "../errors.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { forkDependencies } from "../plan/fstab-fork.ts";
import type { FstabSelection } from "../plan/fstab.ts";
import { isMountedAlready } from "./already-mounted.ts";
import { entryOrigin, type EntryResult } from "./batch.ts";
import { opsContext, type OpsOptions } from "./context.ts";
import { fstabRoot, selectFstabFile, type FstabOptions } from "./fstab.ts";
import { resolveInRoot } from "./resolve.ts";
import { RunStopped } from "./stop.ts";

/** How many lines are mounted at once by default: mount(8) has no limit; a process per line of a long fstab at once would be too many. */
export const FORK_CONCURRENCY = 16;

/** What the process that mounted a line reported: nothing (it mounted), or its failure. */
export type ForkedLineOutcome = { readonly error?: MountkitError | undefined };

export interface ForkedFstabOptions extends FstabOptions, OpsOptions {
  /** mount one line (its entry as selected, the command line's options already combined) */
  mountLine(entry: BatchEntry): Promise<ForkedLineOutcome>;
  /** at most this many lines at once (FORK_CONCURRENCY by default) */
  concurrency?: number;
  /** called as each line finishes, in the order they finish */
  onEntry?: (result: EntryResult, done: number, total: number) => void;
}

export interface ForkedFstabOutcome {
  /** in file order */
  readonly results: readonly EntryResult[];
  readonly warnings: readonly MountkitError[];
  /** a BatchError of the failed lines; undefined when none failed */
  readonly error: MountkitError | undefined;
  readonly selection: FstabSelection;
}

/**
 * Mount the selected lines in parallel. A line that breaks fstab's syntax refuses the whole file
 * (a PlanError) before any process starts; one that cannot be planned (its device not found, an
 * unknown type) is left to its own process, and fails alone, as in mount -a without -F.
 */
export async function mountFstabForked(options: ForkedFstabOptions): Promise<ForkedFstabOutcome> {
  const selection = selectFstabFile(options);
  const entries = selection.entries;
  const root = fstabRoot(options);
  const ctx = opsContext(options);
  const waitsFor = forkDependencies(entries);
  const limit = Math.max(1, options.concurrency ?? FORK_CONCURRENCY);
  const results: (EntryResult | undefined)[] = entries.map(() => undefined);
  const warnings: MountkitError[] = [];
  const failed: MountkitError[] = [];
  let finished = 0;
  let running = 0;
  let wake: (() => void) | undefined;
  // not a mount failure but a bug: thrown once every running line has finished
  let unexpected: { err: unknown } | undefined;

  const finish = (i: number, result: EntryResult) => {
    results[i] = result;
    finished++;
    options.onEntry?.(result, finished, entries.length);
  };

  const start = async (i: number) => {
    const entry = entries[i]!;
    const started = performance.now();
    let target = entry.mount.target;
    try {
      target = resolveInRoot(root, entry.mount.target, ctx.sys);
    } catch {
      // the line's own process reports what is wrong with its mount point
    }
    let error: MountkitError | undefined;
    try {
      if (isMountedAlready(entry.mount, target, ctx)) {
        finish(i, { ...entryOrigin(entry), target, status: "skipped", timeMs: performance.now() - started });
        return;
      }
      ({ error } = await options.mountLine(entry));
    } catch (err) {
      if (!(err instanceof MountkitError)) unexpected ??= { err };
      error = err instanceof MountkitError ? err : new MountFailedError(String(err), new PlanError(String(err)), { action: `mount -a: ${entry.where}` });
    }
    const timeMs = performance.now() - started;
    if (error === undefined) finish(i, { ...entryOrigin(entry), target, status: "mounted", timeMs });
    else {
      (entry.nofail ? warnings : failed).push(error);
      finish(i, { ...entryOrigin(entry), target, status: entry.nofail ? "warning" : "failed", error, timeMs });
    }
  };

  const started = new Set<number>();
  // A caller's stop (ops/stop.ts) starts no more lines; those running finish (their processes
  // get the signal themselves, or from the caller) and stay mounted, as mount -a's lines do.
  let stopped: string | undefined;
  ctx.stop?.arm();
  while (finished < entries.length) {
    stopped ??= ctx.stop?.requested();
    if (stopped !== undefined) {
      if (running === 0) break;
      await new Promise<void>((resolve) => (wake = resolve));
      continue;
    }
    for (let i = 0; i < entries.length && running < limit; i++) {
      if (started.has(i) || !waitsFor[i]!.every((w) => results[w] !== undefined)) continue;
      started.add(i);
      running++;
      void start(i).finally(() => {
        running--;
        wake?.();
      });
    }
    if (finished < entries.length) await new Promise<void>((resolve) => (wake = resolve));
  }
  if (unexpected) throw unexpected.err;
  if (stopped !== undefined) throw new RunStopped(stopped);
  const mounted = results.filter((r) => r?.status === "mounted").length;
  return {
    results: results as EntryResult[],
    warnings,
    // a nofail line that failed counts as done, as mount(8) counts it (ops/batch.ts mountAllRules)
    error: failed.length > 0 ? new BatchError("mount -a", failed, mounted + warnings.length) : undefined,
    selection,
  };
}
