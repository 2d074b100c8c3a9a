// A batch's targets inside a root are mounted through an fd opened inside the root
// (ops/pinned-target.ts): a process that swaps a directory on a target's path for a symlink
// after the target was resolved cannot send the mount, or its read-only remount, out of the
// root. The swap is made at the syscall seam, right before the chosen call, by a wrapper that
// then makes the real call: everything else is the real kernel.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { MountFailedError, SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { mountMakingTarget } from "../../src/ops/mount.ts";
import { placeInPrefix } from "../../src/ops/resolve.ts";
import { unmount, unmountMounts } from "../../src/ops/unmount.ts";
import { withMountsFromText } from "../../src/ops/with-mounts.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { MNT } from "../../src/plan/flags.ts";
import { AT } from "../../src/plan/mount-api-flags.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { fdsInto } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, releaseAfter } = ws;
let s: Scratch;
const fdCount = () => readdirSync("/proc/self/fd").length;

/** The real seam, with `swap` run once right before the nth call of a syscall (mount or openat2). */
function swapBefore(call: "mount" | "openat2", n: number, swap: () => void): Syscalls & { mounts: string[] } {
  const mounts: string[] = [];
  let calls = 0;
  const counted = () => {
    if (++calls === n) swap();
  };
  return {
    ...libcSyscalls,
    mounts,
    mount(source, target, fstype, flags, data) {
      mounts.push(target);
      if (call === "mount") counted();
      return libcSyscalls.mount(source, target, fstype, flags, data);
    },
    openat2(dfd, path, flags, resolve) {
      if (call === "openat2") counted();
      return libcSyscalls.openat2(dfd, path, flags, resolve);
    },
  };
}

/**
 * Run script in dir from a process in a mount namespace of its own where nothing is mounted
 * under dir: in ours the new mount makes dir's entry a mount point, which cannot be renamed,
 * but a process elsewhere (another container sharing the directory) can rename it.
 */
function fromOtherNamespace(dir: string, script: string): void {
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-euc", `umount -R ${dir}/t; cd ${dir}; ${script}`]);
  if (r.exitCode !== 0) throw new Error(`swap failed: ${r.stderr.toString()}`);
}

/** A root holding a/t, and a host directory outside it whose t is what a redirect would hit. */
function layout() {
  const root = dir("root");
  dir("root/a/t");
  const outside = dir("outside");
  dir("outside/t");
  /** what an attacker in the root does: a/ moved aside, and a symlink to the host dir in its place */
  const swapToSymlink = () => {
    renameSync(`${root}/a`, `${root}/a-moved`);
    symlinkSync(outside, `${root}/a`);
  };
  const unswap = () => {
    rmSync(`${root}/a`);
    renameSync(`${root}/a-moved`, `${root}/a`);
  };
  return { root, outside, swapToSymlink, unswap };
}

