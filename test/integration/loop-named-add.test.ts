// loop attach DEV FILE, and attachLoop(file, {device}), for a DEV the kernel does not have: added
// first (LOOP_CTL_ADD), as util-linux 2.38's losetup adds it, then attached; removed again when
// the attach then fails (losetup leaves it). Real devices; root, private mount namespace. Each test takes
// device numbers no device has (well above the highest one), and removes every device it caused
// to be added (LOOP_CTL_REMOVE) after it, detached first when it is still on this test's file,
// checking that /dev and /sys no longer have it.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { LOOP_REMOVE_BUSY } from "../../src/ops/loop-retry.ts";
import { RunStopped } from "../../src/ops/stop.ts";
import { LOOP_NUMBER_MAX } from "../../src/plan/loop.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { O } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { LOOP_CONTROL_PATH } from "../../src/sys/loop.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { loopSysfs, runLosetup as losetup } from "../support/loop-files.ts";
import { eventually, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, image } = ws;

const numbersIn = (dir: string) => readdirSync(dir).flatMap((name) => (/^loop\d+$/.test(name) ? [Number(name.slice(4))] : []));
const exists = (n: number) => existsSync(`/dev/loop${n}`) || existsSync(`/sys/block/loop${n}`);

/**
 * A /dev/loopN no device has: past the highest number /dev or sysfs shows, by a margin and a
 * random step (another run of this test at the same time picks another). After the test, the
 * device is removed again if it exists: detached first when it is on one of files (this test's),
 * left alone and failed on when it is on anything else.
 */
function unusedLoopDevice(files: () => readonly string[]): string {
  const highest = Math.max(0, ...numbersIn("/dev"), ...numbersIn("/sys/block"));
  let n = highest + 1000 + Math.floor(Math.random() * 50_000);
  while (exists(n)) n++;
  expect(n).toBeLessThanOrEqual(LOOP_NUMBER_MAX);
  cleanups.push(() => removeAddedDevice(n, files()));
  return `/dev/loop${n}`;
}

function removeAddedDevice(n: number, files: readonly string[]): void {
  if (!existsSync(`/sys/block/loop${n}`)) {
    expect(existsSync(`/dev/loop${n}`)).toBe(false);
    return;
  }
  const device = `/dev/loop${n}`;
  if (existsSync(`/sys/block/loop${n}/loop/backing_file`)) {
    const backing = loopSysfs(device, "loop/backing_file");
    if (!files.includes(backing)) throw new Error(`${device} is attached to ${backing}, not to this test's files: left alone`);
    detachLoop(device);
  }
  const control = libcSyscalls.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
  try {
    // EBUSY while the detach's last close (or udev's look at the new device) is under way
    for (let attempt = 0; ; attempt++) {
      try {
        libcSyscalls.loopCtlRemove(control, n);
        break;
      } catch (err) {
        if (!(err instanceof SyscallError && err.errno === Errno.EBUSY) || attempt === 200) throw err;
        Bun.sleepSync(25);
      }
    }
  } finally {
    libcSyscalls.close(control);
  }
  expect([existsSync(device), existsSync(`/sys/block/loop${n}`)]).toEqual([false, false]);
}

