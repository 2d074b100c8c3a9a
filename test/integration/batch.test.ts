// Batches against the real kernel (root, private mount namespace): mountAll/runBatch with
// rollback, keep-going, nested targets, RootPath, and refusals before any mount.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { BatchError, exitCodeFor, ExitCode, PlanError, SyscallError } from "../../src/errors.ts";
import { mountAll, runBatch, type BatchOutcome } from "../../src/ops/batch.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { MNT } from "../../src/plan/flags.ts";
import { parseFstab, selectFstab } from "../../src/plan/fstab.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { detachLoopDevicesOf, loopDevicesOf, makeExt4Image } from "../support/resources.ts";
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
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");
/** Release a batch after the test even when an assertion fails first. */
const releaseAfter = <T extends BatchOutcome>(b: T): T => {
  cleanups.push(() => b.release());
  return b;
};

/** 200 entries alternating tmpfs and bind mounts of one source directory. */
function twoHundred(src: string): Mount[] {
  return Array.from({ length: 200 }, (_, i) =>
    i % 2 === 0
      ? { type: "tmpfs", source: `mk-${i + 1}`, target: `/m${i + 1}`, options: ["nosuid", "size=64k"] }
      : { type: "bind", source: src, target: `/m${i + 1}`, options: ["rbind", "ro"] },
  );
}

describe("mountAll: 200 tmpfs and bind entries", () => {
  test("mounts every entry in order under the root, and release() leaves the table as it was", () => {
    s = scratch("b200");
    const root = dir("root");
    const src = dir("src");
    writeFileSync(`${src}/file`, "x");
    const before = mountinfoText();
    const batch = releaseAfter(mountAll(twoHundred(src), root, { mkdir: true }));
    expect(batch.results.map((r) => r.status)).toEqual(Array(200).fill("mounted"));
    expect(batch.targets[149]).toBe(`${root}/m150`);
    const under = mountsUnder(root);
    expect(under.map((m) => m.mountpoint)).toEqual(Array.from({ length: 200 }, (_, i) => `${root}/m${i + 1}`));
    expect(under[0]!.fstype).toBe("tmpfs");
    expect(under[1]!.options.split(",")).toContain("ro");
    expect(readFileSync(`${root}/m2/file`, "utf8")).toBe("x");
    batch.release();
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(root)).toEqual([]); // the targets it created are gone too
  });

  test("a failure injected at entry 150 of 200 leaves /proc/self/mountinfo exactly as before", () => {
    s = scratch("b150");
    const root = dir("root");
    const src = dir("src");
    const before = mountinfoText();
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EBUSY, path: `${root}/m150` } });
    const err = caught(() => mountAll(twoHundred(src), root, { mkdir: true, sys }));
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(root)).toEqual([]);
    expect(err).toBeInstanceOf(SyscallError);
    const e = err as SyscallError;
    expect(e.message).toBe(`mount all: entry 150: mount ${src} on ${root}/m150: mount(2): EBUSY (Device or resource busy)`);
    expect(e.cleanupErrors).toEqual([]);
    expect(exitCodeFor(e)).toBe(ExitCode.mountFailed);
    // 149 mounted before the failure, every one of them undone, newest first, a link at the
    // name in the root not followed (ops/pinned-target.ts)
    const unmounts = sys.log.filter((c) => c[0] === "umount2").map((c) => [c[1], c[2]]);
    expect(unmounts).toEqual(Array.from({ length: 149 }, (_, i) => [`${root}/m${149 - i}`, MNT.NOFOLLOW]));
  });

  test("fs.mount-max reached at entry 50 (ENOSPC, injected: the sysctl is the whole host's): rolled back, the hint names the limit, not disk space", () => {
    s = scratch("b-mount-max");
    const root = dir("root");
    const src = dir("src");
    const before = mountinfoText();
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.ENOSPC, path: `${root}/m50` } });
    const err = caught(() => mountAll(twoHundred(src), root, { mkdir: true, sys }));
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(root)).toEqual([]);
    expect(err).toBeInstanceOf(SyscallError);
    const limit = readFileSync("/proc/sys/fs/mount-max", "utf8").trim();
    expect((err as SyscallError).message).toBe(`mount all: entry 50: mount ${src} on ${root}/m50: mount(2): ENOSPC (No space left on device)`);
    // it had no hint: "No space left on device" alone, of a tmpfs or a bind
    expect((err as SyscallError).hint).toBe(`the mount namespace holds the most mounts fs.mount-max (${limit}) allows, those propagated into it counted: unmount some, or raise the sysctl`);
    expect(sys.log.filter((c) => c[0] === "umount2")).toHaveLength(49);
  });

  test("the kernel is asked about each distinct filesystem once, and mountinfo not at all", () => {
    s = scratch("bprobe");
    const root = dir("root");
    const sys = injectFaults(libcSyscalls, {});
    const batch = releaseAfter(mountAll(twoHundred(dir("src")), root, { mkdir: true, sys }));
    expect(sys.counts.fsopen).toBe(1); // 100 identical tmpfs entries, one check
    expect(sys.counts.mount).toBe(300); // 100 tmpfs, 100 binds + 100 read-only remounts
    batch.release();
  });
});

