// A loop mount of a file attached to a loop device already mounts that device, as mount(8)
// does (plan/loop-reuse.ts). Real devices; root, private mount namespace. Every device bound
// to a test's image is released in its cleanup, whatever the test did.
import { beforeAll, describe, expect, test } from "bun:test";
import { linkSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, MountFailedError, PlanError, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmount, unmountAll } from "../../src/ops/unmount.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { O } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { caught } from "../support/caught.ts";
import { holdFreeLoopDevice } from "../support/loop-holder.ts";
import { detachLoopDevicesOf, eventually, expectFreed, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
/** A device attached by hand (no autoclear), closed at once: it stays until detached. */
function attachedByHand(img: string, options: Parameters<typeof attachLoop>[1] = {}): string {
  const attached = attachLoop(img, options);
  attached.close();
  return attached.device;
}
const sourceAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target)?.source;
const optionsAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target)?.options ?? "";

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  describe(`with ${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD"} attaching`, () => {
    const facts = probeKernelFacts(strategy);

    test("two loop mounts of one image share one device, which the last unmount frees", async () => {
      fresh(`reuse-two-${strategy}`);
      const img = image();
      const [a, b] = [dir("a"), dir("b")];
      unmountAfter(a);
      unmountAfter(b);
      mount({ type: "ext4", source: img, options: ["loop"] }, a, { facts });
      const before = openFds();
      const log: string[] = [];
      mount({ type: "ext4", source: img, options: ["loop"] }, b, { facts, log: (line) => log.push(line) });
      expect(newFds(before)).toEqual([]);
      const device = sourceAt(a)!;
      expect(sourceAt(b)).toBe(device);
      expect(loopDevicesOf(img).sysfs).toEqual([device]);
      expect(log.join("\n")).toContain(`is attached to ${device} already (offset 0, sizelimit 0): mounting that device`);
      // one filesystem: what is written through one mount is there through the other
      writeFileSync(join(a, "note"), "one cache");
      expect(readFileSync(join(b, "note"), "utf8")).toBe("one cache");
      unmountAll(a);
      expect(loopDevicesOf(img).sysfs).toEqual([device]);
      unmountAll(b);
      await expectFreed(img);
    });
  });
}

