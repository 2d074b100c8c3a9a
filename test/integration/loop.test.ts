// Real loop devices and loop mounts of small ext4 images. Root, private mount namespace.
// Other engineers use loop devices on this machine at the same time: every check looks only at
// the devices bound to this test's own image, and every device is released in finally.
import { beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, linkSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, PlanError, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { LOOP_ATTACH_BUSY } from "../../src/ops/loop-retry.ts";
import { mount } from "../../src/ops/mount.ts";
import { withPolicy } from "../../src/ops/retry.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { umountOperand } from "../../src/ops/umount-operand.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { O } from "../../src/sys/fd.ts";
import { LO_FLAGS } from "../../src/sys/loop.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { runCli } from "../support/cli.ts";
import { workspace, type Scratch } from "../support/workspace.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { eventually, expectFreed, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { caught } from "../support/caught.ts";

beforeAll(requireRootNamespace);

const BINARY = join(import.meta.dir, "../../dist/mountkit");

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const none = { sysfs: [], losetup: [] };
const sysfsValue = (device: string, file: string) => readFileSync(`/sys/block/${device.slice("/dev/".length)}/${file}`, "utf8").trim();
const sourceAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target)?.source;

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  const method = strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD + LOOP_SET_STATUS64";
  describe(`loop mounts by ${method}`, () => {
    const facts = probeKernelFacts(strategy);

    test("mount an ext4 image: autoclear, then unmount frees the device; no fd left open", async () => {
      fresh(`loop-${strategy}`);
      const img = image();
      const t = dir("m");
      unmountAfter(t);
      const before = openFds();
      const plan = mount({ type: "ext4", source: img, options: ["loop", "nodev"] }, t, { facts });
      expect(newFds(before)).toEqual([]);
      expect(plan.steps[0]).toMatchObject({ op: "loop-mount", loop: { method: strategy === "fd" ? "configure" : "set-fd", autoclear: true } });
      const device = sourceAt(t)!;
      expect(device).toMatch(/^\/dev\/loop\d+$/);
      expect(loopDevicesOf(img)).toEqual({ sysfs: [device], losetup: [device] });
      expect(sysfsValue(device, "loop/autoclear")).toBe("1");
      writeFileSync(join(t, "hello"), "world");
      unmountAll(t);
      await expectFreed(img);
    });

    test("ro mounts a read-only device; direct-io reaches the device", () => {
      fresh(`loop-${strategy}-ro`);
      const img = image();
      const t = dir("m");
      unmountAfter(t);
      mount({ type: "ext4", source: img, options: ["loop", "ro", "direct-io"] }, t, { facts });
      const device = sourceAt(t)!;
      expect(sysfsValue(device, "ro")).toBe("1");
      expect(sysfsValue(device, "loop/dio")).toBe("1");
      expect((caught(() => writeFileSync(join(t, "x"), "")) as NodeJS.ErrnoException).code).toBe("EROFS");
    });

    test("offset= and sizelimit= (util-linux's loop options) reach the device", () => {
      fresh(`loop-${strategy}-offset`);
      const img = image("img", 16, ["-E", "offset=1048576"], "8M");
      const t = dir("m");
      unmountAfter(t);
      mount({ type: "ext4", source: img, options: ["loop", "offset=1MiB", "sizelimit=8M"] }, t, { facts });
      const device = sourceAt(t)!;
      expect(sysfsValue(device, "loop/offset")).toBe("1048576");
      expect(sysfsValue(device, "loop/sizelimit")).toBe(String(8 << 20));
      expect(Number(sysfsValue(device, "size")) * 512).toBe(8 << 20);
    });

    test("an image with no valid filesystem: exit 32, the device is freed, nothing mounted", async () => {
      fresh(`loop-${strategy}-badfs`);
      const img = s.path("zeros");
      writeFileSync(img, new Uint8Array(4 << 20));
      cleanups.push(() => loopDevicesOf(img).sysfs.forEach((d) => detachLoop(d)));
      const t = dir("m");
      const before = openFds();
      const err = caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts })) as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect(err.syscall).toBe("mount(2)");
      expect(exitCodeFor(err)).toBe(32);
      expect(err.message).toMatch(/on \/dev\/loop\d+/);
      expect(err.hint).toMatch(/holds no valid ext4 filesystem/);
      expect(newFds(before)).toEqual([]);
      await expectFreed(img);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("a source that is not a regular file or block device: exit 32 and a hint", async () => {
      fresh(`loop-${strategy}-notfile`);
      const t = dir("m");
      for (const source of [dir("a-directory"), "/dev/null"]) {
        const before = openFds();
        const err = caught(() => mount({ type: "ext4", source, options: ["loop"] }, t, { facts })) as SyscallError;
        expect(err).toBeInstanceOf(SyscallError);
        expect(exitCodeFor(err)).toBe(32);
        expect(err.hint).toMatch(/is not a regular file or block device/);
        expect(newFds(before)).toEqual([]);
        await expectFreed(source);
      }
    });

    test("a FIFO, read-only too: refused at once (its open never waits for a writer), exit 32 and the hint", async () => {
      fresh(`loop-${strategy}-fifo`);
      const fifo = join(dir("d"), "fifo");
      expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
      const t = dir("m");
      // through the binary under timeout(1), so that a regression hangs one process, not the suite
      for (const args of [["loop", "attach", "-r", fifo], ["mount", "-t", "ext4", "-o", "loop,ro", fifo, t], ["mount", "-r", "-o", "loop", fifo, t]]) {
        const proc = Bun.spawnSync(["timeout", "10", BINARY, ...args], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
        expect([args.join(" "), proc.exitCode]).toEqual([args.join(" "), 32]);
        expect(proc.stderr.toString()).toContain(`(${fifo} is not a regular file or block device)`);
      }
      await expectFreed(fifo);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("the step after LOOP_SET_FD / LOOP_CONFIGURE fails: the device is detached again", async () => {
      fresh(`loop-${strategy}-fault`);
      const img = image();
      const t = dir("m");
      const fault = strategy === "fd" ? { mount: { calls: [1], errno: Errno.EIO } } : { loopSetStatus64: { calls: [1], errno: Errno.EIO } };
      const sys = injectFaults(libcSyscalls, fault);
      const err = caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts, sys })) as SyscallError;
      expect(err.errno).toBe(Errno.EIO);
      expect(sys.counts.loopClrFd).toBe(1);
      await expectFreed(img);
    });
  });
}

