// `mountkit bench` in the compiled binary: the JSON shape (never speed), isolation from this
// namespace, skips, bad input, and a clean stop on SIGINT/SIGTERM. Needs dist/mountkit (npm test
// builds it). Root, private namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseIgnoredSignals } from "../../src/sys/ignored-signals.ts";
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

function bench(args: string[], env: Record<string, string> = { PATH: "" }) {
  const run = Bun.spawnSync([binary, "bench", ...args], { env, cwd: copyDir, stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString(), pid: run.pid };
}

const benchMounts = () => mountTable().filter((m) => m.source.startsWith("mountkit-bench"));

/** Loop devices whose backing file carries a run's marker (its image's name), from sysfs. */
function loopDevicesMarked(marker: string): string[] {
  return readdirSync("/sys/block").filter((name) => {
    try {
      return name.startsWith("loop") && readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").includes(marker);
    } catch {
      return false; // not bound
    }
  });
}

/** Live processes that run the copied binary or carry a run's marker in their argv. */
function processesOf(marker: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (argv.includes(marker) || argv.split("\0")[0] === binary) found.push(`${name}: ${argv.replaceAll("\0", " ")}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * What a finished run may not have left: mounts in its own namespace (its report's leftovers,
 * read there right before it exited: its mounts never reach this namespace) or here, loop
 * devices bound to its images, processes (FUSE daemons, namespace holders), anything in the
 * temp dirs it was pointed at.
 */
function expectNothingLeft(pid: number, report: { leftovers: unknown }, tempDirs: readonly string[] = []): void {
  const marker = `mountkit-bench-${pid}`;
  expect(report.leftovers).toEqual([]);
  expect(benchMounts()).toEqual([]);
  expect(loopDevicesMarked(marker)).toEqual([]);
  expect(processesOf(marker)).toEqual([]);
  for (const dir of tempDirs) expect(readdirSync(dir)).toEqual([]);
}

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
    expect(w).toMatchObject({ name: "tmpfs", group: "plain", status: "ok", steps: ["mount"] });
    expect(Object.keys(w.latencyNs).sort()).toEqual(["max", "mean", "min", "p50", "p99"]);
    for (const v of Object.values(w.latencyNs)) expect(typeof v).toBe("number");
    expect(w.ops).toBeGreaterThan(0);
    expect(w.opsPerSec).toBeGreaterThan(0);
    expect(w.latencyNs.min).toBeLessThanOrEqual(w.latencyNs.p50);
    expect(w.latencyNs.p50).toBeLessThanOrEqual(w.latencyNs.p99);
    expect(w.latencyNs.p99).toBeLessThanOrEqual(w.latencyNs.max);
    // Nothing was left in its namespace, nothing reached this one, and /tmp here was never covered.
    expect(report.leftovers).toEqual([]);
    expect(mountTable().length).toBe(before);
    expect(benchMounts()).toEqual([]);
    expect(existsSync(copyDir)).toBe(true);
  });

  test("workloads of every group run briefly from the binary with an empty PATH and leave nothing behind", () => {
    // Temp dirs the bench must not use (its temp mounts live on its own scratch tmpfs), on a
    // filesystem its namespace does not cover.
    const temp = mkdtempSync("/var/tmp/mountkit-bench-test-");
    // a umask that leaves directories group-writable: the bench's temp location is its own 0700
    const umask = process.umask(0o002);
    try {
      const names = [
        "bind",
        "bind+ro",
        "overlay-1-fd",
        "overlay-100-legacy",
        "loop-ext4",
        "userns-create",
        "idmap-bind",
        "idmap-overlay-10-fd",
        "idmap-overlay-10-legacy",
        "mountinfo-lookup-10",
        "mount-id-statx-5000",
        "apply-100",
        "fuse-overlayfs",
      ];
      const run = bench([...names.flatMap((n) => ["-w", n]), "--duration", "0.05", "--json"], {
        PATH: "",
        MOUNTKIT_TMPDIR: temp,
        XDG_RUNTIME_DIR: temp,
      });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.ok).toBe(true);
      const byName = Object.fromEntries(report.workloads.map((w: { name: string }) => [w.name, w]));
      expect(Object.keys(byName)).toEqual(names); // registry order
      for (const name of names) {
        expect(byName[name]).toMatchObject({ name, status: "ok", ops: expect.any(Number), opsPerSec: expect.any(Number) });
        expect(Object.keys(byName[name].latencyNs).sort()).toEqual(["max", "mean", "min", "p50", "p99"]);
      }
      expect(byName["loop-ext4"].group).toBe("loop");
      expect(byName["idmap-overlay-10-fd"].group).toBe("idmap");
      // the path each mount measured, as the library planned it; workloads that do not mount have none
      expect(byName["bind+ro"].steps).toEqual(["mount"]);
      expect(byName["overlay-1-fd"].steps).toEqual(["fs-context"]);
      expect(byName["overlay-100-legacy"].steps).toEqual(["mount-in-dir"]);
      expect(byName["loop-ext4"].steps).toEqual(["loop-mount"]);
      expect(byName["idmap-bind"].steps).toEqual(["userns", "open_tree", "mount_setattr", "move_mount", "close"]);
      expect(byName["idmap-overlay-10-fd"].steps).toEqual(["userns", "idmap_shared_tree", "open_layer", "fs-context"]);
      expect(byName["fuse-overlayfs"].steps).toEqual(["helper"]);
      for (const name of ["userns-create", "mountinfo-lookup-10", "mount-id-statx-5000", "apply-100"]) expect(byName[name].steps).toBeUndefined();
      // PATH is empty here: the library gives mount.fuse3 the helper dirs to find the daemon in.
      expect(byName["fuse-overlayfs"].group).toBe("fuse");
      expectNothingLeft(run.pid, report, [temp]);
    } finally {
      process.umask(umask);
      rmSync(temp, { recursive: true, force: true });
    }
  });

  test("fuse-overlayfs runs whatever the caller's PATH; the daemons are gone afterwards", () => {
    const run = bench(["-w", "fuse-overlayfs", "--duration", "0.05", "--json"], { PATH: "/nonexistent" });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    const [w] = report.workloads;
    expect(w).toMatchObject({ name: "fuse-overlayfs", group: "fuse", status: "ok" });
    expect(w.ops).toBeGreaterThan(0);
    expectNothingLeft(run.pid, report);
  });

  test("--list names every workload, and whether it can run here", () => {
    const run = bench(["--list", "--json"]);
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout).workloads as { name: string; unavailable: string | null }[];
    expect(list.length).toBeGreaterThan(20);
    expect(list.find((w) => w.name === "loop-ext4")!.unavailable).toBeNull(); // mkfs.ext4 from /usr/sbin or /sbin
    expect(list.find((w) => w.name === "fuse-overlayfs")!.unavailable).toBeNull(); // helpers from the system dirs
    for (const w of list) expect(w.unavailable === null || typeof w.unavailable === "string").toBe(true);
  });

  test("the table on stdout without --json", () => {
    const { code, stdout } = bench(["-w", "tmpfs", "-w", "fuse-overlayfs", "--duration", "0.05"]);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^workload\s+ops\/s\s+p50\s+p99\s+ops$/);
    expect(lines[1]).toMatch(/^tmpfs\s+[\d,.]+\s+[\d.]+ [mun]?s\s+[\d.]+ [mun]?s\s+\d+$/);
    expect(lines[2]).toMatch(/^fuse-overlayfs\s+[\d,.]+\s+[\d.]+ [mun]?s\s+[\d.]+ [mun]?s\s+\d+$/);
    expect(lines.slice(3)).toEqual(["", "steps the library's mount planned (the path measured):", "  tmpfs: mount", "  fuse-overlayfs: helper"]);
  });
});

describe("in a user namespace that does not map the bench's ids (a rootless container)", () => {
  // unshare(1) maps root alone: the kernel makes a user namespace there, but refuses the id map
  // 0:100000:65536 (write(2): EPERM). Before, the probe's error ended the whole run (exit 32, no
  // report, the tmpfs measured first lost) and --list with it.
  const inUserns = (args: string[]) => {
    const run = Bun.spawnSync(["unshare", "--map-root-user", "--mount", "--propagation", "private", "--", binary, "bench", ...args], {
      env: { PATH: "/usr/bin:/bin" },
      cwd: copyDir,
      stdout: "pipe",
      stderr: "pipe",
    });
    return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString(), pid: run.pid };
  };
  const refusal = /^no user namespace mapping 0:100000:65536 can be made here \(write\(2\) of its id map: EPERM: /;

  test("the idmap workloads are skipped with the kernel's refusal; the others run", () => {
    const run = inUserns(["-w", "tmpfs", "-w", "idmap-bind", "--duration", "0.05", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.workloads.map((w: { name: string; status: string }) => [w.name, w.status])).toEqual([
      ["tmpfs", "ok"],
      ["idmap-bind", "skipped"],
    ]);
    expect(report.workloads[1].reason).toMatch(refusal);
    expect(report.leftovers).toEqual([]);
  });

  test("--list says so too", () => {
    const run = inUserns(["--list", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const list = JSON.parse(run.stdout).workloads as { name: string; group: string; unavailable: string | null }[];
    const idmap = list.filter((w) => w.group === "idmap");
    expect(idmap.length).toBeGreaterThan(0);
    for (const w of idmap) expect(w.unavailable).toMatch(refusal);
    expect(list.find((w) => w.name === "tmpfs")!.unavailable).toBeNull();
  });
});

describe("bad input", () => {
  test("an unknown workload: exit 1, one line naming it and the known ones", () => {
    const { code, stdout, stderr } = bench(["--workload", "nope"]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^mountkit: bench: unknown workload "nope" \(known: tmpfs, bind, .*\)\n$/);
  });

  test("a duration that is not a positive number of decimal seconds: exit 1", () => {
    // Number() took " 1", "0x10" (16 s) and "1e-9"
    for (const d of ["0", "-1", "abc", "", " 1", "0x10", "1e-9", "Infinity", "3601"]) {
      const { code, stderr } = bench(["--duration", d]);
      expect(code).toBe(1);
      expect(stderr).toBe(`mountkit: bench: --duration takes decimal seconds, more than 0 and at most 3600, got ${JSON.stringify(d)}\n`);
    }
    for (const d of ["0.5", ".5", "3600"]) expect(bench(["--duration", d, "--list"]).code).toBe(0);
  });
});

describe("interrupted", () => {
  for (const signal of ["SIGINT", "SIGTERM", "SIGQUIT"] as const) {
    test(`${signal} stops the run, prints what was measured, then ends mountkit by ${signal}`, async () => {
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
        await child.exited;
        // dead of the signal, as timeout(1): a shell's loop stops on Ctrl-C
        expect([child.exitCode, child.signalCode]).toEqual([null, signal]);
        const report = JSON.parse(await new Response(child.stdout).text());
        expect(report.ok).toBe(false);
        expect(report.interrupted).toBe(signal);
        expect(report.workloads.map((w: { status: string }) => w.status)).toEqual(["ok", "interrupted"]);
        expect(await new Response(child.stderr).text()).toContain(`stopped by ${signal}`);
        expect(report.leftovers).toEqual([]);
        expect(benchMounts()).toEqual([]);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    });
  }
});

describe("interrupted while a workload's helper fails", () => {
  // A terminal's Ctrl-C reaches the whole process group: this mkfs.ext4 passes SIGINT to its
  // parent, the bench, and dies of it. The failed setup never let the event loop turn, so the
  // signal went unseen: alone, the run exited 32 as if no one had asked it to stop; followed by
  // apply-100, that was set up and measured first.
  const cases = [
    { workloads: ["loop-ext4"], statuses: ["failed"] },
    { workloads: ["loop-ext4", "apply-100"], statuses: ["failed", "interrupted"] },
  ];
  for (const { workloads, statuses } of cases) {
    test(`${workloads.join(", ")}: Ctrl-C that kills mkfs.ext4 too ends the run there, by SIGINT, nothing left`, () => {
      const fakeBin = mkdtempSync("/var/tmp/mountkit-bench-test-bin-"); // not under the scratch that covers /tmp
      try {
        writeFileSync(join(fakeBin, "mkfs.ext4"), '#!/bin/sh\nkill -INT "$PPID"\nkill -INT "$$"\n', { mode: 0o755 });
        const run = Bun.spawnSync([binary, "bench", ...workloads.flatMap((w) => ["-w", w]), "--duration", "0.05", "--json"], {
          env: { PATH: `${fakeBin}:/usr/bin:/bin` },
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(run.signalCode).toBe("SIGINT"); // dead of it, as timeout(1): not exit 32
        const report = JSON.parse(run.stdout.toString());
        expect(report.interrupted).toBe("SIGINT");
        expect(report.workloads.map((w: { status: string }) => w.status)).toEqual(statuses);
        expect(report.workloads[0].error).toContain("killed by SIGINT");
        expect(run.stderr.toString()).toContain("mountkit: bench: stopped by SIGINT; everything it mounted was removed\n");
        expectNothingLeft(run.pid, report);
      } finally {
        rmSync(fakeBin, { recursive: true, force: true });
      }
    });
  }
});

describe("a signal the caller ignores", () => {
  test("nohup's SIGHUP stays ignored: the run goes on; a SIGINT then ends it by SIGINT, nothing left", async () => {
    // sh passes its ignored SIGHUP on to what it execs, as nohup(1) does
    const child = Bun.spawn(["sh", "-c", 'trap "" HUP; exec "$0" bench --workload tmpfs --workload bind --duration 600 --json', binary], {
      env: { PATH: "/usr/bin:/bin" },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const measuring = () => readFileSync(`/proc/${child.pid}/mountinfo`, "utf8").includes(" mountkit-bench-tmpfs ");
      while (!measuring()) {
        if (child.exitCode !== null) throw new Error(`bench exited early: ${await new Response(child.stderr).text()}`);
        await Bun.sleep(20);
      }
      // no handler of its own replaced the caller's ignore
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      expect(parseIgnoredSignals(status)).toContain(1);
      child.kill("SIGHUP");
      // more than two of the runner's 250 ms slices: a stop would have been seen by now
      await Bun.sleep(600);
      expect([child.exitCode, child.signalCode]).toEqual([null, null]);
      expect(measuring()).toBe(true);
      child.kill("SIGINT");
      await child.exited;
      expect([child.exitCode, child.signalCode]).toEqual([null, "SIGINT"]);
      const report = JSON.parse(await new Response(child.stdout).text());
      expect(report.interrupted).toBe("SIGINT");
      expect(report.workloads.map((w: { status: string }) => w.status)).toEqual(["ok", "interrupted"]);
      expect(await new Response(child.stderr).text()).toBe("mountkit: bench: stopped by SIGINT; everything it mounted was removed\n");
      expectNothingLeft(child.pid, report);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });
});

describe("interrupted while holding what a detach does not release", () => {
  // Stopped while measuring: the teardown still detaches the loop devices and waits for the FUSE
  // daemons. "Measuring" is seen from outside: a loop device bound to the run's image, a daemon
  // carrying the run's marker.
  const cases = [
    { workload: "loop-ext4", measuring: (marker: string) => loopDevicesMarked(marker).length > 0 },
    { workload: "fuse-overlayfs", measuring: (marker: string) => processesOf(marker).some((p) => p.includes(": fuse-overlayfs ")) },
  ];
  for (const { workload, measuring } of cases) {
    test(`${workload}: SIGINT ends it by SIGINT, nothing left`, async () => {
      const child = Bun.spawn([binary, "bench", "--workload", workload, "--duration", "600", "--json"], {
        env: { PATH: "/usr/bin:/bin" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const marker = `mountkit-bench-${child.pid}`;
      try {
        while (!measuring(marker)) {
          if (child.exitCode !== null) throw new Error(`bench exited early: ${await new Response(child.stderr).text()}`);
          await Bun.sleep(5);
        }
        child.kill("SIGINT");
        await child.exited;
        expect([child.exitCode, child.signalCode]).toEqual([null, "SIGINT"]);
        const report = JSON.parse(await new Response(child.stdout).text());
        expect(report.interrupted).toBe("SIGINT");
        expect(report.workloads).toHaveLength(1);
        expectNothingLeft(child.pid, report);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    });
  }
});
