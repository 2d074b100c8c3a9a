// containerd's mkfs/ transform and loop handler on the real kernel: an image made by the real
// mkfs.ext4 on first use and reused after, mounted through a loop handler's device or a loop
// temp mount; a failed mkfs, a file of zeroes, a later failure and a racing creator each leave
// nothing half-made. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, HelperError, MountkitError, SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { tempMountLocation } from "../../src/ops/temp-location.ts";
import { withReadonlyTempMount } from "../../src/ops/temp-mount.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { identifySuperblock } from "../../src/plan/superblock.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, fdChanges, loopDevicesOf, openFds } from "../support/resources.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;

const activationDirs = () => readdirSync(tempMountLocation()).filter((n) => n.startsWith("mountkit-activate-"));
/** The hidden files an image is formatted under, left in dir. */
const formattingLeftovers = (d: string) => readdirSync(d).filter((n) => n.includes(".mkfs-"));

let location: string;
/** runCli with the test's temp mount location */
const cli = (args: string[]) => runCli(args, { env: { ...process.env, MOUNTKIT_STRATEGY: "", MOUNTKIT_TMPDIR: location } });

/** An image path in a fresh scratch dir; any loop device of it is detached after the test, whatever happens. */
function imagePath(label: string): { images: string; image: string } {
  ws.fresh(label);
  location = ws.tempLocation(); // the activation dirs looked for are this test's alone
  const images = dir("images");
  const image = join(images, "rw.img");
  ws.cleanups.push(() => detachLoopDevicesOf(image));
  return { images, image };
}

/** containerd's own mkfs/loop example: an image on a loop handler, its device mounted as ext4 on target. */
const loopList = (image: string, target: string): Mount[] => [
  { type: "mkfs/loop", source: image, options: ["X-containerd.mkfs.size=16MiB", "X-containerd.mkfs.fs=ext4"] },
  { type: "format/ext4", source: "{{ mount 0 }}", target, options: ["rw"] },
];

const holdsExt4 = (image: string) => identifySuperblock(new Uint8Array(readFileSync(image).subarray(0, 70_000)))?.kind === "filesystem";

/** A seam that records the processes run, real otherwise. */
const recording = () => injectFaults(libcSyscalls, {});
const processesRun = (sys: ReturnType<typeof recording>) => sys.log.filter((c) => c[0] === "runProcess").map((c) => (c[2] as string[])[0]);

describe("mkfs/ with the loop handler", () => {
  test("first use: the real mkfs.ext4 makes the image, its loop device is mounted; nothing else is left; a second use reuses it", async () => {
    const { images, image } = imagePath("mkfs-loop");
    ws.umask(0o022); // open(2) takes the umask from 0640, as it does from containerd's
    const root = dir("root");
    dir("root", "data");
    unmountAfter(join(root, "data"));
    const fds = openFds();
    const before = mountTable().length;
    const sys = recording();

    const outcome = mountAll(loopList(image, "/data"), root, { sys });
    expect(outcome.results.map((r) => [r.where, r.status])).toEqual([["entry 2", "mounted"]]);
    expect(processesRun(sys)).toEqual(["mkfs.ext4"]);
    expect(lstatSync(image).isFile()).toBe(true);
    expect(lstatSync(image).size).toBe(16 * 1024 * 1024);
    expect(lstatSync(image).mode & 0o777).toBe(0o640); // containerd's mode
    expect(holdsExt4(image)).toBe(true);
    expect(formattingLeftovers(images)).toEqual([]);
    // the device itself is the mount's source (not the handler's symlink, which is gone with its temp dir)
    const devices = loopDevicesOf(image).sysfs;
    expect(devices).toHaveLength(1);
    expect(mountsUnder(root).map((m) => [m.fstype, m.source])).toEqual([["ext4", devices[0]!]]);
    expect(mountTable().length).toBe(before + 1);
    expect(activationDirs()).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
    writeFileSync(join(root, "data/kept"), "written in the first use\n");

    outcome.release();
    await expectFreed(image); // autoclear: the device went with the mount

    const again = recording();
    mountAll(loopList(image, "/data"), root, { sys: again });
    expect(processesRun(again)).toEqual([]); // the image exists: no mkfs
    expect(readFileSync(join(root, "data/kept"), "utf8")).toBe("written in the first use\n");
    expect(cli(["umount", join(root, "data")])).toMatchObject({ code: 0, stderr: "" });
    await expectFreed(image);
  });

  test("the erofs snapshotter's writable layer in block mode (mkfs/ext4 + loop on a temp mount, its upper dir bound), through the CLI", async () => {
    const { image } = imagePath("mkfs-bind");
    const root = dir("root");
    unmountAfter(root);
    const list = join(dir("input"), "list.json");
    writeFileSync(
      list,
      JSON.stringify([
        { type: "mkfs/ext4", source: image, options: ["X-containerd.mkfs.fs=ext4", "X-containerd.mkfs.size=67108864", "rw", "loop"] },
        { type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "rw", "rbind"] },
      ]),
    );
    const dry = cli(["apply", "--root", root, "--dry-run", "--json", list]);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.stdout).entries;
    expect(planned[0].prepare).toEqual([`if ${image} does not exist: create it (67108864 bytes) under a temporary name, mkfs.ext4 -q FILE, rename it into place`]);
    expect(planned[1].prepare[0]).toMatch(/^mkdir .*\/1\/upper \(0755\) beneath /);
    expect(existsSync(image)).toBe(false); // the dry run made nothing

    const real = cli(["apply", "--root", root, "--json", list]);
    expect(real).toMatchObject({ code: 0, stderr: "" });
    const [bind] = mountsUnder(root);
    expect(bind).toMatchObject({ fstype: "ext4", root: "/upper" });
    expect(bind!.source).toMatch(/^\/dev\/loop\d+$/);
    expect(holdsExt4(image)).toBe(true);
    expect(activationDirs()).toEqual([]);
    expect(cli(["umount", root])).toMatchObject({ code: 0, stderr: "" });
    await expectFreed(image);
  });
});

