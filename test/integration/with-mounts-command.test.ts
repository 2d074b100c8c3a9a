// mountkit with-mounts FILE -- COMMAND, given what a caller may throw at it: statuses and signals
// of the command (mountkit dies of the signal its command died of, as timeout(1) does), a command
// that cannot run, signals to mountkit while it mounts, a caller's
// ignored signals, a command that leaves a mount busy or stacks one on a target. Every run
// leaves no mount and no temp dir. Root, private mount namespace; the built binary.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseIgnoredSignals } from "../../src/sys/ignored-signals.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { commandTraced } from "../support/umount-traced.ts";
import { callsOf, signalledAt } from "../support/signal-at-call.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountRecursive(s.dir); // anything a failed test left: the scratch dir is no mount point
  s.dispose();
});

/** A scratch dir with a temp location of its own and a list mounting one tmpfs at /t. */
function setUp(label: string) {
  s = scratch(label);
  const location = s.path("tmp");
  mkdirSync(location, { mode: 0o700 }); // 0700 whatever the umask: mountkit refuses a location its group or others may write to
  const list = s.path("list.json");
  writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "wm-t", target: "/t", options: ["size=1m"] }]));
  const env = { ...process.env, MOUNTKIT_STRATEGY: "", MOUNTKIT_TMPDIR: location };
  const withMounts = (command: string[], options: { stdin?: string; flags?: string[] } = {}) =>
    runCli(["with-mounts", ...(options.flags ?? []), list, "--", ...command], { env, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });
  /** with-mounts run where runCli would refuse its death by a signal: how it ended, and its stderr. */
  const withMountsEnd = (command: string[], options: { list?: string; flags?: string[] } = {}): { exitCode: number | null; signalCode: string | number | null; stderr: string } => {
    const r = Bun.spawnSync([BINARY, "with-mounts", ...(options.flags ?? []), options.list ?? list, "--", ...command], { env, stdin: "ignore", cwd: s.dir });
    return { exitCode: r.exitCode, signalCode: r.signalCode ?? null, stderr: r.stderr.toString() };
  };
  /** Nothing of ours is mounted, and the temp location is empty again. */
  const expectNothingLeft = () => {
    expect(mountsUnder(s.dir)).toEqual([]);
    expect(readdirSync(location)).toEqual([]);
  };
  return { location, list, env, withMounts, withMountsEnd, expectNothingLeft };
}

/** Wait (at most 5 s) for a file that the command creates once it runs. */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 500 && !existsSync(path); i++) await Bun.sleep(10);
  expect(existsSync(path)).toBe(true);
}


/** A dir holding a fake mount.fuse3 running script, and a list of a tmpfs then a FUSE entry that runs it. */
function signallingHelperList(script: string): { helpers: string; list: string } {
  const helpers = s.path("helpers");
  mkdirSync(helpers);
  writeFileSync(join(helpers, "mount.fuse3"), `#!/bin/sh\n${script}\n`);
  chmodSync(join(helpers, "mount.fuse3"), 0o755);
  const list = s.path("two.json");
  writeFileSync(
    list,
    JSON.stringify([
      { type: "tmpfs", source: "wm-first", target: "/a", options: [] },
      { type: "fuse3.fake", source: "fake", target: "/b", options: [] },
    ]),
  );
  return { helpers, list };
}
/** What with-mounts says when a stop signal came before its command started. */
const NOT_STARTED = "mountkit: with-mounts: stopped by SIGTERM: COMMAND was not started; everything mounted was removed\n";

/** A list of three tmpfs entries, wm-1 on /d1 to wm-3 on /d3. */
function threeTmpfs(): string {
  const list = s.path("three.json");
  writeFileSync(list, JSON.stringify([1, 2, 3].map((n) => ({ type: "tmpfs", source: `wm-${n}`, target: `/d${n}`, options: ["size=1m"] }))));
  return list;
}