describe("the EBUSY race", () => {
  const facts = probeKernelFacts("fd");

  test("another process takes the free device first: the next free one is tried", () => {
    fresh("loop-race");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    attachLoop(image("other")).close(); // another file's device, as other processes' are
    const sys = injectFaults(libcSyscalls, { loopConfigure: { calls: [1, 2], errno: Errno.EBUSY } });
    mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts, sys });
    // Two races faked; another engineer's process may win a real one too.
    const tries = sys.counts.loopCtlGetFree!;
    expect(tries).toBeGreaterThanOrEqual(3);
    expect(sys.counts.loopConfigure).toBe(tries);
    // every device fd opened for a lost race was closed again. The attach starts at the first
    // LOOP_CTL_GET_FREE; before it, the look for a device img is attached to already opens each
    // attached device (other processes' too) and closes it again.
    const isDevice = (c: unknown[]) => String(c[1]).startsWith("/dev/loop") && c[1] !== "/dev/loop-control";
    const start = sys.log.findIndex((c) => c[0] === "loopCtlGetFree");
    const [lookup, attach] = [sys.log.slice(0, start), sys.log.slice(start)];
    expect(attach.filter((c) => c[0] === "open" && isDevice(c))).toHaveLength(tries);
    expect(attach.filter((c) => c[0] === "close")).toHaveLength(2 + tries); // backing + control, one fd per device tried
    expect(lookup.filter((c) => c[0] === "close")).toHaveLength(lookup.filter((c) => c[0] === "open" && isDevice(c)).length);
    expect(loopDevicesOf(img).sysfs).toEqual([sourceAt(t)!]);
  });

  test("the policy gives up after its attempts with EBUSY; nothing is left", async () => {
    fresh("loop-race-lost");
    const img = image();
    const sys = injectFaults(libcSyscalls, { loopConfigure: { calls: "always", errno: Errno.EBUSY, syscall: "ioctl(LOOP_CONFIGURE)" } });
    const before = openFds();
    const err = caught(() => attachLoop(img, { facts, sys, retry: withPolicy(LOOP_ATTACH_BUSY, { attempts: 4, jitterPerAttemptMs: 0 }) })) as SyscallError;
    expect(err.errno).toBe(Errno.EBUSY);
    expect(err.message).toMatch(/^attach .* to a loop device: ioctl\(LOOP_CONFIGURE\): EBUSY/);
    expect(sys.counts.loopConfigure).toBe(4);
    // it had the hint of a busy mount point ("... or the source is busy") once in a mount
    expect(err.hint).toBe("another process bound each free loop device first, every time one was tried: many are being attached at once; try again");
    expect(newFds(before)).toEqual([]);
    await expectFreed(img);
  });

  test("the open of every device it gives fails with ENXIO (each being detached by another process): the policy gives up, and the hint says why", async () => {
    fresh("loop-race-detached");
    const img = image();
    const sys: typeof libcSyscalls = {
      ...libcSyscalls,
      open: (path, flags, mode) => {
        if (/^\/dev\/loop\d+$/.test(path) && flags & O.RDWR) throw new SyscallError("open(2)", Errno.ENXIO, [path]);
        return libcSyscalls.open(path, flags, mode);
      },
    };
    const before = openFds();
    const err = caught(() => attachLoop(img, { facts, sys, retry: withPolicy(LOOP_ATTACH_BUSY, { attempts: 3, jitterPerAttemptMs: 0 }) })) as SyscallError;
    expect(err.message).toMatch(/^attach .* to a loop device: open\(2\): ENXIO \(No such device or address\): \/dev\/loop\d+$/);
    // it had none: ENXIO alone reads as a device that is not there
    expect(err.hint).toBe("another process was detaching each free loop device as it was opened, every time one was tried: many are being attached and detached at once; try again");
    expect(newFds(before)).toEqual([]);
    await expectFreed(img);
  });

  test("containerd's policy: 99 attempts, a random pause up to attempt x 10 ms; EBUSY, and ENXIO beyond containerd", () => {
    expect(LOOP_ATTACH_BUSY).toMatchObject({ attempts: 99, delayMs: 0, jitterPerAttemptMs: 10, errnos: [Errno.EBUSY, Errno.ENXIO] });
  });
});

