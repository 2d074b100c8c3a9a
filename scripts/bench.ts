/**
 * npm run bench [-- --duration SEC] [--rounds N] [--workload NAME]... [--svg] [--markdown]
 *
 * The developers' benchmark: each workload of src/bench beside references measured in the
 * same run, contenders alternating round by round (this VM's idle states move absolute figures
 * between runs, so only same-run ratios are quoted):
 *   c             scripts/bench/mountbench.c doing the raw syscalls: the kernel floor
 *   library       mountkit's library in this process (mount() + unmount(), lookupMount(), ...)
 *   mountkit-cli  the compiled dist/mountkit, one process per command (start-up included)
 *   util-linux    mount(8)/umount(8)/findmnt(8), one process per command
 *   busybox       busybox mount/umount, when installed
 * Command-line contenders are run by the same C program (posix_spawn + waitpid), so all pay the
 * same spawning cost. A "startup" row measures each tool doing nothing (--version), to split a
 * CLI operation into process start and work.
 *
 * --no-idle holds /dev/cpu_dma_latency at 0 for the run (no deep CPU idle states: the kernel's
 * RCU waits in umount2 get shorter, so the library's own cost weighs more); released at exit.
 * --svg writes docs/bench.svg; --markdown prints the table as Markdown for docs/bench.md.
 * The results are kept in scripts/bench/build/results.json; --from FILE redraws from them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchHost } from "../src/bench/host.ts";
import { measureSlice } from "../src/bench/measure.ts";
import { selectWorkloads } from "../src/bench/registry.ts";
import { enterSandbox, type Sandbox } from "../src/bench/sandbox.ts";
import { formatDuration, formatRate, latencyStats, type LatencyStats } from "../src/bench/stats.ts";
import type { BenchHost, CliTool, PreparedWorkload, Workload } from "../src/bench/workload.ts";
import { BUILD, compileMountbench, holdNoIdle, ROOT, walkArgs } from "./bench/harness.ts";
import { barChartSvg } from "./bench/svg.ts";

const MOUNTBENCH = join(BUILD, "mountbench");
const BUN_EMPTY = join(BUILD, "bun-empty");
const MOUNTKIT = join(ROOT, "dist/mountkit");

export const CONTENDERS = [
  { name: "c", label: "C (raw syscalls)", color: "#555555" },
  { name: "library", label: "mountkit library", color: "#2b7bb9" },
  { name: "mountkit-cli", label: "mountkit CLI per op", color: "#8cc0e6" },
  { name: "util-linux", label: "util-linux per op", color: "#d9822b" },
  { name: "busybox", label: "busybox per op", color: "#7aa85a" },
] as const;
/** The contenders above, and "bun-empty" (an empty compiled Bun program) in the startup row. */
type ContenderName = (typeof CONTENDERS)[number]["name"] | "bun-empty";

interface ContenderResult {
  readonly contender: ContenderName;
  readonly stats?: LatencyStats;
  readonly error?: string;
}

interface WorkloadRow {
  readonly workload: string;
  readonly results: readonly ContenderResult[];
  /** the kinds of step the library's mount plans (the path it measured) */
  readonly steps?: string;
}

export interface Results {
  readonly when: string;
  readonly kernel: string;
  readonly durationSec: number;
  readonly rounds: number;
  /** /dev/cpu_dma_latency was held at 0 */
  readonly noIdle: boolean;
  readonly rows: readonly WorkloadRow[];
}

/** One way of running an operation for a slice of time, returning per-operation latencies. */
type Runner = (sliceMs: number) => Promise<number[]>;

interface Args {
  durationSec: number;
  rounds: number;
  workloads: string[];
  svg: boolean;
  markdown: boolean;
  noIdle: boolean;
  from: string | undefined;
}

