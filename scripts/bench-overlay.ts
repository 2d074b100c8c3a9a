/**
 * Overlay and loop benchmarks: mountkit's library against a C program making the same
 * syscalls (scripts/bench/overlay_ref.c, built here with cc and called through bun:ffi), in
 * one process, measured with mitata in alternating rounds (A B, B A, ...) so that drift in
 * the machine's state hits both contenders alike. Each iteration mounts and unmounts.
 *
 *   bun scripts/bench-overlay.ts [--json] [--rounds N] [--time MS] [--workload NAME]... [--list]
 *
 * Needs root; re-executes itself in a private mount namespace (unshare -m --propagation
 * private) so nothing it mounts reaches the host. Self-contained, to be folded into the
 * general bench harness later.
 */
import { dlopen, ptr, type Pointer } from "bun:ffi";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure } from "mitata";
import { mount } from "../src/ops/mount.ts";
import { unmount } from "../src/ops/unmount.ts";
import { probeKernelFacts } from "../src/ops/features.ts";
import { MS } from "../src/plan/flags.ts";
import { withDirThread } from "../src/sys/dir-thread.ts";
import type { Strategy } from "../src/plan/facts.ts";

const ROOT = join(import.meta.dir, "..");
const args = process.argv.slice(2);

// --- a private mount namespace ---------------------------------------------------------------
if (process.env.MOUNTKIT_BENCH_NS !== "1") {
  if (process.getuid?.() !== 0) {
    console.error("bench-overlay: mounting needs root");
    process.exit(1);
  }
  const child = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "--", process.execPath, import.meta.path, ...args], {
    env: { ...process.env, MOUNTKIT_BENCH_NS: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(child.exitCode ?? 1);
}
if (readlinkSync("/proc/self/ns/mnt") === readlinkSync(`/proc/${process.ppid}/ns/mnt`)) {
  console.error("bench-overlay: not in a private mount namespace");
  process.exit(1);
}

// --- options -----------------------------------------------------------------------------------
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : fallback;
};
const ROUNDS = Number(value("rounds", "6"));
const ROUND_MS = Number(value("time", "250"));
const selected = args.flatMap((a, i) => (args[i - 1] === "--workload" ? [a] : []));

// --- the C reference -------------------------------------------------------------------------
function buildReference(): string {
  const out = join(ROOT, "scripts/bench/build");
  mkdirSync(out, { recursive: true });
  const so = join(out, "liboverlay_ref.so");
  const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-shared", "-fPIC", "-o", so, join(ROOT, "scripts/bench/overlay_ref.c"), "-lpthread"]);
  if (cc.exitCode !== 0) throw new Error(`cc failed: ${cc.stderr.toString()}`);
  return so;
}
const ref = dlopen(buildReference(), {
  ref_overlay_fd: { args: ["cstring", "cstring", "ptr", "i32"], returns: "i32" },
  ref_overlay_legacy: { args: ["cstring", "cstring", "ptr", "i32"], returns: "i32" },
  ref_loop_mount: { args: ["cstring", "cstring", "cstring", "u64", "i32"], returns: "i32" },
  ref_umount: { args: ["cstring"], returns: "i32" },
}).symbols;

/** A char*[] for C, kept alive with the strings it points to. */
function cStringArray(strings: readonly string[]): { pointer: Pointer; keep: unknown[] } {
  const buffers = strings.map((s) => Buffer.from(`${s}\0`, "utf8"));
  const table = new BigUint64Array(buffers.map((b) => BigInt(ptr(b))));
  return { pointer: ptr(table), keep: [buffers, table] };
}
function check(ret: number, what: string): void {
  if (ret !== 0) throw new Error(`C reference: ${what}: errno ${-ret}`);
}