// The host's loop devices are never used up for real (other engineers need them): the kernel's
// answers are injected, everything else stays real.
describe("no free loop device to be had", () => {
  const facts = probeKernelFacts("fd");
  const mountLoop = (img: string, t: string, sys: typeof libcSyscalls) => caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts, sys })) as SyscallError;

  test("LOOP_CTL_GET_FREE finds none and cannot add one (ENOSPC, ENOMEM, ENODEV): named, the hint says to detach unused ones, not a full disk or an unknown type", async () => {
    fresh("loop-none-free");
    const img = image();
    const t = dir("m");
    for (const errno of [Errno.ENOSPC, Errno.ENOMEM, Errno.ENODEV]) {
      const sys = injectFaults(libcSyscalls, { loopCtlGetFree: { calls: "always", errno, syscall: "ioctl(LOOP_CTL_GET_FREE)" } });
      const before = openFds();
      const err = mountLoop(img, t, sys);
      expect(err.message).toMatch(/^mount .*img on .*m: ioctl\(LOOP_CTL_GET_FREE\): E(NOSPC|NOMEM|NODEV) /);
      // ENODEV said "unknown filesystem type \"ext4\"", the others nothing
      expect(err.hint).toBe("the kernel has no free loop device and could not add one: detach the loop devices not in use (mountkit loop list, mountkit loop detach DEV)");
      expect(exitCodeFor(err)).toBe(32);
      expect(newFds(before)).toEqual([]);
      expect(mountsUnder(t)).toEqual([]);
    }
    await expectFreed(img);
  });

  test("the free device has no node in /dev (a container's static /dev): open(2)'s ENOENT names /dev/loopN", async () => {
    fresh("loop-no-node");
    const img = image();
    const t = dir("m");
    const sys: typeof libcSyscalls = {
      ...libcSyscalls,
      open: (path, flags, mode) => {
        if (/^\/dev\/loop\d+$/.test(path)) throw new SyscallError("open(2)", Errno.ENOENT, [path]);
        return libcSyscalls.open(path, flags, mode);
      },
    };
    const before = openFds();
    const err = mountLoop(img, t, sys);
    // it said "mount IMG on T: open(2): ENOENT (No such file or directory)", naming neither the device nor why
    expect(err.message).toMatch(/^mount .*img on .*m: open\(2\): ENOENT \(No such file or directory\): \/dev\/loop\d+$/);
    expect(err.hint).toMatch(/^\/dev\/loop\d+, the free device the kernel gave, has no node in \/dev \(a static \/dev, as in a container: mount devtmpfs on \/dev, or mknod it\)$/);
    expect(newFds(before)).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
  });
});

