/**
 * Output for batches (apply, mount -a, with-mounts): -v prints each entry as it is done, a
 * progress line on a terminal for batches of more than a few dozen entries, --json a result
 * per entry, and one line per failure on stderr.
 */
import { exitCodeFor, ExitCode, MountkitError, quotePath } from "../errors.ts";
import { batchOwnWarnings, type EntryResult } from "../ops/batch.ts";
import { printResult, reportError, warningLine, type Io } from "./output.ts";

/** Batches longer than this get a progress line on a terminal. */
export const PROGRESS_MIN_ENTRIES = 40;
/** Redraw the progress line at most this often. */
const PROGRESS_INTERVAL_MS = 50;

export interface BatchReporter {
  onEntry(result: EntryResult, done: number, total: number): void;
  /** clear the progress line */
  finish(): void;
}

const STATUS_TEXT: Record<EntryResult["status"], string> = {
  mounted: "mounted",
  failed: "failed",
  warning: "failed (nofail: a warning)",
  skipped: "already mounted",
  "rolled-back": "rolled back",
};

export function batchReporter(io: Io, options: { verbose: boolean; json: boolean; label: string }): BatchReporter {
  let drawn = false;
  let last = -Infinity; // the first entry always draws
  const draw = (text: string) => (io.draw ?? io.err)(text);
  return {
    onEntry(result, done, total) {
      if (options.verbose && !options.json) {
        io.out(`${options.label}: [${done}/${total}] ${result.where}: ${quotePath(result.target)}: ${STATUS_TEXT[result.status]} (${result.timeMs.toFixed(2)} ms)\n`);
        return;
      }
      if (options.json || total <= PROGRESS_MIN_ENTRIES || !io.errIsTerminal) return;
      const now = performance.now();
      if (done < total && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      draw(`\r\x1b[Kmountkit: ${options.label}: ${done}/${total} entries`);
      drawn = true;
    },
    finish() {
      if (drawn) draw("\r\x1b[K");
      drawn = false;
    },
  };
}

/** One entry in --json output: target, ok, error, time, plus where it came from. */
export function entryJson(r: EntryResult): Record<string, unknown> {
  return { index: r.index, ...entryFields(r) };
}

/**
 * One line in mount -a's --json output: named as `ignored` and umount -a's `results` name
 * theirs, `line`, and `file` when the lines come from more than one file; the dry run's too.
 */
export function fstabEntryJson(r: EntryResult): Record<string, unknown> {
  return { ...fstabLineJson(r), ...entryFields(r) };
}

/** An fstab line's number and, when there are several files, its file (BatchEntry index and file). */
export function fstabLineJson(entry: { readonly index: number; readonly file?: string }): { line: number; file?: string } {
  return { line: entry.index, ...(entry.file === undefined ? {} : { file: entry.file }) };
}

function entryFields(r: EntryResult): Record<string, unknown> {
  return {
    where: r.where,
    target: r.target,
    ok: r.status === "mounted" || r.status === "skipped",
    status: r.status,
    ...(r.error ? { error: r.error.toJSON() } : {}),
    timeMs: Number(r.timeMs.toFixed(3)),
  };
}

/**
 * After a batch: failures and warnings on stderr (one line each), the --json document on
 * stdout; returns the exit code (0, 32, or 64 when some entries mounted and others failed).
 */
export function reportOutcome(
  io: Io,
  outcome: { results: readonly EntryResult[]; warnings: readonly MountkitError[]; error: MountkitError | undefined },
  json: boolean,
  extra: Record<string, unknown> = {},
  entryToJson: (r: EntryResult) => Record<string, unknown> = entryJson,
): ExitCode {
  const code = outcome.error ? exitCodeFor(outcome.error) : ExitCode.ok;
  // with its hint, as a failure's line has it: the kernel's words on a nofail line's option
  const warn = (w: MountkitError) => io.err(warningLine(w));
  // keep-going: one line per failed entry; all or nothing: the failing entry (and cleanup), last.
  const failed = outcome.results.filter((r) => r.status === "failed" && r.error);
  const eachFailure = failed.length > 1 || (failed.length === 1 && failed[0]!.error !== outcome.error);
  // the batch's own warnings first, then each entry's warning or failure in entry (file) order
  for (const w of batchOwnWarnings(outcome)) warn(w);
  for (const r of outcome.results) {
    if (r.status === "warning" && r.error) warn(r.error);
    else if (eachFailure && r.status === "failed" && r.error) reportError(io, r.error, false);
  }
  if (outcome.error && !eachFailure) reportError(io, outcome.error, false);
  if (json) {
    const count = (status: EntryResult["status"]) => outcome.results.filter((r) => r.status === status).length;
    printResult(io, code, {
      ...extra,
      mounted: count("mounted"),
      skipped: count("skipped"),
      failed: count("failed"),
      warnings: count("warning"),
      rolledBack: count("rolled-back"),
      entries: outcome.results.map(entryToJson),
      ...(outcome.error ? { error: outcome.error.toJSON() } : {}),
    });
  }
  return code;
}