function parseCommandLine(argv: readonly string[]): Args {
  const args: Args = { durationSec: 2, rounds: 5, workloads: [], svg: false, markdown: false, noIdle: false, from: undefined };
  walkArgs(argv, (flag, value) => {
    if (flag === "--duration") args.durationSec = Number(value());
    else if (flag === "--rounds") args.rounds = Number(value());
    else if (flag === "--workload" || flag === "-w") args.workloads.push(value());
    else if (flag === "--svg") args.svg = true;
    else if (flag === "--markdown") args.markdown = true;
    else if (flag === "--no-idle") args.noIdle = true;
    else if (flag === "--from") args.from = value();
    else return false;
    return true;
  });
  if (!(args.durationSec > 0) || !(args.rounds >= 1)) throw new Error("bench: --duration and --rounds must be positive");
  return args;
}

/** Run a program to completion; its stdout, or a thrown error naming it. */
function run(argv: readonly string[]): string {
  const p = Bun.spawnSync([...argv], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${p.exitCode}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** Build the C floor, an empty compiled Bun program (the start-up floor) and dist/mountkit. */
function buildReferences(): void {
  compileMountbench(["-o", MOUNTBENCH]);
  const empty = join(BUILD, "empty.ts");
  writeFileSync(empty, "// the start-up floor of a compiled Bun program\n");
  run([process.execPath, "build", "--compile", "--bytecode", "--minify", "--format=esm", `--outfile=${BUN_EMPTY}`, empty]);
  run([process.execPath, join(ROOT, "scripts/build.ts")]);
}

/** mountbench SLICE_MS MODE ARGS...: its per-operation latencies. */
function mountbench(mode: string, args: readonly string[]): Runner {
  return async (sliceMs) => parseSamples(run([MOUNTBENCH, String(Math.max(1, Math.round(sliceMs))), mode, ...args]));
}

function parseSamples(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) if (line !== "") out.push(Number(line));
  return out;
}

/** The program for an applet of each tool, or undefined when the tool is not installed. */
function toolResolver(host: BenchHost): (tool: CliTool, applet: string) => string[] | undefined {
  const utilLinux = (applet: string) => {
    const path = host.which(applet);
    if (!path) return undefined;
    // Debian's /usr/bin/mount is util-linux; a busybox symlink would say otherwise.
    const version = Bun.spawnSync([path, "--version"], { stdout: "pipe", stderr: "pipe" });
    return `${version.stdout}${version.stderr}`.includes("util-linux") ? [path] : undefined;
  };
  const busybox = host.which("busybox");
  return (tool, applet) => {
    if (tool === "util-linux") return utilLinux(applet);
    if (tool === "busybox") return busybox ? [busybox, applet] : undefined;
    return existsSync(MOUNTKIT) ? [MOUNTKIT, applet] : undefined;
  };
}

/** An environment assignment leading a CLI command (`MOUNTKIT_STRATEGY=legacy`). */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** The contenders that can run one workload here. */
function runnersFor(prepared: PreparedWorkload, resolve: ReturnType<typeof toolResolver>): Map<ContenderName, Runner> {
  const runners = new Map<ContenderName, Runner>();
  if (prepared.c) runners.set("c", mountbench(prepared.c.mode, prepared.c.args));
  runners.set("library", (sliceMs) => {
    Bun.gc(true); // the harness's garbage is not the library's cost
    return measureSlice(prepared.op, sliceMs);
  });
  const tools: [ContenderName, CliTool][] = [["mountkit-cli", "mountkit"], ["util-linux", "util-linux"], ["busybox", "busybox"]];
  for (const [name, tool] of tools) {
    const commands = prepared.cli?.[tool];
    if (!commands) continue;
    const argvs = commands.map((c) => {
      // NAME=VALUE items before the applet go to mountbench, which sets them for that command
      const assignments = c.slice(0, c.findIndex((item) => !ASSIGNMENT.test(item)));
      const applet = c[assignments.length]!;
      const program = resolve(tool, applet);
      return program ? [...assignments, ...program, ...c.slice(assignments.length + 1)] : undefined;
    });
    if (argvs.some((a) => a === undefined)) continue;
    const joined = argvs.flatMap((a, i) => (i === 0 ? a! : [";", ...a!]));
    runners.set(name, mountbench("exec", joined));
  }
  return runners;
}

/**
 * Start-up only: each tool doing nothing but start and exit (`--version`, `busybox true`), with
 * /bin/true as the C floor and an empty compiled Bun program as Bun's own floor.
 */
function startupRunners(resolve: ReturnType<typeof toolResolver>): Map<ContenderName, Runner> {
  const runners = new Map<ContenderName, Runner>();
  runners.set("c", mountbench("exec", ["/bin/true"]));
  runners.set("bun-empty", mountbench("exec", [BUN_EMPTY]));
  const mount = resolve("util-linux", "mount");
  if (mount) runners.set("util-linux", mountbench("exec", [...mount, "--version"]));
  const busybox = resolve("busybox", "true");
  if (busybox) runners.set("busybox", mountbench("exec", busybox));
  runners.set("mountkit-cli", mountbench("exec", [MOUNTKIT, "--version"]));
  return runners;
}

/** Alternate the runners round by round, rotating who goes first; merge each one's samples. */
async function alternate(
  label: string,
  runners: ReadonlyMap<ContenderName, Runner>,
  args: Args,
): Promise<ContenderResult[]> {
  const names = [...runners.keys()];
  const samples = new Map<ContenderName, number[]>(names.map((n) => [n, []]));
  const errors = new Map<ContenderName, string>();
  const sliceMs = (args.durationSec * 1000) / args.rounds;
  for (let round = 0; round < args.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      if (errors.has(name)) continue;
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${label}: round ${round + 1}/${args.rounds}, ${name}`);
      try {
        for (const s of await runners.get(name)!(sliceMs)) samples.get(name)!.push(s);
      } catch (err) {
        errors.set(name, err instanceof Error ? err.message : String(err));
      }
    }
  }
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  return names.map((name) => {
    const error = errors.get(name);
    if (error !== undefined) return { contender: name, error };
    return { contender: name, stats: latencyStats(samples.get(name)!) };
  });
}

async function measureAll(args: Args): Promise<Results> {
  if (process.getuid?.() !== 0) throw new Error("bench: mounting needs root");
  buildReferences();
  const host = benchHost();
  const resolve = toolResolver(host);
  const chosen = selectWorkloads(args.workloads).filter((w) => w.unavailable(host) === undefined);
  const rows: WorkloadRow[] = [];
  const releaseNoIdle = args.noIdle ? holdNoIdle() : undefined;
  const sandbox: Sandbox = enterSandbox();
  try {
    rows.push({ workload: "startup", results: await alternate("startup", startupRunners(resolve), args) });
    for (const workload of chosen) rows.push(await measureWorkload(workload, sandbox, host, resolve, args));
  } finally {
    sandbox.close();
    releaseNoIdle?.();
  }
  return {
    when: new Date().toISOString(),
    kernel: host.facts.release,
    durationSec: args.durationSec,
    rounds: args.rounds,
    noIdle: args.noIdle,
    rows,
  };
}

async function measureWorkload(
  workload: Workload,
  sandbox: Sandbox,
  host: BenchHost,
  resolve: ReturnType<typeof toolResolver>,
  args: Args,
): Promise<WorkloadRow> {
  const dir = sandbox.workloadDir(workload.name);
  try {
    const prepared = workload.setup(dir, host);
    try {
      const results = await alternate(workload.name, runnersFor(prepared, resolve), args);
      return { workload: workload.name, results, ...(prepared.steps === undefined ? {} : { steps: prepared.steps.join(", ") }) };
    } finally {
      prepared.teardown?.();
    }
  } finally {
    sandbox.releaseWorkloadDir(dir);
  }
}

/** ops/s of a contender relative to the C floor of the same row. */
function ratio(row: WorkloadRow, r: ContenderResult): number | undefined {
  const floor = row.results.find((x) => x.contender === "c")?.stats;
  return floor && r.stats ? r.stats.opsPerSec / floor.opsPerSec : undefined;
}

function cell(row: WorkloadRow, name: ContenderName): string {
  const r = row.results.find((x) => x.contender === name);
  if (!r) return "-";
  if (!r.stats) return `error: ${r.error}`;
  const x = ratio(row, r);
  return `${formatRate(r.stats.opsPerSec)} (${x === undefined ? "?" : x >= 0.1 ? x.toFixed(3) : x.toPrecision(2)})`;
}

function table(results: Results, markdown: boolean): string {
  const header = ["workload", ...CONTENDERS.map((c) => c.name)];
  const rows = results.rows.map((row) => [row.workload, ...CONTENDERS.map((c) => cell(row, c.name))]);
  if (markdown) {
    return [
      `| ${header.join(" | ")} |`,
      `|${header.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`,
      ...rows.map((r) => `| ${r.join(" | ")} |`),
    ].join("\n");
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

function latencyTable(results: Results): string {
  const lines = ["p50 / p99 latency per operation (startup: c = /bin/true, bun-empty = an empty compiled Bun program):"];
  for (const row of results.rows) {
    const parts = row.results
      .filter((r) => r.stats)
      .map((r) => `${r.contender} ${formatDuration(r.stats!.p50Ns)} / ${formatDuration(r.stats!.p99Ns)}`);
    lines.push(`  ${row.workload}: ${parts.join(", ")}`);
  }
  return lines.join("\n");
}

/** Each contender against util-linux, one per operation, where util-linux ran: the CLI comparison. */
function utilLinuxTable(results: Results): string {
  const lines = ["ops/s relative to util-linux (one util-linux process per mount and per umount):"];
  for (const row of results.rows) {
    const reference = row.results.find((r) => r.contender === "util-linux")?.stats;
    if (!reference || row.workload === "startup") continue;
    const parts = row.results
      .filter((r) => r.stats && r.contender !== "util-linux")
      .map((r) => `${r.contender} ${(r.stats!.opsPerSec / reference.opsPerSec).toPrecision(3)}x`);
    lines.push(`  ${row.workload}: ${parts.join(", ")}`);
  }
  return lines.join("\n");
}

/** What the library's operation ran, for rows where mount() chose among strategies. */
function stepsTable(results: Results): string {
  const rows = results.rows.filter((row) => row.steps !== undefined);
  return ["library steps per mount (the path measured):", ...rows.map((row) => `  ${row.workload}: ${row.steps}`)].join("\n");
}

function writeSvg(results: Results): string {
  const path = join(ROOT, "docs/bench.svg");
  mkdirSync(join(ROOT, "docs"), { recursive: true });
  const svg = barChartSvg({
    title: "mountkit: operations per second by workload (higher is better)",
    subtitle:
      `${results.durationSec} s per contender in ${results.rounds} alternating rounds, one run, Linux ${results.kernel}` +
      `${results.noIdle ? ", no deep idle (/dev/cpu_dma_latency 0)" : ""}\n` +
      `"× C": ops/s relative to the C contender of the same workload; startup: each tool starting and exiting`,
    series: CONTENDERS.map((c) => ({ name: c.label, color: c.color })),
    groups: results.rows.map((row) => ({
      label: row.workload,
      values: Object.fromEntries(
        CONTENDERS.map((c) => [c.label, row.results.find((r) => r.contender === c.name)?.stats?.opsPerSec]),
      ),
      notes: Object.fromEntries(
        CONTENDERS.filter((c) => c.name !== "c").map((c) => {
          const r = row.results.find((x) => x.contender === c.name);
          const x = r ? ratio(row, r) : undefined;
          return [c.label, x === undefined ? undefined : `${x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)}× C`];
        }),
      ),
    })),
  });
  writeFileSync(path, svg);
  return path;
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2));
  const saved = join(BUILD, "results.json");
  let results: Results;
  if (args.from !== undefined) {
    results = JSON.parse(readFileSync(args.from, "utf8")) as Results;
  } else {
    results = await measureAll(args);
    writeFileSync(saved, `${JSON.stringify(results, null, 2)}\n`);
  }
  console.log(
    `ops/s (ratio to the C floor of the same row), ${results.durationSec} s per contender, ${results.rounds} rounds, ` +
      `Linux ${results.kernel}${results.noIdle ? ", /dev/cpu_dma_latency held at 0" : ""}`,
  );
  console.log(table(results, args.markdown));
  console.log(latencyTable(results));
  console.log(utilLinuxTable(results));
  console.log(stepsTable(results));
  if (args.from === undefined) console.log(`results: ${saved}`);
  if (args.svg) console.log(`chart: ${writeSvg(results)}`);
}

if (import.meta.main) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
