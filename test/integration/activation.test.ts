// containerd's mount transformers (format/, mkdir/) on the real kernel: image layers mounted on
// temp dirs, an overlay of them on the root, the temp mounts gone afterwards; mkdir beneath
// a mount only; failures leave nothing. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { join } from "node:path";
import { exitCodeFor, MountkitError, SyscallError } from "../../src/errors.ts";
import { applyText } from "../../src/ops/apply.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { mount } from "../../src/ops/mount.ts";
import { tempMountLocation } from "../../src/ops/temp-location.ts";
import { withReadonlyTempMount } from "../../src/ops/temp-mount.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { expectFreed, fdChanges, loopDevicesOf, openFds } from "../support/resources.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { snapshotList } from "../support/snapshot-list.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
let s: Scratch;
let location: string;
/** A scratch dir, and a temp mount location of its own: the activation dirs looked for are this test's alone. */
const fresh = (label: string) => {
  s = ws.fresh(label);
  location = ws.tempLocation();
  return s;
};
/** runCli with the test's temp mount location */
const cli = (args: string[]) => runCli(args, { env: { ...process.env, MOUNTKIT_STRATEGY: "", MOUNTKIT_TMPDIR: location } });

const activationDirs = () => readdirSync(tempMountLocation()).filter((n) => n.startsWith("mountkit-activate-"));
const tableSize = () => mountTable().length;

/** A writable ext4 image and a read-only layer image holding etc/motd, as the erofs snapshotter's files. */
function images(rwExtra: (d: string) => void = () => {}, name = "") {
  const layer = dir(`${name}layer-content`, "etc");
  writeFileSync(join(layer, "motd"), "from the layer\n");
  const rwContent = dir(`${name}rw-content`);
  rwExtra(rwContent);
  return { rw: ws.image(`${name}rw.img`, 16, ["-d", rwContent]), layer: ws.image(`${name}layer.img`, 16, ["-d", join(layer, "..")]) };
}


