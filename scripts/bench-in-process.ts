/**
 * npm run bench:in-process [-- --duration SEC] [--block-ms MS] [--workload NAME]... [--no-idle]
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
 */
import { join } from "node:path";
import { dlopen, ptr } from "bun:ffi";
import { benchHost } from "../src/bench/host.ts";
import { selectWorkloads } from "../src/bench/registry.ts";
import { enterSandbox } from "../src/bench/sandbox.ts";
import { formatRate } from "../src/bench/stats.ts";
import type { BenchHost, Workload } from "../src/bench/workload.ts";
import { BUILD, compileMountbench, holdNoIdle, walkArgs } from "./bench/harness.ts";

const FLOOR = join(BUILD, "mountbench.so");

interface Args {
  durationSec: number;
  blockMs: number;
  workloads: string[];
  noIdle: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { durationSec: 10, blockMs: 20, workloads: [], noIdle: false };
  walkArgs(argv, (flag, value) => {
    if (flag === "--duration") args.durationSec = Number(value());
    else if (flag === "--block-ms") args.blockMs = Number(value());
    else if (flag === "--workload" || flag === "-w") args.workloads.push(value());
    else if (flag === "--no-idle") args.noIdle = true;
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

interface Row {
  readonly workload: string;
  readonly cOpsPerSec: number;
  readonly libraryOpsPerSec: number;
  readonly ratio: number;
  readonly ratioError: number;
  readonly rounds: number;
}

function measure(workload: Workload, host: BenchHost, floor: Floor, dir: string, args: Args): Row | undefined {
  const prepared = workload.setup(dir, host);
  try {
    if (!prepared.c || prepared.c.mode === "exec") return undefined;
    selectMode(floor, prepared.c.mode, prepared.c.args);
    try {
      const library = prepared.op;
      const c = () => floor.mountbench_run(1);
      // Warm both (the JIT tiers, the kernel's caches) for a quarter second, then size the blocks.
      const warm = Bun.nanoseconds() + 250e6;
      while (Bun.nanoseconds() < warm) (library(), c());
      const t = Bun.nanoseconds();
      for (let i = 0; i < 20; i++) library();
      const block = Math.max(1, Math.round((args.blockMs * 1e6) / ((Bun.nanoseconds() - t) / 20)));
      const libraryNs: number[] = [];
      const cNs: number[] = [];
      const end = Bun.nanoseconds() + args.durationSec * 1e9;
      for (let round = 0; Bun.nanoseconds() < end; round++) {
        // who goes first alternates: each also runs right after the other as often
        const order = round % 2 === 0 ? ["library", "c"] : ["c", "library"];
        for (const who of order) {
          const start = Bun.nanoseconds();
          if (who === "c") floor.mountbench_run(block);
          else for (let i = 0; i < block; i++) library();
          (who === "c" ? cNs : libraryNs).push((Bun.nanoseconds() - start) / block);
        }
      }
      const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const ratios = cNs.map((x, i) => x / libraryNs[i]!);
      const m = mean(ratios);
      const sd = Math.sqrt(ratios.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, ratios.length - 1));
      return {
        workload: workload.name,
        cOpsPerSec: 1e9 / mean(cNs),
        libraryOpsPerSec: 1e9 / mean(libraryNs),
        ratio: mean(cNs) / mean(libraryNs),
        ratioError: sd / Math.sqrt(ratios.length),
        rounds: ratios.length,
      };
    } finally {
      floor.mountbench_end();
    }
  } finally {
    prepared.teardown?.();
  }
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("bench: mounting needs root");
  buildFloor();
  const floor = loadFloor();
  const host = benchHost();
  const chosen = selectWorkloads(args.workloads).filter((w) => w.unavailable(host) === undefined);
  const releaseNoIdle = args.noIdle ? holdNoIdle() : undefined;
  const sandbox = enterSandbox();
  const rows: Row[] = [];
  try {
    for (const workload of chosen) {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${workload.name}`);
      const dir = sandbox.workloadDir(workload.name);
      try {
        const row = measure(workload, host, floor, dir, args);
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
      (args.noIdle ? ", /dev/cpu_dma_latency held at 0" : ""),
  );
  console.log("| workload | c in-process | library | ratio | rounds |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(
      `| ${r.workload} | ${formatRate(r.cOpsPerSec)} | ${formatRate(r.libraryOpsPerSec)} | ${r.ratio.toFixed(3)} +- ${r.ratioError.toFixed(3)} | ${r.rounds} |`,
    );
  }
  const leftovers = sandbox.leftovers();
  if (leftovers.length > 0) throw new Error(`bench: the run left ${leftovers.length} mount(s) behind`);
}

main();
