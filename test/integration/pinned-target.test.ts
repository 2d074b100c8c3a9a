// A batch's targets inside a root are mounted through an fd opened inside the root
// (ops/pinned-target.ts): a process that swaps a directory on a target's path for a symlink
// after the target was resolved cannot send the mount, or its read-only remount, out of the
// root. The swap is made at the syscall seam, right before the chosen call, by a wrapper that
// then makes the real call: everything else is the real kernel.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { MountFailedError, SyscallError } from "../../src/errors.ts";
import { mountAll, type BatchOutcome } from "../../src/ops/batch.ts";
import { mountMakingTarget } from "../../src/ops/mount.ts";
import { placeInPrefix } from "../../src/ops/resolve.ts";
import { unmount } from "../../src/ops/unmount.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  s.dispose();
});
const dir = (...parts: string[]) => {
  const p = s.path(...parts);
  mkdirSync(p, { recursive: true });
  return p;
};
const releaseAfter = <T extends BatchOutcome>(b: T): T => {
  cleanups.push(() => b.release());
  return b;
};
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
    s = scratch("pin-mount");
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
    s = scratch("pin-ro");
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

  test("a swap before the new mount is looked up for its remount: the entry fails inside the root and is rolled back, no fd left", () => {
    s = scratch("pin-lookup");
    const { root, outside, swapToSymlink, unswap } = layout();
    const src = dir("src");
    libcSyscalls.mount("host-tmpfs", `${outside}/t`, "tmpfs", 0, "size=64k");
    cleanups.push(() => libcSyscalls.umount2(`${outside}/t`, 0));
    const before = fdCount();
    // the 1st openat2 pins the target; the 2nd looks the new mount up inside the root, where
    // the symlink to the host directory leads nowhere
    const sys = swapBefore("openat2", 2, swapToSymlink);
    let err: unknown;
    try {
      mountAll([{ type: "bind", source: src, target: "/a/t", options: ["bind", "ro"] }], root, { sys });
    } catch (e) {
      err = e;
    }
    unswap();
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toStartWith(`mount all: entry 1: mount ${src} on ${root}/a/t: openat2(2): ENOENT`);
    expect((err as SyscallError).paths).toEqual([`${root}/a/t`]);
    expect(mountsUnder(root)).toEqual([]); // the bind was undone through the pinned fd
    expect(mountsUnder(outside).map((m) => [m.source, m.options.split(",")[0]])).toEqual([["host-tmpfs", "rw"]]);
    expect(fdCount()).toBe(before);
  });

  test("a remount finding another directory at the target's place (renamed, no symlink) refuses it: not the mount just made", () => {
    s = scratch("pin-rename");
    const { root } = layout();
    const src = dir("src");
    const sys = swapBefore("openat2", 2, () => {
      renameSync(`${root}/a`, `${root}/a-moved`);
      mkdirSync(`${root}/a/t`, { recursive: true });
    });
    let err: unknown;
    try {
      mountAll([{ type: "bind", source: src, target: "/a/t", options: ["bind", "ro"] }], root, { sys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MountFailedError);
    expect((err as Error).message).toContain(`${root}/a/t changed while it was being mounted: the mount there is not the one just made`);
    expect(mountsUnder(root)).toEqual([]); // the bind under a-moved/t undone
  });
});

describe("pinned targets in the normal case", () => {
  test("binds of a directory and of a file, read-only, a tmpfs with X-mount.owner, and the root itself: made, released, no fd left", () => {
    s = scratch("pin-kinds");
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

describe("mount points created inside the root", () => {
  test("a symlink swapped onto the path between two mkdirs does not lead the second out of the root", () => {
    s = scratch("pin-mkdir");
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
    expect(mountsUnder(root)).toEqual([]);
    expect(mountsUnder(outside)).toEqual([]);
  });
});

describe("one mount with --target-prefix (OpsOptions.targetRoot)", () => {
  test("is pinned as a batch entry is: the swap before mount(2) leaves it inside the prefix", () => {
    s = scratch("pin-prefix");
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
