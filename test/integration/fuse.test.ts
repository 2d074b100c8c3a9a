// FUSE mounts through the real mount.fuse3 and Debian's fuse-overlayfs. ECHILD is injected at
// the seam (the kernel cannot be made to lose one wait on demand), and also provoked for real.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dlopen } from "bun:ffi";
import { Errno } from "../../src/errno.ts";
import { HelperError, PlanError, SyscallError } from "../../src/errors.ts";
import { lookupMount } from "../../src/mountinfo/lookup.ts";
import { HELPER_ECHILD } from "../../src/ops/retry.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { mount, planOnly } from "../../src/ops/mount.ts";
import { unmount, unmountAll } from "../../src/ops/unmount.ts";
import { FUSE_SUPER_MAGIC, HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import type { HelperStep } from "../../src/plan/steps.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { caught } from "../support/caught.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { SIGNALS } from "../../src/sys/signal-numbers.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";
import { daemonsUnder, waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { BINARY, runCli } from "../support/cli.ts";

let MOUNT_FUSE3 = "";
/** uid and gid of Debian's nobody/nogroup: an unprivileged user for the fusermount path */
const NOBODY = 65534;
beforeAll(() => {
  requireRootNamespace();
  // npm test installs these (scripts/test-deps.sh); without them this file must fail, not skip.
  for (const name of ["mount.fuse3", "fusermount3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
  if (!existsSync("/dev/fuse")) throw new Error("/dev/fuse is missing: the kernel has no FUSE");
  MOUNT_FUSE3 = locateHelper("mount.fuse3", HELPER_SEARCH_DIRS)!;
});

const ws = workspace();
const { cleanups, dir } = ws;
let s: Scratch;
/** A scratch dir for this test; after it, its daemons must be gone, then it is disposed. */
function fresh(label: string) {
  s = ws.fresh(label);
  cleanups.push(() => waitForDaemonsGone(s.dir));
  return s;
}

/** lower/ with from-lower, upper/ with from-upper, empty work/ and merged/. */
function layers() {
  const lower = dir("lower");
  const upper = dir("upper");
  const work = dir("work");
  const merged = dir("merged");
  writeFileSync(join(lower, "from-lower"), "lower\n");
  writeFileSync(join(upper, "from-upper"), "upper\n");
  cleanups.push(() => unmountAll(merged));
  const m = { type: "fuse3.fuse-overlayfs", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] };
  return { lower, upper, work, merged, m };
}

const fuseMountsAt = (path: string) => mountsUnder(path).filter((m) => m.mountpoint === path && m.fstype.startsWith("fuse"));

/** An executable sh script in dir. */
function script(dirPath: string, name: string, body: string): string {
  const path = join(dirPath, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/**
 * The seam calls that tell a FUSE mount after umount2's EPERM: statmount(2)'s magic, which does
 * not ask the daemon (statfs waited for a hung one and failed on a dead one).
 */
const TELL_FUSE = ["statxUniqueMountId", "statmount"];

const helperRuns = (log: unknown[][], path: string) => log.filter((c) => c[0] === "runProcess" && c[1] === path);
/** argv[0] of every process run, in order. */
const processesRun = (log: unknown[][]) => log.filter((c) => c[0] === "runProcess").map((c) => (c[2] as string[])[0]);


describe("fuse-overlayfs through mount.fuse3, for real", () => {
  test("mount: the merged view has both layers, a write lands in upperdir; root unmounts it with umount2 alone", () => {
    fresh("fuse");
    const { upper, merged, m } = layers();
    const lines: string[] = [];
    const plan = mount(m, merged, { log: (l) => lines.push(l) });

    expect((plan.steps[0] as HelperStep).path).toBe(MOUNT_FUSE3);
    expect(lines[0]).toBe(
      `execve("${MOUNT_FUSE3}", ["mount.fuse3", "overlay", "${merged}", "-o", "${m.options[0]}", "-o", "${m.options[1]}", "-o", "${m.options[2]}", "-t", "fuse-overlayfs"])`,
    );
    const mounted = fuseMountsAt(merged);
    expect(mounted.map((x) => x.fstype)).toEqual(["fuse.fuse-overlayfs"]);
    expect(libcSyscalls.statfs(merged).type).toBe(FUSE_SUPER_MAGIC);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
    expect(readFileSync(join(merged, "from-lower"), "utf8")).toBe("lower\n");
    writeFileSync(join(merged, "written"), "new\n");
    expect(readFileSync(join(upper, "written"), "utf8")).toBe("new\n");
    expect(daemonsUnder(s.dir)).toHaveLength(1);

    const unlog: string[] = [];
    expect(unmount(merged, { log: (l) => unlog.push(l) })).toBe(true);
    // umount2 is allowed here: no statfs, no fusermount (they are for EPERM, below)
    expect(unlog).toEqual([`umount2(${JSON.stringify(merged)}, 0)`]);
    expect(fuseMountsAt(merged)).toEqual([]);
    waitForDaemonsGone(s.dir);
  });

  test("fuse.fuse-overlayfs runs mount.fuse (Debian links it to mount.fuse3) with -t fuse-overlayfs", () => {
    fresh("fuse2");
    const { merged, m } = layers();
    const plan = mount({ ...m, type: "fuse.fuse-overlayfs" }, merged);
    const step = plan.steps[0] as HelperStep;
    expect(step.path).toBe(locateHelper("mount.fuse", HELPER_SEARCH_DIRS)!);
    expect(step.argv[0]).toBe("mount.fuse");
    expect(step.argv.slice(-2)).toEqual(["-t", "fuse-overlayfs"]);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
    expect(unmount(merged)).toBe(true);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("the daemon is not chosen by the caller's PATH: a fake fuse-overlayfs first on PATH does not run", () => {
    fresh("fusepath");
    const { merged, m } = layers();
    const fakeBin = dir("fake-bin");
    const ran = s.path("fake-ran");
    script(fakeBin, "fuse-overlayfs", `echo "$@" > ${ran}\nexit 1`);
    const path = process.env.PATH;
    process.env.PATH = `${fakeBin}:${path ?? ""}`;
    try {
      mount(m, merged);
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(ran)).toBe(false);
    expect(fuseMountsAt(merged).map((x) => x.fstype)).toEqual(["fuse.fuse-overlayfs"]);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
  });

  test("statx STATX_MNT_ID and mountinfo agree on the mount ID, before and after the mount", () => {
    fresh("fuseid");
    const { merged, m } = layers();
    const before = libcSyscalls.statxMountId(merged);
    expect(before).toBe(lookupMount(mountTable(), merged)!.id);
    mount(m, merged);
    const after = libcSyscalls.statxMountId(merged);
    expect(after).not.toBe(before);
    expect(after).toBe(lookupMount(mountTable(), merged)!.id);
    expect(after).toBe(fuseMountsAt(merged)[0]!.id);
  });

  test("the binary: mount -v says which helper ran; umount removes it; --dry-run --json prints the helper step", () => {
    fresh("fusecli");
    const { merged, m } = layers();
    const o = m.options.join(",");
    const dry = Bun.spawnSync(["dist/mountkit", "mount", "-n", "--json", "-t", m.type, "-o", o, "overlay", merged]);
    expect(dry.exitCode).toBe(0);
    const json = JSON.parse(dry.stdout.toString());
    expect(json.steps[0].op).toBe("helper");
    expect(json.steps[0].args.path).toBe(MOUNT_FUSE3);
    expect(json.steps[0].args.argv.slice(-2)).toEqual(["-t", "fuse-overlayfs"]);
    expect(fuseMountsAt(merged)).toEqual([]);

    const run = Bun.spawnSync(["dist/mountkit", "mount", "-v", "-t", m.type, "-o", o, "overlay", merged]);
    expect(run.stderr.toString()).toContain(`execve("${MOUNT_FUSE3}"`);
    expect(run.exitCode).toBe(0);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
    const um = Bun.spawnSync(["dist/mountkit", "umount", "-v", merged]);
    expect(um.exitCode).toBe(0);
    expect(um.stderr.toString()).toContain(`umount2(${JSON.stringify(merged)}, 0)`);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("a propagation word is applied after the helper; if it fails, the FUSE mount is rolled back", () => {
    fresh("fuseprop");
    const { merged, m } = layers();
    mount({ ...m, options: [...m.options, "private"] }, merged);
    expect(fuseMountsAt(merged)).toHaveLength(1);
    expect(unmount(merged)).toBe(true);

    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EINVAL } });
    expect(() => mount({ ...m, options: [...m.options, "rshared"] }, merged, { sys })).toThrow(/mount\(2\): EINVAL/);
    expect(fuseMountsAt(merged)).toEqual([]);
  });
});

describe("the helper's output on the command line: written out once it succeeded, as mount(8) lets its helper write", () => {
  /** mount.fuse3 that says one line on stdout and one on stderr, then mounts a tmpfs on TARGET, or exits `fails` */
  function talkingHelper(fails?: number): string {
    const bin = dir("bin");
    script(bin, "mount.fuse3", ['echo "fake says: $2"', 'echo "fake warns: $2" >&2', fails === undefined ? `exec ${BINARY} mount -i -t tmpfs fake "$2"` : `exit ${fails}`].join("\n"));
    return bin;
  }
  function target(): string {
    const t = dir("t");
    cleanups.push(() => unmountAll(t));
    return t;
  }

  test("its stdout on stdout, its stderr on stderr; with --json both on stderr, stdout the JSON alone", () => {
    fresh("fuseout");
    const bin = talkingHelper();
    const t = target();
    expect(runCli(["mount", "-t", "fuse3.fake", "--helper-dir", bin, "src", t])).toEqual({ code: 0, stdout: `fake says: ${t}\n`, stderr: `fake warns: ${t}\n` });
    expect(mountsUnder(t).map((m) => m.source)).toEqual(["fake"]);
    expect(runCli(["umount", t]).code).toBe(0);
    const json = runCli(["mount", "--json", "-t", "fuse3.fake", "--helper-dir", bin, "src", t]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, target: t });
    expect(json.stderr).toBe(`fake says: ${t}\nfake warns: ${t}\n`);
    expect(runCli(["umount", t]).code).toBe(0);
    // -v logs how it exited; the output is written once, not in the log line too
    const verbose = runCli(["mount", "-v", "-t", "fuse3.fake", "--helper-dir", bin, "src", t]);
    expect(verbose.stderr).toContain("mountkit: mount.fuse3: exited 0\n");
    expect(verbose.stderr.split(`fake warns: ${t}`)).toHaveLength(2);
    expect(runCli(["umount", t]).code).toBe(0);
  });

  /** A list of one fuse3.fake entry at /t in a fresh root, its helper the talking one. */
  function fakeFuseList(label: string) {
    fresh(label);
    const bin = talkingHelper();
    const root = dir("root");
    const t = join(root, "t");
    cleanups.push(() => unmountAll(t));
    const list = join(s.dir, "list.json");
    writeFileSync(list, JSON.stringify([{ type: "fuse3.fake", source: "src", target: "/t", options: [] }]));
    return { bin, root, t, list };
  }

  test("apply writes it as mount -a does: stdout on stdout, stderr on stderr; with --json both on stderr", () => {
    const { bin, root, t, list } = fakeFuseList("fuseoutapply");
    const text = runCli(["apply", "--root", root, "--mkdir", "--helper-dir", bin, list]);
    expect(text).toEqual({ code: 0, stdout: `fake says: ${t}\n`, stderr: `fake warns: ${t}\n` });
    expect(mountsUnder(t).map((m) => m.source)).toEqual(["fake"]);
    expect(runCli(["umount", t]).code).toBe(0);
    const json = runCli(["apply", "--json", "--root", root, "--helper-dir", bin, list]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, entries: [{ target: t, ok: true }] });
    expect(json.stderr).toBe(`fake says: ${t}\nfake warns: ${t}\n`);
    expect(runCli(["umount", t]).code).toBe(0);
  });

  test("with-mounts writes it all on stderr: its stdout is COMMAND's alone", () => {
    const { bin, root, t, list } = fakeFuseList("fuseoutwith");
    const r = runCli(["with-mounts", "--root", root, "--mkdir", "--helper-dir", bin, list, "--", "/bin/sh", "-c", 'grep -q "^fake $MOUNTKIT_ROOT/t tmpfs " /proc/self/mounts && echo "command sees $MOUNTKIT_ROOT/t"']);
    expect(r).toEqual({ code: 0, stdout: `command sees ${t}\n`, stderr: `fake says: ${t}\nfake warns: ${t}\n` });
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a helper that fails: nothing written before the error, which carries what it said (--json: error.output)", () => {
    fresh("fuseoutfail");
    const bin = talkingHelper(3);
    const t = target();
    const r = runCli(["mount", "-t", "fuse3.fake", "--helper-dir", bin, "src", t]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toHaveLength(2); // one line
    expect(r.stderr).toContain(`exited with status 3: fake says: ${t}\\nfake warns: ${t}`);
    const json = runCli(["mount", "--json", "-t", "fuse3.fake", "--helper-dir", bin, "src", t]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { kind: "helper", exitStatus: 3, output: `fake says: ${t}\nfake warns: ${t}\n` } });
    expect(mountsUnder(t)).toEqual([]);
  });

  test("for real: fuse-overlayfs's warning of an option it ignores reaches stderr; its failure's message is in the error", () => {
    fresh("fuseoutreal");
    const { lower, merged, m } = layers();
    const o = [...m.options, "lazytime"].join(",");
    const r = runCli(["mount", "-t", m.type, "-o", o, "overlay", merged]);
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(r.stderr).toMatch(/^(unknown argument ignored: lazytime\n)+$/);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
    expect(runCli(["umount", merged]).code).toBe(0);
    const bad = runCli(["mount", "-t", m.type, "-o", o.replace(lower, `${lower}-missing`), "overlay", merged]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toStartWith("mountkit: mount overlay on ");
    expect(bad.stderr).toContain("fuse-overlayfs: cannot read lower dirs");
    expect(bad.stderr.split("\n")).toHaveLength(2);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("ECHILD on the first try (the library, helperStdio inherit): only the try that succeeded has its output written", () => {
    fresh("fuseoutechild");
    const bin = talkingHelper();
    const t = target();
    const report = s.path("report.json");
    const child = Bun.spawnSync([process.execPath, join(import.meta.dir, "../support/fixtures/fuse-output-echild.ts"), bin, t, "inherit", report], { stdin: "ignore" });
    expect({ stdout: child.stdout.toString(), stderr: child.stderr.toString() }).toEqual({ stdout: `fake says: ${t}\n`, stderr: `fake warns: ${t}\n` });
    expect(child.exitCode).toBe(0);
    // two runs: the first mounted, its wait was lost, its mount removed; the second counted
    expect(JSON.parse(readFileSync(report, "utf8"))).toEqual({ runs: 2, umounts: 1 });
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("ECHILD from the helper's wait (containerd#4387), injected at the seam", () => {
  test("the helper did not mount: no unmount, the retry mounts", () => {
    fresh("echild1");
    const { merged, m } = layers();
    const sys = injectFaults(libcSyscalls, { runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)" } });
    mount(m, merged, { sys });
    expect(helperRuns(sys.log, MOUNT_FUSE3)).toHaveLength(2);
    expect(sys.counts.runProcess).toBe(2); // no fusermount3: nothing was unmounted
    expect(sys.counts.umount2).toBeUndefined();
    expect(fuseMountsAt(merged)).toHaveLength(1);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
  });

  test("the helper mounted before the wait was lost: that mount is unmounted, the retry mounts once", () => {
    fresh("echild2");
    const { merged, m } = layers();
    const sys = injectFaults(libcSyscalls, {
      runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: MOUNT_FUSE3 },
    });
    const lines: string[] = [];
    mount(m, merged, { sys, log: (l) => lines.push(l) });
    expect(processesRun(sys.log)).toEqual(["mount.fuse3", "mount.fuse3"]);
    expect(sys.log.filter((c) => c[0] === "umount2")).toEqual([["umount2", merged, 0]]);
    expect(lines.some((l) => /mount ID of .* changed/.test(l))).toBe(true);
    expect(fuseMountsAt(merged)).toHaveLength(1); // exactly one mount at the end
    expect(mountsUnder(merged)).toHaveLength(1);
    expect(readdirSync(merged).sort()).toEqual(["from-lower", "from-upper"]);
  });

  test("statx without a mount ID (before Linux 5.8): the mount ID comes from mountinfo, and the new mount is still found", () => {
    fresh("echildnoid");
    const { merged, m } = layers();
    const faulted = injectFaults(libcSyscalls, {
      runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: MOUNT_FUSE3 },
    });
    // What statx answers on a kernel without STATX_MNT_ID: success, the bit missing from stx_mask.
    const sys = { ...faulted, statxMountId: (path: string) => (faulted.statxMountId(path), undefined) };
    const lines: string[] = [];
    mount(m, merged, { sys, log: (l) => lines.push(l) });
    expect(processesRun(faulted.log)).toEqual(["mount.fuse3", "mount.fuse3"]);
    expect(faulted.counts.umount2).toBe(1);
    expect(lines.some((l) => /mount ID of .* changed/.test(l))).toBe(true);
    expect(fuseMountsAt(merged)).toHaveLength(1); // the first mount was found and removed: no stack
    expect(mountsUnder(merged)).toHaveLength(1);
  });

  test("ECHILD, and the lost helper's mount cannot be removed: the ECHILD HelperError, the unmount failure attached, no further try", () => {
    fresh("echildumount");
    const { merged, m } = layers();
    const fusermount3 = locateHelper("fusermount3", HELPER_SEARCH_DIRS)!;
    const sys = injectFaults(libcSyscalls, {
      runProcess: [
        { calls: "always", errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: MOUNT_FUSE3 },
        { calls: "always", errno: Errno.EACCES, syscall: "posix_spawn(3)", path: fusermount3 },
      ],
      umount2: { calls: "always", errno: Errno.EPERM, path: merged },
    });
    const err = caught(() => mount(m, merged, { sys }));
    expect(err).toBeInstanceOf(HelperError);
    const h = err as HelperError;
    expect(h.message).toMatch(/mount helper .*mount\.fuse3 .*waitpid lost the child \(ECHILD\)/);
    expect(h.cause).toBeInstanceOf(SyscallError);
    expect((h.cause as SyscallError).errno).toBe(Errno.ECHILD);
    expect(h.cleanupErrors).toHaveLength(1);
    expect((h.cleanupErrors[0] as SyscallError).errno).toBe(Errno.EPERM);
    expect((h.cleanupErrors[0] as SyscallError).syscall).toBe("umount2(2)");
    // umount2's EPERM sent it to fusermount3, which failed too; then umount2 had the last word
    expect(helperRuns(sys.log, fusermount3)).toHaveLength(1);
    expect(sys.counts.umount2).toBe(2);
    // Another try would stack a second mount on the one that could not be removed.
    expect(helperRuns(sys.log, MOUNT_FUSE3)).toHaveLength(1);
    expect(fuseMountsAt(merged)).toHaveLength(1); // left for the test's cleanup, as the error says
  });

  test("ECHILD every time: 10 tries, each new mount removed, then the error; nothing left mounted", () => {
    fresh("echild3");
    const { merged, m } = layers();
    const sys = injectFaults(libcSyscalls, {
      runProcess: { calls: "always", errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: MOUNT_FUSE3 },
    });
    const err = caught(() => mount(m, merged, { sys }));
    expect(err).toBeInstanceOf(HelperError);
    expect((err as HelperError).message).toMatch(/mount helper .*mount\.fuse3 .*ECHILD.* on all 10 tries/);
    expect((err as HelperError).cause).toBeInstanceOf(SyscallError);
    expect(helperRuns(sys.log, MOUNT_FUSE3)).toHaveLength(HELPER_ECHILD.attempts);
    expect(HELPER_ECHILD.attempts).toBe(10);
    expect(sys.counts.umount2).toBe(10); // each lost helper's mount removed
    expect(processesRun(sys.log).filter((r) => r !== "mount.fuse3")).toEqual([]);
    expect(mountsUnder(merged)).toEqual([]);
  });

  test("the real runner surfaces a real ECHILD: with SIGCHLD ignored the kernel reaps the child", () => {
    fresh("echildreal");
    const helper = script(dir("bin"), "mount.fuse3", "exit 0");
    const { symbols } = dlopen("libc.so.6", { signal: { args: ["i32", "u64"], returns: "u64" } });
    const previous = symbols.signal(SIGNALS.SIGCHLD, 1 /* SIG_IGN */);
    let err: unknown;
    try {
      libcSyscalls.runProcess(helper, ["mount.fuse3"], []);
    } catch (e) {
      err = e;
    } finally {
      symbols.signal(SIGNALS.SIGCHLD, previous);
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).syscall).toBe("waitpid(2)");
    expect((err as SyscallError).errno).toBe(Errno.ECHILD);
    expect(libcSyscalls.runProcess(helper, ["mount.fuse3"], []).exitCode).toBe(0);
  });

  test("the real runner surfaces a real ECHILD whatever the helper's stdio: captured apart, inherited", () => {
    fresh("echildstdio");
    const helper = script(dir("bin"), "mount.fuse3", "exit 0");
    const { symbols } = dlopen("libc.so.6", { signal: { args: ["i32", "u64"], returns: "u64" } });
    for (const stdio of ["capture-each", "inherit", "stdout-to-stderr"] as const) {
      const previous = symbols.signal(SIGNALS.SIGCHLD, 1 /* SIG_IGN */);
      let err: unknown;
      try {
        libcSyscalls.runProcess(helper, ["mount.fuse3"], [], stdio);
      } catch (e) {
        err = e;
      } finally {
        symbols.signal(SIGNALS.SIGCHLD, previous);
      }
      expect({ stdio, err }).toMatchObject({ stdio, err: { syscall: "waitpid(2)", errno: Errno.ECHILD } });
    }
  });
});

describe("helpers that fail", () => {
  test("a helper that exits non-zero: its stderr, status and argv are in the error; nothing is mounted", () => {
    fresh("fusefail");
    const bin = dir("bin");
    script(bin, "mount.fuse3", 'echo "cannot mount: $# args: $*" >&2\necho to-stdout\nexit 3');
    const merged = dir("merged");
    const err = caught(() => mount({ type: "fuse3.demo", source: "a b;$(x)", options: ["ro", "k=v"] }, merged, { helperDir: bin }));
    expect(err).toBeInstanceOf(HelperError);
    const h = err as HelperError;
    expect(h.exitStatus).toBe(3);
    expect(h.argv).toEqual(["mount.fuse3", "a b;$(x)", merged, "-o", "ro", "-o", "k=v", "-t", "demo"]);
    // 8 arguments arrived as 8: an argv, no shell in between
    expect(h.output).toContain(`cannot mount: 8 args: a b;$(x) ${merged} -o ro -o k=v -t demo`);
    expect(h.output).toContain("to-stdout");
    expect(h.message).toStartWith(`mount a b;$(x) on ${merged}: mount helper ${join(bin, "mount.fuse3")} [mount.fuse3 "a b;$(x)" `);
    expect(h.message).toContain("exited with status 3: cannot mount");
    expect(mountsUnder(merged)).toEqual([]);
  });

  test("a helper that mounts and then fails: its mount is removed (containerd left it)", () => {
    fresh("fusehalf");
    const bin = dir("bin");
    script(bin, "mount.fuse3", 'mount -t tmpfs half "$2" && echo "mounted, then failed" >&2\nexit 1');
    const merged = dir("merged");
    expect(() => mount({ type: "fuse3.demo", source: "s", options: [] }, merged, { helperDir: bin })).toThrow(
      /exited with status 1: mounted, then failed/,
    );
    expect(mountsUnder(merged)).toEqual([]);
  });

  test("a helper that is not in the helper dir: an error before anything runs", () => {
    fresh("fusenone");
    const bin = dir("bin");
    const merged = dir("merged");
    const sys = injectFaults(libcSyscalls, {});
    expect(() => mount({ type: "fuse.demo", source: "s", options: [] }, merged, { helperDir: bin, sys })).toThrow(
      /mount helper mount\.fuse not found in .*\/bin$/,
    );
    expect(() => planOnly({ type: "fuse.demo", source: "s", options: [] }, merged, { helperDir: bin })).toThrow(HelperError);
    expect(sys.counts.runProcess).toBeUndefined();
    expect(() => mount({ type: "fuse.demo", source: "s", options: [] }, merged, { helperDir: "relative/bin" })).toThrow(PlanError);
  });

  test("a helper killed by a signal is reported as such", () => {
    fresh("fusekill");
    const bin = dir("bin");
    script(bin, "mount.fuse3", "kill -9 $$");
    const merged = dir("merged");
    expect(() => mount({ type: "fuse3.demo", source: "s", options: [] }, merged, { helperDir: bin })).toThrow(
      /was killed by signal 9/,
    );
  });
});

describe("unmounting FUSE mounts", () => {
  test("EPERM from umount2 on a FUSE mount: fusermount3, then fusermount, then umount2 again (containerd's order)", () => {
    fresh("fuseumfallback");
    const { merged, m } = layers();
    mount(m, merged);
    const bin = dir("fake-bin");
    const record = s.path("calls");
    script(bin, "fusermount3", `echo "fusermount3 $*" >> ${record}; echo nope >&2; exit 1`);
    script(bin, "fusermount", `echo "fusermount $*" >> ${record}; exit 1`);
    // root may always unmount: the EPERM an unprivileged caller gets is injected
    const sys = injectFaults(libcSyscalls, { umount2: { calls: [1], errno: Errno.EPERM } });
    const lines: string[] = [];
    expect(unmount(merged, { sys, helperDir: bin, log: (l) => lines.push(l) })).toBe(true);
    expect(readFileSync(record, "utf8")).toBe(`fusermount3 -u ${merged}\nfusermount -u ${merged}\n`);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2", ...TELL_FUSE, "statxMountId", "runProcess", "runProcess", "umount2"]);
    expect(lines).toContain("fusermount3: exited 1: nope");
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("EPERM, and fusermount3 unmounts it: no umount2 after it; lazy passes -z", () => {
    fresh("fuseumlazy");
    const { merged, m } = layers();
    mount(m, merged);
    const sys = injectFaults(libcSyscalls, { umount2: { calls: [1], errno: Errno.EPERM } });
    const lazy: string[] = [];
    expect(unmount(merged, { lazy: true, sys, log: (l) => lazy.push(l) })).toBe(true);
    expect(lazy[0]).toBe(`umount2(${JSON.stringify(merged)}, MNT_DETACH)`);
    expect(lazy[1]).toMatch(/^execve\(".*\/fusermount3", \["fusermount3", "-u", "-z", ".*merged"\]\)$/);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2", ...TELL_FUSE, "statxMountId", "runProcess"]);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("EPERM, and fusermount3 unmounts but its wait is lost (ECHILD): the mount ID changed, so it counts as unmounted; no umount2 after it", () => {
    fresh("fuseumechild");
    const { merged, m } = layers();
    // a tmpfs under the FUSE mount: an umount2 after the helper's would have taken it down too
    const below = mount({ type: "tmpfs", source: "below", options: [] }, merged);
    expect(below.steps.length).toBeGreaterThan(0);
    mount(m, merged);
    const fusermount3 = locateHelper("fusermount3", HELPER_SEARCH_DIRS)!;
    const sys = injectFaults(libcSyscalls, {
      umount2: { calls: [1], errno: Errno.EPERM },
      runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: fusermount3 },
    });
    const lines: string[] = [];
    expect(unmount(merged, { sys, log: (l) => lines.push(l) })).toBe(true);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2", ...TELL_FUSE, "statxMountId", "runProcess", "statxMountId"]);
    expect(lines.some((l) => /mount ID of .* changed \(\d+ -> \d+\): fusermount3 unmounted it/.test(l))).toBe(true);
    expect(fuseMountsAt(merged)).toEqual([]);
    expect(mountsUnder(merged).map((x) => [x.source, x.fstype])).toEqual([["below", "tmpfs"]]);
    expect(unmount(merged)).toBe(true);
  });

  test("EPERM, and fusermount3's wait is lost (ECHILD) before it unmounted: the same mount ID, so fusermount and umount2 go on", () => {
    fresh("fuseumechild-none");
    const { merged, m } = layers();
    mount(m, merged);
    const bin = dir("fake-bin");
    script(bin, "fusermount3", "exit 0"); // removes nothing; its wait is lost all the same
    script(bin, "fusermount", "exit 1");
    const sys = injectFaults(libcSyscalls, {
      umount2: { calls: [1], errno: Errno.EPERM },
      runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after", path: join(bin, "fusermount3") },
    });
    expect(unmount(merged, { sys, helperDir: bin })).toBe(true);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2", ...TELL_FUSE, "statxMountId", "runProcess", "statxMountId", "runProcess", "umount2"]);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("force never runs the helpers: fusermount cannot force", () => {
    fresh("fuseumforce");
    const { merged, m } = layers();
    mount(m, merged);
    const sys = injectFaults(libcSyscalls, { umount2: { calls: [1], errno: Errno.EPERM } });
    expect(caught(() => unmount(merged, { force: true, sys }))).toBeInstanceOf(SyscallError);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2"]);
    expect(unmount(merged, { force: true })).toBe(true);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("EPERM on a mount that is not FUSE: the EPERM, and no helper runs", () => {
    fresh("plaineperm");
    const t = dir("t");
    mount({ type: "tmpfs", source: "x", options: [] }, t);
    cleanups.push(() => unmountAll(t));
    const sys = injectFaults(libcSyscalls, { umount2: { calls: [1], errno: Errno.EPERM } });
    const err = caught(() => unmount(t, { sys }));
    expect((err as SyscallError).errno).toBe(Errno.EPERM);
    expect((err as SyscallError).message).toContain(`unmount ${t}: umount2(2): EPERM`);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2", ...TELL_FUSE]);
    expect(mountsUnder(t)).toHaveLength(1);
  });

  test("a plain unmount is one umount2: no statfs, no helper", () => {
    fresh("plainum");
    const t = dir("t");
    mount({ type: "tmpfs", source: "x", options: [] }, t);
    const sys = injectFaults(libcSyscalls, {});
    expect(unmount(t, { sys })).toBe(true);
    expect(sys.log.map((c) => c[0])).toEqual(["umount2"]);
  });

  /** merged: a FUSE mount that nobody made (fuse-overlayfs through mount.fuse3); asNobody runs argv as nobody. */
  function nobodysFuseMount() {
    chmodSync(s.dir, 0o755);
    const { lower, upper, work, merged } = layers();
    for (const p of [lower, upper, work, merged]) Bun.spawnSync(["chown", "-R", `${NOBODY}:${NOBODY}`, p]);
    // libfuse opens /dev/fuse as the user: a 0666 node bound over it, in this mount namespace only
    const devDir = dir("dev");
    mount({ type: "tmpfs", source: "fuse-dev", options: ["mode=755"] }, devDir);
    cleanups.push(() => unmountAll(devDir));
    expect(Bun.spawnSync(["mknod", "-m", "666", join(devDir, "fuse"), "c", "10", "229"]).exitCode).toBe(0);
    mount({ type: "", source: join(devDir, "fuse"), options: ["bind"] }, "/dev/fuse");
    cleanups.push(() => unmountAll("/dev/fuse"));

    const asNobody = (argv: string[]) =>
      Bun.spawnSync(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...argv]);
    const made = asNobody([MOUNT_FUSE3, "overlay", merged, "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, "-t", "fuse-overlayfs"]);
    expect(made.stderr.toString()).not.toContain("cannot mount");
    expect(made.exitCode).toBe(0);
    const mounted = fuseMountsAt(merged);
    expect(mounted).toHaveLength(1);
    expect(mounted[0]!.superOptions).toContain(`user_id=${NOBODY}`);
    return { merged, asNobody };
  }

  test("an unprivileged user's own FUSE mount: umount2 says EPERM, the setuid fusermount3 removes it (real, as nobody)", () => {
    fresh("fuseuser");
    const { merged, asNobody } = nobodysFuseMount();
    const um = asNobody([join(process.cwd(), "dist/mountkit"), "umount", "-v", merged]);
    const log = um.stderr.toString().split("\n");
    expect(um.exitCode).toBe(0);
    expect(log[0]).toBe(`mountkit: umount2(${JSON.stringify(merged)}, 0)`);
    expect(log[1]).toMatch(/^mountkit: execve\(".*\/fusermount3", \["fusermount3", "-u", ".*merged"\]\)$/);
    expect(log[2]).toBe("mountkit: fusermount3: exited 0");
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("umount --fake of a FUSE mount runs no fusermount: as nobody, umount2's EPERM (told, not asked) leads to fusermount3's execve, printed, not made; as root, umount2 alone", () => {
    fresh("fusefake");
    const { merged, asNobody } = nobodysFuseMount();
    const trace = join(s.dir, "strace.log");
    const um = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=umount2,execve", "-o", trace, "setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", BINARY, "umount", "--fake", "-v", merged]);
    expect(um.stderr.toString().split("\n")).toEqual([
      `mountkit: umount2(${JSON.stringify(merged)}, 0)`,
      expect.stringMatching(/^mountkit: execve\(".*\/fusermount3", \["fusermount3", "-u", ".*merged"\]\)$/),
      "",
    ]);
    expect(um.exitCode).toBe(0);
    const calls = readFileSync(trace, "utf8").split("\n").filter((l) => /\b(umount2|execve)\(/.test(l));
    expect(calls.filter((l) => !/execve\("[^"]*\/setpriv"/.test(l) && !l.includes(`execve("${BINARY}"`))).toEqual([]);
    expect(fuseMountsAt(merged)).toHaveLength(1);
    // root: umount2 is permitted, so no helper would run at all
    const root = runCli(["umount", "--fake", "-v", merged]);
    expect(root).toEqual({ code: 0, stdout: "", stderr: `mountkit: umount2(${JSON.stringify(merged)}, 0)\n` });
    expect(fuseMountsAt(merged)).toHaveLength(1);
    // a mount of root's, as nobody: the EPERM umount2 would give, with its hint, exit 32; no helper
    const devFuse = asNobody([BINARY, "umount", "--fake", "/dev/fuse"]);
    expect(devFuse.exitCode).toBe(32);
    expect(devFuse.stderr.toString()).toBe("mountkit: unmount /dev/fuse: umount2(2): EPERM (Operation not permitted) (unmounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root))\n");
    // then for real, as nobody, to leave nothing behind
    expect(asNobody([BINARY, "umount", merged]).exitCode).toBe(0);
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("umount --all-stacked as nobody: fusermount3 takes nobody's FUSE mount off, and the EPERM of the umount2 after it (said before any mount point check) ends the peel, the table showing none left; --fake foresees the same, and ends", () => {
    fresh("fusestack");
    const { merged, asNobody } = nobodysFuseMount();
    const sub = join(merged, "sub");
    expect(asNobody(["mkdir", sub]).exitCode).toBe(0);
    // within the FUSE mount, no mount point: fusermount3 fails there, and so does the fake's
    for (const fake of [["--fake"], []]) {
      const inside = asNobody(["timeout", "20", BINARY, "umount", ...fake, "--all-stacked", sub]);
      expect([fake, inside.exitCode, inside.stderr.toString()]).toEqual([fake, 32, `mountkit: unmount ${sub}: umount2(2): EPERM (Operation not permitted) (unmounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root))\n`]);
    }
    // the fake asked statmount whether the kernel's top was FUSE, found it still there, and ran on for ever
    const fake = asNobody(["timeout", "20", BINARY, "umount", "--fake", "--all-stacked", "--json", merged]);
    expect([fake.exitCode, fake.stderr.toString()]).toEqual([0, ""]);
    expect(JSON.parse(fake.stdout.toString())).toMatchObject({ ok: true, fake: true, results: [{ target: merged, ok: true, unmounted: 1 }] });
    expect(fuseMountsAt(merged)).toHaveLength(1);
    // it said EPERM, exit 32, with the mount gone
    const real = asNobody([BINARY, "umount", "--all-stacked", "--json", merged]);
    expect([real.exitCode, real.stderr.toString()]).toEqual([0, ""]);
    expect(JSON.parse(real.stdout.toString())).toMatchObject({ ok: true, results: [{ target: merged, ok: true, unmounted: 1 }] });
    expect(fuseMountsAt(merged)).toEqual([]);
  });

  test("a FUSE mount whose daemon is stopped: statfs would block, unmount does not", () => {
    fresh("fusestopped");
    const { merged, m } = layers();
    mount(m, merged);
    const [daemon] = daemonsUnder(s.dir);
    expect(daemon).toBeNumber();
    process.kill(daemon!, "SIGSTOP");
    try {
      // what containerd's isFUSE() would do first: stat -f waits for the stopped daemon
      const probe = Bun.spawnSync(["timeout", "1", "stat", "-f", merged]);
      expect(probe.exitCode).toBe(124);
      expect(unmount(merged)).toBe(true);
      expect(fuseMountsAt(merged)).toEqual([]);
    } finally {
      process.kill(daemon!, "SIGCONT");
    }
  });
});
