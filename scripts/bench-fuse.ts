/**
 * bun scripts/bench-fuse.ts [--rounds N] [--json]
 *
 * fuse-overlayfs mount+umount, three contenders measured in the same run, alternating:
 *   mountkit library   mount() + unmount() in this process (mount.fuse3, then fusermount3 -u)
 *   mountkit binary    dist/mountkit mount ... then dist/mountkit umount ... (two processes)
 *   util-linux         mount -t fuse.fuse-overlayfs ... then umount ... (two processes)
 * and, as context, "binary start x2": `dist/mountkit --version` twice, the floor of the binary row.
 *
 * util-linux is given `fuse.fuse-overlayfs`: with `fuse3.fuse-overlayfs`, mount(8) 2.38 passes
 * the whole type to mount.fuse3 (libfuse 3.14), which strips only "fuse." and runs
 * `fuse3.fuse-overlayfs` (exit 127). mount.fuse is a link to mount.fuse3 on Debian: both
 * sides run the same helper and the same daemon.
 *
 * Each round measures every contender with mitata, in a rotated order; the report gives the
 * median over rounds of each contender's p50, and of its per-round ratio to util-linux.
 * Runs as root inside a private mount namespace: it re-executes itself under
 * `unshare -m --propagation private` so that no mount reaches the host.
 * Self-contained so that the bench harness (issue 7) can fold it in as a workload.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure } from "mitata";
import { mount } from "../src/ops/mount.ts";
import { unmount } from "../src/ops/unmount.ts";

const NS_MARK = "MOUNTKIT_BENCH_FUSE_NS";
const root = join(import.meta.dir, "..");
const binary = join(root, "dist", "mountkit");

function reexecInPrivateNamespace(): never {
  if (process.getuid?.() !== 0) {
    console.error("bench-fuse: mounting needs root");
    process.exit(1);
  }
  const child = Bun.spawnSync(
    ["unshare", "--mount", "--propagation", "private", "--", process.execPath, import.meta.path, ...process.argv.slice(2)],
    { env: { ...process.env, [NS_MARK]: "1" }, stdio: ["inherit", "inherit", "inherit"] },
  );
  process.exit(child.exitCode ?? 1);
}

interface Options {
  rounds: number;
  json: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { rounds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--json") options.json = true;
    else if (arg === "--rounds") options.rounds = Number(argv[++i]);
    else throw new Error(`bench-fuse: unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error("bench-fuse: --rounds takes a positive integer");
  return options;
}

function run(argv: string[]): void {
  const proc = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${proc.exitCode}: ${proc.stderr.toString().trim()}`);
}

function layers(dir: string) {
  const paths = { lower: join(dir, "lower"), upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "merged") };
  for (const p of Object.values(paths)) mkdirSync(p, { recursive: true });
  writeFileSync(join(paths.lower, "from-lower"), "lower\n");
  const options = [`lowerdir=${paths.lower}`, `upperdir=${paths.upper}`, `workdir=${paths.work}`];
  return { ...paths, options };
}

/** Nothing may stay mounted under dir (a failed contender would leave its mount). */
function assertNothingMountedUnder(dir: string): void {
  const left = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((line) => line.split(" ")[4]?.startsWith(dir));
  if (left.length) throw new Error(`bench-fuse: left mounted: ${left.join("; ")}`);
}

export type Contender = { name: string; once: () => void };

/**
 * The workload's contenders, working in dir (layers are made there); the last one is the
 * reference. For the bench harness to fold in; needs root in a private mount namespace.
 */
export function fuseContenders(dir: string): Contender[] {
  const l = layers(dir);
  const m = { type: "fuse3.fuse-overlayfs", source: "overlay", options: l.options };
  const o = l.options.join(",");
  return [
    {
      name: "mountkit library",
      once: () => {
        mount(m, l.merged);
        if (!unmount(l.merged)) throw new Error("mountkit library: nothing unmounted");
      },
    },
    {
      name: "mountkit binary",
      once: () => {
        run([binary, "mount", "-t", "fuse3.fuse-overlayfs", "-o", o, "overlay", l.merged]);
        run([binary, "umount", l.merged]);
      },
    },
    {
      // Not a mount: what two starts of the binary cost, the floor under "mountkit binary".
      name: "binary start x2",
      once: () => {
        run([binary, "--version"]);
        run([binary, "--version"]);
      },
    },
    {
      name: "util-linux",
      once: () => {
        run(["mount", "-t", "fuse.fuse-overlayfs", "-o", o, "overlay", l.merged]);
        run(["umount", l.merged]);
      },
    },
  ];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(binary)) throw new Error(`bench-fuse: ${binary} is missing: run 'npm run build' first`);
  const dir = mkdtempSync(join(tmpdir(), "mountkit-bench-fuse-"));
  try {
    const contenders = fuseContenders(dir);
    const reference = contenders.length - 1;
    for (const c of contenders) c.once(); // each works before anything is timed
    assertNothingMountedUnder(dir);

    const p50s: number[][] = contenders.map(() => []);
    const avgs: number[][] = contenders.map(() => []);
    const p99s: number[][] = contenders.map(() => []);
    for (let round = 0; round < options.rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const i = (round + k) % contenders.length; // rotate who goes first
        const stats = await measure(contenders[i]!.once, { min_cpu_time: 400 * 1e6, min_samples: 20, max_samples: 400 });
        p50s[i]!.push(stats.p50);
        avgs[i]!.push(stats.avg);
        p99s[i]!.push(stats.p99);
      }
      assertNothingMountedUnder(dir);
    }

    const rows = contenders.map((c, i) => {
      const ratios = p50s[i]!.map((v, r) => v / p50s[reference]![r]!);
      return {
        name: c.name,
        p50Ms: median(p50s[i]!) / 1e6,
        avgMs: median(avgs[i]!) / 1e6,
        p99Ms: median(p99s[i]!) / 1e6,
        opsPerSec: 1e9 / median(p50s[i]!),
        ratioToUtilLinux: median(ratios),
      };
    });
    if (options.json) {
      console.log(JSON.stringify({ workload: "fuse-overlayfs mount+umount", rounds: options.rounds, reference: "util-linux", results: rows }, null, 2));
      return;
    }
    console.log(`fuse-overlayfs mount+umount, ${options.rounds} rounds, medians over rounds (ratio = p50 / util-linux p50, per round)`);
    console.log(`${"contender".padEnd(18)} ${"p50 ms".padStart(8)} ${"avg ms".padStart(8)} ${"p99 ms".padStart(8)} ${"ops/s".padStart(7)} ${"ratio".padStart(6)}`);
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(18)} ${r.p50Ms.toFixed(2).padStart(8)} ${r.avgMs.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${r.opsPerSec.toFixed(0).padStart(7)} ${r.ratioToUtilLinux.toFixed(2).padStart(6)}`,
      );
    }
  } finally {
    // Never delete through a mount point: remove the tree only when nothing is mounted in it.
    assertNothingMountedUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (import.meta.main) {
  if (process.env[NS_MARK] !== "1") reexecInPrivateNamespace();
  await main();
}