describe("mountAll with containerd's transforms", () => {
  test("the erofs snapshotter's list: the overlay of the image mounts stands alone; release frees the loop devices", async () => {
    fresh("activate");
    const { rw, layer } = images();
    const root = dir("root");
    unmountAfter(root);
    const before = tableSize();
    const fds = openFds();
    const outcome = mountAll(snapshotList(rw, layer, "ext4"), root);
    expect(outcome.targets).toEqual([root]);
    expect(outcome.results.map((r) => [r.where, r.status])).toEqual([["entry 3", "mounted"]]);
    // one mount more than before: the overlay; the image mounts were detached, their dirs removed
    expect(tableSize()).toBe(before + 1);
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(activationDirs()).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
    // the overlay holds the layers: both devices stay attached while it is mounted
    expect(loopDevicesOf(rw).sysfs).toHaveLength(1);
    expect(loopDevicesOf(layer).sysfs).toHaveLength(1);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("from the layer\n");
    writeFileSync(join(root, "written"), "upper");
    outcome.release();
    expect(mountsUnder(root)).toEqual([]);
    await expectFreed(rw);
    await expectFreed(layer);
    // the write landed in the writable image's upper dir
    const check = dir("check");
    const seen = mountAll([{ type: "ext4", source: rw, options: ["ro", "loop"] }], check);
    try {
      expect(readFileSync(join(check, "upper/written"), "utf8")).toBe("upper");
      expect(statSync(join(check, "upper")).mode & 0o7777).toBe(0o755);
    } finally {
      seen.release();
    }
    await expectFreed(rw);
  });

  test("format/mkdir/bind (the blockfile snapshotter's shape): the directory made with its mode and owner, then bound", async () => {
    fresh("activate-bind");
    const { rw } = images();
    const root = dir("root");
    unmountAfter(root);
    const outcome = mountAll(
      [
        { type: "ext4", source: rw, options: ["rw", "loop"] },
        { type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper:0750:1000:2000", "rw", "rbind"] },
      ],
      root,
    );
    expect(statSync(root)).toMatchObject({ uid: 1000, gid: 2000 });
    expect(statSync(root).mode & 0o7777).toBe(0o750);
    expect(activationDirs()).toEqual([]);
    outcome.release();
    await expectFreed(rw);
  });

  test("an X-containerd.mkdir.path through a symlink out of the image is refused (EXDEV): nothing made outside, nothing left", async () => {
    fresh("activate-escape");
    const outside = dir("outside");
    const { rw, layer } = images((content) => symlinkSync(outside, join(content, "upper")));
    const root = dir("root");
    const before = tableSize();
    const err = caught(() => mountAll(snapshotList(rw, layer, "ext4").map((m, i) => (i < 2 ? m : { ...m, options: ["X-containerd.mkdir.path={{ mount 0 }}/upper/x", "lowerdir={{ mount 1 }}"] })), root)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("EXDEV");
    expect(err.message).toMatch(/X-containerd\.mkdir\.path=.*\/upper\/x: create "?upper\/x"? beneath/);
    expect(err.hint).toMatch(/leads out of the mount/);
    expect(exitCodeFor(err)).toBe(32);
    expect(readdirSync(outside)).toEqual([]);
    expect(tableSize()).toBe(before);
    expect(activationDirs()).toEqual([]);
    await expectFreed(rw);
    await expectFreed(layer);
  });

  test("X-containerd.mkdir.path's directory swapped for a symlink between its mkdir and its chmod and chown: the host file the link names is untouched", async () => {
    fresh("activate-chmod-swap");
    const { rw } = images();
    const root = dir("root");
    unmountAfter(root);
    const hostFile = s.path("host-file");
    writeFileSync(hostFile, "host data");
    chmodSync(hostFile, 0o600);
    let swapped = "";
    /** What path names now, its last step a link not followed: /proc/self/fd/N itself is the fd's file. */
    const named = (path: string) => {
      const fd = /^(\/proc\/self\/fd\/\d+)(?:\/(.+))?$/.exec(path);
      if (fd === null) return path;
      return fd[2] === undefined ? readlinkSync(fd[1]!) : join(readlinkSync(fd[1]!), fd[2]);
    };
    // a process with access to the mounted filesystem swaps the new directory for a link right
    // after mkdir, before the calls that give it its mode and owner
    const sys = {
      ...libcSyscalls,
      chmod(path: string, mode: number) {
        if (swapped === "") {
          swapped = named(path);
          renameSync(swapped, `${swapped}.moved`);
          symlinkSync(hostFile, swapped);
        }
        return libcSyscalls.chmod(path, mode);
      },
    };
    // the bind then follows the link to the host file onto the root, a directory: whether it
    // fails or not is the kernel's; what matters is what happened to the host file
    caught(() =>
      mountAll(
        [
          { type: "ext4", source: rw, options: ["rw", "loop"] },
          { type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper:0750:1000:2000", "rw", "rbind"] },
        ],
        root,
        { sys },
      ).release(),
    );
    expect(swapped).toMatch(/\/upper$/);
    expect(statSync(hostFile)).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(hostFile).mode & 0o7777).toBe(0o600);
    expect(readFileSync(hostFile, "utf8")).toBe("host data");
    expect(activationDirs()).toEqual([]);
    await expectFreed(rw);
  });

  test("X-containerd.mkdir.path on an existing directory leaves it as it is; on a file it is an error naming it", async () => {
    fresh("activate-exists");
    const { rw, layer } = images((content) => {
      mkdirSync(join(content, "upper"), { mode: 0o711 });
      chmodSync(join(content, "upper"), 0o711);
      mkdirSync(join(content, "work"));
    });
    const root = dir("root");
    unmountAfter(root);
    mountAll(snapshotList(rw, layer, "ext4"), root).release();
    const check = dir("check");
    const seen = mountAll([{ type: "ext4", source: rw, options: ["ro", "loop"] }], check);
    try {
      expect(statSync(join(check, "upper")).mode & 0o7777).toBe(0o711);
    } finally {
      seen.release();
    }

    const file = images((content) => writeFileSync(join(content, "upper"), "not a dir"), "file-");
    const before = tableSize();
    const err = caught(() => mountAll(snapshotList(file.rw, file.layer, "ext4"), root)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("ENOTDIR");
    expect(err.hint).toMatch(/\/upper"? exists and is not a directory/);
    expect(tableSize()).toBe(before);
    expect(activationDirs()).toEqual([]);
    await expectFreed(file.rw);
    await expectFreed(file.layer);
  });

  test("withReadonlyTempMount of the list: the upper dir becomes the top layer, nothing is written, nothing is left", async () => {
    fresh("activate-readonly");
    const { rw, layer } = images();
    const root = dir("root");
    unmountAfter(root);
    const used = mountAll(snapshotList(rw, layer, "ext4"), root);
    writeFileSync(join(root, "written"), "in the upper dir");
    used.release();
    await expectFreed(rw);
    const before = tableSize();
    const seen = await withReadonlyTempMount(snapshotList(rw, layer, "ext4"), (view) => {
      const write = caught(() => writeFileSync(join(view, "more"), "x")) as NodeJS.ErrnoException;
      return { written: readFileSync(join(view, "written"), "utf8"), motd: readFileSync(join(view, "etc/motd"), "utf8"), write: write.code };
    });
    expect(seen).toEqual({ written: "in the upper dir", motd: "from the layer\n", write: "EROFS" });
    expect(tableSize()).toBe(before);
    // neither the temp mount's dir nor the activation's
    expect(readdirSync(location)).toEqual([]);
    await expectFreed(rw);
    await expectFreed(layer);
  });

  test("a temp dir that cannot be removed (EBUSY injected at rmdir): a warning each, the overlay stands; the mounts were detached all the same", async () => {
    fresh("activate-cleanup-fail");
    const { rw, layer } = images();
    const root = dir("root");
    unmountAfter(root);
    const sys = injectFaults(libcSyscalls, { rmdir: { calls: [1], errno: Errno.EBUSY, syscall: "rmdir(2)" } });
    const outcome = mountAll(snapshotList(rw, layer, "ext4"), root, { sys });
    const left = activationDirs().map((name) => join(tempMountLocation(), name));
    // if an expectation fails first: the empty dirs go all the same (rmdir only)
    ws.cleanups.push(() => {
      for (const d of left.filter((d) => existsSync(d))) {
        for (const name of readdirSync(d)) rmdirSync(join(d, name));
        rmdirSync(d);
      }
    });
    expect(outcome.error).toBeUndefined();
    // the mount point dir "1" failed, so the temp dir is not empty either
    expect(outcome.warnings.map((w) => (w as SyscallError).errnoName)).toEqual(["EBUSY", "ENOTEMPTY"]);
    expect(left).toHaveLength(1);
    expect(readdirSync(left[0]!)).toEqual(["1"]);
    expect(mountsUnder(left[0]!)).toEqual([]); // detached before the rmdir
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    rmdirSync(join(left[0]!, "1"));
    rmdirSync(left[0]!);
    outcome.release();
    await expectFreed(rw);
    await expectFreed(layer);
  });

  test("the overlay failing after the temp mounts (a lower dir that does not exist): exit 32, every temp mount and device gone", async () => {
    fresh("activate-fail");
    const { rw, layer } = images();
    const root = dir("root");
    const before = tableSize();
    const list = snapshotList(rw, layer, "ext4").map((m, i) => (i < 2 ? m : { ...m, options: m.options.map((o) => (o.startsWith("lowerdir=") ? "lowerdir={{ mount 1 }}/missing" : o)) }));
    const err = caught(() => mountAll(list, root)) as MountkitError;
    expect(err).toBeInstanceOf(MountkitError);
    expect(exitCodeFor(err)).toBe(32);
    expect(err.message).toMatch(/entry 3/);
    expect(tableSize()).toBe(before);
    expect(activationDirs()).toEqual([]);
    await expectFreed(rw);
    await expectFreed(layer);
  });

  test("a temp mount failing (an image that is no filesystem): the earlier temp mounts undone, exit 32, named", async () => {
    fresh("activate-temp-fail");
    const { rw } = images();
    const zeros = s.path("zeros.img");
    writeFileSync(zeros, new Uint8Array(4 << 20));
    ws.cleanups.push(() => loopDevicesOf(zeros).sysfs.length === 0 || Bun.spawnSync(["losetup", "-d", ...loopDevicesOf(zeros).sysfs]));
    const before = tableSize();
    const err = caught(() => mountAll(snapshotList(rw, zeros, "ext4"), dir("root"))) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.message).toMatch(/^mount all: entry 2: mount .*zeros\.img.*: mount\(2\): EINVAL/);
    expect(exitCodeFor(err)).toBe(32);
    expect(tableSize()).toBe(before);
    expect(activationDirs()).toEqual([]);
    await expectFreed(rw);
    await expectFreed(zeros);
  });
});

describe("mountkit apply with containerd's transforms", () => {
  test("--dry-run prints the temp mounts and the filled-in overlay, making nothing; the real run mounts", async () => {
    fresh("activate-cli");
    const { rw, layer } = images();
    const root = dir("root");
    unmountAfter(root);
    const file = s.path("list.json");
    writeFileSync(file, JSON.stringify(snapshotList(rw, layer, "ext4")));
    const dry = cli(["apply", "--dry-run", "--root", root, file]);
    expect(dry).toMatchObject({ code: 0, stderr: "" });
    const headers = dry.stdout.split("\n").filter((l) => l.startsWith("# "));
    expect(headers).toEqual([
      expect.stringMatching(/^# entry 1: \/.*\/mountkit-activate-[^/]+\/2$/),
      expect.stringMatching(/^# entry 2: \/.*\/mountkit-activate-[^/]+\/1$/),
      `# entry 3: ${root}`,
      // what the mkdir/ transform does before the overlay
      expect.stringMatching(/^# first: mkdir \/.*\/mountkit-activate-[^/]+\/2\/upper \(0755\) beneath \/.*\/2$/),
      expect.stringMatching(/^# first: mkdir \/.*\/mountkit-activate-[^/]+\/2\/work \(0755\) beneath \/.*\/2$/),
    ]);
    expect(dry.stdout).toMatch(/"lowerdir\+", "\/.*\/mountkit-activate-[^/]+\/1"/);
    expect(activationDirs()).toEqual([]);
    expect(loopDevicesOf(rw).sysfs).toEqual([]);

    const real = cli(["apply", "--root", root, "--json", file]);
    expect(real).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(real.stdout).entries.map((e: { where: string; status: string }) => [e.where, e.status])).toEqual([["entry 3", "mounted"]]);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("from the layer\n");
    expect(activationDirs()).toEqual([]);
    expect(cli(["umount", root])).toMatchObject({ code: 0, stderr: "" });
    await expectFreed(rw);
    await expectFreed(layer);
    expect(existsSync(root)).toBe(true);
  });

  test("applyText refuses an unknown transform before anything (exit 1)", () => {
    fresh("activate-unknown");
    const err = caught(() => applyText(JSON.stringify([{ type: "mkfs2/ext4", source: "/x.img", target: "/", options: ["loop"] }]), { root: dir("root") })) as MountkitError;
    expect(err).toBeInstanceOf(MountkitError);
    expect(exitCodeFor(err)).toBe(1);
    expect(err.message).toMatch(/entry 1: unknown mount transform "mkfs2"/);
    expect(activationDirs()).toEqual([]);
  });
});

describe("mkdir roots (containerd's WithAllowedRoot): X-containerd.mkdir.path beneath a directory the caller allows", () => {
  /** containerd's TestMkdirHandler shape: mkdir/overlay making its work and upper dirs in a host snapshot dir. */
  function snapshotOverlay(snap: string, mode = "0751") {
    const [l1, l2] = [dir("l1"), dir("l2")];
    writeFileSync(join(l1, "motd"), "lower\n");
    return {
      type: "mkdir/overlay",
      source: "overlay",
      options: [`X-containerd.mkdir.path=${snap}/fs:${mode}:0:0`, `X-containerd.mkdir.path=${snap}/work`, `upperdir=${snap}/fs`, `workdir=${snap}/work`, `lowerdir=${l1}:${l2}`],
    };
  }

  test("mountAll with mkdirRoots makes the directories (mode exact, owner set) and mounts the overlay; without it the list is refused before anything", () => {
    fresh("activate-mkdir-root");
    const store = dir("store");
    mkdirSync(join(store, "snapshots", "5"), { recursive: true });
    const snap = join(store, "snapshots", "5");
    const root = dir("root");
    unmountAfter(root);
    const refused = caught(() => mountAll([snapshotOverlay(snap)], root)) as MountkitError;
    expect(refused).toBeInstanceOf(MountkitError);
    expect(exitCodeFor(refused)).toBe(1);
    expect(refused.message).toMatch(/is not inside a mount made before this one/);
    expect(refused.hint).toMatch(/--mkdir-root/);
    expect(existsSync(join(snap, "work"))).toBe(false);

    const outcome = mountAll([snapshotOverlay(snap)], root, { mkdirRoots: [store] });
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(statSync(join(snap, "fs")).mode & 0o7777).toBe(0o751);
    expect(statSync(join(snap, "work")).mode & 0o7777).toBe(0o700);
    expect(readFileSync(join(root, "motd"), "utf8")).toBe("lower\n");
    writeFileSync(join(root, "written"), "upper");
    outcome.release();
    expect(readFileSync(join(snap, "fs", "written"), "utf8")).toBe("upper");
  });

  test("a symlink in the root leading out of it is refused (EXDEV), nothing made outside; a root that does not exist, or /, is refused", () => {
    fresh("activate-mkdir-root-escape");
    const store = dir("store");
    const outside = dir("outside");
    symlinkSync(outside, join(store, "snap"));
    const root = dir("root");
    const err = caught(() => mountAll([snapshotOverlay(join(store, "snap"))], root, { mkdirRoots: [store] })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("EXDEV");
    expect(readdirSync(outside)).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
    for (const bad of [s.path("no-such-store"), "/"]) {
      const refused = caught(() => mountAll([snapshotOverlay(join(store, "snap"))], root, { mkdirRoots: [bad] })) as MountkitError;
      expect(exitCodeFor(refused)).toBe(1);
      expect(refused.message).toMatch(/^mkdir root /);
    }
  });

  test("a root named through a symlink (containerd's root on another disk): the list's paths spelled through it are allowed, and made in the directory it names", () => {
    fresh("activate-mkdir-root-link");
    const store = dir("store");
    mkdirSync(join(store, "snap"));
    const named = s.path("containerd");
    symlinkSync(store, named);
    const root = dir("root");
    unmountAfter(root);
    const outcome = mountAll([snapshotOverlay(join(named, "snap"))], root, { mkdirRoots: [named] });
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(statSync(join(store, "snap", "fs")).mode & 0o7777).toBe(0o751);
    expect(statSync(join(store, "snap", "work")).isDirectory()).toBe(true);
    outcome.release();
  });

  test("apply --mkdir-root that does not exist, or /, is refused (exit 1) though the list has no mkdir option; nothing mounted", () => {
    fresh("activate-mkdir-root-unused");
    const root = dir("root");
    unmountAfter(root);
    const file = s.path("list.json");
    writeFileSync(file, JSON.stringify([{ type: "tmpfs", source: "tmpfs", target: "/", options: ["size=1m"] }]));
    for (const bad of [s.path("no-such-store"), "/"]) {
      for (const dry of [["--dry-run"], []]) {
        expect(cli(["apply", ...dry, "--root", root, "--mkdir-root", bad, file])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^mountkit: mkdir root /) });
        expect(mountsUnder(root)).toEqual([]);
      }
    }
    expect(caught(() => mountAll([{ type: "tmpfs", source: "tmpfs", options: [] }], root, { mkdirRoots: ["/"] }))).toBeInstanceOf(MountkitError);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("apply --mkdir-root: the dry run names the mkdir beneath the root, making nothing; the real run mounts", () => {
    fresh("activate-mkdir-root-cli");
    const store = dir("store");
    const snap = join(store, "snap");
    mkdirSync(snap);
    const root = dir("root");
    unmountAfter(root);
    const file = s.path("list.json");
    writeFileSync(file, JSON.stringify([{ ...snapshotOverlay(snap), target: "/" }]));
    expect(cli(["apply", "--root", root, file])).toMatchObject({ code: 1, stderr: expect.stringMatching(/not inside a mount made before this one.*--mkdir-root/s) });
    const dry = cli(["apply", "--dry-run", "--root", root, "--mkdir-root", store, file]);
    expect(dry).toMatchObject({ code: 0, stderr: "" });
    expect(dry.stdout).toContain(`# first: mkdir ${snap}/fs (0751, owner 0:0) beneath ${store}`);
    expect(existsSync(join(snap, "fs"))).toBe(false);
    expect(cli(["apply", "--root", root, "--mkdir-root", store, file])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(statSync(join(snap, "fs")).mode & 0o7777).toBe(0o751);
  });
});

test("a transformed type given to a single mount (containerd#12796's ENODEV): the hint says the transforms work on a list, and names apply", () => {
  fresh("activate-single");
  const target = dir("mnt");
  unmountAfter(target);
  const err = caught(() => mount({ type: "format/mkdir/overlay", source: "overlay", options: ["lowerdir={{ mount 0 }}"] }, target)) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect(err.errnoName).toBe("ENODEV");
  expect(err.hint).toBe('"format/mkdir/overlay" is no filesystem type: format/ and mkdir/ are containerd\'s mount transforms, which work on a list of mounts (mountkit apply; the library\'s mountAll, withTempMount)');
  expect(mountsUnder(target)).toEqual([]);
  // a prefix that is no transform of containerd's: the kernel's unknown type, as for any other
  const other = caught(() => mount({ type: "foo/overlay", source: "overlay", options: [] }, target)) as SyscallError;
  expect(other.hint).toBe('unknown filesystem type "foo/overlay" (not in /proc/filesystems)');
});