// --- fixtures ------------------------------------------------------------------------------------
// Everything lives on a tmpfs of its own: overlay syncs its upper layer at unmount, and on a
// disk-backed filesystem that journal flush, not the mount code, would dominate the figures.
const scratch = mkdtempSync(join(tmpdir(), "mountkit-bench-overlay-"));
mount({ type: "tmpfs", source: "mountkit-bench", options: ["size=256m", "mode=0755"] }, scratch);
const targets: string[] = [];
function dir(...parts: string[]): string {
  const p = join(scratch, ...parts);
  mkdirSync(p, { recursive: true });
  return p;
}
/** 500 layers in containerd's layout under a root long enough that each path is >= 80 bytes. */
const layerRoot = dir(`containerd-root-${"r".repeat(24)}`, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
const layers = Array.from({ length: 500 }, (_, i) => {
  const p = join(layerRoot, String(i + 1), "fs");
  mkdirSync(p, { recursive: true });
  writeFileSync(join(p, `f${i + 1}`), "");
  return p;
});

function makeImage(): string {
  const image = join(scratch, "ext4.img");
  Bun.spawnSync(["truncate", "-s", "16M", image]);
  const mkfs = Bun.spawnSync(["mkfs.ext4", "-q", "-F", "-b", "4096", image]);
  if (mkfs.exitCode !== 0) throw new Error(`mkfs.ext4: ${mkfs.stderr.toString()}`);
  return image;
}

interface Workload {
  readonly name: string;
  readonly note: string;
  readonly mountkit: () => void;
  readonly c: () => void;
  /** wraps the mountkit rounds (a shared dir thread for compacted legacy mounts) */
  readonly session?: <T>(fn: () => T) => T;
}

function overlayWorkload(strategy: Strategy, n: number, oneShotThread = false): Workload {
  const name = `overlay-${strategy}-${n}${oneShotThread ? "-oneshot" : ""}`;
  const target = dir("targets", name);
  targets.push(target);
  const options = [`lowerdir=${layers.slice(0, n).join(":")}`, `upperdir=${dir("upper", name)}`, `workdir=${dir("work", name)}`];
  const m = { type: "overlay", source: "overlay", options };
  const facts = probeKernelFacts(strategy);
  const cOptions = cStringArray(options);
  const cMount = strategy === "fd" ? ref.ref_overlay_fd : ref.ref_overlay_legacy;
  const bytes = Buffer.byteLength(options.join(","));
  return {
    name,
    note: `${n} lower layers + upper, ${bytes} bytes of options${strategy === "legacy" && bytes + 1 >= facts.pageSize - 512 ? ", compacted" : ""}`,
    mountkit: () => {
      mount(m, target, { facts });
      unmount(target, { facts });
    },
    c: () => {
      check(cMount("overlay", target, cOptions.pointer, options.length), `${name} mount`);
      check(ref.ref_umount(target), `${name} umount`);
      void cOptions.keep;
    },
    ...(strategy === "legacy" && !oneShotThread ? { session: withDirThread } : {}),
  };
}

function loopWorkload(strategy: Strategy, image: string): Workload {
  const name = `loop-${strategy === "fd" ? "configure" : "set-fd"}`;
  const target = dir("targets", name);
  targets.push(target);
  const facts = probeKernelFacts(strategy);
  const m = { type: "ext4", source: image, options: ["loop", "ro"] };
  return {
    name,
    note: `attach (${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD + LOOP_SET_STATUS64"}) + mount ext4 ro + umount (autoclear)`,
    mountkit: () => {
      mount(m, target, { facts });
      unmount(target, { facts });
    },
    c: () => {
      check(ref.ref_loop_mount(image, target, "ext4", MS.RDONLY, strategy === "fd" ? 0 : 1), `${name} mount`);
      check(ref.ref_umount(target), `${name} umount`);
    },
  };
}

// --- measuring ---------------------------------------------------------------------------------
interface Result {
  name: string;
  note: string;
  mountkit: { p50: number; avg: number; samples: number };
  c: { p50: number; avg: number; samples: number };
  /** mountkit p50 / C p50, the median over rounds */
  ratio: number;
  roundRatios: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function run(w: Workload): Promise<Result> {
  const opts = { min_cpu_time: ROUND_MS * 1e6, min_samples: 8, batch_threshold: 0, warmup_threshold: 0 };
  const mk: { p50: number; avg: number; samples: number }[] = [];
  const cs: { p50: number; avg: number; samples: number }[] = [];
  const session = w.session ?? (<T>(fn: () => T) => fn());
  const once = (fn: () => void) => measure(fn, opts).then((s) => ({ p50: s.p50, avg: s.avg, samples: s.samples.length }));
  await session(async () => {
    w.mountkit(); // first use outside the timing: module loading, the dir thread's start
    w.c();
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        mk.push(await once(w.mountkit));
        cs.push(await once(w.c));
      } else {
        cs.push(await once(w.c));
        mk.push(await once(w.mountkit));
      }
    }
  });
  const roundRatios = mk.map((m, i) => m.p50 / cs[i]!.p50);
  const pool = (xs: typeof mk) => ({ p50: median(xs.map((x) => x.p50)), avg: median(xs.map((x) => x.avg)), samples: xs.reduce((a, x) => a + x.samples, 0) });
  return { name: w.name, note: w.note, mountkit: pool(mk), c: pool(cs), ratio: median(roundRatios), roundRatios };
}

