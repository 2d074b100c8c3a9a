// mount(8)'s read-only fallback on the real kernel: an image on a read-only filesystem, a
// write-protected block device (a loop device attached read-only), a device whose filesystem
// is mounted read-only already, and -w, which turns the fallback off; and a loop device attached
// read-write over a write-protected one, whose writes fail (EIO). Root, private mount
// namespace; every loop device is released in the cleanups, and checked.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop, detachLoop, type LoopAttachment } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

const mountAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target);
const sysfsRo = (device: string) => readFileSync(`/sys/block/${device.slice("/dev/".length)}/ro`, "utf8").trim();
const WARNING = "WARNING: source write-protected, mounted read-only";

/** An ext4 image, and the same file seen through a read-only bind of its directory. */
function imageOnReadOnlyFs(label: string): { image: string; view: string } {
  const s = ws.fresh(label);
  dir("images");
  const image = makeExt4Image(s.path("images", "a.img"));
  const view = s.path("view", "a.img");
  for (const path of [image, view]) cleanups.push(() => detachLoopDevicesOf(path));
  const viewDir = dir("view");
  unmountAfter(viewDir);
  mount({ type: "", source: dir("images"), options: ["bind", "ro"] }, viewDir);
  return { image, view };
}

/** The image attached read-only by hand (no autoclear): a write-protected block device. */
function writeProtectedDevice(image: string): LoopAttachment {
  const loop = attachLoop(image, { readOnly: true });
  cleanups.push(() => {
    loop.close();
    detachLoop(loop.device);
  });
  return loop;
}

describe("an image on a read-only filesystem", () => {
  for (const strategy of ["fd", "legacy"] as const) {
    test(`is attached read-only and mounted read-only, with mount(8)'s warning; unmounting frees the device (${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD"})`, async () => {
      const { view } = imageOnReadOnlyFs(`ro-image-${strategy}`);
      const t = dir("m");
      unmountAfter(t);
      const warnings: string[] = [];
      mount({ type: "ext4", source: view, options: ["nodev"] }, t, { warn: (w) => warnings.push(w), facts: probeKernelFacts(strategy) });
      const m = mountAt(t)!;
      expect(m.options.split(",")).toContain("ro");
      expect(m.options.split(",")).toContain("nodev");
      expect(sysfsRo(m.source)).toBe("1");
      expect(readFileSync(`/sys/block/${m.source.slice(5)}/loop/backing_file`, "utf8").trim()).toBe(view);
      expect(warnings).toEqual([`${t}: ${WARNING}`]);
      unmountAll(t);
      await expectFreed(view);
    });
  }

  test("with read-write asked explicitly (-w): EROFS from open, naming the file; no mount, no device", () => {
    const { view } = imageOnReadOnlyFs("ro-image-w");
    const t = dir("m");
    const err = caught(() => mount({ type: "ext4", source: view, options: [] }, t, { readWriteOnly: true })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).toMatchObject({ syscall: "open(2)", errno: Errno.EROFS });
    expect(err.paths).toContain(view);
    expect(err.hint).toContain("is on a read-only filesystem: mount it read-only (-r), or leave out -w");
    expect(mountsUnder(t)).toEqual([]);
    expect(loopDevicesOf(view)).toEqual({ sysfs: [], losetup: [] });
  });

  test("loop attach without -r: attached read-only, and the CLI says so", () => {
    const { view } = imageOnReadOnlyFs("ro-image-attach");
    const run = runCli(["loop", "attach", "--json", view]);
    const out = JSON.parse(run.stdout) as { ok: boolean; device: string; readOnly: boolean };
    try {
      expect(run.code).toBe(0);
      expect(out).toMatchObject({ ok: true, readOnly: true });
      expect(sysfsRo(out.device)).toBe("1");
      expect(run.stderr).toContain(`is write-protected: ${out.device} is read-only`);
    } finally {
      if (out.device) detachLoop(out.device);
    }
    expect(loopDevicesOf(view).sysfs).toEqual([]);
  });
});

