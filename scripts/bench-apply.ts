/**
 * bun scripts/bench-apply.ts [--json] [--rounds N] [--entries N]
 *
 * apply of 100 mounts (tmpfs and bind, alternating) in one process, mounted then unmounted each
 * iteration, beside 100 invocations of util-linux mount(8) and 100 of umount(8) doing the same,
 * in the same run. Contenders alternate round by round (this VM's idle states move absolute
 * figures between runs; ratios within one run hold). A third row, when dist/mountkit exists:
 * one `mountkit apply` invocation plus one `mountkit umount -R`.
 *
 * Runs as root in a private mount namespace: it re-executes itself under
 * `unshare -m --propagation private` so no mount can reach the host.
 *
 * Self-contained so the general bench harness can fold it in: prepareApplyBench() and
 * APPLY_CONTENDERS are the workload; main() is only this script's report.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { measure } from "mitata";
import { mountAll } from "../src/ops/batch.ts";
import type { Mount } from "../src/plan/mount-request.ts";

const NAMESPACE_MARK = "MOUNTKIT_BENCH_APPLY_NS";
const BIN = join(import.meta.dir, "../dist/mountkit");

export interface ApplyBench {
  readonly dir: string;
  readonly root: string;
  readonly mounts: readonly Mount[];
  /** the list as a file, for the binary */
  readonly listFile: string;
  /** host targets, in mount order */
  readonly targets: readonly string[];
  readonly source: string;
  dispose(): void;
}

/** A scratch root with `entries` existing target dirs, half tmpfs, half binds of one dir. */
export function prepareApplyBench(entries = 100): ApplyBench {
  const dir = mkdtempSync("/tmp/mountkit-bench-apply-");
  const root = join(dir, "root");
  const source = join(dir, "src");
  mkdirSync(source, { recursive: true });
  const mounts: Mount[] = [];
  const targets: string[] = [];
  for (let i = 1; i <= entries; i++) {
    mkdirSync(join(root, `m${i}`), { recursive: true });
    targets.push(join(root, `m${i}`));
    mounts.push(i % 2 ? { type: "tmpfs", source: `bench-${i}`, target: `/m${i}`, options: ["size=64k"] } : { type: "bind", source, target: `/m${i}`, options: ["bind"] });
  }
  const listFile = join(dir, "list.json");
  writeFileSync(listFile, JSON.stringify(mounts));
  return {
    dir,
    root,
    mounts,
    listFile,
    targets,
    source,
    dispose() {
      for (const t of targets) rmdirSync(t);
      rmdirSync(root);
      rmdirSync(source);
      Bun.spawnSync(["rm", "-f", listFile]);
      rmdirSync(dir);
    },
  };
}

/** Each contender mounts every entry and unmounts it again; all throw if anything fails. */
export const APPLY_CONTENDERS: Record<string, (b: ApplyBench) => void> = {
  "mountkit mountAll (in process)": (b) => {
    mountAll(b.mounts, b.root).release();
  },
  "util-linux mount + umount (100 + 100 processes)": (b) => {
    b.mounts.forEach((m, i) => {
      const argv = m.type === "bind" ? ["mount", "--bind", m.source, b.targets[i]!] : ["mount", "-t", m.type, "-o", m.options.join(","), m.source, b.targets[i]!];
      check(Bun.spawnSync(argv), argv);
    });
    for (const t of [...b.targets].reverse()) check(Bun.spawnSync(["umount", t]), ["umount", t]);
  },
  "mountkit apply + umount -R (2 processes)": (b) => {
    check(Bun.spawnSync([BIN, "apply", "--root", b.root, b.listFile]), ["mountkit", "apply"]);
    check(Bun.spawnSync([BIN, "umount", "-R", b.root]), ["mountkit", "umount", "-R"]);
  },
};

function check(r: { exitCode: number | null; stderr: Buffer }, argv: string[]): void {
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
}

function mountsUnder(root: string): number {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.split(" ")[4]?.startsWith(`${root}/`)).length;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const rounds = Number(valueOf(args, "--rounds") ?? 3);
  const entries = Number(valueOf(args, "--entries") ?? 100);
  const bench = prepareApplyBench(entries);
  try {
    const names = Object.keys(APPLY_CONTENDERS).filter((n) => !n.startsWith("mountkit apply") || existsSync(BIN));
    // Sanity: each contender leaves nothing mounted; the in-process one really mounts all.
    for (const name of names) {
      APPLY_CONTENDERS[name]!(bench);
      if (mountsUnder(bench.root) !== 0) throw new Error(`${name} left mounts behind`);
    }
    const probe = mountAll(bench.mounts, bench.root);
    if (mountsUnder(bench.root) !== entries) throw new Error(`mountAll mounted ${mountsUnder(bench.root)} of ${entries}`);
    probe.release();

    const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const p50: Record<string, number> = {};
      for (const name of names) {
        const slow = !name.includes("in process");
        const stats = await measure(() => APPLY_CONTENDERS[name]!(bench), slow ? { min_samples: 5, max_samples: 10, min_cpu_time: 0 } : { min_samples: 30, min_cpu_time: 200e6 });
        p50[name] = stats.p50 / 1e6;
        samples[name]!.push(p50[name]!);
      }
      ratios.push(p50["util-linux mount + umount (100 + 100 processes)"]! / p50["mountkit mountAll (in process)"]!);
      if (!json) console.error(`round ${round}: ${names.map((n) => `${n} ${p50[n]!.toFixed(2)} ms`).join("; ")}`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const report = {
      entries,
      rounds,
      medianMs: Object.fromEntries(names.map((n) => [n, Number(median(samples[n]!).toFixed(3))])),
      ratioUtilLinuxToMountkit: Number(median(ratios).toFixed(1)),
      ratiosPerRound: ratios.map((r) => Number(r.toFixed(1))),
      target: 20,
    };
    if (json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`apply of ${entries} mounts (tmpfs + bind), mount and unmount, median of per-round p50:`);
      for (const n of names) console.log(`  ${n.padEnd(50)} ${report.medianMs[n]!.toFixed(2).padStart(9)} ms`);
      console.log(`util-linux / mountkit in process: ${report.ratioUtilLinuxToMountkit}x (rounds: ${report.ratiosPerRound.join(", ")}; target > 20x)`);
    }
  } finally {
    bench.dispose();
  }
}

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

if (import.meta.main) {
  if (process.getuid?.() !== 0) {
    console.error("bench-apply: needs root (it mounts inside a private mount namespace)");
    process.exit(1);
  }
  if (process.env[NAMESPACE_MARK] !== "1") {
    // Re-run inside a private mount namespace: mounts made there never reach the host.
    const r = Bun.spawnSync(["unshare", "-m", "--propagation", "private", process.execPath, import.meta.path, ...process.argv.slice(2)], {
      stdio: ["inherit", "inherit", "inherit"],
      env: { ...process.env, [NAMESPACE_MARK]: "1" },
    });
    process.exit(r.exitCode ?? 1);
  }
  await main();
}
