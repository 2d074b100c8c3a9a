/**
 * mountkit bench: mount throughput per workload (ops/s, latency p50/p99), measured with mitata
 * inside a private mount namespace on a scratch tmpfs. Loaded lazily by main.ts, so that other
 * commands never load mitata.
 */
import { ExitCode, PlanError } from "../../errors.ts";
import { benchHost } from "../../bench/host.ts";
import { selectWorkloads } from "../../bench/registry.ts";
import { resultJson, resultTable, type BenchReport } from "../../bench/report.ts";
import { yieldToEventLoop } from "../../bench/measure.ts";
import { runBench, type Progress, type WorkloadResult } from "../../bench/run.ts";
import { enterSandbox, type Sandbox } from "../../bench/sandbox.ts";
import { formatRate } from "../../bench/stats.ts";
import { VERSION } from "../../version.ts";
import { flagGiven, formatHelp, has, last, parseArgs, UsageError, values, type FlagSpec } from "../args.ts";
import { messageLine, printResult, processIo, reportError, type Io } from "../output.ts";
import { SignalExit } from "../signal-exit.ts";
import { holdStopSignals, STOP_SIGNALS } from "../signal-hold.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "json", help: "print the results as JSON" },
  { long: "workload", short: "w", value: "NAME", help: "run this workload, or every workload of a group; repeat for more (all by default)" },
  { long: "duration", short: "d", value: "SEC", help: "measured seconds per workload (default 1)" },
  { long: "list", help: "list the workloads and whether each can run here" },
  { long: "help", short: "h", help: "show this help" },
];

const USAGE = "mountkit bench [--json] [--workload NAME]... [--duration SEC] [--list]";
const SUMMARY =
  "Measure mount throughput: each workload's operation (a mount and its unmount, a lookup...) runs\n" +
  "through the library for --duration seconds; ops/s and latency p50/p99 are reported. Runs as root\n" +
  "in its own private mount namespace on a scratch tmpfs: the host's mounts are never touched, and\n" +
  "everything is cleaned up when it ends or is interrupted (Ctrl-C); then it ends by the same signal\n" +
  "(a shell reports 130 for Ctrl-C). A signal its caller ignores (nohup's SIGHUP) stays ignored.";

const DEFAULT_DURATION_SEC = 1;
const MAX_DURATION_SEC = 3600;

export async function benchCommand(argv: readonly string[], io: Io): Promise<ExitCode | number | SignalExit> {
  const json = flagGiven(argv, FLAGS, "json");
  try {
    const args = parseArgs("bench", argv, FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(USAGE, SUMMARY, FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length) throw new UsageError(`bench: unexpected operand ${JSON.stringify(args.operands[0])}`);
    const durationSec = parseDuration(last(args, "duration"));
    const workloads = selectWorkloads(values(args, "workload"));
    const host = benchHost();
    if (has(args, "list")) {
      const list = workloads.map((w) => ({ name: w.name, group: w.group, summary: w.summary, unavailable: w.unavailable(host) ?? null }));
      if (json) printResult(io, ExitCode.ok, { workloads: list });
      else for (const w of list) io.out(`${w.name.padEnd(24)} ${w.unavailable === null ? w.summary : `skipped: ${w.unavailable}`}\n`);
      return ExitCode.ok;
    }

    // Held until the teardown is done: the first stop signal ends the run between slices. One
    // the caller ignores (nohup's SIGHUP, a script's background SIGINT) stays ignored.
    const signals = holdStopSignals();
    const progress = io === processIo && process.stderr.isTTY ? progressLine(io) : undefined;
    let sandbox: Sandbox | undefined;
    let results: WorkloadResult[];
    try {
      sandbox = enterSandbox();
      results = await runBench({
        workloads,
        durationSec,
        host,
        sandbox,
        stopRequested: () => signals.received !== undefined,
        ...(progress ? { onProgress: progress.show } : {}),
      });
    } catch (err) {
      // no sandbox, no workload run (unshare's EPERM without CAP_SYS_ADMIN): a system error, not a failed mount
      if (sandbox === undefined) return reportError(io, err, json, ExitCode.system);
      throw err;
    } finally {
      progress?.clear();
      sandbox?.close();
      // a signal that came during the last teardown reaches its handler only from the event loop
      await yieldToEventLoop();
      signals.release();
    }
    const stoppedBy = signals.received;
    const stop = stoppedBy === undefined ? undefined : new SignalExit(STOP_SIGNALS[stoppedBy]);
    // Read last, after every teardown: the run's own namespace is the only place a leak shows.
    const leftovers = sandbox.leftovers();

    const code = benchExitCode(results, stop, leftovers.length > 0);
    if (json) {
      // a report: what failed is in its workloads, interrupted and leftovers (ok and exitCode from printResult)
      const report: Omit<BenchReport, "ok"> = {
        version: VERSION,
        kernel: host.facts.release,
        durationSec,
        isolation: { method: "unshare(CLONE_NEWNS) of the main thread, mounts rprivate", namespace: sandbox.namespace.current, scratch: sandbox.root },
        interrupted: stoppedBy ?? null,
        workloads: results.map(resultJson),
        leftovers,
      };
      printResult(io, code, report);
    } else {
      io.out(resultTable(results));
    }
    if (leftovers.length > 0) {
      io.err(messageLine(`bench: left mounted in its namespace: ${leftovers.map((m) => `${m.target} (${m.fstype} ${m.source})`).join(", ")}`));
    }
    if (stop !== undefined) {
      io.err(messageLine(`bench: stopped by ${stoppedBy}; everything it mounted was removed`));
      // the document said 128+N, as a shell will report the death by the signal
      return stop;
    }
    for (const r of results) if (r.status === "failed") io.err(messageLine(`bench: workload ${r.name} failed: ${r.error}`));
    return code;
  } catch (err) {
    return reportError(io, err, json);
  }
}

/** 128+N when signal N stopped the run; 64 when some workloads that ran failed, 32 all; 2 a mount left behind; else 0. */
function benchExitCode(results: readonly WorkloadResult[], stop: SignalExit | undefined, leftover: boolean): number {
  if (stop !== undefined) return stop.status;
  if (results.some((r) => r.status === "failed")) return results.some((r) => r.status === "ok") ? ExitCode.someFailed : ExitCode.mountFailed;
  return leftover ? ExitCode.system : ExitCode.ok;
}

function parseDuration(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DURATION_SEC;
  // Decimal seconds only: Number() would also take " 1", "0x10" (16) and "1e-9".
  const sec = /^(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : NaN;
  if (!(sec > 0 && sec <= MAX_DURATION_SEC)) {
    throw new PlanError(`bench: --duration takes decimal seconds, more than 0 and at most ${MAX_DURATION_SEC}, got ${JSON.stringify(text)}`);
  }
  return sec;
}

/** One line on the terminal, rewritten in place while a workload runs. */
function progressLine(io: Io): { show(p: Progress): void; clear(): void } {
  let shown = false;
  return {
    show(p) {
      const rate = p.opsPerSec === undefined ? "" : `  ${formatRate(p.opsPerSec)} ops/s`;
      const phase = p.phase === "measure" ? `${p.measuredSec.toFixed(1)}/${p.durationSec} s` : p.phase;
      (io.draw ?? io.err)(`\r\x1b[K[${p.index + 1}/${p.total}] ${p.name}  ${phase}${rate}`);
      shown = true;
    },
    clear() {
      if (shown) (io.draw ?? io.err)("\r\x1b[K");
    },
  };
}