describe("a device attached by hand", () => {
  test("is mounted, and stays attached after the unmount (it is not the mount's)", () => {
    fresh("reuse-by-hand");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const device = attachedByHand(img);
    mount({ type: "ext4", source: img, options: ["loop"] }, t);
    expect(sourceAt(t)).toBe(device);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    expect(unmount(t)).toBe(true);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
  });

  test("found by the file's real path: a symlink to the image finds the device attached by its own name", () => {
    fresh("reuse-symlink");
    const img = image();
    const link = s.path("link-to-img");
    symlinkSync(img, link);
    const t = dir("m");
    unmountAfter(t);
    const device = attachedByHand(img);
    mount({ type: "ext4", source: link, options: ["loop"] }, t);
    expect(sourceAt(t)).toBe(device);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
  });

  test("found by device and inode, as util-linux: the image by another path (a bind mount of its dir, a hard link) finds it", () => {
    fresh("reuse-other-path");
    const img = image();
    const device = attachedByHand(img);
    const view = dir("view");
    unmountAfter(view);
    mount({ type: "none", source: s.dir, options: ["bind"] }, view);
    const hardLink = s.path("hard-link");
    linkSync(img, hardLink);
    for (const [label, source] of [["bind", join(view, "img")], ["hard link", hardLink]] as const) {
      const t = dir(`m-${label.replace(" ", "-")}`);
      unmountAfter(t);
      mount({ type: "ext4", source, options: ["loop"] }, t);
      expect([label, sourceAt(t)]).toEqual([label, device]);
    }
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    expect(loopDevicesOf(hardLink).sysfs).toEqual([]);
    expect(loopDevicesOf(join(view, "img")).sysfs).toEqual([]);
  });

  test("a failed mount on it closes its fd and leaves it attached (never LOOP_CLR_FD)", () => {
    fresh("reuse-failed");
    const zeros = s.path("zeros");
    writeFileSync(zeros, new Uint8Array(4 << 20));
    cleanups.push(() => detachLoopDevicesOf(zeros));
    const t = dir("m");
    const device = attachedByHand(zeros);
    const before = openFds();
    const err = caught(() => mount({ type: "ext4", source: zeros, options: ["loop"] }, t)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("mount(2)");
    expect(err.message).toContain(`on ${device}`);
    expect(exitCodeFor(err)).toBe(32);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(zeros).sysfs).toEqual([device]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("read-only: a read-write loop mount is made read-only with mount(8)'s warning; with -w it is refused", () => {
    fresh("reuse-ro");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const device = attachedByHand(img, { readOnly: true });
    const warnings: string[] = [];
    mount({ type: "ext4", source: img, options: ["loop"] }, t, { warn: (line) => warnings.push(line) });
    expect(sourceAt(t)).toBe(device);
    expect(optionsAt(t)).toMatch(/^ro(,|$)/);
    expect(warnings).toEqual([`${t}: WARNING: source write-protected, mounted read-only`]);
    unmountAll(t);

    const before = openFds();
    const err = caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t, { readWriteOnly: true })) as MountFailedError;
    expect(err).toBeInstanceOf(MountFailedError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toContain(`is attached to ${device} read-only, and read-write was asked (-w)`);
    expect(err.message).toContain(`mount ${JSON.stringify(img).slice(1, -1)} on`);
    expect(newFds(before)).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
  });

  test("read-write but its filesystem mounted read-only: EBUSY, then the read-only retry", () => {
    fresh("reuse-busy-ro");
    const img = image();
    const [a, b] = [dir("a"), dir("b")];
    unmountAfter(a);
    unmountAfter(b);
    const device = attachedByHand(img);
    mount({ type: "ext4", source: device, options: ["ro"] }, a);
    const warnings: string[] = [];
    mount({ type: "ext4", source: img, options: ["loop"] }, b, { warn: (line) => warnings.push(line) });
    expect(sourceAt(b)).toBe(device);
    expect(optionsAt(b)).toMatch(/^ro(,|$)/);
    expect(warnings).toHaveLength(1);
  });
});

describe("ranges of the file", () => {
  test("an overlapping range is refused: exit 32, no device attached, nothing mounted", () => {
    fresh("reuse-overlap");
    const img = image("img", 16, ["-E", "offset=1048576"], "8M");
    const t = dir("m");
    const device = attachedByHand(img, { sizeLimit: 8 << 20 });
    const before = openFds();
    const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "offset=1M", "sizelimit=8M"] }, t)) as MountFailedError;
    expect(err).toBeInstanceOf(MountFailedError);
    expect(exitCodeFor(err)).toBe(32);
    // a mount's own words: its options
    expect(err.message).toContain(`overlapping loop device exists: ${img} is attached to ${device} over a range (offset 0, sizelimit ${8 << 20}) that overlaps the one asked (offset ${1 << 20}, sizelimit ${8 << 20})`);
    expect(err.hint).toBe(`two loop devices over one part of a file corrupt what is mounted through them: mount ${device} itself, ask for the same offset= and sizelimit=, or detach it (mountkit loop detach ${device})`);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a separate range gets a device of its own; the same range given again shares it", async () => {
    fresh("reuse-apart");
    const img = image("img", 16, ["-E", "offset=8388608"], "8M");
    const [a, b] = [dir("a"), dir("b")];
    unmountAfter(a);
    unmountAfter(b);
    const first = attachedByHand(img, { sizeLimit: 8 << 20 });
    mount({ type: "ext4", source: img, options: ["loop", "offset=8M"] }, a);
    const second = sourceAt(a)!;
    expect(second).not.toBe(first);
    expect(loopDevicesOf(img).sysfs.sort()).toEqual([first, second].sort());
    mount({ type: "ext4", source: img, options: ["loop", "offset=8M"] }, b);
    expect(sourceAt(b)).toBe(second);
    unmountAll(a);
    unmountAll(b);
    await expectFreedBut(img, first);
  });
});

