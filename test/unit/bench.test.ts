// The benchmark harness without the kernel: registry, statistics, output, and the runner driven
// with a stand-in sandbox and measure function. Real runs are in test/integration/bench-binary.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { selectWorkloads, WORKLOADS } from "../../src/bench/registry.ts";
import { resultJson, resultTable } from "../../src/bench/report.ts";
import { runBench, type WorkloadResult } from "../../src/bench/run.ts";
import type { Sandbox } from "../../src/bench/sandbox.ts";
import { formatDuration, formatRate, latencyStats } from "../../src/bench/stats.ts";
import type { BenchHost, Workload } from "../../src/bench/workload.ts";
import { factsWithStrategy } from "../../src/bench/workloads/common.ts";

const NOT_HERE = "not available here";

const host: BenchHost = { facts: factsForVersion("6.18.0"), which: () => undefined };

describe("registry", () => {
  test("names are unique and every workload of the issue is registered", () => {
    const names = WORKLOADS.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of [
      "tmpfs",
      "bind",
      "bind+ro",
      "mountinfo-lookup-10",
      "mountinfo-lookup-1000",
      "mountinfo-lookup-5000",
      ...[1, 10, 100, 500].flatMap((n) => [`overlay-${n}-fd`, `overlay-${n}-legacy`]),
      "loop-ext4",
      "loop-ext4-legacy",
      "userns-create",
      "idmap-bind",
      "idmap-overlay-10-fd",
      "idmap-overlay-10-legacy",
      "idmap-overlay-50-fd",
      "idmap-overlay-50-legacy",
      "apply-100",
      "fuse-overlayfs",
    ]) {
      expect(names).toContain(name);
    }
  });

  test("on an old kernel, each workload that needs a newer one is skipped with what it needs", () => {
    const old: BenchHost = { facts: factsForVersion("5.4.0"), which: () => "/sbin/mkfs.ext4" };
    const reasons = Object.fromEntries(WORKLOADS.map((w) => [w.name, w.unavailable(old)]));
    for (const n of [1, 10, 100, 500]) expect(reasons[`overlay-${n}-fd`]).toContain("lowerdir+ (Linux 6.8)");
    expect(reasons["loop-ext4"]).toContain("LOOP_CONFIGURE needs Linux 5.8");
    for (const name of ["userns-create", "idmap-bind", "idmap-overlay-10-fd", "idmap-overlay-50-legacy"]) {
      expect(reasons[name]).toContain("mount_setattr (Linux 5.12)");
    }
    expect(reasons["mount-id-statx-5000"]).toContain("STATX_MNT_ID");
    for (const name of ["tmpfs", "bind", "bind+ro", "mountinfo-lookup-5000", "apply-100"]) expect(reasons[name]).toBeUndefined();
  });

  test("without mkfs.ext4 the loop workloads are skipped, naming it and where it was looked for", () => {
    for (const name of ["loop-ext4", "loop-ext4-legacy"]) {
      const reason = WORKLOADS.find((w) => w.name === name)!.unavailable(host);
      expect(reason).toContain("mkfs.ext4 not found on PATH or in /usr/local/sbin, /usr/sbin, /sbin");
    }
  });

  test("a strategy is forced through the facts passed to mount(), never the environment", () => {
    const facts = factsForVersion("6.18.0");
    const legacy = factsWithStrategy(facts, "legacy");
    expect(legacy.strategy).toBe("legacy");
    expect(facts.strategy).toBe("fd"); // not mutated
    expect({ ...legacy, strategy: "fd", strategySource: "kernel" }).toEqual(facts);
    // forced as MOUNTKIT_STRATEGY would force it (the legacy loop ioctls follow a forced legacy)
    expect(factsWithStrategy(facts, "fd")).toEqual({ ...facts, strategySource: "environment" });
    const forced = factsWithStrategy(facts, "fd");
    expect(factsWithStrategy(forced, "fd")).toBe(forced);
  });

  test("selection keeps registry order, accepts groups, rejects unknown names", () => {
    expect(selectWorkloads([]).length).toBe(WORKLOADS.length);
    expect(selectWorkloads(["bind+ro", "tmpfs"]).map((w) => w.name)).toEqual(["tmpfs", "bind+ro"]);
    expect(selectWorkloads(["plain"]).map((w) => w.name)).toEqual(["tmpfs", "bind", "bind+ro"]);
    expect(selectWorkloads(["tmpfs", "plain"]).map((w) => w.name)).toEqual(["tmpfs", "bind", "bind+ro"]);
    expect(() => selectWorkloads(["tmpfs", "nope"])).toThrow(PlanError);
    expect(() => selectWorkloads(["nope"])).toThrow(/unknown workload "nope"/);
  });

  test("every workload has a summary and a known group", () => {
    for (const w of WORKLOADS) {
      expect(w.summary.length).toBeGreaterThan(10);
      expect(["plain", "mountinfo", "overlay", "loop", "idmap", "apply", "fuse"]).toContain(w.group);
    }
  });
});

