/**
 * mount -a -F: each fstab line mounted by a `mountkit mount` process of its own, several at
 * once (ops/fstab-fork.ts decides which may run together). The process reads its one line as an
 * fstab on stdin, so it mounts exactly what `mount -a` would for that line; its --json result
 * says how it went.
 */
import { HelperError, MountFailedError, PlanError, quotePath, ReportedError } from "../../errors.ts";
import { bytesFromText } from "../../path-text.ts";
import type { BatchEntry } from "../../plan/batch-entry.ts";
import { fstabLineText } from "../../plan/fstab-fork.ts";
import { mountFstabForked, type ForkedFstabOptions, type ForkedFstabOutcome, type ForkedLineOutcome } from "../../ops/fstab-fork.ts";
import { has, last, type ParsedArgs } from "../args.ts";
import { batchReporter } from "../batch-output.ts";
import { errorLine, type Io } from "../output.ts";
import { holdStopSignals, STOP_SIGNALS } from "../signal-hold.ts";
import type { StopRequests } from "../../ops/stop.ts";
import type { Subprocess } from "bun";

/** This program again: the compiled binary, or Bun running the entry script. */
function selfCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

/**
 * The flags of mount -a that each line's process needs: the options are already combined into
 * the line (so it replaces, rather than adds, the command line's), -w as the refusal to fall
 * back to read-only, and the helper and prefix choices (-v stays with mount -a, which prints
 * each line as it finishes: a line's process logs nothing more than in mount -a without -F).
 */
function lineFlags(args: ParsedArgs): string[] {
  const flags = ["--json", "-T", "/dev/stdin", "--options-mode", "replace"];
  if (has(args, "read-write") && !has(args, "read-only")) flags.push("-w");
  if (has(args, "internal-only")) flags.push("-i");
  if (has(args, "sloppy")) flags.push("-s");
  if (has(args, "no-mtab")) flags.push("--no-mtab");
  if (has(args, "no-canonicalize")) flags.push("-c");
  const helperDir = last(args, "helper-dir");
  if (helperDir !== undefined) flags.push("--helper-dir", helperDir);
  const prefix = last(args, "target-prefix");
  if (prefix !== undefined) flags.push("--target-prefix", prefix);
  return flags;
}

/** Run `mountkit mount` for one line; its stderr is passed on, but for the error it reports. running: its process while it runs. */
async function mountLineProcess(entry: BatchEntry, flags: readonly string[], io: Io, running: Set<Subprocess>): Promise<ForkedLineOutcome> {
  const argv = [...selfCommand(), "mount", ...flags, "--", entry.mount.target];
  const action = `mount -a: ${entry.where}`;
  if (!argv.every((a) => a.isWellFormed())) {
    // Bun.spawn would pass U+FFFD's bytes in place of such a byte: the process would look for another path.
    return { error: new PlanError(`${action}: ${quotePath(entry.mount.target)} (or a path option) is not UTF-8, which a process of its own cannot be given here`, { hint: "mount it without -F" }) };
  }
  const child = Bun.spawn(argv, {
    argv0: "mountkit",
    stdin: bytesFromText(fstabLineText(entry)),
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  let stdout, stderr, status;
  try {
    [stdout, stderr, status] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  } finally {
    running.delete(child);
  }
  let result: { ok?: unknown; error?: Record<string, unknown> } | undefined;
  try {
    result = JSON.parse(stdout);
  } catch {
    result = undefined;
  }
  if (status === 0 && result?.ok === true) {
    if (stderr) io.err(stderr);
    return {};
  }
  if (result?.error && typeof result.error === "object") {
    const reported = new ReportedError(result.error);
    io.err(stderr.replace(errorLine(reported), ""));
    return { error: new MountFailedError(reported.message, reported, { action, hint: reported.hint }) };
  }
  const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with status ${status}`;
  return { error: new HelperError(`${action}: ${argv.join(" ")} ${how}`, argv[0]!, argv, status, stderr) };
}

/** How mount -a -F's run ended: its outcome, or what it threw (RunStopped for a stop); and the stop signal that came, if one did. */
export type ForkedRun = ({ outcome: ForkedFstabOutcome } | { failure: unknown }) & { signal: number | undefined };

/**
 * mount -a -F: the options mountAllCommand built, the lines mounted in parallel; it reports the
 * outcome, and then dies of signal when one stopped it once every line was done. A stop signal
 * before that starts no more lines (RunStopped, once those running have ended): it is passed on
 * to their processes, which stop as a single mount stops (its steps undone), and mount -a waits
 * for them, so that none is left running, nor its loop device attached. A failure (an internal
 * error) comes back with the signal that came meanwhile, which must not be dropped for it.
 */
export async function mountAllForked(args: ParsedArgs, io: Io, options: Omit<ForkedFstabOptions, "mountLine">): Promise<ForkedRun> {
  const flags = lineFlags(args);
  const reporter = batchReporter(io, { verbose: has(args, "verbose"), json: has(args, "json"), label: "mount -a" });
  const running = new Set<Subprocess>();
  // This process waits on its children, so a listener runs as the signal comes (signal-hold.ts).
  const signals = holdStopSignals();
  signals.passTo((signal) => {
    for (const child of running) child.kill(signal);
  });
  const stop: StopRequests = { arm() {}, requested: () => signals.received };
  try {
    let run: { outcome: ForkedFstabOutcome } | { failure: unknown };
    try {
      run = { outcome: await mountFstabForked({ ...options, stop, onEntry: reporter.onEntry, mountLine: (entry) => mountLineProcess(entry, flags, io, running) }) };
    } catch (failure) {
      run = { failure };
    }
    // one that came as the last line ended, or as the run failed with no process left to wait
    // on (a line's process that could not be started): its listener runs once the event loop turns
    await new Promise((resolve) => setImmediate(resolve));
    return { ...run, signal: signals.received === undefined ? undefined : STOP_SIGNALS[signals.received] };
  } finally {
    signals.release();
    reporter.finish();
  }
}
