// A stop signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) that comes while a command mounts or
// unmounts in several syscalls: what is left. The signal is raised at a chosen syscall under
// strace (test/support/signal-at-call.ts), so it lands between two steps every run. A plan of
// several steps is undone and mountkit dies of the signal; apply undoes everything (all or
// nothing, --keep-going too); mount -a keeps the lines done and undoes the one half made; an
// unmount and its loop detach are made whole. Root, private mount namespace; the built binary.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { callNumber, callsOf, signalledAt, signalledAtFirst, STATX_OF_NO_TYPE } from "../support/signal-at-call.ts";
import { workspace } from "../support/workspace.ts";
import { mount, mountAll, mountFstab, RunStopped, unmountRecursive } from "../../src/index.ts";
import { caught } from "../support/caught.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
  if (Bun.spawnSync(["strace", "-V"]).exitCode !== 0) throw new Error("strace is needed to raise a signal at a chosen syscall");
});

const ws = workspace();

/** The mounts under dir, by mount point, in table order. */
const mountPoints = (dir: string) => mountsUnder(dir).map((m) => m.mountpoint);

/** Each scratch dir's mounts unmounted after its test, whatever it left. */
function fresh(label: string) {
  const s = ws.fresh(label);
  ws.cleanups.push(() => void unmountRecursive(s.dir));
  return s;
}