describe("stats", () => {
  test("percentiles, mean and ops/s over unsorted samples", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1 ns
    const s = latencyStats(samples);
    expect(s.ops).toBe(100);
    expect(s.minNs).toBe(1);
    expect(s.maxNs).toBe(100);
    expect(s.p50Ns).toBe(50);
    expect(s.p99Ns).toBe(99);
    expect(s.meanNs).toBe(50.5);
    expect(s.opsPerSec).toBeCloseTo(1e9 / 50.5);
    expect(samples[0]).toBe(100); // not sorted in place
  });

  test("no samples is an error, not NaN", () => {
    expect(() => latencyStats([])).toThrow("no samples");
  });

  test("formatting", () => {
    expect(formatDuration(850)).toBe("850 ns");
    expect(formatDuration(12_345)).toBe("12.3 us");
    expect(formatDuration(1_200_000)).toBe("1.20 ms");
    expect(formatRate(12_345.6)).toBe("12,346");
    expect(formatRate(69.54)).toBe("69.5");
    expect(formatRate(999.6)).toBe("1,000");
    expect(formatRate(999.4)).toBe("999");
  });
});

/** A sandbox that records what the runner asks of it; nothing is mounted. */
function fakeSandbox(): Sandbox & { made: string[]; released: string[] } {
  const made: string[] = [];
  const released: string[] = [];
  return {
    made,
    released,
    namespace: { previous: "mnt:[1]", current: "mnt:[2]" },
    root: "/scratch",
    workloadDir(name) {
      made.push(`/scratch/${name}`);
      return `/scratch/${name}`;
    },
    releaseWorkloadDir(dir) {
      released.push(dir);
    },
    close() {},
    leftovers: () => [],
  };
}

function fakeWorkload(name: string, behaviour: { setupThrows?: boolean; opThrows?: boolean; unavailable?: string; steps?: string[] } = {}) {
  const calls = { setup: 0, op: 0, teardown: 0 };
  const workload: Workload = {
    name,
    group: "plain",
    summary: `fake workload ${name}`,
    unavailable: () => behaviour.unavailable,
    setup() {
      calls.setup++;
      if (behaviour.setupThrows) throw new Error("setup broke");
      return {
        ...(behaviour.steps === undefined ? {} : { steps: behaviour.steps }),
        op() {
          calls.op++;
          if (behaviour.opThrows) throw new Error("op broke");
        },
        teardown() {
          calls.teardown++;
        },
      };
    },
  };
  return { workload, calls };
}

/** A measure stand-in: calls op once, reports 10 samples of 1 ms. */
async function fakeMeasure(op: () => void): Promise<number[]> {
  op();
  return Array.from({ length: 10 }, () => 1e6);
}