describe("attachLoop / detachLoop", () => {
  for (const strategy of ["fd", "legacy"] as Strategy[]) {
    test(`attach with every option, read back by LOOP_GET_STATUS64 (${strategy})`, async () => {
      fresh(`loop-attach-${strategy}`);
      const img = image("img", 16);
      const facts = probeKernelFacts(strategy);
      const loop = attachLoop(img, { facts, readOnly: true, autoclear: true, directIo: true, offset: 4096, sizeLimit: 1 << 20 });
      try {
        const status = libcSyscalls.loopGetStatus64(loop.fd);
        // lo_file_name holds 63 bytes and a NUL: a longer path (a long TMPDIR's) is cut, as losetup cuts it
        expect(status).toMatchObject({ number: loop.number, offset: 4096, sizeLimit: 1 << 20, fileName: img.slice(0, 63) });
        expect(status.flags & (LO_FLAGS.READ_ONLY | LO_FLAGS.AUTOCLEAR | LO_FLAGS.DIRECT_IO)).toBe(LO_FLAGS.READ_ONLY | LO_FLAGS.AUTOCLEAR | LO_FLAGS.DIRECT_IO);
        expect(sysfsValue(loop.device, "loop/offset")).toBe("4096");
        expect(loopDevicesOf(img).sysfs).toEqual([loop.device]);
      } finally {
        loop.close(); // autoclear: closing the last fd detaches it
      }
      await expectFreed(img);
    });
  }

  test("without autoclear the device outlives the fd until detachLoop", async () => {
    fresh("loop-detach");
    const img = image();
    const loop = attachLoop(img);
    try {
      loop.close();
      expect(loopDevicesOf(img)).toEqual({ sysfs: [loop.device], losetup: [loop.device] });
    } finally {
      detachLoop(loop.device);
    }
    await expectFreed(img);
    const err = caught(() => detachLoop(loop.device)) as SyscallError;
    expect(err.errno).toBe(Errno.ENXIO);
    expect(err.message).toMatch(/^detach \/dev\/loop\d+: ioctl\(LOOP_CLR_FD\): ENXIO/);
    expect(err.hint).toMatch(/not attached/);
  });

  test("a file name longer than lo_file_name keeps its first 63 bytes", () => {
    fresh("loop-longname");
    const img = image(`${"n".repeat(100)}.img`);
    const loop = attachLoop(img, { autoclear: true });
    try {
      const name = libcSyscalls.loopGetStatus64(loop.fd).fileName;
      expect(name).toBe(img.slice(0, 63));
    } finally {
      loop.close();
    }
  });
});

describe("bad input", () => {
  const facts = probeKernelFacts("fd");
  test("refused before any syscall: loop with bind, a bad size", () => {
    const sys = injectFaults(libcSyscalls, {});
    for (const [m, pattern] of [
      [{ type: "ext4", source: "/img", options: ["loop", "bind"] }, /loop and bind/],
      [{ type: "bind", source: "/img", options: ["loop"] }, /loop and bind/],
      [{ type: "ext4", source: "/img", options: ["loop", "offset=12q"] }, /offset: "12q" is not a size/],
    ] as const) {
      expect(() => mount(m, "/mnt", { facts, sys })).toThrow(PlanError);
      expect(() => mount(m, "/mnt", { facts, sys })).toThrow(pattern);
    }
    expect(sys.log).toEqual([]);
  });

  test("a missing image: open(2) ENOENT, exit 32, no device touched", () => {
    fresh("loop-missing");
    const sys = injectFaults(libcSyscalls, {});
    const err = caught(() => mount({ type: "ext4", source: s.path("nope.img"), options: ["loop"] }, dir("m"), { facts, sys })) as SyscallError;
    expect(err.errno).toBe(Errno.ENOENT);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.hint).toMatch(/does not exist/);
    expect(sys.counts.loopCtlGetFree ?? 0).toBe(0);
  });
});