describe("the image mounted on the target already", () => {
  /** util-linux mount(8) ARGS, in this test's namespace. */
  const utilMount = (args: string[]) => {
    const run = Bun.spawnSync(["/usr/bin/mount", ...args]);
    return { code: run.exitCode, stderr: run.stderr.toString() };
  };

  test("through its loop device at the same offset: refused before mount(2), exit 1, as mount(8)'s 'is already mounted'; a dry run too; nothing stacked or attached", async () => {
    fresh("mounted-there");
    const img = image("img", 16, ["-E", "offset=1048576"], "8M");
    const t = dir("m");
    unmountAfter(t);
    try {
      expect(runCli(["mount", "-o", "loop,offset=1M", img, t]).code).toBe(0);
      const device = sourceAt(t)!;
      const mount8 = join(dir("bin"), "mount");
      symlinkSync(BINARY, mount8);
      // with loop, with offset= alone (typed, or the type read from the superblock), read-only: each as mount(8) refuses it
      // and the dry run (-f), which mount(8) refuses as well
      for (const args of [["-o", "loop,offset=1M"], ["-t", "ext4", "-o", "offset=1048576"], ["-o", "offset=1M"], ["-r", "-o", "offset=1M"], ["-f", "-o", "loop,offset=1M"]]) {
        const run = runCli([...args, img, t], { bin: mount8 });
        expect(run).toEqual({
          code: 1,
          stdout: "",
          stderr: `mountkit: mount ${img} on ${t}: ${img} is already mounted on ${t} (through ${device}) (a filesystem is mounted once on a mount point: unmount ${t} first to mount it there again)\n`,
        });
        const reference = utilMount([...args, img, t]);
        expect(reference.code).toBe(1);
        expect(reference.stderr).toContain(`${img} is already mounted`);
        expect(mountsAt(t).map((m) => m.source)).toEqual([device]);
        expect(loopDevicesOf(img).sysfs).toEqual([device]);
      }
      // in a batch: that entry fails, named, after the entry before it is mounted; which is rolled back
      dir("other");
      const list = JSON.stringify([
        { type: "tmpfs", source: "tmpfs", target: "/other", options: [] },
        { type: "ext4", source: img, target: "/m", options: ["loop", "offset=1M"] },
      ]);
      const apply = runCli(["apply", "--root", s.path(), "-"], { stdin: list });
      expect(apply.code).toBe(32);
      expect(apply.stderr).toStartWith(`mountkit: apply: entry 2: mount ${img} on ${t}: ${img} is already mounted on ${t} (through ${device})`);
      expect(mountsUnder(s.path("other"))).toEqual([]);
      expect(mountsAt(t).map((m) => m.source)).toEqual([device]);
      // another offset is another part of the file: not this refusal (an overlapping range here)
      expect(runCli(["mount", "-o", "loop", img, t]).stderr).toContain("overlapping loop device exists");
    } finally {
      unmountAll(t);
    }
    await expectFreed(img);
  });

  test("at the same offset with another sizelimit: 'is already mounted' (exit 1) before the overlap refusal, as mount(8) compares the file and offset only; another offset stays an overlap", async () => {
    fresh("mounted-there-sizelimit");
    const img = image("img", 16, ["-E", "offset=1048576"], "8M");
    const t = dir("m");
    unmountAfter(t);
    try {
      expect(runCli(["mount", "-o", "loop,offset=1M,sizelimit=8M", img, t]).code).toBe(0);
      const device = sourceAt(t)!;
      const mount8 = join(dir("bin"), "mount");
      symlinkSync(BINARY, mount8);
      // a smaller sizelimit, none (the rest of the file), and the dry run of the smaller one
      for (const args of [["-o", "loop,offset=1M,sizelimit=4M"], ["-o", "loop,offset=1M"], ["-f", "-o", "loop,offset=1M,sizelimit=4M"]]) {
        const run = runCli([...args, img, t], { bin: mount8 });
        expect([args, run]).toEqual([
          args,
          {
            code: 1,
            stdout: "",
            stderr: `mountkit: mount ${img} on ${t}: ${img} is already mounted on ${t} (through ${device}) (a filesystem is mounted once on a mount point: unmount ${t} first to mount it there again)\n`,
          },
        ]);
        const reference = utilMount([...args, img, t]);
        expect([args, reference.code]).toEqual([args, 1]);
        expect(reference.stderr).toContain(`${img} is already mounted`);
      }
      // the library: the refusal, no fd left open, the device as it was
      const before = openFds();
      const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "offset=1M", "sizelimit=4M"] }, t)) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.message).toBe(`mount ${img} on ${t}: ${img} is already mounted on ${t} (through ${device})`);
      expect(newFds(before)).toEqual([]);
      // another offset: not the same loop file for mount(8) either, so the overlap (exit 32)
      const other = runCli(["-o", "loop,offset=2M,sizelimit=4M", img, t], { bin: mount8 });
      expect(other.code).toBe(32);
      expect(other.stderr).toContain("overlapping loop device exists");
      const otherReference = utilMount(["-o", "loop,offset=2M,sizelimit=4M", img, t]);
      expect(otherReference.code).toBe(32);
      expect(otherReference.stderr).toContain("overlapping loop device exists");
      expect(mountsAt(t).map((m) => m.source)).toEqual([device]);
      expect(loopDevicesOf(img).sysfs).toEqual([device]);
    } finally {
      unmountAll(t);
    }
    await expectFreed(img);
  });

  test("the library: a device attached by hand, read-only, mounted there: a PlanError before the read-only retry; its fd closed, the device left attached", async () => {
    fresh("mounted-there-by-hand");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const device = attachedByHand(img, { readOnly: true });
    try {
      mount({ type: "ext4", source: device, options: ["ro"] }, t);
      const before = openFds();
      const err = caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t)) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(exitCodeFor(err)).toBe(1);
      expect(err.message).toBe(`mount ${img} on ${t}: ${img} is already mounted on ${t} (through ${device})`);
      expect(newFds(before)).toEqual([]);
      expect(mountsAt(t).map((m) => m.source)).toEqual([device]);
    } finally {
      unmountAll(t);
      detachLoopDevicesOf(img);
    }
    // detached at its last close: another opener (udev's blkid probe) defers it a moment
    await expectFreed(img);
  });

  test("elsewhere in the other read-only state: the kernel's EBUSY names where, as mount(8)'s 'already mounted on'; a device named directly too", async () => {
    fresh("mounted-elsewhere");
    const img = image();
    const [a, b] = [dir("a"), dir("b")];
    unmountAfter(a);
    unmountAfter(b);
    try {
      expect(runCli(["mount", "-o", "loop", img, a]).code).toBe(0);
      const device = sourceAt(a)!;
      const ro = runCli(["mount", "-o", "ro", img, b]);
      expect(ro.code).toBe(32);
      expect(ro.stderr).toContain(`mount(2): EBUSY (Device or resource busy): ${img} on ${device} (${device} is already mounted on ${a}, read-write: mount it read-write here too (without ro), or unmount it there first)`);
      const reference = utilMount(["-o", "ro", img, b]);
      expect(reference.code).toBe(32);
      expect(reference.stderr).toContain(`${device} already mounted on ${a}`);
      // the device itself, on the same mount point: the kernel refuses one filesystem twice there
      const same = runCli(["mount", "-t", "ext4", device, a]);
      expect(same.code).toBe(32);
      expect(same.stderr).toContain(`(${device} is already mounted on ${a})`);
      expect(mountsUnder(b)).toEqual([]);
      expect(mountsAt(a).map((m) => m.source)).toEqual([device]);
    } finally {
      unmountAll(a);
    }
    await expectFreed(img);
  });
});