describe("a target swapped for a symlink after it was resolved", () => {
  test("the mount lands on the directory that was resolved, inside the root, not on the symlink's target", () => {
    s = ws.fresh("pin-mount");
    const { root, outside, swapToSymlink, unswap } = layout();
    const sys = swapBefore("mount", 1, swapToSymlink);
    const batch = releaseAfter(mountAll([{ type: "tmpfs", source: "pinned", target: "/a/t", options: ["size=64k"] }], root, { sys }));
    expect(sys.mounts[0]).toMatch(/^\/proc\/self\/fd\/\d+$/); // by fd, not by path
    expect(mountsUnder(outside)).toEqual([]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([[`${root}/a-moved/t`, "pinned"]]);
    unswap(); // the target is found again for release()
    batch.release();
    expect(mountsUnder(root)).toEqual([]);
  });

  test("a read-only bind's remount goes through the new mount's fd: the swap right before it changes nothing", () => {
    s = ws.fresh("pin-ro");
    const { root, outside, swapToSymlink, unswap } = layout();
    const src = dir("src");
    // a mount outside the root where the symlink leads: a remount by path (containerd's)
    // would make this one read-only and leave the bind writable
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => libcSyscalls.umount2(`${outside}/t`, 0));
    const sys = swapBefore("mount", 2, swapToSymlink); // after the bind, right before its remount
    const batch = releaseAfter(mountAll([{ type: "bind", source: src, target: "/a/t", options: ["bind", "ro"] }], root, { sys }));
    expect(sys.mounts).toEqual([expect.stringMatching(/^\/proc\/self\/fd\/\d+$/), expect.stringMatching(/^\/proc\/self\/fd\/\d+$/)]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([[`${root}/a-moved/t`, "ro"]]);
    expect(mountsUnder(outside).map((m) => [m.source, m.options.split(",")[0]])).toEqual([["host-tmpfs", "rw"]]);
    unswap();
    batch.release();
    expect(mountsUnder(root)).toEqual([]);
  });

  test("the target's name swapped for a symlink before the new mount is looked up for its remount: refused, rolled back, no fd left", () => {
    s = ws.fresh("pin-lookup");
    const { root, outside } = layout();
    const src = dir("src");
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => libcSyscalls.umount2(`${outside}/t`, 0));
    // openat2 #1 opens the target's parent inside the root, #2 the target in it, #3 looks
    // the new mount up by name in that parent: right before it, the name becomes a symlink to
    // the host's mount, which that lookup does not follow
    const sys = swapBefore("openat2", 3, () => fromOtherNamespace(`${root}/a`, `mv t t-moved && ln -s ${outside}/t t`));
    let err: unknown;
    try {
      mountAll([{ type: "bind", source: src, target: "/a/t", options: ["bind", "ro"] }], root, { sys });
    } catch (e) {
      err = e;
    }
    rmSync(`${root}/a/t`);
    renameSync(`${root}/a/t-moved`, `${root}/a/t`);
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toStartWith(`mount all: entry 1: mount ${src} on ${root}/a/t: openat2(2): ELOOP`);
    expect((err as SyscallError).paths).toEqual([`${root}/a/t`]);
    expect(mountsUnder(root)).toEqual([]); // the bind was undone through the pinned fd
    expect(mountsUnder(outside).map((m) => [m.source, m.options.split(",")[0]])).toEqual([["host-tmpfs", "rw"]]);
    expect(fdsInto(s.dir)).toEqual([]); // (spawning the other namespace's process leaves Bun fds of its own)
  });

  test("a remount finding another directory at the target's place (renamed, no symlink) refuses it: not the mount just made", () => {
    s = ws.fresh("pin-rename");
    const { root } = layout();
    const src = dir("src");
    const sys = swapBefore("openat2", 3, () => fromOtherNamespace(`${root}/a`, "mv t t-moved && mkdir t"));
    let err: unknown;
    try {
      mountAll([{ type: "bind", source: src, target: "/a/t", options: ["bind", "ro"] }], root, { sys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MountFailedError);
    expect((err as Error).message).toContain(`${root}/a/t changed while it was being mounted: the mount there is not the one just made`);
    expect(mountsUnder(root)).toEqual([]); // the bind on a/t-moved undone
  });
});

describe("pinned targets in the normal case", () => {
  test("binds of a directory and of a file, read-only, a tmpfs with X-mount.owner, and the root itself: made, released, no fd left", () => {
    s = ws.fresh("pin-kinds");
    const root = dir("root");
    const src = dir("src");
    writeFileSync(s.path("file"), "host file\n");
    const mounts: Mount[] = [
      { type: "tmpfs", source: "top", target: "/", options: ["size=64k", "mode=755"] },
      { type: "bind", source: src, target: "/data", options: ["rbind", "ro"] },
      { type: "bind", source: s.path("file"), target: "/etc/hosts", options: ["bind", "ro"] },
      { type: "tmpfs", source: "owned", target: "/home", options: ["size=64k", "X-mount.owner=65534", "X-mount.mode=0700"] },
    ];
    const before = fdCount();
    const batch = releaseAfter(mountAll(mounts, root, { mkdir: true }));
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([
      [root, "rw"],
      [`${root}/data`, "ro"],
      [`${root}/etc/hosts`, "ro"],
      [`${root}/home`, "rw"],
    ]);
    expect(readFileSync(`${root}/etc/hosts`, "utf8")).toBe("host file\n");
    const home = statSync(`${root}/home`);
    expect([home.uid, home.mode & 0o7777]).toEqual([65534, 0o700]);
    expect(fdCount()).toBe(before);
    batch.release();
    expect(mountsUnder(root)).toEqual([]);
    expect(fdCount()).toBe(before);
  });
});

test("X-mount.owner and X-mount.mode on a file's mount point go through the new mount's fd, to the file mounted there", () => {
  s = ws.fresh("pin-file-owner");
  const root = dir("root");
  writeFileSync(s.path("source"), "bound\n");
  mkdirSync(`${root}/etc`);
  writeFileSync(`${root}/etc/conf`, "mount point\n");
  const calls: string[] = [];
  const recording: Syscalls = {
    ...libcSyscalls,
    statxOwnership(path, followLinks) {
      calls.push(`statx ${path}${followLinks ? " (follow)" : ""}`);
      return libcSyscalls.statxOwnership(path, followLinks);
    },
    lchown(path, uid, gid) {
      calls.push(`lchown ${path}`);
      return libcSyscalls.lchown(path, uid, gid);
    },
    chown(path, uid, gid) {
      calls.push(`chown ${path}`);
      return libcSyscalls.chown(path, uid, gid);
    },
    chmod(path, mode) {
      calls.push(`chmod ${path}`);
      return libcSyscalls.chmod(path, mode);
    },
  };
  const batch = releaseAfter(
    mountAll([{ type: "bind", source: s.path("source"), target: "/etc/conf", options: ["bind", "X-mount.owner=65534", "X-mount.group=65533", "X-mount.mode=0604"] }], root, { sys: recording }),
  );
  expect(calls.length).toBe(3);
  expect(calls[0]).toMatch(/^statx \/proc\/self\/fd\/\d+ \(follow\)$/);
  expect(calls[1]).toMatch(/^chown \/proc\/self\/fd\/\d+$/);
  expect(calls[2]).toMatch(/^chmod \/proc\/self\/fd\/\d+$/);
  // the bound file (the source's inode) changed, not the mount point under it
  const bound = statSync(s.path("source"));
  expect([bound.uid, bound.gid, bound.mode & 0o7777]).toEqual([65534, 65533, 0o604]);
  expect(readFileSync(`${root}/etc/conf`, "utf8")).toBe("bound\n");
  batch.release();
  const under = statSync(`${root}/etc/conf`);
  expect([under.uid, under.gid]).toEqual([0, 0]);
  expect(readFileSync(`${root}/etc/conf`, "utf8")).toBe("mount point\n");
});

test("a failure after an entry on the root itself rolls everything back with plain unmounts: the batch's fd of the root holds nothing busy", () => {
  s = ws.fresh("pin-rootfail");
  const root = dir("root");
  // the third entry's mount fails (a fault on its pinned target's path)
  const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EIO, path: `${root}/bad` } });
  const mounts: Mount[] = [
    { type: "tmpfs", source: "top", target: "/", options: ["size=64k"] },
    { type: "tmpfs", source: "inner", target: "/inner", options: ["size=64k"] },
    { type: "tmpfs", source: "bad", target: "/bad", options: ["size=64k"] },
  ];
  expect(() => mountAll(mounts, root, { sys, mkdir: true })).toThrow(/entry 3: mount bad on .*: mount\(2\): EIO/);
  expect(mountsUnder(root)).toEqual([]);
  const unmounts = sys.log.filter((c) => c[0] === "umount2");
  expect(unmounts.map((c) => (c[2] as number) & MNT.DETACH)).toEqual([0, 0]); // none busy, so none detached
});

