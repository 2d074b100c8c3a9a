/**
 * Benchmarks of idmapped mounts, each beside a C reference measured in the same run:
 *   user namespace fd, cold (create + close) and cached
 *   idmapped bind mount + umount
 *   idmapped overlay mount + umount with 10 and 50 layers, mount() under each strategy forced:
 *   legacy (temp dirs) and fd (detached idmapped trees as lowerdir+ fds, containerd#11354)
 *
 * The C reference (scripts/bench/idmap-ref.c) is built here into scripts/bench/build/ as a
 * shared library and called through bun:ffi, so both sides are timed by mitata's measure() in
 * the same process and mount namespace. Contenders alternate: every round measures each of
 * them once, in reversed order on odd rounds; the report gives the median over rounds.
 *
 * Root only. Re-executes itself inside `unshare -m --propagation private`: nothing it mounts
 * can reach the host. Self-contained: the general harness (issue 7) is separate.
 *
 *   bun scripts/bench-idmap.ts [--rounds N] [--time MS] [--json] [--filter REGEX] [--disk] [--no-dma-latency]
 */
import { dlopen, type Pointer } from "bun:ffi";
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { measure } from "mitata";
import { probeKernelFacts } from "../src/ops/features.ts";
import { closeUsernsFds, idmapMount, usernsFd } from "../src/ops/idmap.ts";
import { mount } from "../src/ops/mount.ts";
import { setTempMountLocation } from "../src/ops/temp-location.ts";
import { unmount, unmountRecursive } from "../src/ops/unmount.ts";
import { createUsernsFd } from "../src/ops/userns.ts";
import { readMountInfo } from "../src/mountinfo/read.ts";
import type { Strategy } from "../src/plan/facts.ts";
import { idMappingPair, idMapFileText } from "../src/plan/idmap-mapping.ts";
import { withDirThread } from "../src/sys/dir-thread.ts";
import { libcSyscalls as sys } from "../src/sys/seam.ts";

const PRIVATE_MARK = "MOUNTKIT_BENCH_IDMAP_PRIVATE";
const here = dirname(import.meta.path);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const ROUNDS = Number(arg("rounds") ?? 3);
const TIME_MS = Number(arg("time") ?? 400);
const JSON_OUT = process.argv.includes("--json");
const FILTER = new RegExp(arg("filter") ?? ".");