describe("loop=/dev/loopN", () => {
  /** A loop device no file is attached to now (others may take it meanwhile: rare here). */
  const freeDevice = () => {
    const run = Bun.spawnSync(["losetup", "-f"]);
    expect(run.exitCode).toBe(0);
    return run.stdout.toString().trim();
  };

  test("mounts through that device, which the unmount frees (autoclear)", async () => {
    fresh("loop-named");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const device = freeDevice();
    mount({ type: "ext4", source: img, options: [`loop=${device}`] }, t);
    expect(sourceAt(t)).toBe(device);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    unmountAll(t);
    await expectFreed(img);
  });

  test("a device attached to another file: EBUSY with a hint; it stays as it was, nothing mounted", () => {
    fresh("loop-named-busy");
    const [img, other] = [image("img"), image("other")];
    const t = dir("m");
    const busy = attachedByHand(other);
    const before = openFds();
    const err = caught(() => mount({ type: "ext4", source: img, options: [`loop=${busy}`] }, t)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("EBUSY");
    expect(err.hint).toBe(`${busy} is in use, attached to ${other} already: name a free device, or give loop alone for one`);
    expect(exitCodeFor(err)).toBe(32);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(other).sysfs).toEqual([busy]);
    expect(loopDevicesOf(img).sysfs).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("the look at why it is busy throws what is no SyscallError (a bug): that error, and the device's fd closed all the same", () => {
    fresh("loop-named-busy-bug");
    const [img, other] = [image("img"), image("other")];
    const t = dir("m");
    const busy = attachedByHand(other);
    // LOOP_GET_STATUS64 breaks once the bind was refused: the look at why (ops/loop-busy.ts),
    // not the look for the image on a device before it (loop-reuse.ts)
    let refused = false;
    const sys: Syscalls = {
      ...libcSyscalls,
      loopConfigure: (...args) => {
        try {
          libcSyscalls.loopConfigure(...args);
        } catch (e) {
          refused = true;
          throw e;
        }
      },
      loopGetStatus64: (fd) => {
        if (refused) throw new TypeError("status broke");
        return libcSyscalls.loopGetStatus64(fd);
      },
    };
    const before = openFds();
    const err = caught(() => mount({ type: "ext4", source: img, options: [`loop=${busy}`] }, t, { sys, facts: probeKernelFacts("fd") }));
    expect(err).toBeInstanceOf(TypeError);
    expect(refused).toBe(true);
    // before, the bind's catch asked why before it closed the device: its fd stayed open
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(other).sysfs).toEqual([busy]);
    expect(loopDevicesOf(img).sysfs).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a free device another process holds open exclusively (O_EXCL): EBUSY, the hint says it is held, not attached; nothing attached or mounted", async () => {
    fresh("loop-named-exclusive");
    const img = image();
    const t = dir("m");
    // before, the hint said the device was "attached to a file already": it is attached to none
    const holder = await holdFreeLoopDevice();
    try {
      const held = holder.device;
      const hint = `${held} is attached to no file, but another process holds it open exclusively (O_EXCL), which keeps the kernel from attaching one: name another device, or wait until that process closes it (fuser -v ${held} names it)`;
      for (const [strategy, bind] of [["fd", "ioctl(LOOP_CONFIGURE)"], ["legacy", "ioctl(LOOP_SET_FD)"]] as const) {
        const before = openFds();
        const err = caught(() => mount({ type: "ext4", source: img, options: [`loop=${held}`] }, t, { facts: probeKernelFacts(strategy) })) as SyscallError;
        expect(err).toBeInstanceOf(SyscallError);
        expect({ syscall: err.syscall, errno: err.errnoName, hint: err.hint, exit: exitCodeFor(err) }).toEqual({ syscall: bind, errno: "EBUSY", hint, exit: 32 });
        expect(newFds(before)).toEqual([]);
        const run = runCli(["loop", "attach", held, img], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
        expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
          code: 32,
          stdout: "",
          stderr: `mountkit: attach ${img} to ${held}: ${bind}: EBUSY (Device or resource busy): ${held} (${hint})\n`,
        });
      }
      expect(loopDevicesOf(img).sysfs).toEqual([]);
      expect(mountsUnder(t)).toEqual([]);
    } finally {
      await holder.release();
    }
  });

  test("the image attached to another device already: refused (a second device over it); loop= that device reuses it", () => {
    fresh("loop-named-conflict");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    const attached = attachedByHand(img);
    const other = freeDevice();
    const err = caught(() => mount({ type: "ext4", source: img, options: [`loop=${other}`] }, t)) as MountFailedError;
    expect(err).toBeInstanceOf(MountFailedError);
    expect(err.message).toContain(`is attached to ${attached} already, and loop=${other} asks for another device over it`);
    expect(err.hint).toBe(`give loop=${attached}, or give loop alone, to mount ${attached}; or detach ${attached} first`);
    expect(loopDevicesOf(img).sysfs).toEqual([attached]);
    expect(mountsUnder(t)).toEqual([]);
    mount({ type: "ext4", source: img, options: [`loop=${attached}`] }, t);
    expect(sourceAt(t)).toBe(attached);
  });
});