describe("overlays inside a root, each strategy", () => {
  for (const strategy of ["fd", "legacy"] as const) {
    test(`${strategy}: 100 layers with long paths, mounted through the pinned target (${strategy === "fd" ? "move_mount to its fd" : "the dir thread's mount(2) on /proc/self/fd/N"})`, () => {
      s = ws.fresh(`pin-ovl-${strategy}`);
      const root = dir("root");
      const long = "layer-with-a-long-name"; // 100 absolute paths: well over a page; relative: under
      const layers = Array.from({ length: 100 }, (_, i) => dir("layers", `${long}-${i}`));
      writeFileSync(`${layers[42]}/from-42`, "42\n");
      const options = [`lowerdir=${layers.join(":")}`, `upperdir=${dir("upper")}`, `workdir=${dir("work")}`];
      const sys = injectFaults(libcSyscalls, {});
      const batch = releaseAfter(mountAll([{ type: "overlay", source: "overlay", target: "/merged", options }], root, { sys, mkdir: true, facts: probeKernelFacts(strategy) }));
      expect(readFileSync(`${root}/merged/from-42`, "utf8")).toBe("42\n");
      expect(mountsUnder(root).map((m) => [m.mountpoint, m.fstype])).toEqual([[`${root}/merged`, "overlay"]]);
      if (strategy === "fd") {
        const moves = sys.log.filter((c) => c[0] === "moveMount");
        expect(moves).toHaveLength(1);
        expect(moves[0]![3]).not.toBe(AT.FDCWD); // to the target's fd
        expect(moves[0]![4]).toBe("");
      } else {
        const made = sys.log.filter((c) => c[0] === "mountInDir");
        expect(made.map((c) => c[3])).toEqual([expect.stringMatching(/^\/proc\/self\/fd\/\d+$/)]);
      }
      expect(fdsInto(s.dir)).toEqual([]); // the legacy way starts the dir thread, whose fds stay
      batch.release();
      expect(mountsUnder(root)).toEqual([]);
    });
  }
});