describe("a DEV the kernel does not have: added, then attached, as losetup 2.38 does", () => {
  test("loop attach DEV FILE beside losetup DEV FILE: the device made, FILE attached; detached as any other", async () => {
    ws.fresh("named-add-cli");
    const img = image();
    const theirs = unusedLoopDevice(() => [img]);
    const ours = unusedLoopDevice(() => [img]);
    expect([exists(Number(theirs.slice(9))), exists(Number(ours.slice(9)))]).toEqual([false, false]);
    const ran = losetup([theirs, img]);
    expect(ran).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(loopSysfs(theirs, "loop/backing_file")).toBe(img);
    expect(losetup(["-d", theirs]).code).toBe(0);

    const attached = runCli(["loop", "attach", "--json", ours, img]);
    expect([attached.code, attached.stderr]).toEqual([0, ""]);
    expect(JSON.parse(attached.stdout)).toEqual({ ok: true, exitCode: 0, device: ours, number: Number(ours.slice(9)), readOnly: false, added: true });
    expect(existsSync(ours)).toBe(true);
    expect(loopSysfs(ours, "loop/backing_file")).toBe(img);
    expect(loopDevicesOf(img).sysfs).toEqual([ours]);
    // there now: named again, it is the kernel's EBUSY, nothing said of an add
    const again = runCli(["loop", "attach", ours, img]);
    expect(again.code).toBe(32);
    expect(again.stderr).toBe(`mountkit: attach ${img} to ${ours}: ioctl(LOOP_CONFIGURE): EBUSY (Device or resource busy): ${ours} (${ours} is in use, attached to ${img} already: name a free device, or give no DEV for one)\n`);
    expect(runCli(["loop", "detach", ours])).toEqual({ code: 0, stdout: "", stderr: "" });
    await eventually(`${img} detached`, () => loopDevicesOf(img).sysfs.length === 0);
  });

  test("attachLoop(file, {device}): added says so; the device there already (EEXIST: another process added it) is attached as it is", () => {
    ws.fresh("named-add-library");
    const img = image();
    const device = unusedLoopDevice(() => [img]);
    const log: string[] = [];
    const loop = attachLoop(img, { device, log: (line) => log.push(line) });
    loop.close();
    expect({ device: loop.device, added: loop.added }).toEqual({ device, added: true });
    expect(log).toContain(`loop: LOOP_CTL_ADD added ${device}`);
    expect(loopSysfs(device, "loop/backing_file")).toBe(img);
    detachLoop(device);
    // now the kernel has it: LOOP_CTL_ADD says EEXIST, and the attach goes on
    const sys = injectFaults(libcSyscalls, {});
    const second = attachLoop(img, { device, sys });
    second.close();
    expect(second.added).toBeUndefined();
    expect(sys.counts.loopCtlAdd).toBe(1);
    expect(loopSysfs(device, "loop/backing_file")).toBe(img);
    detachLoop(device);
  });
});