describe("nested targets and RootPath", () => {
  test("a target inside a tmpfs mounted by an earlier entry is created there", () => {
    s = scratch("nest");
    const root = dir("root");
    const batch = releaseAfter(
      mountAll(
        [
          { type: "tmpfs", source: "outer", target: "/dev", options: ["mode=755"] },
          { type: "tmpfs", source: "inner", target: "/dev/shm", options: [] },
          { type: "tmpfs", source: "deepest", target: "/dev/shm/a/b", options: [] },
        ],
        root,
        { mkdir: true },
      ),
    );
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([
      [`${root}/dev`, "outer"],
      [`${root}/dev/shm`, "inner"],
      [`${root}/dev/shm/a/b`, "deepest"],
    ]);
    expect(existsSync(`${root}/dev`)).toBe(true);
    batch.release();
    expect(mountsUnder(root)).toEqual([]);
    expect(readdirSync(root)).toEqual([]);
  });

  test("a symlink pointing outside the root mounts inside it", () => {
    s = scratch("escape");
    const root = dir("root");
    const outside = dir("outside");
    symlinkSync(outside, `${root}/abs`); // absolute: the host path of a directory outside root
    symlinkSync("../../../../../../..", `${root}/up`); // climbs far above root
    const batch = releaseAfter(
      mountAll(
        [
          { type: "tmpfs", source: "via-abs", target: "/abs", options: [] },
          { type: "tmpfs", source: "via-up", target: "/up/etc", options: [] },
        ],
        root,
        { mkdir: true },
      ),
    );
    expect(mountsUnder(outside)).toEqual([]);
    expect(mountsUnder(root).map((m) => [m.mountpoint, m.source])).toEqual([
      [`${root}${outside}`, "via-abs"],
      [`${root}/etc`, "via-up"],
    ]);
    batch.release();
    expect(readdirSync(root).sort()).toEqual(["abs", "up"]);
  });

  test("without mkdir a missing target fails the batch, which is rolled back", () => {
    s = scratch("nomkdir");
    const root = dir("root");
    dir("root", "a");
    const before = mountinfoText();
    expect(() =>
      mountAll(
        [
          { type: "tmpfs", source: "a", target: "/a", options: [] },
          { type: "tmpfs", source: "b", target: "/b", options: [] },
        ],
        root,
      ),
    ).toThrow(/mount all: entry 2: mount b on .*\/root\/b: openat2\(2\): ENOENT/);
    expect(mountinfoText()).toBe(before);
  });

  test("a bind of a file gets a file as its created target", () => {
    s = scratch("file");
    const root = dir("root");
    const file = s.path("resolv.conf");
    writeFileSync(file, "nameserver 192.0.2.1\n");
    const batch = releaseAfter(mountAll([{ type: "bind", source: file, target: "/etc/resolv.conf", options: ["bind", "ro"] }], root, { mkdir: true }));
    expect(statSync(`${root}/etc/resolv.conf`).isFile()).toBe(true);
    expect(readFileSync(`${root}/etc/resolv.conf`, "utf8")).toBe("nameserver 192.0.2.1\n");
    batch.release();
    expect(readdirSync(root)).toEqual([]);
  });
});