if (process.getuid?.() !== 0) {
  console.error("bench-idmap: must run as root (it mounts)");
  process.exit(1);
}
if (process.env[PRIVATE_MARK] !== "1") {
  const child = Bun.spawnSync(["unshare", "-m", "--propagation", "private", process.execPath, import.meta.path, ...process.argv.slice(2)], {
    env: { ...process.env, [PRIVATE_MARK]: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(child.exitCode ?? 1);
}

// --- the C reference, built now ---
const source = join(here, "bench/idmap-ref.c");
const library = join(here, "bench/build/libidmapref.so");
mkdirSync(dirname(library), { recursive: true });
const cc = Bun.spawnSync(["cc", "-O2", "-Wall", "-shared", "-fPIC", "-o", library, source], { stderr: "pipe" });
if (cc.exitCode !== 0) {
  console.error(`bench-idmap: building the C reference failed:\n${cc.stderr.toString()}`);
  process.exit(1);
}
const ref = dlopen(library, {
  ref_userns_cold: { args: ["cstring", "cstring"], returns: "i32" },
  ref_userns_cached: { args: ["cstring", "cstring"], returns: "i32" },
  ref_bind: { args: ["cstring", "cstring", "i32"], returns: "i32" },
  ref_overlay_legacy: { args: ["cstring", "cstring", "i32", "cstring", "cstring", "cstring", "i32"], returns: "i32" },
  ref_overlay_fd: { args: ["cstring", "i32", "cstring", "cstring", "cstring", "i32"], returns: "i32" },
}).symbols;
function ok(ret: number, what: string): void {
  if (ret < 0) throw new Error(`C reference ${what} failed: errno ${-ret}`);
}

// --- fixtures ---
const MAP = "0:100000:65536";
const pair = idMappingPair(MAP, MAP, 4096, "bench");
const MAP_FILE = idMapFileText(pair.uidmap);
const root = mkdtempSync(join(tmpdir(), "mountkit-bench-idmap-"));
// Everything lives on a tmpfs of its own (tmpfs takes idmapped mounts since Linux 6.3): on the
// disk-backed /tmp, each temp dir's mkdir and rmdir cost 60 us of journal work here and swung
// the legacy strategy's figures between runs. --disk measures on /tmp instead.
const ON_TMPFS = !process.argv.includes("--disk");
if (ON_TMPFS) mount({ type: "tmpfs", source: "mountkit-bench-idmap", options: ["size=64m", "mode=0755"] }, root);
const path = (...parts: string[]) => join(root, ...parts);
const mk = (...parts: string[]) => {
  const p = path(...parts);
  mkdirSync(p, { recursive: true });
  return p;
};
const layers = Array.from({ length: 50 }, (_, i) => {
  const layer = mk("layers", `l${i}`);
  for (let f = 0; f < 3; f++) {
    writeFileSync(`${layer}/f${i}-${f}`, "x");
    chownSync(`${layer}/f${i}-${f}`, 1000 + f, 1000 + f);
  }
  return layer;
});
const bindSource = layers[0]!;
const temp = mk("tmp");
setTempMountLocation(temp);

const mountkitUserns = usernsFd(MAP, MAP);
const cUserns = ref.ref_userns_cached(MAP_FILE, MAP_FILE);
ok(cUserns, "userns");

/** Per contender its own dirs, so an unmount that lags cannot disturb the next one. */
function overlayDirs(name: string) {
  return { upper: mk(name, "upper"), work: mk(name, "work"), target: mk(name, "merged") };
}

/** mount() of an idmapped overlay of n layers, the strategy forced, then its unmount. */
function mountkitOverlay(n: number, strategy: Strategy) {
  const d = overlayDirs(`mk-${strategy}-${n}`);
  const m = {
    type: "overlay",
    source: "overlay",
    options: [`lowerdir=${layers.slice(0, n).join(":")}`, `upperdir=${d.upper}`, `workdir=${d.work}`, `uidmap=${MAP}`, `gidmap=${MAP}`],
  };
  const options = { facts: probeKernelFacts(strategy) };
  return () => {
    mount(m, d.target, options);
    unmount(d.target);
  };
}

function cLegacyOverlay(n: number) {
  const d = overlayDirs(`c-legacy-${n}`);
  const list = layers.slice(0, n).join(":");
  return () => ok(ref.ref_overlay_legacy(temp, list, n, d.upper, d.work, d.target, cUserns), "legacy overlay");
}

function cFdOverlay(n: number) {
  const d = overlayDirs(`c-fd-${n}`);
  const list = layers.slice(0, n).join(":");
  return () => ok(ref.ref_overlay_fd(list, n, d.upper, d.work, d.target, cUserns), "fd overlay");
}

interface Contender {
  readonly name: string;
  readonly reference: boolean;
  readonly fn: () => void;
  /** wraps the whole measurement: withDirThread, so compacted mounts share one dir thread */
  readonly session?: <T>(fn: () => T) => T;
}
interface Workload {
  readonly name: string;
  readonly contenders: readonly Contender[];
}

const bindTargets = { mountkit: mk("bind-mk"), library: mk("bind-lib"), c: mk("bind-c") };
const workloads: Workload[] = [
  {
    name: "user namespace fd, cold (create + close)",
    contenders: [
      { name: "mountkit createUsernsFd", reference: false, fn: () => sys.close(createUsernsFd(pair, sys)) },
      { name: "C clone(CLONE_VM) + pidfd", reference: true, fn: () => ok(ref.ref_userns_cold(MAP_FILE, MAP_FILE), "userns") },
    ],
  },
  {
    name: "user namespace fd, cached",
    contenders: [
      { name: "mountkit usernsFd (parse + lookup)", reference: false, fn: () => void usernsFd(MAP, MAP) },
      { name: "C static cache", reference: true, fn: () => void ref.ref_userns_cached(MAP_FILE, MAP_FILE) },
    ],
  },
  {
    name: "idmapped bind mount + umount",
    contenders: [
      {
        name: "mountkit mount(bind,uidmap,gidmap)",
        reference: false,
        fn: () => {
          mount({ type: "bind", source: bindSource, options: ["bind", `uidmap=${MAP}`, `gidmap=${MAP}`] }, bindTargets.mountkit);
          unmount(bindTargets.mountkit);
        },
      },
      {
        name: "mountkit idmapMount()",
        reference: false,
        fn: () => {
          idmapMount(bindSource, bindTargets.library, mountkitUserns);
          sys.umount2(bindTargets.library, 0);
        },
      },
      { name: "C open_tree+setattr+move_mount", reference: true, fn: () => ok(ref.ref_bind(bindSource, bindTargets.c, cUserns), "bind") },
    ],
  },
  ...[10, 50].map((n) => ({
    name: `idmapped overlay, ${n} layers, legacy strategy (temp dirs), mount + umount`,
    contenders: [
      { name: "mountkit mount(overlay,uidmap,gidmap), legacy", reference: false, fn: mountkitOverlay(n, "legacy") },
      // past ~45 layers here the options are compacted: one dir thread for all mounts, as a batch has
      ...(n > 10 ? [{ name: "mountkit mount(), legacy, in withDirThread()", reference: false, fn: mountkitOverlay(n, "legacy"), session: withDirThread }] : []),
      { name: "C legacy", reference: true, fn: cLegacyOverlay(n) },
    ],
  })),
  ...[10, 50].map((n) => ({
    name: `idmapped overlay, ${n} layers, fd strategy (lowerdir+ fds), mount + umount`,
    contenders: [
      { name: "mountkit mount(overlay,uidmap,gidmap), fd", reference: false, fn: mountkitOverlay(n, "fd") },
      { name: "C fd", reference: true, fn: cFdOverlay(n) },
    ],
  })),
].filter((w) => FILTER.test(w.name));

// --- measure, alternating ---
interface Sample {
  avg: number;
  p50: number;
  p99: number;
}
const results = new Map<string, Sample[]>();
const key = (w: Workload, c: Contender) => `${w.name}\u0000${c.name}`;

const dmaLatency = holdDmaLatency();
try {
  for (const w of workloads) for (const c of w.contenders) c.fn(); // warm up, and fail early
  for (let round = 0; round < ROUNDS; round++) {
    for (const w of workloads) {
      const order = round % 2 === 0 ? w.contenders : [...w.contenders].reverse();
      for (const c of order) {
        const session = c.session ?? (<T>(fn: () => T) => fn());
        const stats = await session(() => measure(c.fn, { min_cpu_time: TIME_MS * 1e6, max_samples: 100_000 }));
        const list = results.get(key(w, c)) ?? [];
        list.push({ avg: stats.avg, p50: stats.p50, p99: stats.p99 });
        results.set(key(w, c), list);
      }
    }
    if (!JSON_OUT) console.error(`bench-idmap: round ${round + 1}/${ROUNDS} done`);
  }
} finally {
  if (dmaLatency !== undefined) closeSync(dmaLatency);
  cleanup();
}

/** Keep the CPUs out of deep idle states while measuring (the machine notes: it doubles the C floor). */
function holdDmaLatency(): number | undefined {
  if (process.argv.includes("--no-dma-latency")) return undefined;
  try {
    const fd = openSync("/dev/cpu_dma_latency", "w");
    writeSync(fd, new Int32Array([0]));
    return fd;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const report = workloads.map((w) => {
  const referenceName = w.contenders.find((c) => c.reference)!.name;
  const refSamples = results.get(key(w, w.contenders.find((c) => c.reference)!))!;
  return {
    workload: w.name,
    reference: referenceName,
    contenders: w.contenders.map((c) => {
      const samples = results.get(key(w, c))!;
      return {
        name: c.name,
        avgNs: median(samples.map((x) => x.avg)),
        p50Ns: median(samples.map((x) => x.p50)),
        p99Ns: median(samples.map((x) => x.p99)),
        // per round, contender / reference of the same round; the median of those
        ratioToReference: median(samples.map((x, i) => x.avg / refSamples[i]!.avg)),
      };
    }),
  };
});

if (JSON_OUT) {
  const setup = { rounds: ROUNDS, timeMsPerMeasure: TIME_MS, fixtures: ON_TMPFS ? "tmpfs" : "disk", dmaLatencyHeld: dmaLatency !== undefined };
  console.log(JSON.stringify({ ...setup, kernel: release(), bun: Bun.version, results: report }, null, 2));
} else {
  const us = (ns: number) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} us` : `${ns.toFixed(0)} ns`);
  console.log(`\nidmap benchmarks: ${ROUNDS} rounds on ${ON_TMPFS ? "a tmpfs" : "disk"}, median of per-round values; ratio = avg / the C reference's avg in the same round\n`);
  for (const w of report) {
    console.log(w.workload);
    for (const c of w.contenders) {
      console.log(`  ${c.name.padEnd(48)} avg ${us(c.avgNs).padStart(10)}  p50 ${us(c.p50Ns).padStart(10)}  p99 ${us(c.p99Ns).padStart(10)}  x${c.ratioToReference.toFixed(2)}`);
    }
  }
}

/** Unmount whatever is left under the fixture, then remove it; never through a mount point. */
function cleanup(): void {
  closeUsernsFds();
  unmountRecursive(root);
  const left = readMountInfo().filter((m) => m.mountpoint === root || m.mountpoint.startsWith(`${root}/`));
  if (left.length > 0) {
    console.error(`bench-idmap: mounts remain under ${root}; leaving it in place`);
    return;
  }
  if (existsSync(root)) rmSync(resolve(root), { recursive: true, force: true });
}