describe("the command's status", () => {
  test("0, 1, 42 and 255 pass through; stdin, cwd and environment reach it", () => {
    const { withMounts, expectNothingLeft } = setUp("wm-status");
    for (const status of [0, 1, 42, 255]) expect(withMounts(["sh", "-c", `exit ${status}`])).toMatchObject({ code: status, stderr: "" });
    const r = withMounts(["sh", "-c", 'cat; pwd; echo "$MOUNTKIT_ROOT $MARK"; ls "$MOUNTKIT_ROOT"'], { stdin: "piped\n" });
    expect(r.code).toBe(0);
    const [piped, cwd, env, listing] = r.stdout.split("\n");
    expect(piped).toBe("piped");
    expect(cwd).toBe(process.cwd());
    expect(env).toMatch(/^\/.*\/mountkit-mount-\d+-\w+ $/);
    expect(listing).toBe("t");
    expectNothingLeft();
  });

  test("not found: 127; found but not runnable (no x bit, a directory): 126, as env(1) and the shell; one line naming posix_spawn(3)", () => {
    const { withMounts, expectNothingLeft } = setUp("wm-cannot-run");
    const notFound = withMounts(["no-such-command-here"]);
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toBe("mountkit: with-mounts: run no-such-command-here: posix_spawn(3): ENOENT (No such file or directory) (no such command in PATH)\n");
    expect(withMounts([s.path("nowhere", "cmd")])).toMatchObject({ code: 127, stderr: `mountkit: with-mounts: run ${s.path("nowhere", "cmd")}: posix_spawn(3): ENOENT (No such file or directory)\n` });
    const plain = s.path("plain-file");
    writeFileSync(plain, "data\n");
    expect(withMounts([plain])).toMatchObject({ code: 126, stderr: `mountkit: with-mounts: run ${plain}: posix_spawn(3): EACCES (Permission denied)\n` });
    expect(withMounts([s.dir]).code).toBe(126);
    expect(withMounts([""])).toMatchObject({ code: 127, stderr: 'mountkit: with-mounts: run "": posix_spawn(3): ENOENT (No such file or directory) (no such command in PATH)\n' });
    expectNothingLeft();
  });

  test("a script without #! runs with /bin/sh, as execvp(3) (env, timeout, the shells) runs it", () => {
    const { withMounts, expectNothingLeft } = setUp("wm-noshebang");
    const script = s.path("script");
    writeFileSync(script, 'echo "as sh: $1 $(ls "$MOUNTKIT_ROOT")"\nexit 3\n');
    chmodSync(script, 0o755);
    expect(withMounts([script, "arg"])).toMatchObject({ code: 3, stdout: "as sh: arg t\n", stderr: "" });
    expectNothingLeft();
  });
});