describe("keepGoing", () => {
  test("mounts what it can; the failed entry is undone alone; exit code 64", () => {
    s = scratch("keep");
    const root = dir("root");
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EPERM, path: `${root}/b` } });
    const mounts: Mount[] = ["a", "b", "c"].map((d) => ({ type: "tmpfs", source: d, target: `/${d}`, options: [] }));
    const outcome = releaseAfter(mountAll(mounts, root, { mkdir: true, keepGoing: true, sys }));
    expect(outcome.results.map((r) => r.status)).toEqual(["mounted", "failed", "mounted"]);
    expect(outcome.error).toBeInstanceOf(BatchError);
    expect((outcome.error as BatchError).succeeded).toBe(2);
    expect(exitCodeFor(outcome.error)).toBe(ExitCode.someFailed);
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["a", "c"]);
    expect(existsSync(`${root}/b`)).toBe(false); // its created target was removed
    outcome.release();
    expect(mountsUnder(root)).toEqual([]);
  });

  test("when every entry fails the exit code is 32", () => {
    s = scratch("keepall");
    const root = dir("root");
    const sys = injectFaults(libcSyscalls, { mount: { calls: "always", errno: Errno.EPERM } });
    const outcome = mountAll([{ type: "tmpfs", source: "a", target: "/a", options: [] }], root, { mkdir: true, keepGoing: true, sys });
    expect(exitCodeFor(outcome.error)).toBe(ExitCode.mountFailed);
  });
});

describe("bad input is refused before any mount", () => {
  const refused = (mounts: Mount[], root: string) => {
    const before = mountinfoText();
    let err: unknown;
    try {
      mountAll(mounts, root, { mkdir: true });
    } catch (e) {
      err = e;
    }
    expect(mountinfoText()).toBe(before);
    expect(err).toBeInstanceOf(PlanError);
    expect(exitCodeFor(err)).toBe(ExitCode.usage);
    return (err as Error).message;
  };

  test("an option the filesystem does not know, named by the kernel", () => {
    s = scratch("badopt");
    const root = dir("root");
    const message = refused(
      [
        { type: "tmpfs", source: "ok", target: "/a", options: ["size=1m"] },
        { type: "tmpfs", source: "typo", target: "/b", options: ["siz=1m"] },
      ],
      root,
    );
    expect(message).toBe(`mount all: entry 2: tmpfs on /b: option "siz=1m" refused by the kernel: tmpfs: Unknown parameter 'siz'`);
    expect(readdirSync(root)).toEqual([]);
  });

  test("a failing close(2) of the checking context never hides the refusal, nor fails a good batch", () => {
    s = scratch("badclose");
    const root = dir("root");
    mkdirSync(`${root}/a`);
    // the real close is made (no fd leaks), then reported as failed
    const failingClose = () => injectFaults(libcSyscalls, { close: { calls: [1], errno: Errno.EIO, when: "after" } });
    const bad = [{ type: "tmpfs", source: "typo", target: "/a", options: ["siz=1m"] }];
    let err: unknown;
    try {
      mountAll(bad, root, { sys: failingClose() });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toContain(`option "siz=1m" refused by the kernel`);
    expect((err as PlanError).cleanupErrors.map((e) => (e as SyscallError).errnoName)).toEqual(["EIO"]);

    const good = releaseAfter(mountAll([{ type: "tmpfs", source: "fine", target: "/a", options: ["size=1m"] }], root, { sys: failingClose() }));
    expect(good.results.map((r) => r.status)).toEqual(["mounted"]);
    expect(good.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/close\(2\): EIO/)]);
  });

  test("an unknown filesystem type, an option on a bind, and a missing type: all named at once", () => {
    s = scratch("badmany");
    const root = dir("root");
    const message = refused(
      [
        { type: "tmpfs", source: "ok", target: "/a", options: [] },
        { type: "bind", source: "/", target: "/b", options: ["rbind", "rbnid"] },
        { type: "", source: "x", target: "/c", options: ["nosuid"] },
      ],
      root,
    );
    expect(message).toMatch(/^mount all: 2 bad entries: entry 2: unknown option "rbnid": a bind mount takes only mount flags; entry 3: mount x on .*: special device x does not exist$/);
    expect(refused([{ type: "nosuchfs", source: "x", target: "/a", options: [] }], root)).toMatch(
      /entry 1: nosuchfs on \/a: filesystem type "nosuchfs" refused by the kernel: unknown filesystem type/,
    );
  });

  test("an image file's filesystem (a loop device's) has its options checked too: refused before any loop device is attached", () => {
    s = scratch("badloopopt");
    const root = dir("root");
    const image = makeExt4Image(s.path("fs.img"));
    cleanups.push(() => detachLoopDevicesOf(image));
    const message = refused(
      [
        { type: "tmpfs", source: "ok", target: "/a", options: ["size=1m"] },
        { type: "ext4", source: image, target: "/b", options: ["loop", "noatime", "direct-io", "badopt"] },
      ],
      root,
    );
    expect(message).toBe(`mount all: entry 2: ext4 on /b: option "badopt" refused by the kernel: ext4: Unknown parameter 'badopt'`);
    expect(loopDevicesOf(image)).toEqual({ sysfs: [], losetup: [] });
    expect(readdirSync(root)).toEqual([]);
    // its loop options (direct-io, offset=) are not the filesystem's: a good image entry mounts
    const good = releaseAfter(mountAll([{ type: "ext4", source: image, target: "/b", options: ["loop", "direct-io", "noatime"] }], root, { mkdir: true }));
    expect(good.results.map((r) => r.status)).toEqual(["mounted"]);
  });

  test("a type list is not judged by its first type: an option that type refuses may be a later one's, as mount -t tries them", () => {
    s = scratch("typelist-opt");
    const root = dir("root");
    // tmpfs refuses "mk-any" (EINVAL); ramfs, tried next, ignores what it does not know
    const batch = releaseAfter(mountAll([{ type: "tmpfs,ramfs", source: "mk-list", target: "/a", options: ["mk-any"] }], root, { mkdir: true }));
    expect(batch.results.map((r) => r.status)).toEqual(["mounted"]);
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["ramfs"]);
    // a type this kernel lacks, first in the list: the next one is tried, not the batch refused
    const other = releaseAfter(mountAll([{ type: "nosuchfs,tmpfs", source: "mk-list2", target: "/b", options: ["size=1m"] }], root, { mkdir: true }));
    expect(other.results.map((r) => r.status)).toEqual(["mounted"]);
  });

  test("a symlink cycle in the root, found before the entries ahead of it are mounted", () => {
    s = scratch("cycle");
    const root = dir("root");
    symlinkSync("b", `${root}/a`);
    symlinkSync("a", `${root}/b`);
    const message = refused(
      [
        { type: "tmpfs", source: "ok", target: "/ok", options: [] },
        { type: "tmpfs", source: "loop", target: "/a/x", options: [] },
      ],
      root,
    );
    expect(message).toMatch(/^mount all: entry 2: resolve "?\/a\/x"? in .*: more than 255 symlinks/);
  });

  test("a root that does not exist", () => {
    s = scratch("noroot");
    expect(() => mountAll([{ type: "tmpfs", source: "x", target: "/a", options: [] }], s.path("missing"))).toThrow(PlanError);
  });
});