test("a device detached between the look and LOOP_GET_STATUS64 (ENXIO) is passed over: a new one is attached", async () => {
  fresh("reuse-race");
  const img = image();
  const t = dir("m");
  unmountAfter(t);
  attachedByHand(image("other")); // another file's device, asked first (as other processes' are)
  const device = attachedByHand(img);
  // the fault on this device's fd: the look asks every attached device
  const sys = injectFaults(libcSyscalls, { loopGetStatus64: { calls: [1], errno: Errno.ENXIO, fdPath: device } });
  mount({ type: "ext4", source: img, options: ["loop"] }, t, { sys });
  expect(sys.log).toContainEqual(["open", device, O.RDONLY | O.CLOEXEC]); // the device by hand was found, and its status asked
  expect(sourceAt(t)).not.toBe(device);
  expect(loopDevicesOf(img).sysfs).toHaveLength(2);
  unmountAll(t);
  await expectFreedBut(img, device);
});

test("any other failure of LOOP_GET_STATUS64 stops the mount: the device's fd closed, nothing attached or mounted", () => {
  fresh("reuse-status-fails");
  const img = image();
  const t = dir("m");
  const device = attachedByHand(img);
  const sys = injectFaults(libcSyscalls, { loopGetStatus64: { calls: [1], errno: Errno.EIO, syscall: "ioctl(LOOP_GET_STATUS64)", fdPath: device } });
  const before = openFds();
  const err = caught(() => mount({ type: "ext4", source: img, options: ["loop"] }, t, { sys })) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect(err.syscall).toBe("ioctl(LOOP_GET_STATUS64)");
  expect(err.errnoName).toBe("EIO");
  expect(exitCodeFor(err)).toBe(32);
  expect(newFds(before)).toEqual([]);
  expect(loopDevicesOf(img).sysfs).toEqual([device]);
  expect(mountsUnder(t)).toEqual([]);
});