describe("a command killed by a signal: mountkit cleans up, then dies of that signal (timeout(1), unshare --fork)", () => {
  test("SIGINT, SIGTERM, SIGHUP, SIGKILL, SIGUSR1 and a real-time signal: the caller's wait status is the same death", () => {
    const { withMountsEnd, expectNothingLeft } = setUp("wm-killed");
    for (const signal of ["INT", "TERM", "HUP", "KILL", "USR1", "RTMIN"]) {
      expect(withMountsEnd(["sh", "-c", `kill -${signal} $$`])).toEqual({ exitCode: null, signalCode: signal === "RTMIN" ? 34 : `SIG${signal}`, stderr: "" });
      expectNothingLeft();
    }
  });

  test("SIGSEGV and SIGQUIT: the same death, without a core even where cores are allowed (bash says no '(core dumped)')", () => {
    const { list, env, expectNothingLeft } = setUp("wm-core");
    // mountkit may dump core here (cwd: the scratch dir), the command may not
    const script = `ulimit -c unlimited; for sig in SEGV QUIT; do "$@" sh -c "ulimit -c 0; kill -$sig \\$\\$"; echo "status $?"; done`;
    const r = Bun.spawnSync(["bash", "-c", script, "bash", BINARY, "with-mounts", list, "--"], { env, cwd: s.dir, stdin: "ignore" });
    expect(r.stdout.toString()).toBe("status 139\nstatus 131\n");
    const reports = r.stderr.toString();
    expect(reports).toMatch(/Segmentation fault/);
    expect(reports).toMatch(/Quit/);
    expect(reports).not.toMatch(/core dumped/);
    expect(readdirSync(s.dir).filter((f) => f.startsWith("core"))).toEqual([]);
    expectNothingLeft();
  });

  test("a shell sees 130 in $? and a bash loop stops on Ctrl-C (SIGINT to its process group), as it stops for timeout(1)", async () => {
    const { list, env, expectNothingLeft } = setUp("wm-loop");
    const ready = s.path("ready");
    const rounds = s.path("rounds");
    expect(Bun.spawnSync(["sh", "-c", '"$@"; echo "status $?"', "sh", BINARY, "with-mounts", list, "--", "sh", "-c", "kill -INT $$"], { env }).stdout.toString()).toBe("status 130\n");
    // setsid: bash leads a process group of its own, which the test signals as a terminal would
    const loop = `while :; do echo round >> ${rounds}; "$@"; done; echo "loop ended"`;
    const child = Bun.spawn(["setsid", "bash", "-c", loop, "bash", BINARY, "with-mounts", list, "--", "sh", "-c", `touch ${ready}; exec sleep 10`], { env, stdout: "pipe" });
    try {
      await waitForFile(ready);
      process.kill(-child.pid, "SIGINT");
      // a loop that goes on (mountkit exited 130) starts its next round meanwhile
      await Promise.race([child.exited, Bun.sleep(2000)]);
      expect(child.signalCode).toBe("SIGINT");
      expect(await new Response(child.stdout).text()).toBe("");
      expect(readFileSync(rounds, "utf8")).toBe("round\n");
      expectNothingLeft();
    } finally {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is gone: the loop ended
      }
      await child.exited;
    }
  });

  test("a signal glibc keeps for itself (32, 33) cannot be raised: exit 128+N instead", () => {
    const { withMountsEnd, expectNothingLeft } = setUp("wm-reserved");
    for (const n of [32, 33]) expect(withMountsEnd(["sh", "-c", `kill -${n} $$`])).toEqual({ exitCode: 128 + n, signalCode: null, stderr: "" });
    expectNothingLeft();
  });
});