describe("no add", () => {
  test("a name that is no loop device: refused before any syscall; nothing added (CLI and library)", () => {
    ws.fresh("named-add-not-loop");
    const img = image();
    const device = unusedLoopDevice(() => [img]);
    const n = device.slice("/dev/loop".length);
    // losetup takes loopN for /dev/loopN; mountkit takes paths only, as its other loop commands do
    for (const name of [`loop${n}`, `/dev/loop${n}x`, `/dev/loop/${n}`, "/dev/null"]) {
      const sys = injectFaults(libcSyscalls, {});
      const err = caught(() => attachLoop(img, { device: name, sys }));
      expect([name, err instanceof PlanError, (err as PlanError).message]).toEqual([name, true, `attach ${img} to ${name}: ${name} is not a loop device`]);
      expect([name, sys.log]).toEqual([name, []]);
    }
    const run = runCli(["loop", "attach", `loop${n}`, img]);
    expect(run).toEqual({ code: 1, stdout: "", stderr: `mountkit: attach ${img} to loop${n}: loop${n} is not a loop device (name one as /dev/loopN, or give no DEV for a free one)\n` });
    expect(exists(Number(n))).toBe(false);
  });

  test("a loop name that is not the kernel's (a leading zero): not added (losetup's would add loopN, a device it does not open); open(2)'s ENOENT says why", () => {
    ws.fresh("named-add-leading-zero");
    const img = image();
    const device = unusedLoopDevice(() => [img]);
    const n = Number(device.slice("/dev/loop".length));
    const zeroLed = `/dev/loop0${n}`;
    const sys = injectFaults(libcSyscalls, {});
    const err = caught(() => attachLoop(img, { device: zeroLed, sys })) as SyscallError;
    expect({ syscall: err.syscall, errno: err.errnoName, paths: err.paths }).toEqual({ syscall: "open(2)", errno: "ENOENT", paths: [zeroLed] });
    expect(err.hint).toBe(
      `there is no ${zeroLed}, and it could not be added (not the kernel's name for a loop device, which has no leading zero and a number below 2^20): name an existing loop device, or give no DEV for a free one`,
    );
    expect(sys.counts.loopCtlAdd).toBeUndefined();
    expect(exists(n)).toBe(false);
  });

  test("FILE that cannot be opened: nothing added (losetup adds the device first, and leaves it)", () => {
    ws.fresh("named-add-no-file");
    const missing = `${ws.dir("d")}/missing.img`;
    const device = unusedLoopDevice(() => []);
    const run = runCli(["loop", "attach", device, missing]);
    expect(run.code).toBe(32);
    expect(run.stderr).toBe(`mountkit: attach ${missing} to ${device}: open(2): ENOENT (No such file or directory) (${missing} does not exist)\n`);
    expect(exists(Number(device.slice("/dev/loop".length)))).toBe(false);
  });

  test("/dev/loop-control that cannot be opened: no add, as losetup makes none; the device's ENOENT says why", () => {
    ws.fresh("named-add-no-control");
    const img = image();
    const device = unusedLoopDevice(() => [img]);
    const sys = injectFaults(libcSyscalls, { open: { calls: "always", errno: Errno.EACCES, path: LOOP_CONTROL_PATH } });
    const err = caught(() => attachLoop(img, { device, sys })) as SyscallError;
    expect({ syscall: err.syscall, errno: err.errnoName, paths: err.paths }).toEqual({ syscall: "open(2)", errno: "ENOENT", paths: [device] });
    expect(err.hint).toBe(`there is no ${device}, and it could not be added (${LOOP_CONTROL_PATH}: open(2): EACCES): name an existing loop device, or give no DEV for a free one`);
    expect(exists(Number(device.slice("/dev/loop".length)))).toBe(false);
  });
});

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  const bind = strategy === "fd" ? "loopConfigure" : "loopSetFd";
  const syscall = strategy === "fd" ? "ioctl(LOOP_CONFIGURE)" : "ioctl(LOOP_SET_FD)";

  test(`the attach fails after the add (${syscall} refused, injected): nothing attached, no fd left, the device added removed again (losetup leaves it)`, () => {
    ws.fresh(`named-add-bind-refused-${strategy}`);
    const img = image();
    const device = unusedLoopDevice(() => [img]);
    const sys = injectFaults(libcSyscalls, { [bind]: { calls: [1], errno: Errno.EINVAL, syscall } });
    const before = openFds();
    const err = caught(() => attachLoop(img, { device, sys, facts: probeKernelFacts(strategy) })) as SyscallError;
    expect({ syscall: err.syscall, errno: err.errnoName, details: err.details }).toEqual({ syscall, errno: "EINVAL", details: [device] });
    expect(err.message).toStartWith(`attach ${img} to ${device}: ${syscall}: EINVAL`);
    expect(err.hint).toBeUndefined();
    expect([sys.counts.loopCtlAdd, sys.counts.loopCtlRemove]).toEqual([1, 1]);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(img).sysfs).toEqual([]);
    expect([existsSync(device), existsSync(`/sys/block${device.slice(4)}`)]).toEqual([false, false]);
  });
}

