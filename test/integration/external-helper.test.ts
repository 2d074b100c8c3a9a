// util-linux's mount.TYPE helpers: mount(8) (and mountkit mount, unless -i) hands a type that has
// one to it. The helper here is a script of the test's own that records its argv and makes a
// real tmpfs mount with the binary itself (-i, so that it does not call itself); root, private
// mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { HelperError, SyscallError } from "../../src/errors.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { HELPER_ECHILD } from "../../src/ops/retry.ts";
import { unmountAt } from "../../src/ops/umount-operand.ts";
import { unmount } from "../../src/ops/unmount.ts";
import { Errno } from "../../src/errno.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { loopDevicesOf } from "../support/resources.ts";
import { scriptHelper } from "../support/helper-script.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

const ws = workspace();
const { dir, unmountAfter } = ws;

/** mount.mkfake: mounts a tmpfs with the -o it was given (and `extra` options) on its TARGET, then exits with `status`. */
function helperDir(options: { extra?: string; status?: number } = {}) {
  const extra = options.extra === undefined ? "" : `,${options.extra}`;
  return scriptHelper(dir, "helpers", "mount.mkfake", [
    'src=$1; tgt=$2; shift 2; opts=""',
    'while [ $# -gt 0 ]; do case $1 in -o) opts=$2; shift 2;; *) shift;; esac; done',
    `${BINARY} mount -i -t tmpfs -o "mode=0755$\{opts:+,$opts\}${extra}" "$src" "$tgt" || exit 1`,
    `echo "mkfake: done with $tgt"`,
    `exit ${options.status ?? 0}`,
  ]);
}

