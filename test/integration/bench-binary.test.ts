// `mountkit bench` in the compiled binary: the JSON shape (never speed), isolation from this
// namespace, skips, bad input, and a clean stop on SIGINT/SIGTERM. Needs dist/mountkit (npm test
// builds it). Root, private namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountTable, requireRootNamespace } from "../support/root.ts";

const BUILT = join(import.meta.dir, "../../dist/mountkit");
let copyDir: string;
let binary: string;

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm test (it builds the binary first)`);
  // A copy in a directory of its own, run with an empty PATH: mitata and everything else must
  // be inside the binary.
  copyDir = mkdtempSync(join(tmpdir(), "mountkit-bench-bin-"));
  binary = join(copyDir, "mountkit");
  copyFileSync(BUILT, binary);
});
afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

function bench(args: string[]) {
  const run = Bun.spawnSync([binary, "bench", ...args], { env: { PATH: "" }, cwd: copyDir, stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

const benchMounts = () => mountTable().filter((m) => m.source.startsWith("mountkit-bench"));

describe("mountkit bench --json", () => {
  test("tmpfs for 0.2 s: the documented JSON shape, measured in another namespace", () => {
    const before = mountTable().length;
    const { code, stdout, stderr } = bench(["--workload", "tmpfs", "--duration", "0.2", "--json"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: true,
      version: expect.any(String),
      kernel: expect.any(String),
      durationSec: 0.2,
      interrupted: null,
      isolation: { method: expect.any(String), namespace: expect.stringMatching(/^mnt:\[\d+\]$/), scratch: "/tmp" },
    });
    expect(report.isolation.namespace).not.toBe(readlinkSync("/proc/thread-self/ns/mnt"));
    expect(report.workloads).toHaveLength(1);
    const [w] = report.workloads;
    expect(w).toMatchObject({ name: "tmpfs", group: "plain", status: "ok" });
    expect(Object.keys(w.latencyNs).sort()).toEqual(["max", "mean", "min", "p50", "p99"]);
    for (const v of Object.values(w.latencyNs)) expect(typeof v).toBe("number");
    expect(w.ops).toBeGreaterThan(0);
    expect(w.opsPerSec).toBeGreaterThan(0);
    expect(w.latencyNs.min).toBeLessThanOrEqual(w.latencyNs.p50);
    expect(w.latencyNs.p50).toBeLessThanOrEqual(w.latencyNs.p99);
    expect(w.latencyNs.p99).toBeLessThanOrEqual(w.latencyNs.max);
    // Nothing reached this namespace, and /tmp here was never covered.
    expect(mountTable().length).toBe(before);
    expect(benchMounts()).toEqual([]);
    expect(existsSync(copyDir)).toBe(true);
  });

  test("every built workload runs once briefly; unbuilt ones are skipped with the reason", () => {
    const { code, stdout, stderr } = bench([
      "-w", "bind", "-w", "bind+ro", "-w", "mountinfo-lookup-10", "-w", "mount-id-statx-5000", "-w", "overlay-1-fd", "-w", "apply-100",
      "--duration", "0.05", "--json",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const byName = Object.fromEntries(JSON.parse(stdout).workloads.map((w: { name: string }) => [w.name, w]));
    for (const name of ["bind", "bind+ro", "mountinfo-lookup-10", "mount-id-statx-5000"]) expect(byName[name].status).toBe("ok");
    expect(byName["overlay-1-fd"]).toEqual({ name: "overlay-1-fd", group: "overlay", status: "skipped", reason: "not built in this version" });
    expect(byName["apply-100"].status).toBe("skipped");
    expect(benchMounts()).toEqual([]);
  });

  test("the table on stdout without --json", () => {
    const { code, stdout } = bench(["-w", "tmpfs", "-w", "loop-ext4", "--duration", "0.05"]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^workload\s+ops\/s\s+p50\s+p99\s+ops$/);
    expect(lines[1]).toMatch(/^tmpfs\s+[\d,.]+\s+[\d.]+ [mun]?s\s+[\d.]+ [mun]?s\s+\d+$/);
    expect(lines[2]).toMatch(/^loop-ext4\s+skipped: not built in this version$/);
  });
});

describe("bad input", () => {
  test("an unknown workload: exit 1, one line naming it and the known ones", () => {
    const { code, stdout, stderr } = bench(["--workload", "nope"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^mountkit: bench: unknown workload "nope" \(known: tmpfs, bind, .*\)\n$/);
  });

  test("a duration that is not a positive number: exit 1", () => {
    for (const d of ["0", "-1", "abc", ""]) {
      const { code, stderr } = bench(["--duration", d]);
      expect(code).toBe(1);
      expect(stderr).toContain("--duration");
    }
  });
});

describe("interrupted", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    test(`${signal} stops the run, prints what was measured, exits ${code}`, async () => {
      const child = Bun.spawn([binary, "bench", "--workload", "tmpfs", "--workload", "bind", "--duration", "600", "--json"], {
        env: { PATH: "" },
        stdout: "pipe",
        stderr: "pipe",
      });
      try {
        // Wait until the workload's tmpfs exists in the child's namespace: it is measuring.
        while (!readFileSync(`/proc/${child.pid}/mountinfo`, "utf8").includes(" mountkit-bench-tmpfs ")) {
          await Bun.sleep(20);
        }
        child.kill(signal);
        expect(await child.exited).toBe(code);
        const report = JSON.parse(await new Response(child.stdout).text());
        expect(report.ok).toBe(false);
        expect(report.interrupted).toBe(signal);
        expect(report.workloads.map((w: { status: string }) => w.status)).toEqual(["ok", "interrupted"]);
        expect(await new Response(child.stderr).text()).toContain(`stopped by ${signal}`);
        expect(benchMounts()).toEqual([]);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    });
  }
});
