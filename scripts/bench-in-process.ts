/**
 * npm run bench:in-process [-- --duration SEC] [--block-ms MS] [--workload NAME]... [--no-idle] [--against DIR]
 *
 * A cross-check of `npm run bench` for developers: the library against the same C floor
 * (scripts/bench/mountbench.c built as a shared object, its operations called through bun:ffi),
 * both in this one process, in alternating blocks of about --block-ms each, for --duration
 * seconds per workload. Both then run in the same process, on the same CPU state and the same
 * kernel state: what separates them is the library's own code between the syscalls. `npm run
 * bench` runs the C floor as a separate small process instead, as the issue defines it; the two
 * agree within a few percent for most rows and bound each other (docs/bench.md, "Where the
 * time goes"). Workloads whose C mode spawns commands (the CLI rows) are left out.
 *
 * Each row: ops/s of each (1 / mean latency over its blocks) and the library's ratio to C,
 * with the standard error of the per-round ratios.
 *
 * --against DIR adds a third contender: the same workload from another checkout of mountkit
 * (a `git worktree` of the commit before a change, say), loaded into this process beside this
 * one, each with its own scratch directory. An A/B of a change then shares the C floor, the
 * process and the hour; each library's ratio to C is given.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { dlopen, ptr } from "bun:ffi";
import { benchHost } from "../src/bench/host.ts";
import { selectWorkloads } from "../src/bench/registry.ts";
import { enterSandbox } from "../src/bench/sandbox.ts";
import { formatRate } from "../src/bench/stats.ts";
import { makeDir } from "../src/bench/workloads/common.ts";
import type { BenchHost, Workload } from "../src/bench/workload.ts";
import { BUILD, compileMountbench, holdNoIdle, walkArgs } from "./bench/harness.ts";

const FLOOR = join(BUILD, "mountbench.so");

interface Args {
  durationSec: number;
  blockMs: number;
  workloads: string[];
  noIdle: boolean;
  /** another checkout's root, whose library is measured beside this one */
  against: string | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { durationSec: 10, blockMs: 20, workloads: [], noIdle: false, against: undefined };
  walkArgs(argv, (flag, value) => {
    if (flag === "--duration") args.durationSec = Number(value());
    else if (flag === "--block-ms") args.blockMs = Number(value());
    else if (flag === "--workload" || flag === "-w") args.workloads.push(value());
    else if (flag === "--no-idle") args.noIdle = true;
    else if (flag === "--against") args.against = resolve(value());
    else return false;
    return true;
  });
  if (!(args.durationSec > 0) || !(args.blockMs > 0)) throw new Error("bench: --duration and --block-ms must be positive");
  return args;
}

function buildFloor(): void {
  compileMountbench(["-shared", "-fPIC", "-DMOUNTBENCH_SHARED", "-o", FLOOR]);
}

function loadFloor() {
  return dlopen(FLOOR, {
    mountbench_select: { args: ["i32", "ptr"], returns: "i32" },
    mountbench_run: { args: ["u32"], returns: "void" },
    mountbench_end: { args: [], returns: "void" },
  }).symbols;
}
type Floor = ReturnType<typeof loadFloor>;

/** Select a mode of the floor; it copies the strings during the call. */
function selectMode(floor: Floor, mode: string, args: readonly string[]): void {
  const buffers = [mode, ...args].map((s) => new TextEncoder().encode(`${s}\0`));
  const argv = new BigUint64Array(buffers.length);
  buffers.forEach((b, i) => (argv[i] = BigInt(ptr(b))));
  if (floor.mountbench_select(buffers.length, argv) !== 0) throw new Error(`bench: mountbench has no mode ${mode} for ${args.length} arguments`);
}

/** One library's figures on a workload. */
interface LibraryResult {
  readonly opsPerSec: number;
  /** mean C time / mean library time */
  readonly ratio: number;
  /** standard error of the per-round ratios */
  readonly ratioError: number;
}

interface Row {
  readonly workload: string;
  readonly cOpsPerSec: number;
  readonly library: LibraryResult;
  /** the --against checkout's library, when given */
  readonly against: LibraryResult | undefined;
  readonly rounds: number;
}

/** The workloads of another checkout, by name (--against). */
type WorkloadsOf = (names: string[]) => Workload[];

function measure(workload: Workload, other: Workload | undefined, host: BenchHost, floor: Floor, dir: string, args: Args): Row | undefined {
  const prepared = workload.setup(other ? makeDir(dir, "this") : dir, host);
  try {
    if (!prepared.c || prepared.c.mode === "exec") return undefined;
    const otherPrepared = other?.setup(makeDir(dir, "against"), host);
    try {
      selectMode(floor, prepared.c.mode, prepared.c.args);
      try {
        return measureSelected(workload.name, floor, prepared.op, otherPrepared?.op, args);
      } finally {
        floor.mountbench_end();
      }
    } finally {
      otherPrepared?.teardown?.();
    }
  } finally {
    prepared.teardown?.();
  }
}