describe("one mount of several steps: the steps made are undone, then mountkit dies of the signal", () => {
  // before, the signal's default action ended mountkit after the bind: a read-write bind stayed,
  // where -o bind,ro was asked (and with the signal in the remount, the bind stayed whole)
  for (const [step, when] of [["the bind", 1], ["its read-only remount", 2]] as const) {
    test(`mount -o bind,ro, SIGTERM in ${step}`, () => {
      const s = fresh("stop-bind-ro");
      const source = ws.dir("src");
      const target = ws.dir("dst");
      const run = signalledAt(s.path("trace"), ["mount", "-o", "bind,ro", source, target], { syscall: "mount", when, signal: "SIGTERM", traced: ["umount2"] });
      expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "mountkit: mount: stopped by SIGTERM: what it had made was undone\n" });
      expect(run.calls.filter((c) => c.startsWith("mount(")).length).toBe(when);
      expect(run.calls.some((c) => c.startsWith(`umount2("${target}"`))).toBe(true);
      expect(mountPoints(s.dir)).toEqual([]);
    });
  }

  test("mount -o bind,ro, SIGTERM after the plan's last look at the watch, and as the watch is released: the mount stands, mountkit dies of it", () => {
    const s = fresh("stop-release");
    const [source, target] = [ws.dir("src"), ws.dir("dst")];
    const argv = ["mount", "-o", "bind,ro", source, target];
    const calls = callsOf(s.path("trace-first"), argv, "rt_sigaction");
    expect(runCli(["umount", target]).code).toBe(0);
    const RESTORE = (signal: string) => `rt_sigaction(${signal}, {sa_handler=SIG_DFL,`; // the caller's action back
    const restored = calls.findIndex((c) => c.startsWith(RESTORE("SIGHUP")));
    for (const [point, call, index] of [
      // the signal turns SIGTERM's action SIG_IGN once that look has read it: release() sees it
      ["the last look", "rt_sigaction(SIGTERM, NULL,", calls.findLastIndex((c, i) => i < restored && c.startsWith("rt_sigaction(SIGTERM, NULL,"))],
      // before, release() read the actions, then restored each: SIGTERM, come between the two,
      // had turned its action SIG_IGN, which SIGTERM's restore overwrote; mountkit exited 0
      ["SIGHUP's restore, SIGTERM still watched", RESTORE("SIGHUP"), restored],
      // taken once its restore returns: the caller's action, the default's death
      ["SIGTERM's own restore", RESTORE("SIGTERM"), calls.findIndex((c) => c.startsWith(RESTORE("SIGTERM")))],
    ] as const) {
      expect({ point, found: index >= 0 }).toEqual({ point, found: true });
      const run = signalledAt(s.path("trace"), argv, { syscall: "rt_sigaction", when: index + 1, signal: "SIGTERM" });
      expect({ point, signal: run.signalCode, exit: run.exitCode, stderr: run.stderr, at: run.calls[index]!.startsWith(call) }).toEqual({ point, signal: "SIGTERM", exit: null, stderr: "", at: true });
      expect(mountsUnder(s.dir).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([[target, "ro"]]);
      expect(runCli(["umount", target]).code).toBe(0);
    }
  });

  test("mount --json -o bind,ro with stdout on /dev/full, SIGTERM at the last look: the mount stands, the write error said, then mountkit dies of it", () => {
    const s = fresh("stop-output");
    const [source, target] = [ws.dir("src"), ws.dir("dst")];
    const argv = ["mount", "--json", "-o", "bind,ro", source, target];
    const calls = callsOf(s.path("trace-first"), argv, "rt_sigaction");
    expect(runCli(["umount", target]).code).toBe(0);
    const restored = calls.findIndex((c) => c.startsWith("rt_sigaction(SIGHUP, {sa_handler=SIG_DFL,"));
    const when = calls.findLastIndex((c, i) => i < restored && c.startsWith("rt_sigaction(SIGTERM, NULL,")) + 1;
    // the document is written after the watch's release, the signal pending: a write that fails
    // is kept and said at the end (cli/output.ts), never thrown past the signal
    const run = signalledAt(s.path("trace"), argv, { syscall: "rt_sigaction", when, signal: "SIGTERM" }, undefined, { stdout: "/dev/full" });
    expect({ signal: run.signalCode, exit: run.exitCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", exit: null, stderr: "mountkit: write error: ENOSPC (No space left on device)\n" });
    expect(mountsUnder(s.dir).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([[target, "ro"]]);
  });

  test("a tmpfs with X-mount.mkdir, SIGTERM in its mount(2), the last step: the mount undone and the directories made removed", () => {
    const s = fresh("stop-mkdir-mount");
    const target = s.path("new", "dir");
    // before, the mount was one step, neither asked after nor undone: mountkit died with the
    // tmpfs mounted on new/dir, which stayed, where bind,ro's last step is undone
    const run = signalledAt(s.path("trace"), ["mount", "-t", "tmpfs", "-o", "X-mount.mkdir", "stop-mkdir", target], { syscall: "mount", when: 1, signal: "SIGTERM" });
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "mountkit: mount: stopped by SIGTERM: what it had made was undone\n" });
    expect(run.calls.filter((c) => c.startsWith("mount("))).toEqual([expect.stringMatching(/^mount\("stop-mkdir", /)]);
    expect(mountPoints(s.dir)).toEqual([]);
    expect(existsSync(s.path("new"))).toBe(false);
  });

  test("an idmapped tmpfs with X-mount.mkdir, SIGTERM as its user namespace's process is cloned: no directory made, no process left", () => {
    const s = fresh("stop-idmap");
    const target = s.path("new", "dir");
    // before, mountkit died with the namespace's process cloned and not yet killed: it waited
    // in pause(2) for good, every signal but SIGKILL blocked; and new/dir stayed
    const run = signalledAt(s.path("trace"), ["mount", "-t", "tmpfs", "-o", "X-mount.idmap=0:1000:1,X-mount.mkdir", "stop-idmap", target], {
      syscall: "clone",
      when: 1,
      signal: "SIGTERM",
    });
    const left = processesNaming(target);
    for (const pid of left) process.kill(pid, "SIGKILL");
    expect({ signal: run.signalCode, stderr: run.stderr, left }).toEqual({ signal: "SIGTERM", stderr: "mountkit: mount: stopped by SIGTERM: what it had made was undone\n", left: [] });
    expect(existsSync(s.path("new"))).toBe(false);
    expect(mountPoints(s.dir)).toEqual([]);
  });

  test("an idmapped overlay on the legacy path, SIGTERM as its layers' temp mount is attached: no temp mount, no temp dir left", () => {
    const s = fresh("stop-idmap-overlay");
    const [l1, l2, upper, work, target] = [ws.dir("ov", "l1"), ws.dir("ov", "l2"), ws.dir("ov", "u"), ws.dir("ov", "w"), ws.dir("ov", "m")];
    const location = s.path("tmp");
    mkdirSync(location, { mode: 0o700 });
    const env = { ...process.env, MOUNTKIT_STRATEGY: "legacy", MOUNTKIT_TMPDIR: location };
    const options = `lowerdir=${l2}:${l1},upperdir=${upper},workdir=${work},uidmap=0:1000:65536,gidmap=0:1000:65536`;
    // before, mountkit died with the layers' idmapped clone mounted in LOCATION/mountkit-idmap-*/layers
    const run = signalledAt(s.path("trace"), ["mount", "-t", "overlay", "-o", options, "overlay", target], { syscall: "move_mount", when: 1, signal: "SIGTERM" }, env);
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "mountkit: mount: stopped by SIGTERM: what it had made was undone\n" });
    expect(run.calls[0]).toMatch(/\/layers", MOVE_MOUNT_F_EMPTY_PATH\) = 0$/);
    expect(mountPoints(s.dir)).toEqual([]);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a loop mount on the legacy path (LOOP_SET_FD, then the status that sets autoclear), SIGTERM at LOOP_SET_FD: no device left attached", async () => {
    const s = fresh("stop-loop");
    const image = ws.image();
    const target = ws.dir("m");
    const env = { ...process.env, MOUNTKIT_STRATEGY: "legacy" };
    const argv = ["mount", "-o", "loop", image, target];
    const undo = async () => {
      if (mountPoints(s.dir).length > 0) expect(runCli(["umount", target]).code).toBe(0);
      await expectFreed(image);
    };
    // before, mountkit died with the device attached and no status set: no autoclear, attached for good
    const run = await signalledAtFirst({ count: s.path("trace-first"), signalled: s.path("trace") }, argv, { syscall: "ioctl", match: /LOOP_SET_FD/, signal: "SIGTERM" }, undo, env);
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "mountkit: mount: stopped by SIGTERM: what it had made was undone\n" });
    expect(run.calls[run.when - 1]).toMatch(/LOOP_SET_FD/);
    expect(mountPoints(s.dir)).toEqual([]);
    await expectFreed(image);
  });

  test("the handlers are installed only for a plan of several steps: a one-step mount makes no sigaction call for them", () => {
    const s = fresh("stop-one-step");
    const [one, source, two] = [ws.dir("one"), ws.dir("src"), ws.dir("two")];
    /** the calls setting a handler of SIGHUP, SIGINT, SIGQUIT or SIGTERM, under strace */
    const handlersSet = (argv: string[]) => {
      const log = s.path("trace");
      const run = Bun.spawnSync(["strace", "-qq", "-o", log, "-e", "trace=rt_sigaction", BINARY, ...argv], { env: { ...process.env, MOUNTKIT_STRATEGY: "" }, stdin: "ignore" });
      expect(run.exitCode).toBe(0);
      return readFileSync(log, "utf8").split("\n").filter((c) => /^rt_sigaction\(SIG(HUP|INT|QUIT|TERM), \{sa_handler=0x/.test(c));
    };
    expect(handlersSet(["mount", "-t", "tmpfs", "stop-one", one])).toEqual([]);
    expect(handlersSet(["mount", "-o", "bind,ro", source, two]).length).toBe(4);
    expect(mountPoints(s.dir)).toEqual([one, two]);
  });
});