describe("runner", () => {
  test("measures until the duration is reached, tears down and releases every directory", async () => {
    const a = fakeWorkload("a");
    const skipped = fakeWorkload("s", { unavailable: "no reason to run" });
    const sandbox = fakeSandbox();
    const results = await runBench({ workloads: [a.workload, skipped.workload], durationSec: 0.05, host, sandbox, measure: fakeMeasure });
    expect(results.map((r) => r.status)).toEqual(["ok", "skipped"]);
    const ok = results[0] as Extract<WorkloadResult, { status: "ok" }>;
    expect(ok.stats.ops).toBe(50); // 5 slices of 10 ms measured
    expect(ok.stats.opsPerSec).toBeCloseTo(1000);
    expect(a.calls).toEqual({ setup: 1, op: 5, teardown: 1 });
    expect(skipped.calls.setup).toBe(0);
    expect(sandbox.made).toEqual(["/scratch/a"]);
    expect(sandbox.released).toEqual(["/scratch/a"]);
    expect((results[1] as Extract<WorkloadResult, { status: "skipped" }>).reason).toBe("no reason to run");
  });

  test("measures at JavaScriptCore's normal JIT policy, whatever the binary started with", async () => {
    const a = fakeWorkload("a");
    const policies: number[] = [];
    const original = Bun.unsafe.setJITPolicy;
    Bun.unsafe.setJITPolicy = (scale: number) => void policies.push(scale);
    try {
      const measure = (op: () => void) => {
        policies.push(-1); // when the first operation is measured
        return fakeMeasure(op);
      };
      await runBench({ workloads: [a.workload], durationSec: 0.01, host, sandbox: fakeSandbox(), measure });
    } finally {
      Bun.unsafe.setJITPolicy = original;
    }
    expect(policies[0]).toBe(1);
    expect(policies).toContain(-1);
  });

  test("a failing setup or operation is reported, and its directory is still released", async () => {
    const bad = fakeWorkload("bad", { setupThrows: true });
    const broken = fakeWorkload("broken", { opThrows: true });
    const good = fakeWorkload("good");
    const sandbox = fakeSandbox();
    const results = await runBench({
      workloads: [bad.workload, broken.workload, good.workload],
      durationSec: 0.01,
      host,
      sandbox,
      measure: fakeMeasure,
    });
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "ok"]);
    expect((results[0] as Extract<WorkloadResult, { status: "failed" }>).error).toBe("setup broke");
    expect((results[1] as Extract<WorkloadResult, { status: "failed" }>).error).toBe("op broke");
    expect(broken.calls.teardown).toBe(1);
    expect(sandbox.released).toEqual(["/scratch/bad", "/scratch/broken", "/scratch/good"]);
  });

  test("a probe of whether a workload can run that throws fails that workload, not the run", async () => {
    // The idmap probe leaves errors it does not know to the workload: before, they escaped
    // runBench, and the whole run ended with one error line and no report of what was measured.
    const measured = fakeWorkload("measured");
    const probed: Workload = {
      ...fakeWorkload("probed").workload,
      unavailable: () => {
        throw new Error("probe broke");
      },
    };
    const after = fakeWorkload("after");
    const sandbox = fakeSandbox();
    const results = await runBench({ workloads: [measured.workload, probed, after.workload], durationSec: 0.01, host, sandbox, measure: fakeMeasure });
    expect(results.map((r) => r.status)).toEqual(["ok", "failed", "ok"]);
    expect((results[1] as Extract<WorkloadResult, { status: "failed" }>).error).toBe("probe broke");
    expect(sandbox.made).toEqual(["/scratch/measured", "/scratch/after"]);
  });

  test("the steps a workload's mount plans reach its result, measured or failed", async () => {
    const results = await runBench({
      workloads: [fakeWorkload("planned", { steps: ["userns", "open_tree"] }).workload, fakeWorkload("broken", { steps: ["mount"], opThrows: true }).workload, fakeWorkload("bare").workload],
      durationSec: 0.01,
      host,
      sandbox: fakeSandbox(),
      measure: fakeMeasure,
    });
    expect(results.map((r) => [r.status, "steps" in r ? r.steps : undefined])).toEqual([
      ["ok", ["userns", "open_tree"]],
      ["failed", ["mount"]],
      ["ok", undefined],
    ]);
  });

  test("a stop request ends the current workload after its slice and skips the rest", async () => {
    const first = fakeWorkload("first");
    const second = fakeWorkload("second");
    let slices = 0;
    const sandbox = fakeSandbox();
    const results = await runBench({
      workloads: [first.workload, second.workload],
      durationSec: 10,
      host,
      sandbox,
      measure: async (op) => {
        slices++;
        return fakeMeasure(op);
      },
      stopRequested: () => slices >= 2,
    });
    expect(results.map((r) => r.status)).toEqual(["ok", "interrupted"]);
    expect(first.calls.teardown).toBe(1);
    expect(second.calls.setup).toBe(0);
    expect(sandbox.released).toEqual(["/scratch/first"]);
  });

  test("a stop signal that came while a workload failed synchronously stops the run before the next one", async () => {
    // Ctrl-C reaches a workload's helper too (mkfs.ext4, mount.fuse3): it dies, setup fails, and
    // the signal's handler runs only once the event loop turns, which a failing setup never let it do.
    let received = false;
    const onSignal = () => void (received = true);
    process.on("SIGUSR2", onSignal);
    try {
      const interruptedSetup: Workload = {
        ...fakeWorkload("killed").workload,
        setup() {
          process.kill(process.pid, "SIGUSR2");
          throw new Error("helper killed by SIGINT");
        },
      };
      const next = fakeWorkload("next");
      const results = await runBench({
        workloads: [interruptedSetup, next.workload],
        durationSec: 0.01,
        host,
        sandbox: fakeSandbox(),
        measure: fakeMeasure,
        stopRequested: () => received,
      });
      expect(results.map((r) => r.status)).toEqual(["failed", "interrupted"]);
      expect(next.calls.setup).toBe(0);
    } finally {
      process.off("SIGUSR2", onSignal);
    }
  });

  test("progress is reported per slice with ops/s", async () => {
    const seen: string[] = [];
    await runBench({
      workloads: [fakeWorkload("p").workload],
      durationSec: 0.02,
      host,
      sandbox: fakeSandbox(),
      measure: fakeMeasure,
      onProgress: (p) => seen.push(`${p.phase}:${p.measuredSec.toFixed(2)}:${p.opsPerSec === undefined ? "-" : Math.round(p.opsPerSec)}`),
    });
    expect(seen).toEqual(["setup:0.00:-", "measure:0.01:1000", "measure:0.02:1000", "teardown:0.02:1000"]);
  });
});