test("through the binary: mount -o loop of an attached image uses its device; -v says so", () => {
  fresh("reuse-cli");
  const img = image();
  const t = dir("m");
  unmountAfter(t);
  const device = attachedByHand(img);
  const run = runCli(["mount", "-v", "-o", "loop", img, t]);
  expect(run.code).toBe(0);
  expect(run.stdout + run.stderr).toContain(`is attached to ${device} already`);
  expect(sourceAt(t)).toBe(device);
  // elsewhere: on t it is mounted already, which the dry run refuses as the mount does
  const dry = runCli(["mount", "--dry-run", "-o", "loop", img, dir("elsewhere")]);
  expect(dry.stdout).toContain("is mounted instead");
});

test("loop attach -L (losetup --nooverlap) prints the device attached already; an overlapping range is refused; without -L a second one", () => {
  fresh("reuse-attach-L");
  const img = image();
  const device = attachedByHand(img);
  const again = runCli(["loop", "attach", "-L", "--json", img]);
  expect(again.code).toBe(0);
  expect(JSON.parse(again.stdout)).toEqual({ ok: true, exitCode: 0, device, number: Number(device.slice("/dev/loop".length)), readOnly: false, reused: true });
  expect(loopDevicesOf(img).sysfs).toEqual([device]);
  // its own words: --offset, --sizelimit and DEV, never a mount's loop= or offset=
  const overlap = runCli(["loop", "attach", "-L", "--offset", "4096", img]);
  expect(overlap).toEqual({
    code: 32,
    stdout: "",
    stderr:
      `mountkit: attach ${img} to a loop device: overlapping loop device exists: ${img} is attached to ${device} over a range (offset 0, sizelimit 0) that overlaps the one asked (--offset 4096, --sizelimit 0) ` +
      `(two loop devices over one part of a file corrupt what is mounted through them: use ${device} itself, give the same --offset and --sizelimit, or detach it (mountkit loop detach ${device}))\n`,
  });
  expect(loopDevicesOf(img).sysfs).toEqual([device]);
  // DEV FILE with -L, FILE attached to another device: refused, naming DEV (losetup 2.38: "overlapping loop device exists", exit 1)
  const free = Bun.spawnSync(["losetup", "-f"]).stdout.toString().trim();
  const conflict = runCli(["loop", "attach", "-L", free, img]);
  expect(conflict).toEqual({
    code: 32,
    stdout: "",
    stderr: `mountkit: attach ${img} to ${free}: ${img} is attached to ${device} already, and DEV ${free} asks for another device over it (give ${device} as DEV, or give no DEV, to use ${device}; or detach ${device} first)\n`,
  });
  expect(Bun.spawnSync(["losetup", "-L", free, img]).exitCode).toBe(1);
  expect(loopDevicesOf(img).sysfs).toEqual([device]);
  expect(runCli(["loop", "attach", "-L", device, img])).toEqual({ code: 0, stdout: `${device}\n`, stderr: "" });
  const second = runCli(["loop", "attach", img]);
  expect(second.code).toBe(0);
  expect(second.stdout.trim()).not.toBe(device);
  expect(loopDevicesOf(img).sysfs).toHaveLength(2);
});