describe("mountkit mount runs a type's mount.TYPE helper, as mount(8) does", () => {
  test("libmount's argv (SOURCE TARGET -s -o OPTIONS), the fstab words left out; the helper's mount is the one made, and umount takes it down", () => {
    ws.fresh("ext-helper");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir();
    const r = runCli(["mount", "-t", "mkfake", "-s", "-o", "size=2m,nofail,noauto,x-systemd.automount,comment=c,shared", "--helper-dir", helpers, "srv:/export", target]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(argv()).toEqual(["srv:/export", target, "-s", "-o", "rw,size=2m,nofail"]);
    const [made] = mountsAt(target);
    expect(made).toMatchObject({ source: "srv:/export", fstype: "tmpfs" });
    expect(made!.superOptions).toContain("size=2048k");
    // "shared" was kept from the helper and applied by mountkit afterwards
    expect(made!.shared).toBeGreaterThan(0);
    expect(runCli(["umount", target]).code).toBe(0);
    expect(mountsAt(target)).toEqual([]);
  });

  test("-v goes to the helper as well; TYPE.SUBTYPE run by mount.TYPE gets -t TYPE.SUBTYPE", () => {
    ws.fresh("ext-helper-sub");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir();
    const r = runCli(["mount", "-v", "-t", "mkfake.sub", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`mkfake: done with ${target}\n`);
    expect(r.stderr).toContain("mountkit: mount.mkfake: exited 0\n");
    expect(argv()).toEqual(["fake-src", target, "-v", "-o", "rw", "-t", "mkfake.sub"]);
    expect(mountsAt(target).map((m) => m.fstype)).toEqual(["tmpfs"]);
  });

  test("--dry-run prints the helper's execve with its path and runs nothing", () => {
    ws.fresh("ext-helper-dry");
    const target = dir("t");
    const { helpers, argv } = helperDir();
    const r = runCli(["mount", "--dry-run", "-t", "mkfake", "-o", "size=1m", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`execve(${JSON.stringify(join(helpers, "mount.mkfake"))}, ["mount.mkfake", "fake-src", ${JSON.stringify(target)}, "-o", "rw,size=1m"])\n`);
    expect(argv()).toBeUndefined();
    expect(mountsAt(target)).toEqual([]);
  });

  test("-i: no helper; the kernel is asked for the type and refuses it (mount(2), ENODEV, exit 32), nothing mounted", () => {
    ws.fresh("ext-helper-i");
    const target = dir("t");
    const { helpers, argv } = helperDir();
    const r = runCli(["mount", "-i", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(32);
    expect(r.stderr).toContain("mount(2)");
    expect(r.stderr).toContain("ENODEV");
    expect(argv()).toBeUndefined();
    expect(mountsAt(target)).toEqual([]);
  });

  test("a helper that fails after mounting: its status is the exit code, the error names the helper; its output went to the terminal; its mount is removed", () => {
    ws.fresh("ext-helper-fail");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir({ status: 5 });
    const r = runCli(["mount", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(5);
    expect(r.stdout).toBe(`mkfake: done with ${target}\n`);
    expect(r.stderr).toBe(`mountkit: mount fake-src on ${target}: mount helper ${join(helpers, "mount.mkfake")} [mount.mkfake fake-src ${target} -o rw] exited with status 5\n`);
    expect(argv()).toEqual(["fake-src", target, "-o", "rw"]);
    expect(mountsAt(target)).toEqual([]);
  });

  test("a step after the helper fails (X-mount.mode on a read-only mount: chmod EROFS): the helper's mount is rolled back", () => {
    ws.fresh("ext-helper-rollback");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir({ extra: "ro" });
    const r = runCli(["mount", "-t", "mkfake", "-o", "X-mount.mode=0700", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(32); // the helper succeeded: mountkit's own step failed
    expect(r.stderr).toContain("EROFS");
    expect(argv()).toEqual(["fake-src", target, "-o", "rw"]); // X-mount.* is mountkit's, not the helper's
    expect(mountsAt(target)).toEqual([]);
  });

  test("mount -a hands an fstab line's type to its helper too (and -i to the kernel)", () => {
    const s = ws.fresh("ext-helper-fstab");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir();
    const fstab = s.path("fstab");
    writeFileSync(fstab, `fstab-src ${target} mkfake size=1m,defaults,_netdev 0 0\n`);
    const internal = runCli(["mount", "-a", "-i", "-T", fstab, "--helper-dir", helpers]);
    expect(internal.code).not.toBe(0);
    expect(internal.stderr).toContain('filesystem type "mkfake" refused by the kernel');
    expect(argv()).toBeUndefined();
    const r = runCli(["mount", "-a", "-T", fstab, "--helper-dir", helpers]);
    expect(r.code).toBe(0);
    expect(argv()).toEqual(["fstab-src", target, "-o", "rw,size=1m,_netdev"]);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["fstab-src"]);
  });
});

test("a type read from the superblock goes to its helper too (mount(8) hands a probed ntfs to mount.ntfs); -i: the kernel", () => {
  ws.fresh("ext-helper-probed");
  const target = dir("t");
  unmountAfter(target);
  const img = ws.image();
  const loop = attachLoop(img);
  try {
    const { helpers, argv } = scriptHelper(dir, "helpers", "mount.ext4", [`exec ${BINARY} mount -i -t ext4 -o "$4" "$1" "$2"`]);
    const r = runCli(["mount", "--helper-dir", helpers, "-o", "ro,noatime,X-mount.mkdir", loop.device, target]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(argv()).toEqual([loop.device, target, "-o", "ro,noatime"]);
    expect(mountsAt(target).map((m) => [m.fstype, m.options.split(",")[0]])).toEqual([["ext4", "ro"]]);
    expect(runCli(["umount", "-i", target]).code).toBe(0);
    // -i: no helper; the probed type straight to mount(2)
    const internal = runCli(["mount", "-i", "--helper-dir", helpers, loop.device, target]);
    expect([internal.code, internal.stderr]).toEqual([0, ""]);
    expect(argv()).toEqual([loop.device, target, "-o", "ro,noatime"]); // the first run's
    expect(mountsAt(target).map((m) => m.fstype)).toEqual(["ext4"]);
    expect(runCli(["umount", "-i", target]).code).toBe(0);
    // a step after the helper's mount fails (X-mount.mode on a read-only mount: chmod EROFS): its mount is rolled back
    const failed = runCli(["mount", "--helper-dir", helpers, "-o", "ro,X-mount.mode=0700", loop.device, target]);
    expect(failed.code).toBe(32);
    expect(failed.stderr).toContain("EROFS");
    expect(argv()).toEqual([loop.device, target, "-o", "ro"]);
    expect(mountsAt(target)).toEqual([]);
  } finally {
    loop.close();
    detachLoop(loop.device);
  }
});

test("an image with no type: its loop device's probed type goes to that type's helper, given the device; the device is freed at unmount, or when the helper fails", () => {
  ws.fresh("ext-helper-image");
  const target = dir("t");
  unmountAfter(target);
  const img = ws.image();
  const noDevice = { sysfs: [], losetup: [] };
  const { helpers, argv } = scriptHelper(dir, "helpers", "mount.ext4", [
    'case "$4" in *fail-here*) echo "mount.ext4: refused" >&2; exit 3;; esac',
    `exec ${BINARY} mount -i -t ext4 -o "$4" "$1" "$2"`,
  ]);
  const dry = runCli(["mount", "-n", "--helper-dir", helpers, "-o", "noatime", img, target]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`# when the type has a mount.TYPE helper: execve("mount.TYPE", ["mount.TYPE", "/dev/loopN", ${JSON.stringify(target)}, "-o", "rw,noatime"]); else:`);

  // loop, loop=... and direct-io are the attached device's: the helper never sees them
  const r = runCli(["mount", "--helper-dir", helpers, "-o", "loop,direct-io,noatime", img, target]);
  expect([r.code, r.stderr]).toEqual([0, ""]);
  const devices = loopDevicesOf(img);
  expect(devices.sysfs.length).toBe(1);
  const device = devices.sysfs[0]!;
  expect(argv()).toEqual([device, target, "-o", "rw,noatime"]);
  expect(mountsAt(target).map((m) => [m.fstype, m.source])).toEqual([["ext4", device]]);
  expect(runCli(["umount", "-i", target]).code).toBe(0);
  expect(mountsAt(target)).toEqual([]);
  expect(loopDevicesOf(img)).toEqual(noDevice); // autoclear: the device went with the mount

  const failed = runCli(["mount", "--helper-dir", helpers, "-o", "noatime,fail-here", img, target]);
  expect(failed.code).toBe(3); // the helper's status, as mount(8) exits with it
  expect(failed.stderr).toContain("mount.ext4: refused");
  expect(argv()).toEqual([expect.stringMatching(/^\/dev\/loop\d+$/), target, "-o", "rw,noatime,fail-here"]);
  expect(mountsAt(target)).toEqual([]);
  expect(loopDevicesOf(img)).toEqual(noDevice);

  // -i: the kernel mounts the probed type itself
  const internal = runCli(["mount", "-i", "--helper-dir", helpers, "-o", "noatime", img, target]);
  expect([internal.code, internal.stderr]).toEqual([0, ""]);
  expect(argv()![3]).toBe("rw,noatime,fail-here"); // the helper did not run again
  expect(mountsAt(target).map((m) => m.fstype)).toEqual(["ext4"]);
  expect(runCli(["umount", "-i", target]).code).toBe(0);
  expect(loopDevicesOf(img)).toEqual(noDevice);

  // write-protected (reached through a read-only bind of its directory): the device is attached
  // read-only, so the helper is asked for ro as well
  const ro = dir("ro");
  unmountAfter(ro);
  expect(runCli(["mount", "--bind", "-r", dirname(img), ro]).code).toBe(0);
  const protectedImage = join(ro, basename(img));
  const readOnly = runCli(["mount", "--helper-dir", helpers, "-o", "noatime", protectedImage, target]);
  expect(readOnly.code).toBe(0);
  expect(readOnly.stderr).toContain("read-only");
  expect(argv()).toEqual([expect.stringMatching(/^\/dev\/loop\d+$/), target, "-o", "ro,noatime"]);
  expect(mountsAt(target).map((m) => m.options.split(",")[0])).toEqual(["ro"]);
  expect(runCli(["umount", "-i", target]).code).toBe(0);
  expect(loopDevicesOf(protectedImage)).toEqual(noDevice);
  expect(loopDevicesOf(img)).toEqual(noDevice);
});

/** umount.TYPE (tmpfs by default): unmounts its TARGET with the binary (-i), or with `status` not 0 refuses. */
function umountHelperDir(status = 0, type = "tmpfs") {
  return scriptHelper(dir, "uhelpers", `umount.${type}`, [status === 0 ? `exec ${BINARY} umount -i "$1"` : `echo "umount.${type}: refused"; exit ${status}`]);
}

describe("mountkit umount runs the mount's umount.TYPE helper, as umount(8) does", () => {
  test("libmount's argv (TARGET [-l] [-f] [-v] [-r]): the helper's unmount is the one made", () => {
    ws.fresh("ext-uhelper");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = umountHelperDir();
    expect(runCli(["mount", "-t", "tmpfs", "uh-src", target]).code).toBe(0);
    const r = runCli(["umount", "-l", "-v", "--helper-dir", helpers, target]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`execve(${JSON.stringify(join(helpers, "umount.tmpfs"))}, ["umount.tmpfs", ${JSON.stringify(target)}, "-l", "-v"])`);
    expect(argv()).toEqual([target, "-l", "-v"]);
    expect(mountsAt(target)).toEqual([]);
  });

  test("-i: umount2 itself, no helper; a failing helper's status is the exit code, the error names it, the mount left as it was", () => {
    ws.fresh("ext-uhelper-fail");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = umountHelperDir(1);
    expect(runCli(["mount", "-t", "tmpfs", "uh-src", target]).code).toBe(0);
    const failed = runCli(["umount", "--helper-dir", helpers, target]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("umount.tmpfs: refused\n");
    expect(failed.stderr).toContain(`umount helper ${join(helpers, "umount.tmpfs")} exited 1 (-i unmounts it without the helper)`);
    expect(argv()).toEqual([target]);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["uh-src"]);
    const internal = runCli(["umount", "-i", "--helper-dir", helpers, target]);
    expect(internal.code).toBe(0);
    expect(mountsAt(target)).toEqual([]);
  });
});

describe("an umount.TYPE helper whose wait is lost (ECHILD), injected at the seam", () => {
  /** a tmpfs "below" and a tmpfs "top" stacked on a fresh target, and the helper dir */
  function stacked(label: string) {
    ws.fresh(label);
    const target = dir("t");
    unmountAfter(target);
    mount({ type: "tmpfs", source: "below", options: [] }, target);
    mount({ type: "tmpfs", source: "top", options: [] }, target);
    return { target, ...umountHelperDir() };
  }
  const helperRuns = (sys: ReturnType<typeof injectFaults>) => sys.log.filter((c) => c[0] === "runProcess").length;

  test("after it unmounted: the mount ID changed, so it counts as unmounted, and the mount below stays", () => {
    const { target, helpers, argv } = stacked("ext-uhelper-echild-after");
    const sys = injectFaults(libcSyscalls, { runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)", when: "after" } });
    const lines: string[] = [];
    expect(unmountAt(target, { externalHelpers: true, helperDir: helpers, sys, log: (l) => lines.push(l) })).toBe("unmounted");
    expect(argv()).toEqual([target, "-v"]);
    expect(helperRuns(sys)).toBe(1);
    expect(lines.some((l) => /umount\.tmpfs: waitpid lost the child \(ECHILD\); the mount ID of .* changed \(\d+ -> \d+\): it unmounted/.test(l))).toBe(true);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["below"]);
  });

  test("before it ran: the same mount ID, so it runs again and unmounts the top mount alone", () => {
    const { target, helpers } = stacked("ext-uhelper-echild-before");
    const sys = injectFaults(libcSyscalls, { runProcess: { calls: [1], errno: Errno.ECHILD, syscall: "waitpid(2)" } });
    expect(unmountAt(target, { externalHelpers: true, helperDir: helpers, sys })).toBe("unmounted");
    expect(helperRuns(sys)).toBe(2);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["below"]);
  });

  test("every time: HELPER_ECHILD's 10 tries, then a HelperError naming the ECHILD; the mounts as they were", () => {
    const { target, helpers } = stacked("ext-uhelper-echild-always");
    const sys = injectFaults(libcSyscalls, { runProcess: { calls: "always", errno: Errno.ECHILD, syscall: "waitpid(2)" } });
    const err = caught(() => unmountAt(target, { externalHelpers: true, helperDir: helpers, sys }));
    expect(err).toBeInstanceOf(HelperError);
    expect((err as HelperError).message).toBe(`unmount ${target}: umount helper ${join(helpers, "umount.tmpfs")}: waitpid lost the child (ECHILD) on all 10 tries`);
    expect(((err as HelperError).cause as SyscallError).errnoName).toBe("ECHILD");
    expect(helperRuns(sys)).toBe(HELPER_ECHILD.attempts);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["below", "top"]);
  });
});

test("umount -d with a helper: the helper unmounts, then the loop device the mount was made from is detached", () => {
  ws.fresh("ext-uhelper-loop");
  const target = dir("t");
  unmountAfter(target);
  const img = ws.image();
  const attached = attachLoop(img); // by hand: no autoclear, so only -d frees it
  attached.close();
  const { helpers, argv } = umountHelperDir(0, "ext4");
  expect(runCli(["mount", "-t", "ext4", attached.device, target]).code).toBe(0);
  const r = runCli(["umount", "-d", "--helper-dir", helpers, target]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(argv()).toEqual([target]);
  expect(mountsAt(target)).toEqual([]);
  expect(loopDevicesOf(img).sysfs).toEqual([]);
});

/** umount.TYPE that appends its arguments (one line per run) to calls.log, then unmounts its TARGET with the binary (-i). */
function loggingUmountHelper(type: string) {
  const helpers = dir("uhelpers-log");
  const log = join(helpers, "calls.log");
  writeFileSync(join(helpers, `umount.${type}`), ["#!/bin/sh", `echo "$*" >> ${log}`, `exec ${BINARY} umount -i "$1"`, ""].join("\n"));
  chmodSync(join(helpers, `umount.${type}`), 0o755);
  return { helpers, calls: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(0, -1) : []) };
}

describe("every mount umount takes down goes through its type's helper, as libmount's umount does", () => {
  test("-R: each tmpfs under TARGET by umount.tmpfs (children first), the ramfs by umount2; -i none", () => {
    ws.fresh("ext-uhelper-recursive");
    const top = dir("t");
    const [a, b] = [dir("t", "a"), dir("t", "b")];
    for (const path of [top, a, b]) unmountAfter(path);
    const mountTree = () => {
      for (const [type, source, target] of [["tmpfs", "r-top", top], ["tmpfs", "r-a", a], ["ramfs", "r-b", b]] as const) {
        expect(runCli(["mount", "-m", "-t", type, source, target]).code).toBe(0);
      }
    };
    mountTree();
    const { helpers, calls } = loggingUmountHelper("tmpfs");
    const r = runCli(["umount", "-R", "--helper-dir", helpers, top]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(calls()).toEqual([a, top]);
    expect(mountsUnder(top)).toEqual([]);
    mountTree();
    expect(runCli(["umount", "-R", "-i", "--helper-dir", helpers, top]).code).toBe(0);
    expect(calls()).toEqual([a, top]);
    expect(mountsUnder(top)).toEqual([]);
  });

  test("-R with a mount under TARGET hidden by a later one on its parent directory: left for the next pass, then its helper runs", () => {
    ws.fresh("ext-uhelper-hidden");
    const top = dir("t");
    const [a, ab] = [join(top, "a"), join(top, "a", "b")];
    for (const path of [top, a, ab]) unmountAfter(path);
    expect(runCli(["mount", "-t", "tmpfs", "top", top]).code).toBe(0);
    expect(runCli(["mount", "-m", "-t", "tmpfs", "deep", ab]).code).toBe(0);
    expect(runCli(["mount", "-t", "tmpfs", "over", a]).code).toBe(0); // deep's mount point is gone from view
    const { helpers, calls } = loggingUmountHelper("tmpfs");
    const r = runCli(["umount", "-R", "--helper-dir", helpers, top]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(calls()).toEqual([a, ab, top]);
    expect(mountsUnder(top)).toEqual([]);
  });

  test("-R on a stack: the top mount and what is on it by their helpers; the covered mount and its mounts stay", () => {
    ws.fresh("ext-uhelper-stack");
    const top = dir("t");
    const sub = join(top, "sub");
    unmountAfter(top);
    unmountAfter(sub);
    expect(runCli(["mount", "-t", "tmpfs", "bottom", top]).code).toBe(0);
    expect(runCli(["mount", "-m", "-t", "tmpfs", "sub", sub]).code).toBe(0);
    expect(runCli(["mount", "-t", "tmpfs", "over", top]).code).toBe(0);
    const { helpers, calls } = loggingUmountHelper("tmpfs");
    expect(runCli(["umount", "-R", "--helper-dir", helpers, top])).toMatchObject({ code: 0, stderr: "" });
    expect(calls()).toEqual([top]);
    expect(mountsUnder(top).map((m) => [m.mountpoint, m.source])).toEqual([[top, "bottom"], [sub, "sub"]]);
    expect(runCli(["umount", "-R", "--helper-dir", helpers, top])).toMatchObject({ code: 0, stderr: "" });
    expect(calls()).toEqual([top, sub, top]);
    expect(mountsUnder(top)).toEqual([]);
  });

  test("-a -T FSTAB: the lines' tmpfs mounts by umount.tmpfs, in reverse order; -A: every mount of the filesystem, latest first", () => {
    const s = ws.fresh("ext-uhelper-all");
    const [t1, t2, t3] = [dir("t1"), dir("t2"), dir("t3")];
    for (const path of [t1, t2, t3]) unmountAfter(path);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `fa ${t1} tmpfs defaults 0 0\nfb ${t2} ramfs defaults 0 0\nfc ${t3} tmpfs defaults 0 0\n`);
    expect(runCli(["mount", "-a", "-T", fstab]).code).toBe(0);
    const { helpers, calls } = loggingUmountHelper("tmpfs");
    const all = runCli(["umount", "-a", "-T", fstab, "--helper-dir", helpers]);
    expect([all.code, all.stderr]).toEqual([0, ""]);
    expect(calls()).toEqual([t3, t1]);
    expect([t1, t2, t3].flatMap(mountsAt)).toEqual([]);

    expect(runCli(["mount", "-t", "tmpfs", "fa", t1]).code).toBe(0);
    expect(runCli(["mount", "--bind", t1, t2]).code).toBe(0);
    const targets = runCli(["umount", "-A", "--helper-dir", helpers, t1]);
    expect([targets.code, targets.stderr]).toEqual([0, ""]);
    expect(calls()).toEqual([t3, t1, t2, t1]);
    expect([t1, t2].flatMap(mountsAt)).toEqual([]);
  });

  test("a link named umount, -a over the mount table (-t ramfs): each ramfs by umount.ramfs", () => {
    ws.fresh("ext-uhelper-table");
    const a = dir("a");
    const umount = join(dir("bin"), "umount");
    symlinkSync(BINARY, umount);
    const { helpers, calls } = loggingUmountHelper("ramfs");
    // a namespace of its own: what umount -a takes down there leaves this process's mounts be
    const script = `set -e; mount -t ramfs outer "$A"; mkdir "$A/in"; mount -t ramfs inner "$A/in"; "$UMOUNT" -a -t ramfs --helper-dir "$H"; grep -c " $A" /proc/self/mountinfo || true`;
    const run = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, A: a, UMOUNT: umount, H: helpers } });
    expect([run.exitCode, run.stderr.toString()]).toEqual([0, ""]);
    expect(run.stdout.toString().trim()).toBe("0");
    expect(calls()).toEqual([join(a, "in"), a]);
  });
});

describe("the library runs them only when asked (containerd runs FUSE helpers alone)", () => {
  test("externalHelpers: true runs the helper; by default the kernel is asked and refuses the type", () => {
    ws.fresh("ext-helper-lib");
    const target = dir("t");
    unmountAfter(target);
    const { helpers, argv } = helperDir();
    const m = { type: "mkfake", source: "lib-src", options: ["size=1m"] };
    const refused = caught(() => mount(m, target, { helperDir: helpers }));
    expect(refused).toBeInstanceOf(SyscallError);
    expect((refused as SyscallError).errnoName).toBe("ENODEV");
    expect(argv()).toBeUndefined();
    const plan = mount(m, target, { helperDir: helpers, externalHelpers: true, sloppy: true });
    expect(plan.steps.map((s) => s.op)).toEqual(["helper"]);
    expect(argv()).toEqual(["lib-src", target, "-s", "-o", "rw,size=1m"]);
    expect(mountsAt(target).map((m) => m.source)).toEqual(["lib-src"]);
    unmount(target);
    expect(mountsAt(target)).toEqual([]);
  });

  test("a helper that cannot mount: HelperError with its argv and exit status, nothing left", () => {
    ws.fresh("ext-helper-lib-fail");
    const target = dir("t");
    unmountAfter(target);
    // the helper's own mount fails: tmpfs refuses the option
    const { helpers } = helperDir({ extra: "no-such-tmpfs-option" });
    const err = caught(() => mount({ type: "mkfake", source: "s", options: [] }, target, { helperDir: helpers, externalHelpers: true }));
    expect(err).toBeInstanceOf(HelperError);
    expect((err as HelperError).exitStatus).toBe(1);
    expect((err as HelperError).argv).toEqual(["mount.mkfake", "s", target, "-o", "rw"]);
    // the library keeps a helper's output for its error (the CLI lets it reach the terminal instead)
    expect((err as HelperError).output).toContain("mountkit: mount s on");
    expect(mountsAt(target)).toEqual([]);
  });
});