describe("runBatch reports each entry", () => {
  test("onEntry sees every entry with its host target and time", () => {
    s = scratch("report");
    const root = dir("root");
    const seen: [number, string, number, number][] = [];
    const outcome = releaseAfter(
      runBatch(entriesFromMounts([{ type: "tmpfs", source: "a", target: "/x", options: [] }], { mode: 0o700 }), root, {
        onEntry: (r, done, total) => seen.push([r.index, r.target, done, total]),
      }),
    );
    expect(seen).toEqual([[1, `${root}/x`, 1, 1]]);
    expect(outcome.results[0]!.timeMs).toBeGreaterThan(0);
    expect(statSync(`${root}/x`).mode & 0o777).toBe(0o1777 & 0o777); // tmpfs root mode, mounted over the created dir
    outcome.release();
    expect(existsSync(`${root}/x`)).toBe(false);
    unmountAll(`${root}/x`);
  });
});

describe("setup shared by a batch", () => {
  test("mount -a's already-mounted check reads the mount table once for 30 lines; apply never reads it", () => {
    s = scratch("shared");
    const lines = Array.from({ length: 30 }, (_, i) => `tmpfs ${s.dir}/m${i} tmpfs size=64k,X-mount.mkdir 0 0`).join("\n");
    const entries = selectFstab(parseFstab(lines)).entries;
    const first = releaseAfter(runBatch(entries, "/", { keepGoing: true, skipMounted: true }));
    expect(first.mountTableReads).toBe(1);
    expect(first.results.every((r) => r.status === "mounted")).toBe(true);
    const again = runBatch(entries, "/", { keepGoing: true, skipMounted: true });
    expect(again.mountTableReads).toBe(1);
    expect(again.results.every((r) => r.status === "skipped")).toBe(true);
    const plain = releaseAfter(mountAll([{ type: "tmpfs", source: "x", target: "/x", options: [] }], dir("root"), { mkdir: true }));
    expect(plain.mountTableReads).toBe(0);
  });
});
