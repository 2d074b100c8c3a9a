// containerd's core/mount Go tests that had no counterpart here, against the real kernel, each
// named after the Go test it follows (root, private mount namespace). The table-driven ones are
// unit tests (mount-helpers, options, overlay-plan, idmap-plan, idmap-mapping).
import { beforeAll, describe, expect, test } from "bun:test";
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { closeUsernsFds, idmapMount, usernsFd } from "../../src/ops/idmap.ts";
import { attachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { unmountAll, unmountMounts, unmountRecursive } from "../../src/ops/unmount.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { canonicalizePath, lookup } from "../../src/ops/lookup.ts";
import { formatFlags, lockedMountFlags, MS } from "../../src/plan/flags.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { expectFreed } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/** containerd's checkLookup: the mount Lookup finds for path (the library's lookup resolves it, as Lookup does). */
function checkLookup(path: string) {
  const m = lookup(path);
  return { fstype: m.fstype, mountpoint: m.mountpoint };
}

describe("TestLookupWithExt4 / TestLookupWithXFS", () => {
  for (const fstype of ["ext4", "xfs"]) {
    test(`${fstype} on a loop device, a bind of it and a directory in the bind`, () => {
      ws.fresh(`lookup-${fstype}`);
      const img = ws.image("img", fstype === "xfs" ? 300 : 100); // xfs wants 300 MiB at least
      if (fstype === "xfs") {
        const made = Bun.spawnSync(["mkfs.xfs", "-q", "-f", img]);
        if (made.exitCode !== 0) throw new Error(`mkfs.xfs: ${made.stderr.toString()}`);
      }
      const mnt = dir("mnt");
      unmountAfter(mnt);
      mount({ type: fstype, source: img, options: ["loop"] }, mnt);
      expect(checkLookup(mnt)).toEqual({ fstype, mountpoint: mnt });

      const newMnt = dir("newMnt");
      unmountAfter(newMnt);
      mount({ type: "bind", source: mnt, options: ["bind"] }, newMnt);
      expect(checkLookup(newMnt)).toEqual({ fstype, mountpoint: newMnt });
      const subDir = join(newMnt, "subDir");
      mkdirSync(subDir, { mode: 0o700 });
      expect(checkLookup(subDir)).toEqual({ fstype, mountpoint: newMnt });
    });
  }
});

test("TestLookupWithOverlay: a directory and a file in an overlay", () => {
  ws.fresh("lookup-overlay");
  const [lower, upper, work, overlay] = ["lower", "upper", "work", "overlay"].map((d) => dir(d));
  unmountAfter(overlay!);
  mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower},upperdir=${upper},workdir=${work}`] }, overlay!);
  mkdirSync(join(overlay!, "testdir"));
  writeFileSync(join(overlay!, "testfile"), "");
  for (const path of ["testdir", "testfile"]) expect(checkLookup(join(overlay!, path))).toEqual({ fstype: "overlay", mountpoint: overlay! });
});

describe("Lookup and CanonicalizePath: the path resolved as given (relative, through symlinks) before the table is read", () => {
  test("a symlink into a mount and a relative path find the mount; the top of a stack", () => {
    const s = ws.fresh("lookup-resolve");
    const mnt = dir("mnt");
    unmountAfter(mnt);
    mount({ type: "tmpfs", source: "tmpfs", options: [] }, mnt);
    mkdirSync(join(mnt, "sub"));
    const link = s.path("link");
    symlinkSync(join(mnt, "sub"), link);
    expect(canonicalizePath(link)).toBe(join(mnt, "sub"));
    expect(checkLookup(link)).toEqual({ fstype: "tmpfs", mountpoint: mnt });
    // relative to the working directory, as filepath.Abs makes it
    const cwd = process.cwd();
    process.chdir(s.dir);
    try {
      expect(checkLookup("mnt/sub")).toEqual({ fstype: "tmpfs", mountpoint: mnt });
      expect(checkLookup("link/../sub")).toEqual({ fstype: "tmpfs", mountpoint: mnt });
    } finally {
      process.chdir(cwd);
    }
    // a second mount stacked on the first: the one on top holds the path
    mount({ type: "ramfs", source: "ramfs", options: [] }, mnt);
    expect(checkLookup(mnt)).toEqual({ fstype: "ramfs", mountpoint: mnt });
  });

  test("a path that does not exist: realpath(3)'s ENOENT naming it; an empty path is refused (not the working directory)", () => {
    const s = ws.fresh("lookup-missing");
    const missing = s.path("no-such-dir");
    for (const call of [() => lookup(missing), () => canonicalizePath(missing)]) {
      const err = caught(call) as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect([err.syscall, err.errnoName, err.paths]).toEqual(["realpath(3)", "ENOENT", [missing]]);
    }
    expect(caught(() => lookup(""))).toBeInstanceOf(PlanError);
    expect(caught(() => canonicalizePath(""))).toBeInstanceOf(PlanError);
  });
});

describe("UnmountRecursive and UnmountAll of nothing (containerd#8035, #9640)", () => {
  test("an empty path is a no-op, never / (containerd's UnmountRecursive took \"\" for the root); a missing path is nothing mounted", () => {
    const s = ws.fresh("nothing");
    const sys = injectFaults(libcSyscalls, {});
    expect(unmountRecursive("", { sys })).toBe(0);
    expect(unmountAll("", { sys })).toBe(0);
    expect(sys.log.filter((c) => c[0] === "umount2")).toEqual([]);
    expect(unmountRecursive(s.path("no-such-dir"))).toBe(0);
    expect(unmountAll(s.path("no-such-dir"))).toBe(0);
  });
});

describe("TestUnmountMounts / TestUnmountRecursive (containerd's setupMounts)", () => {
  /** Two read-only rbinds, the second on "foo" inside the first, mounted with All; foo/bar read through them. */
  function setupMounts() {
    const [dir1, dir2, target] = [dir("dir1"), dir("dir2"), dir("target")];
    mkdirSync(join(dir1, "foo"), { mode: 0o755 });
    writeFileSync(join(dir2, "bar"), "bar");
    const mounts = [
      { type: "bind", source: dir1, options: ["ro", "rbind"] },
      { type: "bind", source: dir2, target: "foo", options: ["ro", "rbind"] },
    ];
    mountAll(mounts, target);
    expect(readFileSync(join(target, "foo/bar"), "utf8")).toBe("bar");
    return { target, mounts };
  }

  test("UnmountMounts", () => {
    ws.fresh("unmount-mounts");
    const { target, mounts } = setupMounts();
    unmountAfter(target);
    expect(unmountMounts(mounts, target)).toBe(2);
    expect(mountsUnder(target)).toEqual([]);
  });

  test("UnmountRecursive", () => {
    ws.fresh("unmount-recursive");
    const { target } = setupMounts();
    unmountAfter(target);
    expect(unmountRecursive(target)).toBe(2);
    expect(mountsUnder(target)).toEqual([]);
  });
});

test("TestGetUnprivilegedMountFlags: a tmpfs's noexec, noatime and nodiratime are read back; nosuid, nodev, ro are not", () => {
  ws.fresh("unpriv-flags");
  const target = dir("mnt");
  unmountAfter(target);
  mount({ type: "tmpfs", source: "tmpfs", options: ["noexec", "noatime", "nodiratime"] }, target);
  const flags = lockedMountFlags(libcSyscalls.statfs(target).flags);
  for (const flag of [MS.NOEXEC, MS.NOATIME, MS.NODIRATIME]) expect(formatFlags(flags & flag)).toBe(formatFlags(flag));
  for (const flag of [MS.NOSUID, MS.NODEV, MS.RDONLY]) expect(flags & flag).toBe(0);
});

describe("TestNonExistingLoop / TestRoLoop / TestRwLoop", () => {
  /** containerd's createTempFile: 512 bytes */
  function backingFile(): string {
    const path = join(dir("losetup"), "losetup");
    writeFileSync(path, Buffer.alloc(512));
    return path;
  }
  const randomData = Buffer.from("randomdata");

  test("a backing file that does not exist: an error, nothing attached", () => {
    ws.fresh("loop-none");
    const err = caught(() => attachLoop("setup-loop-test-no-such-file", { autoclear: true }));
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/ENOENT/);
  });

  for (const readOnly of [true, false]) {
    test(`a ${readOnly ? "read-only device refuses" : "writable device takes"} a write through the fd it is returned with`, async () => {
      ws.fresh(`loop-${readOnly ? "ro" : "rw"}`);
      const file = backingFile();
      const loop = attachLoop(file, { readOnly, autoclear: true });
      try {
        const write = () => writeSync(loop.fd, randomData);
        if (readOnly) expect(write).toThrow();
        else expect(write()).toBe(randomData.length);
      } finally {
        loop.close();
      }
      await expectFreed(file);
    });
  }
});

test("testIDMapMount: containerd's three mappings, container ids shown as host ids", () => {
  ws.fresh("idmap-containerd");
  // src searchable by others: its owner (root) has no mapping in the idmap, so root gets no DAC
  // override through the mount (mkdir's 0777 less a umask of 077 left it 0700: EACCES)
  ws.umask(0o022);
  cleanups.push(() => void closeUsernsFds());
  const map = "1000:0:100,5000:2000:100,10000:3000:100";
  const src = dir("src");
  const containerIds = [1000, 5000, 10000];
  containerIds.forEach((id, i) => {
    const fd = openSync(join(src, String(i)), "w");
    closeSync(fd);
    chownSync(join(src, String(i)), id, id);
  });
  const dest = dir("dest");
  unmountAfter(dest);
  const fd = usernsFd(map, map);
  try {
    idmapMount(src, dest, fd);
  } finally {
    libcSyscalls.close(fd);
  }
  expect(containerIds.map((_, i) => [statSync(join(dest, String(i))).uid, statSync(join(dest, String(i))).gid])).toEqual([
    [0, 0],
    [2000, 2000],
    [3000, 3000],
  ]);
});

test("TestFUSEHelper: fuse-overlayfs through mount.fuse3, its options in one entry, removed by UnmountAll", () => {
  for (const name of ["mount.fuse3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
  const s = ws.fresh("fuse-helper");
  const [lower1, lower2, upper, work, merged] = ["lower1", "lower2", "upper", "work", "merged"].map((d) => dir(d));
  writeFileSync(join(lower1!, "from-lower1"), "1");
  unmountAfter(merged!);
  mount({ type: "fuse3.fuse-overlayfs", source: "overlay", options: [`lowerdir=${lower2}:${lower1},upperdir=${upper},workdir=${work}`] }, merged!);
  expect(mountsUnder(merged!).map((m) => m.fstype)).toEqual(["fuse.fuse-overlayfs"]);
  expect(readFileSync(join(merged!, "from-lower1"), "utf8")).toBe("1");
  expect(unmountAll(merged!)).toBe(1);
  expect(mountsUnder(merged!)).toEqual([]);
  waitForDaemonsGone(s.dir);
});