describe("a write-protected block device", () => {
  for (const type of ["ext4", ""]) {
    test(`is mounted read-only when asked read-write (${type || "type read from the superblock"})`, () => {
      const { image } = imageOnReadOnlyFs(`ro-device-${type || "probed"}`);
      const loop = writeProtectedDevice(image);
      const t = dir("m");
      unmountAfter(t);
      const warnings: string[] = [];
      const log: string[] = [];
      mount({ type, source: loop.device, options: [] }, t, { warn: (w) => warnings.push(w), log: (l) => log.push(l) });
      expect(mountAt(t)).toMatchObject({ source: loop.device, fstype: "ext4" });
      expect(mountAt(t)!.options.split(",")).toContain("ro");
      expect(warnings).toEqual([`${t}: ${WARNING}`]);
      // the kernel refused the read-write call first: the log shows the errno and the retry
      expect(log.some((l) => /^E(ACCES|ROFS): .* is write-protected; again read-only$/.test(l))).toBe(true);
      expect(log.at(-1)).toContain("MS_RDONLY");
    });
  }

  test("with a type list: each type is tried, and the one that fits is mounted read-only", () => {
    const { image } = imageOnReadOnlyFs("ro-device-types");
    const loop = writeProtectedDevice(image);
    const t = dir("m");
    unmountAfter(t);
    const warnings: string[] = [];
    mount({ type: "squashfs,ext4", source: loop.device, options: [] }, t, { warn: (w) => warnings.push(w) });
    expect(mountAt(t)).toMatchObject({ source: loop.device, fstype: "ext4" });
    expect(mountAt(t)!.options.split(",")).toContain("ro");
    expect(warnings).toEqual([`${t}: ${WARNING}`]);
  });

  test("with -w: the kernel's refusal, and nothing mounted", () => {
    const { image } = imageOnReadOnlyFs("ro-device-w");
    const loop = writeProtectedDevice(image);
    const t = dir("m");
    const err = caught(() => mount({ type: "ext4", source: loop.device, options: [] }, t, { readWriteOnly: true })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("mount(2)");
    expect([Errno.EACCES, Errno.EROFS] as number[]).toContain(err.errno);
    expect(err.hint).toBe(`${loop.device} is write-protected, and read-write was asked explicitly (-w): mount it read-only (-r), or leave out -w`);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a remount read-write of its mount: the kernel's refusal says the device is write-protected, as mount(8) does (before: no hint)", () => {
    const { image } = imageOnReadOnlyFs("ro-device-remount");
    const loop = writeProtectedDevice(image);
    const t = dir("m");
    unmountAfter(t);
    mount({ type: "ext4", source: loop.device, options: ["ro"] }, t);
    const r = runCli(["mount", "-o", "remount,rw", t]);
    expect(r.code).toBe(32);
    expect(r.stderr).toMatch(new RegExp(`^mountkit: remount ${t}: mount\\(2\\): E(ACCES|ROFS) \\([^)]*\\) \\(cannot remount ${loop.device} read-write: it is write-protected \\(keep it read-only\\)\\)\n$`));
    expect(mountAt(t)!.options.split(",")).toContain("ro");
  });

  test("the read-only retry's own failure is the error reported (ext4 needing journal recovery)", () => {
    const { image } = imageOnReadOnlyFs("ro-device-recovery");
    const debugfs = Bun.spawnSync(["debugfs", "-w", "-R", "feature needs_recovery", image]);
    expect(debugfs.exitCode).toBe(0);
    const loop = writeProtectedDevice(image);
    const t = dir("m");
    const warnings: string[] = [];
    const err = caught(() => mount({ type: "ext4", source: loop.device, options: [] }, t, { warn: (w) => warnings.push(w) })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("mount(2)");
    expect(err.hint).toMatch(/read-write was refused first \(E(ACCES|ROFS), as for a write-protected source\), then this read-only retry/);
    expect(warnings).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("a loop device attached read-write over a write-protected one: its writes fail (EIO)", () => {
  /** util-linux mount(8) ARGS, in this test's namespace. */
  const utilMount = (args: string[]) => {
    const run = Bun.spawnSync(["/usr/bin/mount", ...args]);
    return { code: run.exitCode, stderr: run.stderr.toString() };
  };

  test("a loop mount of the read-only device: EIO, as mount(8)'s 'can't read superblock', hinted to mount read-only; -r mounts it; every device freed", async () => {
    const { image } = imageOnReadOnlyFs("eio-loop-over-ro");
    const lower = writeProtectedDevice(image);
    cleanups.push(() => detachLoopDevicesOf(lower.device)); // runs first: the devices over it
    const t = dir("m");
    unmountAfter(t);
    for (const strategy of ["fd", "legacy"] as const) {
      const err = caught(() => mount({ type: "ext4", source: lower.device, options: ["loop"] }, t, { facts: probeKernelFacts(strategy) })) as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect(err).toMatchObject({ syscall: "mount(2)", errnoName: "EIO" });
      const upper = err.paths[0]!;
      expect(err.hint).toBe(
        `can't read superblock on ${upper}: the device failed the filesystem's first reads or writes (dmesg(1) may say more); ` +
          `it is a loop device over ${lower.device}, a write-protected block device, attached read-write, so every write fails: mount it read-only (-r)`,
      );
      expect(mountsUnder(t)).toEqual([]);
      await expectFreed(lower.device);
    }
    const reference = utilMount(["-t", "ext4", "-o", "loop", lower.device, t]);
    expect(reference.code).toBe(32);
    expect(reference.stderr).toMatch(/can't read superblock on \/dev\/loop\d+/);
    await expectFreed(lower.device);
    // the CLI: the same, exit 32
    const cli = runCli(["mount", "-o", "loop", lower.device, t]);
    expect(cli.code).toBe(32);
    expect(cli.stderr).toContain("mount it read-only (-r))\n");
    await expectFreed(lower.device);
    // the hint's advice works
    expect(runCli(["mount", "-r", "-o", "loop", lower.device, t]).code).toBe(0);
    expect(mountAt(t)!.options.split(",")).toContain("ro");
    unmountAll(t);
    await expectFreed(lower.device);
  });

  test("such a device attached by hand and mounted as a block device: the same hint, from sysfs's backing_file", () => {
    const { image } = imageOnReadOnlyFs("eio-device-over-ro");
    const lower = writeProtectedDevice(image);
    const upper = attachLoop(lower.device);
    cleanups.push(() => {
      upper.close();
      detachLoop(upper.device);
    });
    expect(sysfsRo(upper.device)).toBe("0");
    const t = dir("m");
    unmountAfter(t);
    const err = caught(() => mount({ type: "ext4", source: upper.device, options: [] }, t)) as SyscallError;
    expect(err).toMatchObject({ syscall: "mount(2)", errnoName: "EIO" });
    expect(err.hint).toEndWith(`it is a loop device over ${lower.device}, a write-protected block device, attached read-write, so every write fails: mount it read-only (-r)`);
    // read-only asked: only the superblock's read is left to blame
    const injected = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EIO, syscall: "mount(2)" } });
    const ro = caught(() => mount({ type: "ext4", source: upper.device, options: ["ro"] }, t, { sys: injected })) as SyscallError;
    expect(ro.hint).toBe(`can't read superblock on ${upper.device}: the device failed the filesystem's first reads or writes (dmesg(1) may say more)`);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a block device whose reads fail (EIO injected at mount(2)): mount(8)'s 'can't read superblock'; not for a remount or a bind", () => {
    const { image } = imageOnReadOnlyFs("eio-block");
    const loop = writeProtectedDevice(image);
    const t = dir("m");
    unmountAfter(t);
    const eio = () => injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EIO, syscall: "mount(2)" } });
    const err = caught(() => mount({ type: "ext4", source: loop.device, options: [] }, t, { sys: eio() })) as SyscallError;
    expect(err).toMatchObject({ syscall: "mount(2)", errnoName: "EIO" });
    expect(err.hint).toBe(`can't read superblock on ${loop.device}: the device failed the filesystem's first reads or writes (dmesg(1) may say more)`);
    expect(mountsUnder(t)).toEqual([]);
    mount({ type: "ext4", source: loop.device, options: ["ro"] }, t);
    const remount = caught(() => mount({ type: "", source: "", options: ["remount", "ro", "noatime"] }, t, { sys: eio() })) as SyscallError;
    expect(remount).toMatchObject({ errnoName: "EIO", hint: undefined });
    const bind = caught(() => mount({ type: "", source: t, options: ["bind"] }, dir("b"), { sys: eio() })) as SyscallError;
    expect(bind).toMatchObject({ errnoName: "EIO", hint: undefined });
  });
});

describe("a device whose filesystem is mounted read-only already", () => {
  test("a read-write mount of it (EBUSY from the kernel) is made read-only", () => {
    const { image } = imageOnReadOnlyFs("ro-elsewhere");
    const loop = attachLoop(image);
    cleanups.push(() => {
      loop.close();
      detachLoop(loop.device);
    });
    const a = dir("a");
    const b = dir("b");
    unmountAfter(a);
    unmountAfter(b);
    mount({ type: "ext4", source: loop.device, options: ["ro"] }, a);
    const warnings: string[] = [];
    mount({ type: "ext4", source: loop.device, options: [] }, b, { warn: (w) => warnings.push(w) });
    expect(mountAt(b)!.options.split(",")).toContain("ro");
    expect(warnings).toEqual([`${b}: ${WARNING}`]);
    // Read-write elsewhere: a second read-write mount needs no fallback and gets none.
    unmountAll(a);
    unmountAll(b);
    mount({ type: "ext4", source: loop.device, options: [] }, a, { warn: (w) => warnings.push(w) });
    expect(mountAt(a)!.options.split(",")).toContain("rw");
    expect(warnings).toHaveLength(1);
  });
});

describe("the CLI", () => {
  test("mount IMAGE warns and exits 0; -w exits 32 naming open, EROFS and the file; -n shows the fallback", async () => {
    const { view } = imageOnReadOnlyFs("ro-cli");
    const t = dir("m");
    unmountAfter(t);
    const dry = runCli(["mount", "-n", view, t]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("(EROFS or EACCES: open O_RDONLY, attach with LO_FLAGS_READ_ONLY, mount with MS_RDONLY)");
    expect(runCli(["mount", "-n", "-w", view, t]).stdout).not.toContain("EROFS");

    const refused = runCli(["mount", "-w", view, t]);
    expect(refused.code).toBe(32);
    expect(refused.stderr).toContain("open");
    expect(refused.stderr).toContain("EROFS");
    expect(refused.stderr).toContain(view);
    expect(mountsUnder(t)).toEqual([]);
    expect(loopDevicesOf(view).sysfs).toEqual([]);

    const run = runCli(["mount", view, t]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`mountkit: ${t}: ${WARNING}\n`);
    expect(mountAt(t)!.options.split(",")).toContain("ro");
    unmountAll(t);
    await expectFreed(view);
  });

  test("mount -a: the fstab line is mounted read-only, the warning names it, exit 0", async () => {
    const { view } = imageOnReadOnlyFs("ro-fstab");
    const t = dir("m");
    unmountAfter(t);
    const fstab = join(dir("etc"), "fstab");
    writeFileSync(fstab, `${view} ${t} ext4 defaults 0 0\n`);
    const run = runCli(["mount", "-a", "-T", fstab]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`mountkit: mount -a: ${t}: ${WARNING}\n`);
    expect(mountAt(t)!.options.split(",")).toContain("ro");
    unmountAll(t);
    await expectFreed(view);
  });
});