describe("loop attach: a device attached part-way is detached again, then mountkit dies of the signal", () => {
  // before, nothing was watched: mountkit died with the device attached for good (loop attach
  // sets no autoclear; on the legacy path, at LOOP_SET_FD, not even its status) and unnamed
  for (const [strategy, call] of [
    ["legacy", /LOOP_SET_FD/],
    ["legacy", /LOOP_SET_STATUS64/],
    ["fd", /LOOP_CONFIGURE/],
  ] as const) {
    test(`MOUNTKIT_STRATEGY=${strategy}, SIGTERM at ${call.source}: no device left attached`, async () => {
      const s = fresh("stop-loop-attach");
      const image = ws.image();
      const env = { ...process.env, MOUNTKIT_STRATEGY: strategy };
      const argv = ["loop", "attach", image];
      const undo = () => {
        detachLoopDevicesOf(image);
        return expectFreed(image);
      };
      const run = await signalledAtFirst({ count: s.path("trace-first"), signalled: s.path("trace") }, argv, { syscall: "ioctl", match: call, signal: "SIGTERM" }, undo, env);
      expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "mountkit: loop attach: stopped by SIGTERM: the device it had attached was detached\n" });
      expect(run.calls[run.when - 1]).toMatch(call);
      await expectFreed(image);
    });
  }

  test("-L FILE, attached to a device already: SIGTERM as -L looks for it, nothing attached, that device left as it was, and said so", () => {
    const s = fresh("stop-loop-reuse");
    const image = ws.image();
    const attach = runCli(["loop", "attach", image]);
    expect(attach.code).toBe(0);
    const device = attach.stdout.trim();
    const argv = ["loop", "attach", "-L", image];
    // -L's look at the image's device and inode, to find the device it is on (loop-reuse.ts)
    const identity = (c: string) => c.startsWith(`statx(AT_FDCWD, "${image}", `) && c.includes("STATX_INO");
    const when = callsOf(s.path("trace-first"), argv, "statx").findIndex(identity) + 1;
    expect(when).toBeGreaterThan(0);
    const run = signalledAt(s.path("trace"), argv, { syscall: "statx", when, signal: "SIGTERM" });
    // before, it said "the device it had attached was detached", where nothing was attached and
    // the device reused (rightly) stayed
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({
      signal: "SIGTERM",
      stderr: `mountkit: loop attach: stopped by SIGTERM: nothing was attached: ${image} was on ${device} already, which stays\n`,
    });
    expect(identity(run.calls[when - 1]!)).toBe(true);
    expect(loopDevicesOf(image).sysfs).toEqual([device]);
  });
});