/** Keep the CPUs out of deep idle states while measuring, as the machine notes advise. */
function holdDmaLatency(): number | undefined {
  if (flag("no-dma-latency")) return undefined;
  try {
    const fd = openSync("/dev/cpu_dma_latency", "w");
    writeSync(fd, new Int32Array([0]));
    return fd;
  } catch {
    return undefined;
  }
}

function cleanup(): void {
  for (const t of targets) {
    try {
      unmount(t);
    } catch {
      // not mounted
    }
  }
  try {
    unmount(scratch); // the tmpfs, and everything made in it
  } catch (err) {
    console.error(`bench-overlay: ${err instanceof Error ? err.message : String(err)}`);
  }
  const mounted = readFileSync("/proc/self/mountinfo", "utf8").includes(scratch);
  if (!mounted) rmSync(scratch, { recursive: true, force: true });
  else console.error(`bench-overlay: mounts remain under ${scratch}; left in place`);
}

const fmt = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} us`);

async function main(): Promise<void> {
  const image = makeImage();
  const all: Workload[] = [
    ...[1, 10, 100, 500].map((n) => overlayWorkload("fd", n)),
    ...[1, 10, 100, 500].map((n) => overlayWorkload("legacy", n)),
    overlayWorkload("legacy", 100, true),
    loopWorkload("fd", image),
    loopWorkload("legacy", image),
  ];
  if (flag("list")) {
    for (const w of all) console.log(`${w.name.padEnd(26)} ${w.note}`);
    return;
  }
  const chosen = selected.length ? all.filter((w) => selected.includes(w.name)) : all;
  if (chosen.length === 0) throw new Error(`no workload named ${selected.join(", ")} (see --list)`);
  const dma = holdDmaLatency();
  const results: Result[] = [];
  try {
    for (const w of chosen) {
      const r = await run(w);
      results.push(r);
      if (!flag("json")) {
        console.log(
          `${r.name.padEnd(26)} mountkit ${fmt(r.mountkit.p50).padStart(10)}  C ${fmt(r.c.p50).padStart(10)}  ratio ${r.ratio.toFixed(3)}  (${r.note})`,
        );
      }
    }
  } finally {
    if (dma !== undefined) closeSync(dma);
  }
  if (flag("json")) {
    console.log(JSON.stringify({ kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(), rounds: ROUNDS, roundMs: ROUND_MS, dmaLatencyHeld: dma !== undefined, results }, null, 2));
  }
}

try {
  await main();
} finally {
  cleanup();
}