describe("report", () => {
  const results: WorkloadResult[] = [
    {
      name: "tmpfs",
      group: "plain",
      summary: "",
      status: "ok",
      steps: ["mount"],
      stats: { ops: 3, opsPerSec: 14285.71, meanNs: 70000, p50Ns: 69000.04, p99Ns: 90000, minNs: 60000, maxNs: 90000 },
    },
    { name: "overlay-1-fd", group: "overlay", summary: "", status: "skipped", reason: NOT_HERE },
    { name: "x", group: "plain", summary: "", status: "failed", steps: ["mount", "loop-mount"], error: "mount(2): EPERM" },
    {
      name: "mountinfo-lookup-10",
      group: "mountinfo",
      summary: "",
      status: "ok",
      stats: { ops: 1, opsPerSec: 1000, meanNs: 1e6, p50Ns: 1e6, p99Ns: 1e6, minNs: 1e6, maxNs: 1e6 },
    },
  ];

  test("JSON: latencies in ns under latencyNs, the planned steps of a mount, reasons for the rest", () => {
    expect(results.map(resultJson)).toEqual([
      {
        name: "tmpfs",
        group: "plain",
        status: "ok",
        steps: ["mount"],
        ops: 3,
        opsPerSec: 14285.7,
        latencyNs: { mean: 70000, p50: 69000, p99: 90000, min: 60000, max: 90000 },
      },
      { name: "overlay-1-fd", group: "overlay", status: "skipped", reason: NOT_HERE },
      { name: "x", group: "plain", status: "failed", steps: ["mount", "loop-mount"], error: "mount(2): EPERM" },
      {
        name: "mountinfo-lookup-10",
        group: "mountinfo",
        status: "ok",
        ops: 1,
        opsPerSec: 1000,
        latencyNs: { mean: 1e6, p50: 1e6, p99: 1e6, min: 1e6, max: 1e6 },
      },
    ]);
  });

  test("table: a failure whose message holds a helper's lines is still one line of it", () => {
    // mount.fuse3's or mkfs.ext4's output ends the error: its newlines broke the table's row
    const failed: WorkloadResult = { name: "fuse-overlayfs", group: "fuse", summary: "", status: "failed", error: "mount.fuse3 exited 1: fuse: bad\nfuse: worse" };
    expect(resultTable([failed]).split("\n")).toEqual([
      "workload        ops/s  p50  p99  ops",
      "fuse-overlayfs  failed: mount.fuse3 exited 1: fuse: bad\\nfuse: worse",
      "",
    ]);
  });

  test("table: one aligned line per workload, then the steps each mount planned", () => {
    const lines = resultTable(results).trimEnd().split("\n");
    expect(lines).toEqual([
      "workload              ops/s      p50      p99  ops",
      "tmpfs                14,286  69.0 us  90.0 us    3",
      "overlay-1-fd         skipped: not available here",
      "x                    failed: mount(2): EPERM",
      "mountinfo-lookup-10   1,000  1.00 ms  1.00 ms    1",
      "",
      "steps the library's mount planned (the path measured):",
      "  tmpfs: mount",
      "  x: mount, loop-mount",
    ]);
  });
});
