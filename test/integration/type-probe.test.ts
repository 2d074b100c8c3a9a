// Mounts with no type, as mount(8) makes them: an image file gets a loop device on its own and
// a device's type is read from its superblock. Real images and loop devices; root, private
// mount namespace. Other engineers use loop devices here too: checks look only at the devices
// bound to this test's own images, and every device is released in finally.
import { beforeAll, describe, expect, test } from "bun:test";
import { linkSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, MountFailedError, SyscallError } from "../../src/errors.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf, makeExt4Image, newFds, openFds } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));

/** Release every loop device still bound to path when the test ends, whatever happened. */
function releaseAfter(path: string): string {
  cleanups.push(() => detachLoopDevicesOf(path));
  return path;
}
const image = (name: string, extra: string[] = []) => releaseAfter(makeExt4Image(s.path(name), 8, extra));
/** A fresh scratch dir with an ext4 image (its devices released) and a mount point (unmounted) in it. */
function imageAndTarget(label: string, mkfsArgs: string[] = []): { img: string; t: string } {
  fresh(label);
  const img = image("img", mkfsArgs);
  const t = dir("m");
  unmountAfter(t);
  return { img, t };
}
const mountAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target);

describe("an image file with no type", () => {
  for (const [fstype, extra] of [
    ["ext2", ["-t", "ext2"]],
    ["ext3", ["-t", "ext3"]],
    ["ext4", []],
  ] as const) {
    test(`${fstype}: a loop device of its own, the type from the superblock, freed at unmount`, async () => {
      const { img, t } = imageAndTarget(`probe-${fstype}`, [...extra]);
      const before = openFds();
      const plan = mount({ type: "", source: img, options: ["nodev"] }, t);
      expect(newFds(before)).toEqual([]);
      expect(plan.steps.map((step) => step.op)).toEqual(["loop-mount"]);
      const mounted = mountAt(t)!;
      expect(mounted).toMatchObject({ fstype, source: loopDevicesOf(img).sysfs[0] });
      unmountAll(t);
      await expectFreed(img);
    });
  }

  test("a block device with type auto: read from the device, then mount(2)", async () => {
    const { img, t } = imageAndTarget("probe-block");
    const loop = attachLoop(img);
    try {
      const before = openFds();
      const plan = mount({ type: "auto", source: loop.device, options: ["ro"] }, t);
      expect(newFds(before)).toEqual([]);
      expect(plan.steps.map((step) => step.op)).toEqual(["probed-mount"]);
      expect(mountAt(t)).toMatchObject({ fstype: "ext4", source: loop.device });
      expect(mountAt(t)!.options).toMatch(/^ro,/);
      unmountAll(t);
    } finally {
      loop.close();
      detachLoop(loop.device);
    }
    await expectFreed(img);
  });
});

describe("a regular file of 1024 bytes or less is no image (libmount's mnt_context_is_loopdev)", () => {
  /** util-linux mount(8) ARGS, in this test's namespace. */
  const utilMount = (args: string[]) => {
    const run = Bun.spawnSync(["/usr/bin/mount", ...args]);
    return { code: run.exitCode, stderr: run.stderr.toString() };
  };

  test("no loop device unasked: with no type, refused as no block device (exit 32, 'try -o loop'); with ext4, mount(2)'s ENOTBLK; 1025 bytes gets a device", async () => {
    fresh("small-file");
    const t = dir("m");
    unmountAfter(t);
    const zeros = (bytes: number) => {
      const path = releaseAfter(s.path(`zeros-${bytes}`));
      writeFileSync(path, new Uint8Array(bytes));
      return path;
    };
    const [small, large] = [zeros(1024), zeros(1025)];
    for (const args of [[], ["-t", "auto"], ["-t", "ext4"]]) {
      // util-linux hands the small file to mount(2) (no loop device) and says so; the larger one gets a device
      const reference = utilMount([...args, small, t]);
      expect([args, reference.code]).toEqual([args, 32]);
      expect(reference.stderr).toContain(`${small} is not a block device; try "-o loop"`);
      expect(utilMount([...args, large, t]).stderr).not.toContain("is not a block device");
      await expectFreed(large);
    }

    const before = openFds();
    const untyped = runCli(["mount", small, t]);
    expect(untyped).toEqual({
      code: 32,
      stdout: "",
      stderr: `mountkit: mount ${small} on ${t}: ${small} is not a block device, and a regular file of 1024 bytes or less is no image file (a loop device is set up unasked only for a file over 1024 bytes, as mount(8) does (no filesystem fits in less): give -o loop to mount it through one all the same)\n`,
    });
    expect(runCli(["mount", "-t", "auto", small, t]).stderr).toBe(untyped.stderr);
    // a block filesystem's type: mount(2) is given the file, and its ENOTBLK is explained
    const typed = caught(() => mount({ type: "ext4", source: small, options: [] }, t)) as SyscallError;
    expect(typed).toMatchObject({ syscall: "mount(2)", errnoName: "ENOTBLK", hint: `source ${small} is not a block device (use -o loop for an image file)` });
    expect(exitCodeFor(typed)).toBe(32);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(small).sysfs).toEqual([]);
    // -o loop asks for the device all the same: it is attached, and freed when the mount fails
    const looped = caught(() => mount({ type: "ext4", source: small, options: ["loop"] }, t)) as SyscallError;
    expect(looped.syscall).toBe("mount(2)");
    expect(looped.message).toMatch(new RegExp(`on /dev/loop\\d+`));
    // one byte more is an image: a loop device of its own, freed when nothing is found on it
    const probed = caught(() => mount({ type: "", source: large, options: [] }, t)) as MountFailedError;
    expect(probed.message).toMatch(new RegExp(`read the filesystem type of /dev/loop\\d+ \\(${large}\\)`));
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(small);
    await expectFreed(large);
  });
});