describe("signals", () => {
  for (const [signal, number] of [["SIGINT", 2], ["SIGTERM", 15]] as const) {
    test(`${signal} to mountkit while the command runs: passed on, the command's status, then everything removed`, async () => {
      const { list, env, location, expectNothingLeft } = setUp(`wm-${signal}`);
      const ready = s.path("ready");
      const child = Bun.spawn([BINARY, "with-mounts", list, "--", "sh", "-c", `trap 'echo got $1; exit 9' ${signal.slice(3)}; touch ${ready}; while :; do sleep 0.02; done`, "sh", signal], {
        env,
        stdout: "pipe",
      });
      try {
        await waitForFile(ready);
        expect(mountsUnder(location).map((m) => m.source)).toEqual(["wm-t"]);
        child.kill(number);
        expect(await child.exited).toBe(9);
        expect(await new Response(child.stdout).text()).toBe(`got ${signal}\n`);
        expectNothingLeft();
      } finally {
        child.kill("SIGKILL");
        await child.exited;
      }
    });
  }

  test("SIGINT to mountkit, which the command does not catch: passed on, the command dies of it, and so does mountkit", async () => {
    const { list, env, location, expectNothingLeft } = setUp("wm-int-dies");
    const ready = s.path("ready");
    const child = Bun.spawn([BINARY, "with-mounts", list, "--", "sh", "-c", `touch ${ready}; exec sleep 10`], { env });
    try {
      await waitForFile(ready);
      expect(mountsUnder(location).map((m) => m.source)).toEqual(["wm-t"]);
      child.kill("SIGINT");
      await child.exited;
      expect(child.signalCode).toBe("SIGINT");
      expectNothingLeft();
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });

  test("SIGTERM while mounting: the command is not run, what was mounted is removed, then mountkit dies of SIGTERM", () => {
    const { location, withMountsEnd, expectNothingLeft } = setUp("wm-term-mounting");
    // The second entry's FUSE helper signals mountkit (its parent) while the first is mounted,
    // then mounts a tmpfs in the FUSE mount's place.
    const { helpers, list } = signallingHelperList(`kill -TERM $PPID\nexec ${BINARY} mount -i -t tmpfs wm-fuse "$2"`);
    const ran = s.path("ran");
    expect(withMountsEnd(["touch", ran], { list, flags: ["--helper-dir", helpers] })).toEqual({
      exitCode: null,
      signalCode: "SIGTERM",
      stderr: NOT_STARTED,
    });
    expect(existsSync(ran)).toBe(false);
    expect(mountsUnder(location)).toEqual([]);
    expectNothingLeft();
  });

  test("SIGTERM while mounting, and then a mount fails: the failure said, everything removed, and mountkit still dies of SIGTERM (exit 32 lost the signal)", () => {
    const { location, withMountsEnd, expectNothingLeft } = setUp("wm-term-failing");
    // The second entry's FUSE helper signals mountkit (its parent), then fails.
    const { helpers, list } = signallingHelperList("kill -TERM $PPID\necho 'fake: no server' >&2\nexit 1");
    const ran = s.path("ran");
    const end = withMountsEnd(["touch", ran], { list, flags: ["--helper-dir", helpers] });
    expect({ exitCode: end.exitCode, signalCode: end.signalCode }).toEqual({ exitCode: null, signalCode: "SIGTERM" });
    expect(end.stderr).toMatch(/^(fake: no server\n)?mountkit: temp mount \S+: entry 2: .*mount\.fuse3.*\n$/);
    expect(existsSync(ran)).toBe(false);
    expect(mountsUnder(location)).toEqual([]);
    expectNothingLeft();
  });

  // A signal raised at a chosen syscall (strace inject, test/support/signal-at-call.ts): before,
  // a stop signal while mounting was seen only once every entry was mounted (the hold's
  // handlers run when the event loop turns), so the rest of the list was mounted first.
  for (const [where, rooted] of [["a temp root", false], ["--root", true]] as const) {
    test(`${where}: SIGTERM at the second of three mounts: no more mounted, the two made unmounted newest first, the command not run, mountkit dies of it`, () => {
      const { env, expectNothingLeft } = setUp(`wm-stop-part-way-${rooted ? "root" : "temp"}`);
      const list = threeTmpfs();
      const root = s.path("root");
      for (const d of ["d1", "d2", "d3"]) mkdirSync(join(root, d), { recursive: true });
      const ran = s.path("ran");
      const argv = ["with-mounts", ...(rooted ? ["--root", root] : []), list, "--", "touch", ran];
      const run = signalledAt(s.path("trace"), argv, { syscall: "mount", when: 2, signal: "SIGTERM", traced: ["umount2"] }, env);
      expect({ signal: run.signalCode, exit: run.exitCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", exit: null, stderr: NOT_STARTED });
      // before: wm-3 was mounted too, then all three unmounted
      expect(run.calls.filter((c) => c.startsWith("mount(")).map((c) => c.slice("mount(".length).split(",")[0])).toEqual(['"wm-1"', '"wm-2"']);
      expect(run.calls.filter((c) => c.startsWith("umount2(") && c.endsWith(" = 0")).map((c) => c.split(",")[0]!.replace(/^umount2\(".*\//, ""))).toEqual(['d2"', 'd1"']);
      expect(existsSync(ran)).toBe(false);
      expectNothingLeft();
      expect(readdirSync(root).sort()).toEqual(["d1", "d2", "d3"]);
    });
  }

  test("SIGTERM after the mounting's last look at it, and as its watch is released: every entry was mounted, the command not run, everything removed, mountkit dies of it", () => {
    const { env, expectNothingLeft } = setUp("wm-stop-release");
    const list = threeTmpfs();
    const ran = s.path("ran");
    const argv = ["with-mounts", list, "--", "touch", ran];
    const calls = callsOf(s.path("trace-first"), argv, "rt_sigaction", env);
    rmSync(ran);
    // the watch's release: each action swapped back, the old one read by the same call
    const released = (signal: string) => calls.findIndex((c) => c.startsWith(`rt_sigaction(${signal}, {`) && !c.includes("}, NULL,"));
    const lastLook = calls.findLastIndex((c, i) => i < released("SIGHUP") && c.startsWith("rt_sigaction(SIGTERM, NULL,"));
    for (const [point, index] of [
      ["the last look", lastLook],
      ["SIGHUP's restore, SIGTERM still watched", released("SIGHUP")],
      ["SIGTERM's own restore (to the hold's handler)", released("SIGTERM")],
    ] as const) {
      expect({ point, index: index >= 0 }).toEqual({ point, index: true });
      const run = signalledAt(s.path("trace"), argv, { syscall: "rt_sigaction", when: index + 1, signal: "SIGTERM", traced: ["mount"] }, env);
      expect({ point, signal: run.signalCode, exit: run.exitCode, stderr: run.stderr }).toEqual({ point, signal: "SIGTERM", exit: null, stderr: NOT_STARTED });
      expect(run.calls.filter((c) => c.startsWith("mount(")).length).toBe(3);
      expect(existsSync(ran)).toBe(false);
      expectNothingLeft();
    }
  });

  test("SIGTERM while unmounting after the command: the unmounting is not cut short, the command's status stands", () => {
    const { env, expectNothingLeft } = setUp("wm-stop-unmounting");
    const list = threeTmpfs();
    const run = signalledAt(s.path("trace"), ["with-mounts", list, "--", "sh", "-c", "exit 3"], { syscall: "umount2", when: 1, signal: "SIGTERM" }, env);
    expect({ signal: run.signalCode, exit: run.exitCode, stderr: run.stderr }).toEqual({ signal: null, exit: 3, stderr: "" });
    expect(run.calls.filter((c) => c.startsWith("umount2(") && c.endsWith(" = 0")).length).toBe(3);
    expectNothingLeft();
  });

  test("signals the caller ignores (nohup's SIGHUP, a script's background SIGINT and SIGQUIT) stay ignored, in the command too", async () => {
    const { list, env, expectNothingLeft } = setUp("wm-ignored");
    const ready = s.path("ready");
    const report = s.path("sigign");
    // sh passes its ignored signals on to what it execs; the command reports its own mask,
    // then outlives a SIGINT sent to mountkit, which neither forwards it nor dies of it.
    const command = `grep SigIgn /proc/self/status > ${report}; touch ${ready}; sleep 0.3; exit 5`;
    // no terminal among mountkit's stdio (stderr would be bun test's own, a terminal when npm test
    // runs on one): there the Bun runtime replaces an inherited ignore of SIGINT and SIGTERM with
    // its own handler before mountkit starts, and the ignore cannot be seen (docs/apply.md)
    const child = Bun.spawn(["sh", "-c", `trap '' HUP INT QUIT; exec "$@"`, "sh", BINARY, "with-mounts", list, "--", "sh", "-c", command], { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    try {
      await waitForFile(ready);
      const ignored = parseIgnoredSignals(readFileSync(report, "utf8"));
      for (const n of [1, 2, 3]) expect(ignored).toContain(n);
      expect(ignored).not.toContain(15);
      child.kill("SIGINT");
      expect(await child.exited).toBe(5);
      expectNothingLeft();
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });
});

describe("what the command leaves", () => {
  test("a process still in a mount: it is detached lazily, with a warning; no mount or temp dir is left", () => {
    const { withMounts, expectNothingLeft } = setUp("wm-busy");
    const pidFile = s.path("bg.pid");
    const r = withMounts(["sh", "-c", `cd "$MOUNTKIT_ROOT/t" && { sleep 5 >/dev/null 2>&1 & echo $! > ${pidFile}; }`]);
    try {
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^mountkit: with-mounts: \/.*\/mountkit-mount-\d+-\w+\/t: could not be unmounted \(umount2\(2\): EBUSY\), detached lazily: it is freed once nothing uses it\n$/);
      expectNothingLeft();
    } finally {
      process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    }
  });

  test("--root: what the command stacked is looked for in one read of the mount table for all the targets, not one per target", () => {
    const { env } = setUp("wm-root-reads");
    const root = s.path("root");
    const many = Array.from({ length: 30 }, (_, i) => ({ type: "tmpfs", source: `wm-${i}`, target: `/t${i}`, options: ["size=64k"] }));
    const list = s.path("many.json");
    writeFileSync(list, JSON.stringify(many));
    for (const m of many) mkdirSync(join(root, m.target), { recursive: true });
    const traced = commandTraced(s.path("trace"), ["with-mounts", "--root", root, list, "--", "true"], env);
    expect([traced.code, traced.stderr]).toEqual([0, ""]);
    // one read right after mounting (what is ours at each target), one before unmounting
    expect(traced.tableReads).toBe(2);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("--root: a mount the command stacked on a target comes off with ours; one that was there before stays", () => {
    const { list, env, withMounts } = setUp("wm-root-stack");
    const root = s.path("root");
    mkdirSync(join(root, "t"), { recursive: true });
    expect(runCli(["mount", "-t", "tmpfs", "wm-before", join(root, "t")]).code).toBe(0);
    const stack = 'mount -t tmpfs wm-stacked "$MOUNTKIT_ROOT/t" && mount -t tmpfs wm-stacked2 "$MOUNTKIT_ROOT/t"';
    const r = runCli(["with-mounts", "--root", root, list, "--", "sh", "-c", stack], { env });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["wm-before"]);
    // a fresh root: the target it created is removed too
    const fresh = s.path("fresh");
    mkdirSync(fresh);
    expect(withMounts(["sh", "-c", stack], { flags: ["--root", fresh, "--mkdir"] })).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(fresh)).toEqual([]);
    expect(readdirSync(fresh)).toEqual([]);
  });
});

describe("nofail entries", () => {
  test("a nofail entry that fails is a warning naming it, in a temp root and with --root alike; the command runs on the others", () => {
    const { env, withMountsEnd, expectNothingLeft } = setUp("wm-nofail");
    const missing = s.path("no-such-source");
    const list = s.path("nofail.json");
    writeFileSync(
      list,
      JSON.stringify([
        { type: "tmpfs", source: "wm-nf", target: "/t", options: ["size=1m"] },
        { type: "bind", source: missing, target: "/b", options: ["bind", "nofail"] },
      ]),
    );
    const oci = s.path("config.json");
    writeFileSync(
      oci,
      JSON.stringify({
        mounts: [
          { destination: "/t", type: "tmpfs", source: "wm-nf", options: ["size=1m"] },
          { destination: "/b", type: "bind", source: missing, options: ["bind", "nofail"] },
        ],
      }),
    );
    const listing = 'ls "$MOUNTKIT_ROOT"; grep -c " $MOUNTKIT_ROOT/t " /proc/self/mountinfo';
    const root = s.path("root");
    mkdirSync(root);
    const runs: [string, string[], string][] = [
      ["a list, temp root", ["--", "sh", "-c", listing], "entry 2"],
      ["an OCI config, temp root", ["--", "sh", "-c", listing], "entry 2 (/b)"],
      ["a list, --root", ["--root", root, "--mkdir", "--", "sh", "-c", listing], "entry 2"],
    ];
    for (const [label, rest, where] of runs) {
      const file = label.startsWith("an OCI") ? oci : list;
      const [flags, command] = [rest.slice(0, rest.indexOf("--")), rest.slice(rest.indexOf("--") + 1)];
      const r = Bun.spawnSync([BINARY, "with-mounts", ...flags, file, "--", ...command], { env, stdin: "ignore" });
      expect({ label, code: r.exitCode, stdout: r.stdout.toString() }).toEqual({ label, code: 0, stdout: "t\n1\n" }); // the nofail target it created is gone again
      const stderr = r.stderr.toString();
      expect({ label, stderr }).toEqual({ label, stderr: expect.stringMatching(new RegExp(`^mountkit: warning: .*: ${where.replace(/[()/]/g, "\\$&")}: mount ${missing} on \\S+/b: mount\\(2\\): ENOENT \\(No such file or directory\\)`)) });
      expect(stderr.split("\n")).toHaveLength(2); // one line
    }
    expectNothingLeft();
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("bad input", () => {
  test("FILE that cannot be read: exit 1, named with the syscall and errno; no -- or no COMMAND: exit 1; nothing run", () => {
    const { list, withMounts, expectNothingLeft } = setUp("wm-input");
    const missing = runCli(["with-mounts", s.path("none.json"), "--", "true"]);
    expect(missing).toMatchObject({ code: 1, stderr: `mountkit: read ${s.path("none.json")}: open(2): ENOENT (No such file or directory)\n` });
    expect(runCli(["with-mounts", s.dir, "--", "true"])).toMatchObject({ code: 1, stderr: `mountkit: read ${s.dir}: read(2): EISDIR (Is a directory)\n` });
    expect(runCli(["apply", s.path("none.json")]).stderr).toBe(`mountkit: read ${s.path("none.json")}: open(2): ENOENT (No such file or directory)\n`);
    expect(runCli(["with-mounts", list]).code).toBe(1);
    expect(runCli(["with-mounts", list, "--"]).code).toBe(1);
    expect(runCli(["with-mounts", list, "true"]).code).toBe(1);
    expect(withMounts(["--", "true"]).code).toBe(127); // a second -- is the command's name
    expectNothingLeft();
  });

  test("FILE that is not JSON, a bad entry, neither a list nor an OCI config: exit 1, named by with-mounts (as apply names them apply); nothing run", () => {
    const { env, expectNothingLeft } = setUp("wm-bad-json");
    const marker = s.path("ran");
    const cases: [string, string, string][] = [
      ["garbage.json", "not json\n", 'invalid JSON at line 1, column 1: Unexpected identifier "not"'],
      ["entry.json", JSON.stringify([{ type: "tmpfs" }]), 'entry 1: missing "source" (nothing was mounted)'],
      ["object.json", JSON.stringify({ x: 1 }), 'expected a list of mounts [{"type","source","target","options"}] or an OCI config.json (an object with "mounts")'],
      ["oci.json", JSON.stringify({ mounts: {} }), '"mounts" must be a list'],
    ];
    for (const [name, text, said] of cases) {
      const file = s.path(name);
      writeFileSync(file, text);
      expect(runCli(["with-mounts", file, "--", "touch", marker], { env })).toMatchObject({ code: 1, stderr: `mountkit: with-mounts ${file}: ${said}\n` });
      expect(runCli(["with-mounts", "--root", s.dir, file, "--", "touch", marker], { env }).stderr).toBe(`mountkit: with-mounts ${file}: ${said}\n`);
      expect(runCli(["apply", file]).stderr).toBe(`mountkit: apply ${file}: ${said}\n`);
    }
    expect(existsSync(marker)).toBe(false);
    expectNothingLeft();
  });
});