describe("mount points created inside the root", () => {
  test("a symlink swapped onto the path between two mkdirs does not lead the second out of the root", () => {
    s = ws.fresh("pin-mkdir");
    const { root, outside, swapToSymlink } = layout();
    dir("outside/b");
    let swapped = false;
    // the log line comes right after each mkdir: the swap lands between a/b and a/b/c
    const log = (line: string) => {
      if (!swapped && line.startsWith("mkdir ")) {
        swapped = true;
        swapToSymlink();
      }
    };
    let err: unknown;
    try {
      mountAll([{ type: "tmpfs", source: "t", target: "/a/b/c", options: [] }], root, { mkdir: true, log });
    } catch (e) {
      err = e;
    }
    expect(swapped).toBe(true);
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toStartWith(`mount all: entry 1: create mount point ${root}/a/b/c: openat2(2): ENOENT`);
    expect(readdirSync(`${outside}/b`)).toEqual([]); // before, mkdir made outside/b/c
    // and its rollback does not follow the symlink either: a/b, made before the swap, is left
    // where it went, and the rmdir's refusal is reported with the error
    const cleanup = (err as SyscallError).cleanupErrors as SyscallError[];
    expect(cleanup.map((e) => [e.errnoName, e.paths])).toEqual([["ELOOP", [`${root}/a/b`]]]);
    expect(readdirSync(`${root}/a-moved`)).toEqual(["b", "t"]);
    expect(mountsUnder(root)).toEqual([]);
    expect(mountsUnder(outside)).toEqual([]);
  });
});