function measureSelected(name: string, floor: Floor, library: () => void, against: (() => void) | undefined, args: Args): Row {
  const c = () => floor.mountbench_run(1);
  const libraries = against ? [library, against] : [library];
  // Warm every contender (the JIT tiers, the kernel's caches) for a quarter second, then size the blocks.
  const warm = Bun.nanoseconds() + 250e6;
  while (Bun.nanoseconds() < warm) {
    for (const op of libraries) op();
    c();
  }
  const t = Bun.nanoseconds();
  for (let i = 0; i < 20; i++) library();
  const block = Math.max(1, Math.round((args.blockMs * 1e6) / ((Bun.nanoseconds() - t) / 20)));
  // contender 0 is C, then each library; times per operation, one per round each
  const ns: number[][] = [[], ...libraries.map(() => [])];
  const end = Bun.nanoseconds() + args.durationSec * 1e9;
  for (let round = 0; Bun.nanoseconds() < end; round++) {
    // the order rotates: each runs right after each other as often
    for (let k = 0; k < ns.length; k++) {
      const who = (round + k) % ns.length;
      const start = Bun.nanoseconds();
      if (who === 0) floor.mountbench_run(block);
      else {
        const op = libraries[who - 1]!;
        for (let i = 0; i < block; i++) op();
      }
      ns[who]!.push((Bun.nanoseconds() - start) / block);
    }
  }
  const cNs = ns[0]!;
  const result = (libraryNs: readonly number[]): LibraryResult => {
    const ratios = cNs.map((x, i) => x / libraryNs[i]!);
    const m = mean(ratios);
    const sd = Math.sqrt(ratios.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, ratios.length - 1));
    return { opsPerSec: 1e9 / mean(libraryNs), ratio: mean(cNs) / mean(libraryNs), ratioError: sd / Math.sqrt(ratios.length) };
  };
  return {
    workload: name,
    cOpsPerSec: 1e9 / mean(cNs),
    library: result(ns[1]!),
    against: against ? result(ns[2]!) : undefined,
    rounds: cNs.length,
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The --against checkout's workloads, loaded from its own source tree. */
async function loadAgainst(root: string): Promise<WorkloadsOf> {
  const registry = join(root, "src/bench/registry.ts");
  if (!existsSync(registry)) throw new Error(`bench: --against ${root}: no src/bench/registry.ts there (a checkout of mountkit?)`);
  const loaded = (await import(registry)) as { selectWorkloads: WorkloadsOf };
  return loaded.selectWorkloads;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("bench: mounting needs root");
  buildFloor();
  const floor = loadFloor();
  const host = benchHost();
  const chosen = selectWorkloads(args.workloads).filter((w) => w.unavailable(host) === undefined);
  const againstWorkloads = args.against === undefined ? undefined : await loadAgainst(args.against);
  const releaseNoIdle = args.noIdle ? holdNoIdle() : undefined;
  const sandbox = enterSandbox();
  const rows: Row[] = [];
  try {
    for (const workload of chosen) {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${workload.name}`);
      // a workload the other checkout lacks is measured without it
      const other = againstWorkloads?.([]).find((w) => w.name === workload.name);
      const dir = sandbox.workloadDir(workload.name);
      try {
        const row = measure(workload, other, host, floor, dir, args);
        if (row) rows.push(row);
      } finally {
        sandbox.releaseWorkloadDir(dir);
      }
    }
  } finally {
    sandbox.close();
    releaseNoIdle?.();
  }
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  console.log(
    `library against the C floor in the same process, ${args.durationSec} s per workload in blocks of about ${args.blockMs} ms` +
      (args.noIdle ? ", /dev/cpu_dma_latency held at 0" : "") +
      (args.against ? `; "against": the library of ${args.against}` : ""),
  );
  const ratio = (r: LibraryResult) => `${r.ratio.toFixed(3)} +- ${r.ratioError.toFixed(3)}`;
  if (args.against) {
    console.log("| workload | c in-process | library | ratio | against | ratio | rounds |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  } else {
    console.log("| workload | c in-process | library | ratio | rounds |");
    console.log("| --- | ---: | ---: | ---: | ---: |");
  }
  for (const r of rows) {
    const against = args.against ? (r.against ? ` ${formatRate(r.against.opsPerSec)} | ${ratio(r.against)} |` : " - | - |") : "";
    console.log(`| ${r.workload} | ${formatRate(r.cOpsPerSec)} | ${formatRate(r.library.opsPerSec)} | ${ratio(r.library)} |${against} ${r.rounds} |`);
  }
  const leftovers = sandbox.leftovers();
  if (leftovers.length > 0) throw new Error(`bench: the run left ${leftovers.length} mount(s) behind`);
}

await main();