describe("a read-only view of an mkfs/ list (withReadonlyTempMount)", () => {
  test("makes no image: a missing one is an error; an existing one is attached and mounted read-only", async () => {
    const { images, image } = imagePath("mkfs-readonly");
    const view = [
      { type: "mkfs/loop", source: image, options: ["X-containerd.mkfs.size=16MiB"] },
      { type: "format/ext4", source: "{{ mount 0 }}", options: ["rw"] },
    ];
    const missing = (await withReadonlyTempMount(view, () => "mounted").catch((e: unknown) => e)) as SyscallError;
    expect(missing).toBeInstanceOf(SyscallError);
    expect(missing.errnoName).toBe("ENOENT");
    expect(readdirSync(images)).toEqual([]);

    const root = dir("root");
    dir("root", "data");
    mountAll(loopList(image, "/data"), root).release();
    await expectFreed(image);
    const seen = await withReadonlyTempMount(view, (d) => {
      const write = caught(() => writeFileSync(join(d, "more"), "x")) as NodeJS.ErrnoException;
      const devices = loopDevicesOf(image).sysfs;
      const readOnly = devices.map((dev) => readFileSync(`/sys/block/${dev.slice("/dev/".length)}/ro`, "utf8").trim());
      return { lostFound: existsSync(join(d, "lost+found")), write: write.code, readOnly };
    });
    expect(seen).toEqual({ lostFound: true, write: "EROFS", readOnly: ["1"] }); // the loop handler attached it read-only
    await expectFreed(image);
    expect(activationDirs()).toEqual([]);
  });
});