describe("nothing mountable found: the device released, nothing mounted", () => {
  test("a swap area and a file of zeros, through a loop device", async () => {
    fresh("probe-bad");
    const swap = releaseAfter(s.path("swap"));
    writeFileSync(swap, new Uint8Array(1 << 20));
    const mkswap = Bun.spawnSync(["mkswap", swap]);
    expect(mkswap.exitCode).toBe(0);
    const zeros = releaseAfter(s.path("zeros"));
    writeFileSync(zeros, new Uint8Array(1 << 20));
    const t = dir("m");
    unmountAfter(t);

    const before = openFds();
    const swapErr = caught(() => mount({ type: "", source: swap, options: [] }, t));
    expect(swapErr).toBeInstanceOf(MountFailedError);
    expect(exitCodeFor(swapErr)).toBe(32);
    expect((swapErr as Error).message).toMatch(
      new RegExp(`^mount ${swap} on ${t}: read the filesystem type of /dev/loop\\d+ \\(${swap}\\): it is a swap area$`),
    );
    expect((swapErr as MountFailedError).hint).toMatch(/swapon/);

    const zerosErr = caught(() => mount({ type: "auto", source: zeros, options: ["loop"] }, t)) as MountFailedError;
    expect(zerosErr.message).toMatch(/no superblock of a type mountkit knows .* in its first 69632 bytes$/);
    expect(newFds(before)).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(swap);
    await expectFreed(zeros);
  });

  test("in mount -a: the line is named, the others mount, exit 64, the device freed", async () => {
    fresh("probe-bad-fstab");
    const zeros = releaseAfter(s.path("zeros"));
    writeFileSync(zeros, new Uint8Array(1 << 20));
    const good = image("good.img");
    const [bad, ok] = [dir("bad"), dir("ok")];
    unmountAfter(bad);
    unmountAfter(ok);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `${zeros} ${bad} auto defaults 0 0\n${good} ${ok} auto defaults 0 0\n`);
    const run = runCli(["mount", "-a", "-T", fstab]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(
      new RegExp(`line 1 \\(${bad}\\): mount ${zeros} on ${bad}: read the filesystem type of /dev/loop\\d+ \\(${zeros}\\): no superblock`),
    );
    expect(mountsUnder(bad)).toEqual([]);
    expect(mountAt(ok)?.fstype).toBe("ext4");
    await expectFreed(zeros);
  });

  test("a read error (EIO injected at pread): the SyscallError names the device, which is freed", async () => {
    const { img, t } = imageAndTarget("probe-eio");
    const sys = injectFaults(libcSyscalls, { readAt: { calls: [1], errno: Errno.EIO, syscall: "pread(2)" } });
    const err = caught(() => mount({ type: "", source: img, options: [] }, t, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.message).toMatch(new RegExp(`^mount ${img} on ${t}: pread\\(2\\): EIO .*${img} on /dev/loop\\d+`));
    expect(sys.counts.mount ?? 0).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
  });
});

describe("X-mount.auto-fstypes (util-linux 2.39): the types the superblock may name", () => {
  test("an image through the binary: a type the list allows mounts; one it leaves out is exit 32 naming both, the device freed", async () => {
    const { img, t } = imageAndTarget("probe-auto-fstypes");
    // a list holds commas: quoted, in util-linux option syntax
    const allowed = runCli(["mount", "-o", `X-mount.auto-fstypes="xfs,ext4"`, img, t]);
    expect(allowed).toMatchObject({ code: 0, stderr: "" });
    expect(mountAt(t)).toMatchObject({ fstype: "ext4" });
    unmountAll(t);
    await expectFreed(img);
    for (const list of ["xfs,btrfs", "noext4"]) {
      const refused = runCli(["mount", "-o", `X-mount.auto-fstypes="${list}"`, img, t]);
      expect([list, refused.code]).toEqual([list, 32]);
      expect(refused.stderr).toContain(`it holds ext4, which X-mount.auto-fstypes=${list} leaves out`);
      expect(mountAt(t)).toBeUndefined();
      await expectFreed(img);
    }
  });

  test("-t noTYPES (mount(8)'s excluding pattern): any type but those, the superblock's read; an excluded one is exit 32, the device freed", async () => {
    const { img, t } = imageAndTarget("probe-no-types");
    // before, "nofoo" went to the kernel as a type's name: ENODEV, where mount(8) mounts the ext4
    for (const types of ["nofoo", "noxfs,vfat"]) {
      const allowed = runCli(["mount", "-t", types, img, t]);
      expect([types, allowed.code, allowed.stderr]).toEqual([types, 0, ""]);
      expect(mountAt(t)).toMatchObject({ fstype: "ext4" });
      unmountAll(t);
      await expectFreed(img);
    }
    // "no" negates the whole list, as libmount reads it: noxfs,ext4 is neither
    for (const types of ["noext4", "noxfs,ext4"]) {
      const refused = runCli(["mount", "-t", types, img, t]);
      expect([types, refused.code]).toEqual([types, 32]);
      expect(refused.stderr).toContain(`it holds ext4, which X-mount.auto-fstypes=${types} leaves out`);
      expect(mountAt(t)).toBeUndefined();
      await expectFreed(img);
    }
  });

  test("a block device (the library): refused before mount(2), the probe's fd closed", async () => {
    const { img, t } = imageAndTarget("probe-auto-fstypes-block");
    const loop = attachLoop(img);
    try {
      const before = openFds();
      const err = caught(() => mount({ type: "", source: loop.device, options: ["X-mount.auto-fstypes=vfat"] }, t));
      expect(err).toBeInstanceOf(MountFailedError);
      expect(exitCodeFor(err)).toBe(32);
      expect((err as Error).message).toContain(`read the filesystem type of ${loop.device}: it holds ext4, which X-mount.auto-fstypes=vfat leaves out`);
      expect(newFds(before)).toEqual([]);
      expect(mountAt(t)).toBeUndefined();
    } finally {
      loop.close();
      detachLoop(loop.device);
    }
    await expectFreed(img);
  });
});

describe("mount(2) refusing the type read from the superblock", () => {
  test("the hint names the type the user never gave (ENODEV injected: this kernel has ext4)", async () => {
    const { img, t } = imageAndTarget("probe-enodev");
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.ENODEV } });
    const err = caught(() => mount({ type: "", source: img, options: [] }, t, { sys })) as SyscallError;
    expect(err.errno).toBe(Errno.ENODEV);
    expect(err.hint).toBe(`${img} holds ext4, which this kernel does not have (not in /proc/filesystems: modprobe ext4)`);
    await expectFreed(img);

    const loop = attachLoop(img);
    try {
      const onDevice = caught(() => mount({ type: "auto", source: loop.device, options: [] }, t, { sys: injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EINVAL } }) }));
      expect((onDevice as SyscallError).hint).toBe(`${loop.device} looks like ext4 but the kernel refused it: a damaged filesystem, or a wrong option`);
    } finally {
      loop.close();
      detachLoop(loop.device);
    }
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
  });
});