/** A containerd list of n tmpfs entries, /d1 to /dN. */
function tmpfsList(path: string, n: number): string {
  writeFileSync(path, JSON.stringify(Array.from({ length: n }, (_, i) => ({ type: "tmpfs", source: `stop-${i + 1}`, target: `/d${i + 1}`, options: ["size=1m"] }))));
  return path;
}

describe("apply: all or nothing, against a stop signal too", () => {
  const REMOVED = "mountkit: apply: stopped by SIGINT: everything it mounted was removed\n";
  // before, 99 entries (or 199) stayed mounted, and their --mkdir directories
  for (const [flags, when] of [[[], 100], [["--keep-going"], 100], [[], 200]] as const) {
    test(`200 entries ${flags.join(" ") || "(all or nothing)"}, SIGINT at entry ${when}: nothing mounted, no directory made is left`, () => {
      const s = fresh("stop-apply");
      const root = ws.dir("root");
      const list = tmpfsList(s.path("list.json"), 200);
      const run = signalledAt(s.path("trace"), ["apply", ...flags, "--root", root, "--mkdir", list], { syscall: "mount", when, signal: "SIGINT" });
      expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGINT", stderr: REMOVED });
      expect(mountPoints(s.dir)).toEqual([]);
      expect(readdirSync(root)).toEqual([]);
    });
  }

  test("SIGINT after apply's last look at the watch, before its release: nothing mounted, no directory made is left", () => {
    const s = fresh("stop-apply-release");
    const root = ws.dir("root");
    const argv = ["apply", "--root", root, "--mkdir", tmpfsList(s.path("list.json"), 2)];
    const calls = callsOf(s.path("trace-first"), argv, "rt_sigaction");
    const restored = calls.findIndex((c) => /^rt_sigaction\(SIGHUP, \{sa_handler=SIG_DFL,/.test(c));
    // the last read of SIGINT's action before the restores: apply's stop.requested() once the batch stood
    const when = calls.findLastIndex((c, i) => i < restored && c.startsWith("rt_sigaction(SIGINT, NULL,")) + 1;
    expect(runCli(["umount", root + "/d2", root + "/d1"]).code).toBe(0);
    for (const d of ["d1", "d2"]) rmdirSync(join(root, d));
    // before, release() said SIGINT had come and apply dropped it: exit 0, both entries mounted
    const run = signalledAt(s.path("trace"), argv, { syscall: "rt_sigaction", when, signal: "SIGINT" });
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGINT", stderr: REMOVED });
    expect(run.calls[when - 1]).toMatch(/^rt_sigaction\(SIGINT, NULL,/);
    expect(mountPoints(s.dir)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  test("an entry of several steps (bind,ro), SIGINT in its bind: that entry and those before it undone", () => {
    const s = fresh("stop-apply-steps");
    const root = ws.dir("root");
    const source = ws.dir("src");
    const list = s.path("list.json");
    writeFileSync(
      list,
      JSON.stringify([
        { type: "tmpfs", source: "stop-a", target: "/a", options: [] },
        { type: "bind", source, target: "/b", options: ["rbind", "ro"] },
        { type: "tmpfs", source: "stop-c", target: "/c", options: [] },
      ]),
    );
    const run = signalledAt(s.path("trace"), ["apply", "--root", root, "--mkdir", list], { syscall: "mount", when: 2, signal: "SIGINT" });
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGINT", stderr: REMOVED });
    expect(mountPoints(s.dir)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });
});

/** How mountkit ends when SIGINT comes with that internal error: the error said, then the death by the signal. */
const INTERNAL_ERROR_THEN_SIGINT = { exit: null, signal: "SIGINT", stderr: "mountkit: statx(2): unknown file type in stx_mode 170755\n" };

describe("mount -a: the lines done stay, the one half made is undone, no more are started", () => {
  // before: at the mkdir, mountkit died with b made and nothing mounted on b/c; in the mount(2),
  // line 2 stood whole (its one-step plan not asked after), with b made
  for (const [when, syscall, callNumber] of [
    ["as an X-mount.mkdir line makes its mount point", "mkdir", 1],
    ["in an X-mount.mkdir line's mount(2), its last step", "mount", 2],
  ] as const) {
    test(`SIGINT ${when}: that line undone, the directories it made removed, the line before it stays, the next not started`, () => {
      const s = fresh(`stop-fstab-${syscall}`);
      const [a, d] = [ws.dir("a"), ws.dir("d")];
      const fstab = s.path("fstab");
      const target = s.path("b", "c");
      writeFileSync(fstab, `stop-1 ${a} tmpfs size=1m 0 0\nstop-2 ${target} tmpfs size=1m,X-mount.mkdir 0 0\nstop-3 ${d} tmpfs size=1m 0 0\n`);
      const run = signalledAt(s.path("trace"), ["mount", "-a", "-T", fstab], { syscall, when: callNumber, signal: "SIGINT" });
      expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({
        signal: "SIGINT",
        stderr: `mountkit: mount -a: stopped by SIGINT: line 2 (${target}) was undone; the lines mounted before it stay, no more were started\n`,
      });
      expect(mountPoints(s.dir)).toEqual([a]);
      expect(existsSync(s.path("b"))).toBe(false);
    });
  }

  test("SIGINT in a bind,ro line's bind: that line undone, the line before it stays, the next not started", () => {
    const s = fresh("stop-fstab-steps");
    const [a, b, d, source] = [ws.dir("a"), ws.dir("b"), ws.dir("d"), ws.dir("src")];
    const fstab = s.path("fstab");
    writeFileSync(fstab, `stop-1 ${a} tmpfs size=1m 0 0\n${source} ${b} none bind,ro 0 0\nstop-3 ${d} tmpfs size=1m 0 0\n`);
    // before, the bind stayed read-write and the next line was not mounted
    const run = signalledAt(s.path("trace"), ["mount", "-a", "-T", fstab], { syscall: "mount", when: 2, signal: "SIGINT" });
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({
      signal: "SIGINT",
      stderr: `mountkit: mount -a: stopped by SIGINT: line 2 (${b}) was undone; the lines mounted before it stay, no more were started\n`,
    });
    expect(mountPoints(s.dir)).toEqual([a]);
  });

  test("SIGINT as an internal error comes (a tmpcopyup line's statx(2) says a file type no kernel has): the error said, every line undone as for any internal error, then mountkit dies of the signal", () => {
    const s = fresh("stop-fstab-internal");
    const [a, t, d] = [ws.dir("a"), ws.dir("t"), ws.dir("d")];
    writeFileSync(join(t, "kept"), "kept\n");
    const fstab = s.path("fstab");
    writeFileSync(fstab, `stop-1 ${a} tmpfs size=1m 0 0\nstop-2 ${t} tmpfs size=1m,tmpcopyup 0 0\nstop-3 ${d} tmpfs size=1m 0 0\n`);
    const argv = ["mount", "-a", "-T", fstab];
    // the copy's first look at the directory under the new tmpfs, by its fd
    const when = callNumber(s.path("trace-first"), argv, "statx", /^statx\(\d+, "", [A-Z_|]*AT_EMPTY_PATH, STATX_BASIC_STATS/);
    expect(runCli(["umount", d, t, a]).code).toBe(0);
    // before, the signal was dropped: the error said, exit 2, as if none had come
    const run = signalledAt(s.path("trace"), argv, { syscall: "statx", when, signal: "SIGINT", pokeExit: STATX_OF_NO_TYPE });
    expect({ exit: run.exitCode, signal: run.signalCode, stderr: run.stderr }).toEqual(INTERNAL_ERROR_THEN_SIGINT);
    expect(mountPoints(s.dir)).toEqual([]);
    expect(readdirSync(t)).toEqual(["kept"]);
  });

  test("-F, SIGTERM to mount -a alone while a line's process runs: passed on to it, waited for, no line started after", async () => {
    const s = fresh("stop-fstab-fork");
    const helpers = ws.dir("helpers");
    // line 1's FUSE helper signals mount -a (its parent's parent), then stays while its parent,
    // the line's process, lives (3 s at most)
    writeFileSync(
      join(helpers, "mount.fuse3"),
      "#!/bin/sh\nkill -TERM \"$(awk '{print $4}' /proc/$PPID/stat)\"\ni=0\nwhile kill -0 $PPID 2>/dev/null && [ $i -lt 300 ]; do sleep 0.01; i=$((i+1)); done\nexit 1\n",
    );
    chmodSync(join(helpers, "mount.fuse3"), 0o755);
    const a = ws.dir("a");
    const fstab = s.path("fstab");
    // line 2 is inside line 1's mount point: it waits for line 1
    writeFileSync(fstab, `fake ${a} fuse3.fake defaults 0 0\nstop-2 ${a}/b tmpfs size=1m,X-mount.mkdir 0 0\n`);
    const run = Bun.spawnSync([BINARY, "mount", "-a", "-F", "--helper-dir", helpers, "-T", fstab], { env: { ...process.env, MOUNTKIT_STRATEGY: "" }, stdin: "ignore" });
    // before, mount -a died at once, its line's process still running
    const left = processesNaming(a);
    try {
      expect({ signal: run.signalCode, stderr: run.stderr.toString(), left }).toEqual({
        signal: "SIGTERM",
        stderr: "mountkit: mount -a: stopped by SIGTERM: the lines mounted stay; no more were started\n",
        left: [],
      });
      expect(mountPoints(s.dir)).toEqual([]);
      expect(existsSync(join(a, "b"))).toBe(false);
    } finally {
      for (let i = 0; i < 400 && processesNaming(a).length > 0; i++) await Bun.sleep(10);
    }
  });

  test("-F, SIGINT as the parent fails (a line's process cannot be started: socketpair(2) EMFILE): the error said, then mountkit dies of the signal", () => {
    const s = fresh("stop-fstab-fork-internal");
    const a = ws.dir("a");
    const fstab = s.path("fstab");
    writeFileSync(fstab, `stop-1 ${a} tmpfs size=1m 0 0\n`);
    // Bun.spawn's first socketpair(2) (the line's stdout) fails, so that it throws: no mount
    // failure but an error of mount -a itself, and the signal comes with it. Before, the signal
    // was dropped (its listener never ran before the hold's release): the error said, exit 2.
    const run = signalledAt(s.path("trace"), ["mount", "-a", "-F", "-T", fstab], { syscall: "socketpair", when: 1, signal: "SIGINT", error: "EMFILE" });
    expect({ exit: run.exitCode, signal: run.signalCode, stderr: run.stderr }).toEqual({ exit: null, signal: "SIGINT", stderr: expect.stringMatching(/^mountkit: EMFILE\b.*\bsocketpair\n$/) });
    expect(run.calls[0]).toMatch(/^socketpair\(.* = -1 EMFILE .*\(INJECTED\)$/);
    expect(mountPoints(s.dir)).toEqual([]);
    expect(processesNaming(a)).toEqual([]);
  });
});

describe("unmounting", () => {
  test("umount -d of a device without autoclear, SIGTERM in its umount2: detached all the same, then mountkit dies of it", async () => {
    const s = fresh("stop-umount-d");
    const image = ws.image();
    const target = ws.dir("m");
    const attach = runCli(["loop", "attach", image]);
    expect(attach.code).toBe(0);
    const device = attach.stdout.trim();
    expect(runCli(["mount", device, target]).code).toBe(0);
    // before, mountkit died once the unmount was made: the device stayed attached for good
    const run = signalledAt(s.path("trace"), ["umount", "-d", target], { syscall: "umount2", when: 1, signal: "SIGTERM" });
    expect({ signal: run.signalCode, stderr: run.stderr }).toEqual({ signal: "SIGTERM", stderr: "" });
    expect(mountPoints(s.dir)).toEqual([]);
    await expectFreed(image);
    expect(loopDevicesOf(image).sysfs).toEqual([]);
  });

  test("umount -a -d, SIGINT as an internal error comes (the device's statx(2) says a file type no kernel has): the error said, then mountkit dies of the signal", async () => {
    const s = fresh("stop-umount-a-internal");
    const image = ws.image();
    const target = ws.dir("m");
    const fstab = s.path("fstab");
    /** the image on a device without autoclear, mounted on target, as fstab's one line */
    const mounted = () => {
      const attach = runCli(["loop", "attach", image]);
      expect(attach.code).toBe(0);
      const device = attach.stdout.trim();
      expect(runCli(["mount", device, target]).code).toBe(0);
      writeFileSync(fstab, `${device} ${target} ext4 defaults 0 0\n`);
      return device;
    };
    mounted();
    const argv = ["umount", "-a", "-d", "-T", fstab];
    // the look at the device before its detach, by its fd
    const when = callNumber(s.path("trace-first"), argv, "statx", /^statx\(\d+, "", [A-Z_|]*AT_EMPTY_PATH, STATX_TYPE,/);
    await expectFreed(image);
    const device = mounted();
    // before, the signal was dropped: the error said, exit 2, as if none had come
    const run = signalledAt(s.path("trace"), argv, { syscall: "statx", when, signal: "SIGINT", pokeExit: STATX_OF_NO_TYPE });
    expect({ exit: run.exitCode, signal: run.signalCode, stderr: run.stderr }).toEqual(INTERNAL_ERROR_THEN_SIGINT);
    expect(mountPoints(s.dir)).toEqual([]);
    // the detach is what failed: the device stays, as the error says (the cleanup detaches it)
    expect(loopDevicesOf(image).sysfs).toEqual([device]);
  });

  test("umount -R of a tree, SIGTERM at the third umount2: mountkit dies of it, the mounts left are whole and the parents of those gone", () => {
    const s = fresh("stop-umount-r");
    const top = ws.dir("t");
    expect(runCli(["mount", "-t", "tmpfs", "stop-t", top]).code).toBe(0);
    for (const sub of ["a", "a/b", "c", "c/d"]) {
      mkdirSync(join(top, sub));
      expect(runCli(["mount", "-t", "tmpfs", `stop-${sub}`, join(top, sub)]).code).toBe(0);
    }
    const run = signalledAt(s.path("trace"), ["umount", "-R", top], { syscall: "umount2", when: 3, signal: "SIGTERM" });
    expect(run.signalCode).toBe("SIGTERM");
    const gone = run.calls.filter((c) => c.startsWith("umount2(")).map((c) => JSON.parse(c.slice("umount2(".length, c.indexOf(","))) as string);
    expect(gone.length).toBe(3);
    const left = mountPoints(s.dir);
    expect(left.sort()).toEqual([top, ...["a", "a/b", "c", "c/d"].map((sub) => join(top, sub))].filter((m) => !gone.includes(m)).sort());
    // children first: no mount left below one that went
    for (const g of gone) expect(left.filter((m) => m.startsWith(`${g}/`))).toEqual([]);
  });
});

describe("the library: OpsOptions.stop, asked between steps and entries", () => {
  /** A caller's stop that asks to stop at its nth question, and counts its arm() calls. */
  const stopAt = (nth: number) => {
    let asked = 0;
    const stop = {
      armed: 0,
      arm() {
        stop.armed++;
      },
      requested: () => (++asked >= nth ? "the caller" : undefined),
    };
    return stop;
  };
  /** What fn threw, checked to be a RunStopped. */
  const stopped = (fn: () => unknown): RunStopped => {
    const err = caught(fn);
    expect(err).toBeInstanceOf(RunStopped);
    return err as RunStopped;
  };

  test("a plan of several steps: armed before the first, stopped after it, the bind undone; a one-step plan is neither armed nor asked", () => {
    const s = fresh("stop-lib-plan");
    const [source, target, one] = [ws.dir("src"), ws.dir("dst"), ws.dir("one")];
    const stop = stopAt(1);
    const err = stopped(() => mount({ type: "bind", source, options: ["bind", "ro"] }, target, { stop }));
    expect({ reason: err.reason, armed: stop.armed, cleanup: err.cleanupErrors }).toEqual({ reason: "the caller", armed: 1, cleanup: [] });
    expect(mountPoints(s.dir)).toEqual([]);
    const never = stopAt(1);
    mount({ type: "tmpfs", source: "stop-one", options: [] }, one, { stop: never });
    expect(never.armed).toBe(0);
    expect(mountPoints(s.dir)).toEqual([one]);
  });

  test("mountAll (keepGoing too): everything mounted is undone; mountFstab (mount -a): the lines before stay", () => {
    const s = fresh("stop-lib-batch");
    const root = ws.dir("root");
    const mounts = ["a", "b", "c"].map((name) => ({ type: "tmpfs", source: `stop-${name}`, target: `/${name}`, options: [] }));
    for (const keepGoing of [false, true]) {
      // asked after each entry's mount point is made and after its mount, and between the
      // entries: the sixth question comes before the third entry
      const err = stopped(() => mountAll(mounts, root, { mkdir: true, keepGoing, stop: stopAt(6) }));
      expect(err.during).toBeUndefined();
      expect(mountPoints(s.dir)).toEqual([]);
      expect(readdirSync(root)).toEqual([]);
    }
    const [a, b, c, source] = [ws.dir("fa"), ws.dir("fb"), ws.dir("fc"), ws.dir("src")];
    const fstab = s.path("fstab");
    writeFileSync(fstab, `stop-1 ${a} tmpfs defaults 0 0
${source} ${b} none bind,ro 0 0
stop-3 ${c} tmpfs defaults 0 0
`);
    // the second question is the one after line 2's bind
    const err = stopped(() => mountFstab({ file: fstab, stop: stopAt(2) }));
    expect(err.during).toBe(`line 2 (${b})`);
    expect(mountPoints(s.dir)).toEqual([a]);
  });
});

/**
 * The pids of mountkit's processes whose command line names path (a line's process of mount -a
 * -F, or the process that a user namespace is made from, which runs no program of its own and
 * shows mountkit's).
 */
function processesNaming(path: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return (argv[0] === BINARY || argv[0] === "mountkit") && argv.some((arg) => arg === path || arg.startsWith(`${path}/`));
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe("a libc without sigignore(3)", () => {
  test("mount -o bind,ro, SIGTERM after the bind and again in its undo: still caught, the bind undone, the second one ignored", () => {
    const s = fresh("stop-no-sigignore");
    const [source, target] = [ws.dir("src"), ws.dir("dst")];
    // a process of its own: a signal not caught ends it, not this runner
    const run = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/stop-without-sigignore.ts"), source, target], { stdin: "ignore" });
    // before, the watch installed nothing without sigignore: SIGTERM's default action ended the
    // process after the bind, which stayed mounted read-write
    expect({ exit: run.exitCode, signal: run.signalCode ?? null, stderr: run.stderr.toString() }).toEqual({ exit: 0, signal: null, stderr: "" });
    expect(JSON.parse(run.stdout.toString())).toEqual({ outcome: "stopped by SIGTERM, cleanup errors: 0", released: 15 });
    expect(mountPoints(s.dir)).toEqual([]);
  });
});