describe("mkfs/ leaves no half-made image", () => {
  test("a failing mkfs: its output in the error, exit 32, nothing at the image's name or beside it; the next call makes it", async () => {
    const { images, image } = imagePath("mkfs-fails");
    const root = dir("root");
    dir("root", "data");
    unmountAfter(join(root, "data"));
    const helpers = dir("helpers");
    writeFileSync(join(helpers, "mkfs.ext4"), '#!/bin/sh\necho "mkfs.ext4: the disk is full (pretend)" >&2\nexit 1\n');
    chmodSync(join(helpers, "mkfs.ext4"), 0o755);
    const before = mountTable().length;

    const err = caught(() => mountAll(loopList(image, "/data"), root, { helperDir: helpers })) as HelperError;
    expect(err).toBeInstanceOf(HelperError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toMatch(/^mount all: entry 1: make the image .*rw\.img: .*\/helpers\/mkfs\.ext4 exited 1: mkfs\.ext4: the disk is full \(pretend\)$/);
    expect(err.argv[0]).toBe("mkfs.ext4");
    expect(err.argv.at(-1)).toMatch(/\/images\/\.rw\.img\.mkfs-\w+$/);
    // containerd leaves a truncated file of zeroes at the name here, which its next call mounts
    expect(existsSync(image)).toBe(false);
    expect(readdirSync(images)).toEqual([]);
    expect(loopDevicesOf(image).sysfs).toEqual([]);
    expect(mountTable().length).toBe(before);
    expect(activationDirs()).toEqual([]);

    const outcome = mountAll(loopList(image, "/data"), root);
    expect(holdsExt4(image)).toBe(true);
    outcome.release();
    await expectFreed(image);
  });

  test("no mkfs.ext4 in the helper dir: a clear error, nothing made", () => {
    const { images, image } = imagePath("mkfs-missing");
    const err = caught(() => mountAll(loopList(image, "/data"), dir("root"), { helperDir: dir("empty-helpers") })) as HelperError;
    expect(err).toBeInstanceOf(HelperError);
    expect(err.message).toMatch(/make the image .*: mkfs\.ext4 not found in .*empty-helpers/);
    expect(err.hint).toMatch(/put mkfs\.ext4 in the helper dir/);
    expect(readdirSync(images)).toEqual([]);
    expect(activationDirs()).toEqual([]);
  });

  test("an image whose directory does not exist: the open named, exit 32, nothing made", () => {
    const { images } = imagePath("mkfs-no-dir");
    const image = join(images, "absent", "rw.img");
    const err = caught(() => mountAll(loopList(image, "/data"), dir("root"))) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toMatch(/^mount all: entry 1: make the image .*\/absent\/rw\.img: open\(2\): ENOENT/);
    expect(err.paths[0]).toMatch(/\/absent\/\.rw\.img\.mkfs-\w+$/);
    expect(err.hint).toBe(`the image's directory ${join(images, "absent")} does not exist`);
    expect(readdirSync(images)).toEqual([]);
    expect(activationDirs()).toEqual([]);
  });

  test("an existing file of zeroes (containerd's failed mkfs leaves one) is refused, neither formatted over nor mounted; a directory too", () => {
    const { images, image } = imagePath("mkfs-zeroes");
    writeFileSync(image, new Uint8Array(1024 * 1024));
    const root = dir("root");
    const before = mountTable().length;
    const err = caught(() => mountAll(loopList(image, "/data"), root)) as MountkitError;
    expect(err).toBeInstanceOf(MountkitError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toMatch(/entry 1: make the image .*rw\.img: it exists and holds no filesystem, not ext4$/);
    expect(err.hint).toMatch(/remove it, and the next mount makes it/);
    expect(readFileSync(image).every((b) => b === 0)).toBe(true);
    expect(loopDevicesOf(image).sysfs).toEqual([]);
    expect(mountTable().length).toBe(before);

    const asDir = join(images, "dir.img");
    mkdirSync(asDir);
    const dirErr = caught(() => mountAll(loopList(asDir, "/data"), root)) as MountkitError;
    expect(dirErr.message).toMatch(/make the image .*dir\.img: it exists and is not a regular file$/);
    expect(activationDirs()).toEqual([]);
  });

  test("a later failure (the real mount's target is missing) removes the image this call made and frees its device; an older image stays", async () => {
    const { images, image } = imagePath("mkfs-rollback");
    const root = dir("root");
    const before = mountTable().length;
    const err = caught(() => mountAll(loopList(image, "/missing"), root)) as MountkitError;
    expect(err).toBeInstanceOf(MountkitError);
    expect(err.message).toMatch(/entry 2: mount \/dev\/loop\d+ on .*\/missing/);
    expect(existsSync(image)).toBe(false);
    expect(readdirSync(images)).toEqual([]);
    await expectFreed(image);
    expect(mountTable().length).toBe(before);
    expect(activationDirs()).toEqual([]);

    // made by an earlier call: the failure leaves it
    dir("root", "data");
    mountAll(loopList(image, "/data"), root).release();
    await expectFreed(image);
    caught(() => mountAll(loopList(image, "/missing"), root));
    expect(holdsExt4(image)).toBe(true);
    await expectFreed(image);
  });

  test("a temp mount failing after the image and its loop handler: the image removed, the device freed, the symlink and temp dir gone", async () => {
    const { images, image } = imagePath("mkfs-temp-fail");
    const before = mountTable().length;
    const list: Mount[] = [
      { type: "mkfs/loop", source: image, options: ["X-containerd.mkfs.size=16MiB"] },
      { type: "tmpfs", source: "bad", options: ["bogus=1"] },
      { type: "format/ext4", source: "{{ mount 0 }}", target: "/data", options: [] },
    ];
    const err = caught(() => mountAll(list, dir("root"))) as MountkitError;
    expect(err).toBeInstanceOf(MountkitError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toMatch(/^mount all: entry 2: /);
    expect(err.cleanupErrors).toEqual([]);
    expect(readdirSync(images)).toEqual([]); // the image this call made is gone
    await expectFreed(image); // the handler's fd closed: autoclear detached the device
    expect(mountTable().length).toBe(before);
    expect(activationDirs()).toEqual([]);
  });

  test("keep-going: the image stays while a mount of it stands, and goes when every real mount failed", async () => {
    const { images, image } = imagePath("mkfs-keep-going");
    const root = dir("root");
    unmountAfter(dir("root", "data"));
    const before = mountTable().length;
    const withBadTmpfs = (target: string): Mount[] => [...loopList(image, target), { type: "tmpfs", source: "bad", target: "/missing", options: [] }];

    const partly = mountAll(withBadTmpfs("/data"), root, { keepGoing: true });
    expect(partly.error?.message).toMatch(/^mount all: entry 3: mount bad on .*\/missing: openat2\(2\): ENOENT/);
    expect(exitCodeFor(partly.error!)).toBe(64);
    expect(partly.targets).toEqual([join(root, "data")]);
    expect(holdsExt4(image)).toBe(true); // mounted: kept
    expect(readdirSync(images)).toEqual(["rw.img"]);
    expect(mountsUnder(join(root, "data")).map((m) => m.fstype)).toEqual(["ext4"]);
    partly.release();
    await expectFreed(image);
    expect(mountTable().length).toBe(before);
    rmSync(image);

    const none = mountAll(withBadTmpfs("/missing-too"), root, { keepGoing: true });
    expect(none.targets).toEqual([]);
    expect(none.error?.message).toMatch(/missing-too/);
    expect(readdirSync(images)).toEqual([]); // nothing of the call mounted: the image it made is gone
    await expectFreed(image);
    expect(mountTable().length).toBe(before);
    expect(activationDirs()).toEqual([]);
  });

  test("a loop handler's symlink that cannot be removed at release: a warning naming unlink and the link, the mount stands, the device is still freed", async () => {
    const { image } = imagePath("loop-handler-unlink-fails");
    const root = dir("root");
    unmountAfter(dir("root", "data"));
    const sys = injectFaults(libcSyscalls, { unlink: { calls: [1], errno: Errno.EPERM, syscall: "unlink(2)" } });
    const outcome = mountAll(loopList(image, "/data"), root, { sys });
    const left = activationDirs().map((name) => join(tempMountLocation(), name));
    // whatever fails below: the link and the dir go (the link only, never the device)
    ws.cleanups.push(() => {
      for (const d of left) {
        for (const name of readdirSync(d)) rmSync(join(d, name));
        rmdirSync(d);
      }
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/mountkit-activate-[^/]+\/1: unlink\(2\): EPERM/),
      expect.stringMatching(/mountkit-activate-[^/]+: rmdir\(2\): ENOTEMPTY/),
    ]);
    expect(left).toHaveLength(1);
    expect(readdirSync(left[0]!)).toEqual(["1"]);
    expect(lstatSync(join(left[0]!, "1")).isSymbolicLink()).toBe(true);
    expect(mountsUnder(join(root, "data")).map((m) => m.fstype)).toEqual(["ext4"]);
    outcome.release();
    await expectFreed(image); // the handler's fd was closed all the same
  });

  test("a loop handler whose image is missing: the attach named, nothing left", () => {
    const { images } = imagePath("loop-handler-missing");
    const missing = join(images, "absent.img");
    const err = caught(() =>
      mountAll([{ type: "loop", source: missing, options: [] }, { type: "format/ext4", source: "{{ mount 0 }}", target: "/data", options: [] }], dir("root")),
    ) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("ENOENT");
    expect(err.message).toMatch(/^mount all: entry 1: attach .*absent\.img to a loop device \(containerd's loop handler\)/);
    expect(activationDirs()).toEqual([]);
  });

  test("another process makes the image while mkfs runs: its image is used, ours removed (RENAME_NOREPLACE)", async () => {
    const { images, image } = imagePath("mkfs-race");
    const content = dir("their-content");
    writeFileSync(join(content, "theirs"), "made by the other process\n");
    const theirs = ws.image("theirs.img", 16, ["-d", content]);
    const root = dir("root");
    dir("root", "data");
    unmountAfter(join(root, "data"));
    // the race at a chosen step: their image lands at the name right after our mkfs ran
    const sys: Syscalls = {
      ...libcSyscalls,
      runProcess(path, argv, env) {
        const exit = libcSyscalls.runProcess(path, argv, env);
        copyFileSync(theirs, image);
        return exit;
      },
    };
    const outcome = mountAll(loopList(image, "/data"), root, { sys });
    expect(readdirSync(images)).toEqual(["rw.img"]); // ours gone
    expect(readFileSync(join(root, "data/theirs"), "utf8")).toBe("made by the other process\n");
    outcome.release();
    await expectFreed(image);
  });
});