describe("unmountMounts (containerd's UnmountMounts) under a root", () => {
  /** The real seam, with swap run once right before the first umount2. */
  const swapBeforeUmount = (swap: () => void): Syscalls => {
    let swapped = false;
    return {
      ...libcSyscalls,
      umount2(path, flags) {
        if (!swapped) {
          swapped = true;
          swap();
        }
        return libcSyscalls.umount2(path, flags);
      },
    };
  };

  test("a directory on a target's path swapped for a symlink after the targets were resolved: the mount outside stays, the one inside goes", () => {
    s = ws.fresh("pin-unmount");
    const { root, outside, swapToSymlink } = layout();
    libcSyscalls.mount("inside", `${root}/a/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => void unmount(`${root}/a-moved/t`));
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => void unmount(`${outside}/t`));
    const removed = unmountMounts([{ type: "tmpfs", source: "inside", target: "/a/t", options: [] }], root, { sys: swapBeforeUmount(swapToSymlink) });
    // before, umount2 by path followed the link: the host's mount went, the root's stayed
    expect(mountsUnder(outside).map((m) => m.source)).toEqual(["host-tmpfs"]);
    expect(mountsUnder(root)).toEqual([]);
    expect(removed).toBe(1);
  });

  test("the swap before the target's parent is opened: it is looked up inside the root, where the link leads nowhere", () => {
    s = ws.fresh("pin-unmount-early");
    const { root, outside, swapToSymlink } = layout();
    libcSyscalls.mount("inside", `${root}/a/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => void unmount(`${root}/a-moved/t`));
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => void unmount(`${outside}/t`));
    const sys = swapBefore("openat2", 1, swapToSymlink);
    expect(unmountMounts([{ type: "tmpfs", source: "inside", target: "/a/t", options: [] }], root, { sys })).toBe(0);
    expect(mountsUnder(outside).map((m) => m.source)).toEqual(["host-tmpfs"]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([[`${root}/a-moved/t`, "inside"]]);
  });
});

describe("one mount with --target-prefix (OpsOptions.targetRoot)", () => {
  test("is pinned as a batch entry is: the swap before mount(2) leaves it inside the prefix", () => {
    s = ws.fresh("pin-prefix");
    const { root, outside, swapToSymlink, unswap } = layout();
    const placed = placeInPrefix(root, "/a/t");
    expect(placed).toEqual({ root, target: `${root}/a/t` });
    const sys = swapBefore("mount", 1, swapToSymlink);
    mountMakingTarget({ type: "tmpfs", source: "prefixed", options: ["size=64k"] }, placed.target, { sys, targetRoot: placed.root });
    expect(sys.mounts[0]).toMatch(/^\/proc\/self\/fd\/\d+$/);
    expect(mountsUnder(outside)).toEqual([]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([[`${root}/a-moved/t`, "prefixed"]]);
    unswap();
    unmount(placed.target);
    expect(mountsUnder(root)).toEqual([]);
  });
});

describe("with-mounts on a root: what the command stacked on a target comes off inside the root", () => {
  test("a directory on the target's path swapped for a symlink before that unmount: the host's mount stays, the stacked one goes", async () => {
    s = ws.fresh("pin-with-mounts");
    const { root, outside, swapToSymlink } = layout();
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => void unmount(`${outside}/t`));
    // ours stays where the rename put it: its release looks the target up inside the root, where the link leads nowhere
    cleanups.push(() => void unmount(`${root}/a-moved/t`));
    let swapped = false;
    const sys: Syscalls = {
      ...libcSyscalls,
      umount2(path, flags) {
        if (!swapped) swapToSymlink();
        swapped = true;
        return libcSyscalls.umount2(path, flags);
      },
    };
    const list = JSON.stringify([{ type: "tmpfs", source: "ours", target: "/a/t", options: ["size=64k"] }]);
    await withMountsFromText(list, { root, sys }, (r) => libcSyscalls.mount("stacked", `${r}/a/t`, "tmpfs", 0, "size=64k"));
    expect(swapped).toBe(true);
    // before, the stacked mount's unmount was by path: it followed the link and took the host's
    expect(mountsUnder(outside).map((m) => m.source)).toEqual(["host-tmpfs"]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([[`${root}/a-moved/t`, "ours"]]);
  });
});