test("umount IMAGE (util-linux): the mount of the one loop device attached to it, found by a hard link too; two devices: refused, both named", async () => {
  fresh("umount-image");
  const img = image();
  const hardLink = s.path("hard-link");
  linkSync(img, hardLink);
  const t = dir("m");
  unmountAfter(t);
  expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
  const run = runCli(["umount", "--json", hardLink]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).results).toEqual([{ target: hardLink, ok: true, unmounted: 1 }]);
  expect(mountsUnder(t)).toEqual([]);
  await expectFreed(img);

  const none = runCli(["umount", img]);
  expect(none.code).toBe(32);
  expect(none.stderr).toContain("not mounted");

  const byHand = attachedByHand(img);
  const other = attachedByHand(img, { offset: 1 << 20 });
  expect(runCli(["mount", byHand, t]).code).toBe(0);
  const two = runCli(["umount", img]);
  expect(two.code).toBe(32);
  expect(two.stderr).toContain(`unmount ${img}: it is attached to 2 loop devices (`);
  for (const device of [byHand, other]) expect(two.stderr).toContain(device);
  expect(sourceAt(t)).toBe(byHand);
  const d = runCli(["umount", "-d", byHand]);
  expect(d.code).toBe(0);
  // the kernel detaches it at its last close: another opener (udev's blkid probe) defers it a moment
  await expectFreedBut(img, other);
});

test("/proc/partitions unreadable: no look, a device of its own is attached (as containerd does), and the log says why", () => {
  fresh("reuse-no-partitions");
  const img = image();
  const [a, b] = [dir("a"), dir("b")];
  unmountAfter(a);
  unmountAfter(b);
  mount({ type: "ext4", source: img, options: ["loop"] }, a);
  // This process's /proc/self/mem, bound over /proc/partitions (in this test's namespace only):
  // a read at offset 0 is EIO, an address nothing is mapped at.
  libcSyscalls.mount(`/proc/${process.pid}/mem`, "/proc/partitions", null, MS.BIND, null);
  cleanups.push(() => unmountAll("/proc/partitions"));
  expect(caught(() => readFileSync("/proc/partitions"))).toMatchObject({ code: "EIO" });
  const log: string[] = [];
  mount({ type: "ext4", source: img, options: ["loop"] }, b, { log: (line) => log.push(line) });
  expect(log).toContain("loop: /proc/partitions: EIO: no look for a device attached to the file already");
  const [first, second] = [sourceAt(a), sourceAt(b)];
  expect(second).not.toBe(first);
  expect(loopDevicesOf(img).sysfs.sort()).toEqual([first!, second!].sort());
});

/** Wait until the autoclear devices of image are freed and only `kept` is bound to it. */
async function expectFreedBut(image: string, kept: string): Promise<void> {
  await eventually(`only ${kept} bound to ${image}`, () => loopDevicesOf(image).sysfs.join() === kept);
}