test("the removal of the device added is refused each time (EBUSY, injected: another process keeps it open): asked for about 100 ms, then the attach's error says it is left", () => {
  ws.fresh("named-add-removal-refused");
  const img = image();
  const device = unusedLoopDevice(() => [img]);
  const sys = injectFaults(libcSyscalls, {
    loopConfigure: { calls: [1], errno: Errno.EINVAL, syscall: "ioctl(LOOP_CONFIGURE)" },
    loopCtlRemove: { calls: "always", errno: Errno.EBUSY, syscall: "ioctl(LOOP_CTL_REMOVE)" },
  });
  const err = caught(() => attachLoop(img, { device, sys, facts: probeKernelFacts("fd") })) as SyscallError;
  expect({ syscall: err.syscall, errno: err.errnoName }).toEqual({ syscall: "ioctl(LOOP_CONFIGURE)", errno: "EINVAL" });
  expect(err.hint).toBe(`${device} was added for this attach (LOOP_CTL_ADD) and is left: its removal failed (ioctl(LOOP_CTL_REMOVE): EBUSY), another process has it open or attached`);
  expect(sys.counts.loopCtlRemove).toBe(LOOP_REMOVE_BUSY.attempts);
  expect(loopDevicesOf(img).sysfs).toEqual([]);
  expect(existsSync(`/sys/block${device.slice(4)}`)).toBe(true); // removed by the test's own cleanup
});

test("the removal of the device added refused once (EBUSY, injected: udev's blkid has it open a moment): asked again, the device goes", () => {
  ws.fresh("named-add-removal-busy-once");
  const img = image();
  const device = unusedLoopDevice(() => [img]);
  const sys = injectFaults(libcSyscalls, {
    loopConfigure: { calls: [1], errno: Errno.EINVAL, syscall: "ioctl(LOOP_CONFIGURE)" },
    loopCtlRemove: { calls: [1], errno: Errno.EBUSY, syscall: "ioctl(LOOP_CTL_REMOVE)" },
  });
  const err = caught(() => attachLoop(img, { device, sys, facts: probeKernelFacts("fd") })) as SyscallError;
  expect({ syscall: err.syscall, errno: err.errnoName, hint: err.hint }).toEqual({ syscall: "ioctl(LOOP_CONFIGURE)", errno: "EINVAL", hint: undefined });
  expect(sys.counts.loopCtlRemove).toBe(2);
  expect([existsSync(device), existsSync(`/sys/block${device.slice(4)}`)]).toEqual([false, false]);
});

test("the device added has no node in /dev (a static /dev, faked at the seam): open(2)'s ENOENT says the kernel added it and /dev has no node; it is removed again", () => {
  ws.fresh("named-add-no-node");
  const img = image();
  const device = unusedLoopDevice(() => [img]);
  const sys = injectFaults(libcSyscalls, { open: { calls: "always", errno: Errno.ENOENT, path: device } });
  const err = caught(() => attachLoop(img, { device, sys })) as SyscallError;
  expect({ syscall: err.syscall, errno: err.errnoName, paths: err.paths }).toEqual({ syscall: "open(2)", errno: "ENOENT", paths: [device] });
  expect(err.hint).toBe(
    `the kernel added ${device} (LOOP_CTL_ADD), but /dev has no node for it: a static /dev, as in a container (mount devtmpfs on /dev, or mknod it)`,
  );
  expect(loopDevicesOf(img).sysfs).toEqual([]);
  expect(existsSync(`/sys/block${device.slice(4)}`)).toBe(false);
});

test("a stop asked for once the device added is attached (the CLI's stop signal): detached and removed again, as a failed attach leaves nothing", () => {
  ws.fresh("named-add-stopped");
  const img = image();
  const device = unusedLoopDevice(() => [img]);
  const stop = { arm() {}, requested: () => "SIGTERM" };
  const before = openFds();
  const err = caught(() => attachLoop(img, { device, stop }));
  expect(err instanceof RunStopped ? { reason: err.reason, cleanupErrors: err.cleanupErrors } : err).toEqual({ reason: "SIGTERM", cleanupErrors: [] });
  expect(newFds(before)).toEqual([]);
  expect(loopDevicesOf(img).sysfs).toEqual([]);
  // before, the device added for the attach stayed behind
  expect([existsSync(device), existsSync(`/sys/block${device.slice(4)}`)]).toEqual([false, false]);
});