describe("the binary", () => {
  test("loop attach prints the device; loop detach frees it", async () => {
    fresh("loop-cli");
    const img = image();
    const attach = Bun.spawnSync([BINARY, "loop", "attach", "-r", img]);
    expect(attach.stderr.toString()).toBe("");
    expect(attach.exitCode).toBe(0);
    const device = attach.stdout.toString().trim();
    expect(device).toMatch(/^\/dev\/loop\d+$/);
    try {
      expect(loopDevicesOf(img).sysfs).toEqual([device]);
      expect(sysfsValue(device, "ro")).toBe("1");
    } finally {
      const detach = Bun.spawnSync([BINARY, "loop", "detach", device]);
      expect(detach.exitCode).toBe(0);
    }
    await expectFreed(img);
    const again = Bun.spawnSync([BINARY, "loop", "detach", device]);
    expect(again.exitCode).toBe(32);
    expect(again.stderr.toString()).toMatch(/ENXIO/);
  });

  test("loop list [FILE] prints what losetup --list [-j FILE] prints, byte for byte; --json its document", async () => {
    fresh("loop-list");
    const [a, b] = [image("a"), image("b a.img")];
    const attached = (args: string[]) => {
      const run = runCli(["loop", "attach", ...args]);
      expect(run.code).toBe(0);
      return run.stdout.trim();
    };
    const devices = [attached(["--offset", "4096", a]), attached(["-r", "--sizelimit", "1MiB", "--direct-io", b]), attached([a])];
    const losetup = (args: string[]) => {
      const run = Bun.spawnSync(["losetup", "--list", ...args]);
      expect(run.exitCode).toBe(0);
      return run.stdout.toString();
    };
    for (const file of [a, b]) {
      const ours = runCli(["loop", "list", file]);
      expect(ours).toMatchObject({ code: 0, stderr: "" });
      expect(ours.stdout).toBe(losetup(["-j", file]));
      expect(JSON.parse(runCli(["loop", "list", "--json", file]).stdout)).toEqual(JSON.parse(losetup(["--json", "-j", file])));
    }
    expect(runCli(["loop", "list", a]).stdout.split("\n").filter((line) => line.startsWith("/dev/"))).toHaveLength(2);
    // another name for a (a hard link) finds its devices by device and inode, as losetup -j
    const hardLink = s.path("hard-link");
    linkSync(a, hardLink);
    expect(runCli(["loop", "list", hardLink]).stdout).toBe(losetup(["-j", hardLink]));
    expect(runCli(["loop", "list", hardLink]).stdout.split("\n").filter((line) => line.startsWith("/dev/"))).toHaveLength(2);
    // the whole list holds each of them, with its file
    const all = runCli(["loop", "list"]).stdout;
    for (const [i, device] of devices.entries()) expect(all).toMatch(new RegExp(`^${device} .* ${i === 1 ? b : a} `, "m"));
    for (const device of devices) detachLoop(device);
    await expectFreed(a);
    await expectFreed(b);
    expect(runCli(["loop", "list", a])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(JSON.parse(runCli(["loop", "list", "--json", a]).stdout)).toEqual({ loopdevices: [] });
    // a file that is not there: nothing attached to it, no error, as losetup -j (exit 0, no output)
    const missing = s.path("missing.img");
    expect(runCli(["loop", "list", missing])).toEqual({ code: 0, stdout: losetup(["-j", missing]), stderr: "" });
    expect(runCli(["loop", "list", "--json", missing])).toEqual({ code: 0, stdout: '{\n  "loopdevices": []\n}\n', stderr: "" });
    expect(losetup(["-j", missing])).toBe("");
  });

  test("loop list of a deleted image's path lists nothing, as losetup -j; the whole list shows it as (deleted)", async () => {
    fresh("loop-list-deleted");
    const img = image("deleted");
    const attach = runCli(["loop", "attach", img]);
    expect(attach.code).toBe(0);
    const device = attach.stdout.trim();
    try {
      rmSync(img);
      const losetup = Bun.spawnSync(["losetup", "--list", "-j", img]);
      expect(losetup.exitCode).toBe(0);
      expect(runCli(["loop", "list", img])).toEqual({ code: 0, stdout: losetup.stdout.toString(), stderr: "" });
      expect(losetup.stdout.toString()).toBe("");
      expect(runCli(["loop", "list"]).stdout).toMatch(new RegExp(`^${device} .* ${img} \\(deleted\\) `, "m"));
    } finally {
      detachLoop(device);
    }
    // expectFreed looks for the image's name, which a deleted one no longer shows
    await eventually(`${device} detached`, () => !existsSync(`/sys/block/${device.slice("/dev/".length)}/loop/backing_file`));
  });

  test("mount -l lists each device's filesystem label as [LABEL], line for line as util-linux mount -l", () => {
    fresh("loop-mount-l");
    const img = image("img", 8, ["-L", "mk-label"]);
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
    const lineAt = (out: string) => out.split("\n").find((line) => line.includes(` on ${t} type `));
    const ours = runCli(["mount", "-l", "-t", "ext4"]);
    expect(ours.code).toBe(0);
    const theirs = Bun.spawnSync(["mount", "-l", "-t", "ext4"]).stdout.toString();
    // an autoclear loop device shows as its backing file, as libmount's mnt_pretty_path does
    expect(lineAt(ours.stdout)).toBe(`${img} on ${t} type ext4 (rw,relatime) [mk-label]`);
    expect(lineAt(ours.stdout)).toBe(lineAt(theirs));
    // without -l, no labels
    expect(lineAt(runCli(["mount", "-t", "ext4"]).stdout)).not.toContain("[mk-label]");
    // a device attached by hand (no autoclear) shows as itself
    const byHand = runCli(["loop", "attach", image("img2", 8, ["-L", "by-hand"])]).stdout.trim();
    const t2 = dir("m2");
    unmountAfter(t2);
    expect(runCli(["mount", byHand, t2]).code).toBe(0);
    const lineAt2 = (out: string) => out.split("\n").find((line) => line.includes(` on ${t2} type `));
    expect(lineAt2(runCli(["mount", "-l"]).stdout)).toBe(`${byHand} on ${t2} type ext4 (rw,relatime) [by-hand]`);
    expect(lineAt2(Bun.spawnSync(["mount", "-l"]).stdout.toString())).toBe(`${byHand} on ${t2} type ext4 (rw,relatime) [by-hand]`);
  });

  test("umount -d detaches a device attached by hand, named by mount point or by device; an autoclear one is fine too", async () => {
    fresh("loop-umount-d");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    for (const by of ["mount point", "device"]) {
      const attach = runCli(["loop", "attach", img]);
      expect(attach.code).toBe(0);
      const device = attach.stdout.trim();
      expect(runCli(["mount", device, t]).code).toBe(0);
      const umount = runCli(["umount", "-d", by === "device" ? device : t]);
      expect(umount).toMatchObject({ code: 0, stderr: "" });
      expect(mountsUnder(t)).toEqual([]);
      await expectFreed(img);
    }
    // a loop mount's own device has autoclear: gone at the unmount, and -d is no error
    expect(runCli(["mount", img, t]).code).toBe(0);
    expect(runCli(["umount", "-d", t])).toMatchObject({ code: 0, stderr: "" });
    await expectFreed(img);
    // -r with -d: not busy, so unmounted, then detached; named by its device
    const byHand = runCli(["loop", "attach", img]).stdout.trim();
    expect(runCli(["mount", byHand, t]).code).toBe(0);
    expect(runCli(["umount", "-r", "-d", byHand])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
    // without -d, a device attached by hand stays attached
    const device = runCli(["loop", "attach", img]).stdout.trim();
    expect(runCli(["mount", device, t]).code).toBe(0);
    expect(runCli(["umount", t]).code).toBe(0);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
  });

  test("umount -d of a loop mount's own (autoclear) device detaches nothing after the unmount: the kernel freed it, and another attach may hold that device by then (containerd#12561)", async () => {
    fresh("loop-umount-d-race");
    const img = image();
    const theirs = image("theirs");
    const t = dir("m");
    unmountAfter(t);
    mount({ type: "ext4", source: img, options: ["loop"] }, t);
    const device = sourceAt(t)!;
    expect(sysfsValue(device, "loop/autoclear")).toBe("1");
    // right after the unmount, someone else attaches their image to the device the kernel just freed
    let taken = false;
    const sys: typeof libcSyscalls = {
      ...libcSyscalls,
      umount2: (target, flags) => {
        libcSyscalls.umount2(target, flags);
        for (let i = 0; i < 200 && !taken; i++) {
          taken = Bun.spawnSync(["losetup", device, theirs]).exitCode === 0;
          if (!taken) Bun.sleepSync(5);
        }
      },
    };
    try {
      expect(umountOperand(t, { detachLoop: true, sys })).toBe("unmounted");
      expect(taken).toBe(true);
      expect(mountsUnder(t)).toEqual([]);
      // theirs is still attached: -d detached nothing of someone else's
      expect(loopDevicesOf(theirs).sysfs).toEqual([device]);
    } finally {
      if (taken) Bun.spawnSync(["losetup", "-d", device]);
    }
    await expectFreed(theirs);
    await expectFreed(img);
  });

  test("mount -o loop through the binary, and a bad image exits 32 leaving no device", async () => {
    fresh("loop-cli-mount");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const ok = Bun.spawnSync([BINARY, "mount", "-t", "ext4", "-o", "loop,ro", img, t]);
    expect(ok.stderr.toString()).toBe("");
    expect(ok.exitCode).toBe(0);
    expect(sourceAt(t)).toMatch(/^\/dev\/loop\d+$/);
    unmountAll(t);
    await expectFreed(img);

    const zeros = s.path("zeros");
    writeFileSync(zeros, new Uint8Array(4 << 20));
    const bad = Bun.spawnSync([BINARY, "mount", "-t", "ext4", "-o", "loop", zeros, t]);
    expect(bad.exitCode).toBe(32);
    await expectFreed(zeros);
    expect(existsSync(t)).toBe(true);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("an image named through a symlinked directory and .. (link/../img): the file the kernel finds is attached, as mount(8) does, its canonical path recorded; umount IMAGE by that name", async () => {
    fresh("loop-cli-dotdot");
    dir("sub", "deeper");
    const img = image("sub/img");
    // where link/../img would lead if .. were taken lexically: another image, which must not be mounted
    const decoy = image("img");
    symlinkSync("sub/deeper", s.path("link"));
    const t = dir("m");
    unmountAfter(t);
    const cwd = s.path();
    try {
      expect(runCli(["mount", "--dry-run", "-o", "loop", "link/../img", "m"], { cwd }).code).toBe(0);
      for (const args of [["-o", "loop"], ["-t", "ext4", "-o", "offset=0"], []]) {
        const run = runCli(["mount", ...args, "link/../img", "m"], { cwd });
        expect([args, run.code, run.stderr]).toEqual([args, 0, ""]);
        const device = sourceAt(t)!;
        expect(sysfsValue(device, "loop/backing_file")).toBe(img);
        // what losetup shows without sysfs: the canonical path, as util-linux records it
        const fd = openSync(device, "r");
        try {
          expect(libcSyscalls.loopGetStatus64(fd).fileName).toBe(img);
        } finally {
          closeSync(fd);
        }
        expect(loopDevicesOf(decoy)).toEqual(none);
        expect(runCli(["umount", "link/../img"], { cwd })).toEqual({ code: 0, stdout: "", stderr: "" });
        expect(mountsUnder(t)).toEqual([]);
        await expectFreed(img);
      }
    } finally {
      unmountAll(t);
    }
    await expectFreed(img);
  });

  test("umount DEVICE, as umount(8): the device's mount is removed and the device freed; never through a mount over it", async () => {
    fresh("loop-cli-umount-device");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", "-t", "ext4", "-o", "loop", img, t]).code).toBe(0);
    const device = sourceAt(t)!;
    expect(device).toMatch(/^\/dev\/loop\d+$/);

    // a tmpfs over it: umount2 of t would remove the tmpfs, so the device's mount is refused
    expect(runCli(["mount", "-t", "tmpfs", "over", t]).code).toBe(0);
    const covered = runCli(["umount", device]);
    expect(covered.code).toBe(32);
    expect(covered.stderr).toBe(`mountkit: unmount ${device}: it is mounted only under other mounts (on ${t}) (unmount what is mounted over it first, or name the mount point)\n`);
    expect(mountsUnder(t).map((m) => m.fstype)).toEqual(["ext4", "tmpfs"]);
    expect(runCli(["umount", t]).code).toBe(0);

    const byDevice = runCli(["umount", "--json", device]);
    expect(byDevice.code).toBe(0);
    expect(JSON.parse(byDevice.stdout).results).toEqual([{ target: device, ok: true, unmounted: 1 }]);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);

    // a device mounted nowhere, and a file that is no device: not mounted, as before
    const again = runCli(["umount", device]);
    expect(again.code).toBe(32);
    expect(again.stderr).toMatch(/not mounted/);
    expect(runCli(["umount", img]).code).toBe(32);
  });

  test("mount -o remount DEVICE or LABEL=: the device's mount is remounted, as mount(8); a device mounted nowhere exits 32", async () => {
    fresh("loop-cli-remount-device");
    const img = image("img", 8, ["-L", "mkremount"]);
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", "-t", "ext4", "-o", "loop", img, t]).code).toBe(0);
    const device = sourceAt(t)!;
    const vfsOptions = () => mountsUnder(t).map((m) => m.options.split(",")[0]);
    expect(runCli(["mount", "-o", "remount,ro", device])).toMatchObject({ code: 0, stderr: "" });
    expect(vfsOptions()).toEqual(["ro"]);
    expect(runCli(["mount", "-o", "remount,rw", "LABEL=mkremount"])).toMatchObject({ code: 0, stderr: "" });
    expect(vfsOptions()).toEqual(["rw"]);
    // covered by another mount: refused, naming the remount, the mount over it left as it is
    expect(runCli(["mount", "-t", "tmpfs", "over", t]).code).toBe(0);
    const covered = runCli(["mount", "-o", "remount,ro", device]);
    expect(covered).toMatchObject({ code: 1, stderr: `mountkit: remount ${device}: it is mounted only under other mounts (on ${t}) (unmount what is mounted over it first)\n` });
    expect(mountsUnder(t).map((m) => [m.fstype, m.options.split(",")[0]])).toEqual([["ext4", "rw"], ["tmpfs", "rw"]]);
    expect(runCli(["umount", t]).code).toBe(0);
    expect(runCli(["umount", t]).code).toBe(0);
    await expectFreed(img);
    const attached = runCli(["loop", "attach", img]).stdout.trim();
    try {
      const none = runCli(["mount", "-o", "remount,ro", attached]);
      expect(none.code).toBe(32);
      expect(none.stderr).toBe(`mountkit: change the mount of ${attached}: ${attached} is not mounted (a remount changes a mounted filesystem: mount it first)\n`);
    } finally {
      expect(runCli(["loop", "detach", attached]).code).toBe(0);
    }
    await expectFreed(img);
  });

  test("loop attach --autoclear is refused (exit 1, a hint), attaching nothing", () => {
    fresh("loop-cli-autoclear");
    const img = image();
    const refused = runCli(["loop", "attach", "--autoclear", img]);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(/^mountkit: loop attach: --autoclear would detach the device at once \(.*mount -o loop.*\)\n$/);
    expect(refused.stderr.split("\n")).toHaveLength(2); // one line
    expect(loopDevicesOf(img)).toEqual(none);
    const json = runCli(["loop", "attach", "--autoclear", "--json", img]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 1, error: { kind: "plan" } });
    expect(runCli(["loop", "attach", "--help"]).stdout).toMatch(/--autoclear +refused here/);
  });
});