describe("the binary", () => {
  test("mount IMAGE DIR with no type; --dry-run prints the probe", async () => {
    const { img, t } = imageAndTarget("probe-cli");
    const dry = runCli(["mount", "-n", img, t]);
    expect(dry.code).toBe(0);
    // the CLI runs mount.TYPE helpers: the type read goes to its helper when it has one
    expect(dry.stdout).toContain(
      `pread(loopfd, buf, 69632, 0)\n# when the type has a mount.TYPE helper: execve("mount.TYPE", ["mount.TYPE", "/dev/loopN", "${t}", "-o", "rw"]); else:\nmount("/dev/loopN", "${t}", <type from the superblock>, 0, NULL)`,
    );
    expect(mountsUnder(t)).toEqual([]);

    const verbose = runCli(["mount", "-v", "-t", "auto", img, t]);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/probe: \/dev\/loop\d+ holds ext4/);
    expect(mountAt(t)?.fstype).toBe("ext4");
    expect(runCli(["umount", t]).code).toBe(0);
    await expectFreed(img);

    const dirSource = runCli(["mount", dir("src"), t]);
    expect(dirSource.code).toBe(32); // as mount(8)'s "is not a block device"
    expect(dirSource.stderr).toMatch(/no filesystem type given, and .*src is no block device or image file to read it from/);
  });

  test("a block device named through a symlink, a relative path or `..`: mount(2) gets its canonical name, as libmount passes it; -c keeps it as typed", async () => {
    const { img, t } = imageAndTarget("probe-canonical");
    const loop = attachLoop(img);
    try {
      loop.close();
      const link = s.path("dev-link");
      symlinkSync(loop.device, link);
      const name = loop.device.slice("/dev/".length);
      for (const [args, cwd] of [
        [[link, t], undefined], // a /dev/disk/by-uuid link, as an fstab names it
        [["-t", "ext4", link, t], undefined],
        [[name, t], "/dev"], // mount loop0 /mnt, in /dev
        [["-t", "ext4", `/dev/../dev/${name}`, t], undefined],
      ] as const) {
        const r = runCli(["mount", ...args], cwd === undefined ? {} : { cwd });
        expect([args, r.code, r.stderr]).toEqual([args, 0, ""]);
        // before, mountinfo showed the name as typed (dev-link, loop0)
        expect(mountAt(t)?.source).toBe(loop.device);
        expect(runCli(["umount", t]).code).toBe(0);
      }
      expect(runCli(["mount", "-c", link, t]).code).toBe(0);
      expect(mountAt(t)?.source).toBe(link);
      expect(runCli(["umount", t]).code).toBe(0);
    } finally {
      detachLoop(loop.device);
    }
    await expectFreed(img);
  });

  test("-t none names no type, as mount(8) and an fstab line take it: the image's type is read; with --bind, a bind", async () => {
    const { img, t } = imageAndTarget("probe-none");
    const r = runCli(["mount", "-t", "none", img, t]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(mountAt(t)?.fstype).toBe("ext4");
    expect(runCli(["umount", t]).code).toBe(0);
    await expectFreed(img);

    const src = dir("src");
    expect(runCli(["mount", "-t", "none", "--bind", src, t]).code).toBe(0);
    expect(mountAt(t)).toBeDefined();
    expect(runCli(["mount", "-n", "-t", "none", "--bind", src, t]).stdout).toBe(`mount("${src}", "${t}", NULL, MS_BIND, NULL)\n`);
  });

  test("mount -a: an auto line and a loop line mount once; run again, both are already mounted", async () => {
    fresh("probe-fstab");
    const a = image("a.img");
    const b = image("b.img");
    const ta = dir("a");
    const tb = dir("b");
    unmountAfter(ta);
    unmountAfter(tb);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `${a} ${ta} auto defaults 0 0\n${b} ${tb} ext4 loop,nodev 0 0\n`);
    const first = runCli(["mount", "-a", "-T", fstab, "--json"]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).entries.map((r: { status: string }) => r.status)).toEqual(["mounted", "mounted"]);
    const again = runCli(["mount", "-a", "-T", fstab, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).entries.map((r: { status: string }) => r.status)).toEqual(["skipped", "skipped"]);
    const verbose = runCli(["mount", "-a", "-T", fstab, "-v"]);
    expect(`${verbose.stdout}${verbose.stderr}`.match(/: already mounted/g)).toHaveLength(2);
    expect(mountsUnder(ta)).toHaveLength(1);
    expect(mountsUnder(tb)).toHaveLength(1);
    expect(runCli(["umount", "-a", "-T", fstab]).code).toBe(0);
    await expectFreed(a);
    await expectFreed(b);
  });

  test("mount -a: a loop line is already mounted when its image, by another name (a hard link), is on the target's device", async () => {
    fresh("probe-fstab-link");
    const img = image("img");
    const link = s.path("hard-link");
    linkSync(img, link);
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `${link} ${t} ext4 loop 0 0\n${link} ${t} ext4 loop,offset=4096 0 0\n`);
    const run = runCli(["mount", "-a", "-T", fstab, "--json"]);
    // the second line asks another range of the file: not the mounted one, and refused (it overlaps)
    expect(JSON.parse(run.stdout).entries.map((r: { status: string }) => r.status)).toEqual(["skipped", "failed"]);
    expect(mountsUnder(t)).toHaveLength(1);
    expect(runCli(["umount", t]).code).toBe(0);
    await expectFreed(img);
  });
});
