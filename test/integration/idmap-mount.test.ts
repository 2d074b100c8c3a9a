// Idmapped mounts on the real kernel: owners seen through the mount, read-only and writable,
// binds through mount(), other filesystems, rollback. Root, private mount namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, MountFailedError, PlanError, SyscallError } from "../../src/errors.ts";
import { closeUsernsFds, idmapMount, usernsFd } from "../../src/ops/idmap.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll, unmountRecursive } from "../../src/ops/unmount.ts";
import { MOUNT_ATTR } from "../../src/plan/mount-api-flags.ts";
import { MS } from "../../src/plan/flags.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { detachLoopDevicesOf, expectFreed, fdChanges, loopDevicesOf, openFds } from "../support/resources.ts";
import { workspace, type Scratch } from "../support/workspace.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { cacheUserns, errnoOf } from "../support/idmap-overlay.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";

beforeAll(requireRootNamespace);
afterAll(() => closeUsernsFds());

// container 0..65535 -> host 100000..165535, and container 65536 -> host 0 so that root
// (host 0) can create files through the mount: they land on disk as 65536.
const MAP = "0:100000:65536,65536:0:1";
const IDMAP_OPTIONS = [`uidmap=${MAP}`, `gidmap=${MAP}`];

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));

/** A source tree whose files are owned by container ids (as an image layer stores them). */
function containerTree(): string {
  const src = dir("src");
  for (const [name, uid, gid] of [["root-file", 0, 0], ["user-file", 1000, 2000], ["last-file", 65535, 65535]] as const) {
    writeFileSync(`${src}/${name}`, name);
    chownSync(`${src}/${name}`, uid, gid);
  }
  const writable = dir("src", "write-test");
  chownSync(writable, 0, 0);
  return src;
}

function expectMappedOwners(root: string) {
  expect(statSync(`${root}/root-file`)).toMatchObject({ uid: 100000, gid: 100000 });
  expect(statSync(`${root}/user-file`)).toMatchObject({ uid: 101000, gid: 102000 });
  expect(statSync(`${root}/last-file`)).toMatchObject({ uid: 165535, gid: 165535 });
  expect(readFileSync(`${root}/user-file`, "utf8")).toBe("user-file");
}

/** A user namespace fd for MAP, closed after the test. */
function ownUsernsFd(): number {
  const fd = usernsFd(MAP, MAP);
  cleanups.push(() => libcSyscalls.close(fd));
  return fd;
}

const topAt = (path: string) => mountsUnder(path).filter((m) => m.mountpoint === path);

describe("idmapMount()", () => {
  test("files owned by container ids show the mapped host ids; a writable mount writes", () => {
    fresh("idmap-rw");
    const src = containerTree();
    const dst = dir("dst");
    unmountAfter(dst);
    idmapMount(src, dst, ownUsernsFd());
    expectMappedOwners(dst);
    // the source itself is unchanged
    expect(statSync(`${src}/user-file`)).toMatchObject({ uid: 1000, gid: 2000 });
    writeFileSync(`${dst}/write-test/new`, "x");
    expect(statSync(`${dst}/write-test/new`)).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(`${src}/write-test/new`)).toMatchObject({ uid: 65536, gid: 65536 }); // on disk: the container id
    const [m] = topAt(dst);
    expect(m!.options.split(",")).toEqual(expect.arrayContaining(["rw", "idmapped"]));
  });

  test("read-only: writes fail with EROFS, owners are still mapped", () => {
    fresh("idmap-ro");
    const src = containerTree();
    const dst = dir("dst");
    unmountAfter(dst);
    idmapMount(src, dst, ownUsernsFd(), { attrSet: MOUNT_ATTR.RDONLY });
    expectMappedOwners(dst);
    expect(errnoOf(() => writeFileSync(`${dst}/write-test/new`, "x"))).toBe("EROFS");
    expect(topAt(dst)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
  });

  test("recursive: a submount is idmapped too", () => {
    fresh("idmap-rec");
    const src = containerTree();
    const sub = dir("src", "sub");
    unmountAfter(sub);
    mount({ type: "tmpfs", source: "idmap-sub", options: [] }, sub);
    writeFileSync(`${sub}/inner`, "i");
    chownSync(`${sub}/inner`, 1000, 1000);
    const dst = dir("dst");
    cleanups.push(() => unmountRecursive(dst));
    idmapMount(src, dst, ownUsernsFd(), { recursive: true });
    expect(statSync(`${dst}/sub/inner`)).toMatchObject({ uid: 101000, gid: 101000 });
    expect(topAt(`${dst}/sub`)[0]!.options).toContain("idmapped");
  });

  test("propagation: the source's peer group by default; MS_PRIVATE with recursive is containerd's IDMapMount", () => {
    fresh("idmap-propagation");
    const src = dir("src");
    mount({ type: "tmpfs", source: "tmpfs", options: ["shared"] }, src);
    unmountAfter(src);
    const sub = dir("src", "sub");
    mount({ type: "tmpfs", source: "tmpfs", options: [] }, sub);
    cleanups.push(() => unmountAll(sub));
    const [inherited, containerd] = [dir("inherited"), dir("containerd")];
    cleanups.push(() => unmountRecursive(inherited), () => unmountRecursive(containerd));
    idmapMount(src, inherited, ownUsernsFd());
    idmapMount(src, containerd, ownUsernsFd(), { recursive: true, propagation: MS.PRIVATE });
    expect(topAt(inherited)[0]!.shared).toBe(topAt(src)[0]!.shared!);
    const clone = mountsUnder(containerd);
    expect(clone.map((m) => [m.mountpoint, m.shared, m.options.includes("idmapped")])).toEqual([
      [containerd, undefined, true],
      [`${containerd}/sub`, undefined, true],
    ]);
  });

  test("mount_setattr failing (a bad namespace fd) leaves nothing", () => {
    fresh("idmap-badfd");
    const src = containerTree();
    const dst = dir("dst");
    const fds = openFds();
    let caught: unknown;
    try {
      idmapMount(src, dst, 0 /* stdin: not a user namespace */);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyscallError);
    expect((caught as SyscallError).syscall).toBe("mount_setattr(2)");
    expect((caught as SyscallError).hint).toBe("the user namespace fd 0 is no user namespace"); // not the filesystem's fault
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
  });
});

describe("mount() with uidmap=/gidmap=", () => {
  test("a read-only bind is idmapped (containerd skipped it): one mount, ro, idmapped", () => {
    fresh("bind-ro");
    const src = containerTree();
    const dst = dir("dst");
    unmountAfter(dst);
    mount({ type: "bind", source: src, options: ["rbind", "ro", ...IDMAP_OPTIONS] }, dst);
    expectMappedOwners(dst);
    expect(errnoOf(() => writeFileSync(`${dst}/write-test/new`, "x"))).toBe("EROFS");
    const at = topAt(dst);
    expect(at).toHaveLength(1);
    expect(at[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
  });

  test("a writable bind with nosuid,nodev and a propagation change", () => {
    fresh("bind-rw");
    const src = containerTree();
    const dst = dir("dst");
    unmountAfter(dst);
    mount({ type: "", source: src, options: ["bind", "nosuid", "nodev", "rprivate", ...IDMAP_OPTIONS] }, dst);
    expectMappedOwners(dst);
    writeFileSync(`${dst}/write-test/new`, "x");
    expect(statSync(`${src}/write-test/new`).uid).toBe(65536);
    const [m] = topAt(dst);
    expect(m!.options.split(",")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "idmapped"]));
    expect(m!.optional).toEqual([]); // private
  });

  test("rbind: every submount idmapped, the options only the top mount's (rw and exec leave a ro,noexec submount as it is)", () => {
    fresh("rbind-attrs");
    const src = containerTree();
    const sub = dir("src", "sub");
    unmountAfter(sub);
    mount({ type: "tmpfs", source: "idmap-ro-sub", options: ["ro", "noexec", "nosuid"] }, sub);
    const dst = dir("dst");
    cleanups.push(() => unmountRecursive(dst));
    mount({ type: "", source: src, options: ["rbind", "rw", "exec", "nodev", ...IDMAP_OPTIONS] }, dst);
    const top = topAt(dst)[0]!.options.split(",");
    expect(top).toEqual(expect.arrayContaining(["rw", "nodev", "idmapped"]));
    const below = topAt(`${dst}/sub`)[0]!.options.split(",");
    expect(below).toEqual(expect.arrayContaining(["ro", "noexec", "nosuid", "idmapped"]));
    expect(below).not.toContain("nodev");
    expect(errnoOf(() => writeFileSync(`${dst}/sub/new`, "x"))).toBe("EROFS");
    expect(statSync(`${dst}/sub`)).toMatchObject({ uid: 100000, gid: 100000 });
  });

  test("rbind,ro: read-only at the top only, as without a mapping; rro for the whole tree", () => {
    fresh("rbind-ro");
    const src = containerTree();
    const sub = dir("src", "sub");
    unmountAfter(sub);
    mount({ type: "tmpfs", source: "idmap-rw-sub", options: [] }, sub);
    const dst = dir("dst");
    cleanups.push(() => unmountRecursive(dst));
    mount({ type: "", source: src, options: ["rbind", "ro", ...IDMAP_OPTIONS] }, dst);
    expect(topAt(dst)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
    expect(topAt(`${dst}/sub`)[0]!.options.split(",")).toEqual(expect.arrayContaining(["rw", "idmapped"]));
    unmountRecursive(dst);
    mount({ type: "", source: src, options: ["rbind", "rro", ...IDMAP_OPTIONS] }, dst);
    expect(topAt(`${dst}/sub`)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
  });

  test("tmpfs: one mount, idmapped before it was attached; one unmount removes it", () => {
    fresh("tmpfs");
    const dst = dir("dst");
    unmountAfter(dst);
    usernsFd(MAP, MAP); // the namespace from the cache, whatever ran before: the log holds the mount's calls only
    const sys = injectFaults(libcSyscalls, {});
    mount({ type: "tmpfs", source: "idmapped-tmpfs", options: ["size=1m", "nodev", ...IDMAP_OPTIONS] }, dst, { sys });
    expect(sys.log.map((call) => call[0])).toEqual(["fsopen", "fsconfig", "fsconfig", "fsconfig", "fsmount", "mountSetattr", "moveMount", "close", "close"]);
    const at = topAt(dst);
    expect(at).toHaveLength(1);
    expect(at[0]!.options.split(",")).toEqual(expect.arrayContaining(["rw", "nodev", "idmapped"]));
    expect(at[0]).toMatchObject({ fstype: "tmpfs", source: "idmapped-tmpfs" });
    expect(at[0]!.superOptions).toContain("size=1024k");
    // a file root creates lands on the tmpfs as container id 65536 and reads back as root
    writeFileSync(`${dst}/f`, "x");
    expect(statSync(`${dst}/f`).uid).toBe(0);
    expect(unmountAll(dst)).toBe(1);
  });

  test("a flag the fd API cannot say (iversion): containerd's sequence, an idmapped clone on top of the mount", () => {
    fresh("tmpfs-stacked");
    const dst = dir("dst");
    unmountAfter(dst);
    mount({ type: "tmpfs", source: "stacked-tmpfs", options: ["size=1m", "iversion", ...IDMAP_OPTIONS] }, dst);
    const at = topAt(dst);
    expect(at).toHaveLength(2);
    expect(at[1]!.options).toContain("idmapped");
    expect(at[0]!.options).not.toContain("idmapped");
    writeFileSync(`${dst}/f`, "x");
    expect(statSync(`${dst}/f`).uid).toBe(0);
    expect(unmountAll(dst)).toBe(2);
  });

  test("an option the filesystem refuses: its fsconfig named with the kernel's words, nothing mounted, no fd left", () => {
    fresh("tmpfs-bad-option");
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    const err = caught(() => mount({ type: "tmpfs", source: "x", options: ["sise=1m", ...IDMAP_OPTIONS] }, dst)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.message).toContain(`mount x on ${dst}: fsconfig(2): EINVAL`);
    expect(err.message).toContain("sise=1m");
    expect(err.message).toContain("tmpfs: Unknown parameter 'sise'");
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("a lone uidmap is refused before any syscall", () => {
    fresh("lone");
    const src = containerTree();
    const dst = dir("dst");
    const sys = injectFaults(libcSyscalls, {});
    expect(() => mount({ type: "bind", source: src, options: [`uidmap=${MAP}`] }, dst, { sys })).toThrow(PlanError);
    expect(sys.log).toEqual([]);
  });

  test("move_mount failing: nothing mounted, no fd left", () => {
    fresh("move-fail");
    const src = containerTree();
    const dst = dir("dst");
    cacheUserns(MAP); // before counting
    const fds = openFds();
    const sys = injectFaults(libcSyscalls, { moveMount: { calls: [1], errno: Errno.EBUSY, syscall: "move_mount(2)" } });
    expect(() => mount({ type: "bind", source: src, options: ["bind", ...IDMAP_OPTIONS] }, dst, { sys })).toThrow(
      `mount ${src} on ${dst}: move_mount(2): EBUSY`,
    );
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("a directory onto a file: move_mount's EINVAL (mount(2) says ENOTDIR) gets a hint naming the mismatch, not a bad option", () => {
    fresh("dir-on-file");
    const src = containerTree();
    const file = `${dir("dst")}/file`;
    writeFileSync(file, "");
    const sourceFile = `${src}/user-file`;
    const onFile = [
      [{ type: "bind", source: src, options: ["bind", ...IDMAP_OPTIONS] }, `mount point ${file} is not a directory, and ${src} is one`],
      [{ type: "tmpfs", source: "tmpfs", options: IDMAP_OPTIONS }, `mount point ${file} is not a directory, and a new tmpfs is one`],
      // not overlayfs's refusal (it logs nothing to dmesg here): the hint said so before
      [{ type: "overlay", source: "overlay", options: [`lowerdir=${src}`, `upperdir=${dir("upper")}`, `workdir=${dir("work")}`, ...IDMAP_OPTIONS] }, `mount point ${file} is not a directory, and a new overlay is one`],
    ] as const;
    for (const [m, hint] of onFile) {
      const err = caught(() => mount(m, file));
      expect(err).toBeInstanceOf(SyscallError);
      expect(err).toMatchObject({ syscall: "move_mount(2)", errno: Errno.EINVAL, hint: expect.stringContaining(hint) });
      expect(mountsUnder(dir("dst"))).toEqual([]);
    }
    // and a file onto a directory
    const err = caught(() => mount({ type: "bind", source: sourceFile, options: ["bind", ...IDMAP_OPTIONS] }, dir("dst")));
    expect(err).toMatchObject({ syscall: "move_mount(2)", errno: Errno.EINVAL, hint: expect.stringContaining(`mount point ${dir("dst")} is a directory, and ${sourceFile} is not`) });
    expect(mountsUnder(dir("dst"))).toEqual([]);
  });

  test("propagation: without a word the clone is private (containerd's IDMapMount), so a later mount under a shared source stays out; X-mount.idmap= keeps the source's peer group, as mount(8), and the newcomer shows up unmapped", () => {
    fresh("peer-group");
    const src = dir("src");
    const [containerd, utilLinux, shared] = [dir("containerd"), dir("util-linux"), dir("shared")];
    mount({ type: "tmpfs", source: "tmpfs", options: ["shared"] }, src);
    unmountAfter(src);
    cleanups.push(() => unmountRecursive(containerd), () => unmountRecursive(utilLinux), () => unmountRecursive(shared));
    mount({ type: "bind", source: src, options: ["bind", ...IDMAP_OPTIONS] }, containerd);
    mount({ type: "bind", source: src, options: ["bind", "X-mount.idmap=b:0:100000:65536"] }, utilLinux);
    mount({ type: "bind", source: src, options: ["bind", "shared", ...IDMAP_OPTIONS] }, shared);
    const group = topAt(src)[0]!.shared;
    expect(group).toBeNumber();
    expect(topAt(containerd)[0]!.shared).toBeUndefined();
    expect(topAt(utilLinux)[0]).toMatchObject({ shared: group });
    expect(topAt(shared)[0]!.shared).toBeNumber(); // asked for: applied after the attach, as its own call
    dir("src", "sub");
    mount({ type: "tmpfs", source: "tmpfs", options: [] }, `${src}/sub`);
    cleanups.push(() => unmountAll(`${src}/sub`));
    expect(topAt(`${containerd}/sub`)).toEqual([]);
    const propagated = topAt(`${utilLinux}/sub`);
    expect(propagated).toHaveLength(1);
    expect(topAt(utilLinux)[0]!.options.split(",")).toContain("idmapped");
    expect(propagated[0]!.options.split(",")).not.toContain("idmapped"); // the clone's idmap is not the newcomer's
  });

  test("rbind without a propagation word: every mount of the idmapped clone is private", () => {
    fresh("rbind-private");
    const src = dir("src");
    const dst = dir("dst");
    mount({ type: "tmpfs", source: "tmpfs", options: ["shared"] }, src);
    unmountAfter(src);
    dir("src", "sub");
    mount({ type: "tmpfs", source: "tmpfs", options: ["shared"] }, `${src}/sub`);
    cleanups.push(() => unmountAll(`${src}/sub`));
    cleanups.push(() => unmountRecursive(dst));
    mount({ type: "bind", source: src, options: ["rbind", ...IDMAP_OPTIONS] }, dst);
    const clone = mountsUnder(dst);
    expect(clone).toHaveLength(2);
    for (const m of clone) {
      expect(m.shared).toBeUndefined();
      expect(m.options.split(",")).toContain("idmapped");
    }
  });

  test("a failure after the tree is attached (the propagation change) unmounts it; no fd left", () => {
    fresh("attached-fail");
    const src = containerTree();
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EINVAL } });
    expect(() => mount({ type: "bind", source: src, options: ["bind", "rshared", ...IDMAP_OPTIONS] }, dst, { sys })).toThrow(
      `mount ${src} on ${dst}: mount(2): EINVAL`,
    );
    expect(sys.log.map((call) => call[0])).toContain("moveMount");
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("a close(2) error on the attached tree is ignored, as containerd ignores it: the mount stands, no fd left", () => {
    fresh("close-fail");
    const src = containerTree();
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    // the real close is made (Linux releases the fd whatever it reports), then reported as failed
    const sys = injectFaults(libcSyscalls, { close: { calls: [1], errno: Errno.EIO, when: "after" } });
    mount({ type: "bind", source: src, options: ["bind", ...IDMAP_OPTIONS] }, dst, { sys });
    unmountAfter(dst);
    expect(sys.log.map((call) => call[0])).toEqual(["openTree", "mountSetattr", "moveMount", "close"]);
    expect(topAt(dst)).toHaveLength(1);
    expectMappedOwners(dst);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("mount_setattr failing on the new tmpfs: never attached, no fd left", () => {
    fresh("tmpfs-fail");
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    const sys = injectFaults(libcSyscalls, { mountSetattr: { calls: [1], errno: Errno.EPERM, syscall: "mount_setattr(2)" } });
    expect(() => mount({ type: "tmpfs", source: "x", options: IDMAP_OPTIONS }, dst, { sys })).toThrow(/mount_setattr\(2\): EPERM/);
    expect(sys.log.map((call) => call[0])).not.toContain("moveMount");
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("a failure after the idmapped tmpfs is attached (the propagation change) unmounts it", () => {
    fresh("tmpfs-attached-fail");
    const dst = dir("dst");
    const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EINVAL } });
    expect(() => mount({ type: "tmpfs", source: "x", options: ["rshared", ...IDMAP_OPTIONS] }, dst, { sys })).toThrow(/mount\(2\): EINVAL/);
    expect(sys.log.map((call) => call[0])).toContain("moveMount");
    expect(mountsUnder(dst)).toEqual([]);
  });
});

describe("mount() of an image with uidmap=/gidmap= (containerd's loop then idmap)", () => {
  /** An ext4 image of containerTree() and a mount point unmounted after the test. */
  function imageAndTarget(label: string): { img: string; dst: string } {
    fresh(label);
    const img = ws.image("img", 16, ["-d", containerTree()]);
    const dst = dir("dst");
    unmountAfter(dst);
    return { img, dst };
  }

  test("loop: one idmapped mount of the device; the image's container-owned files show the mapped host ids; one unmount frees the device; no fd left", async () => {
    const { img, dst } = imageAndTarget("loop");
    cacheUserns(MAP);
    const fds = openFds();
    mount({ type: "ext4", source: img, options: ["loop", ...IDMAP_OPTIONS] }, dst);
    expect(fdChanges(fds)).toEqual([]);
    const at = topAt(dst);
    expect(at).toHaveLength(1);
    expect(at[0]!.source).toMatch(/^\/dev\/loop\d+$/);
    expect(at[0]!.options).toContain("idmapped");
    expectMappedOwners(dst);
    // root writes through the mapping: on the image the file is container id 65536
    writeFileSync(`${dst}/written`, "x");
    expect(statSync(`${dst}/written`).uid).toBe(0);
    expect(loopDevicesOf(img).sysfs).toEqual([at[0]!.source]);
    expect(unmountAll(dst)).toBe(1);
    await expectFreed(img);
  });

  test("an image file with no type and no loop option: loop device, type from the superblock, idmapped, read-only", async () => {
    const { img, dst } = imageAndTarget("image-auto");
    mount({ type: "", source: img, options: ["ro", ...IDMAP_OPTIONS] }, dst);
    const at = topAt(dst);
    expect(at.map((m) => m.fstype)).toEqual(["ext4"]);
    expect(at[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
    expect(at[0]!.superOptions.split(",")).toContain("ro");
    expectMappedOwners(dst);
    expect(errnoOf(() => writeFileSync(`${dst}/x`, ""))).toBe("EROFS");
    expect(unmountAll(dst)).toBe(1);
    await expectFreed(img);
  });

  test("a type list: each type tried through the fd API in turn (xfs refused by CMD_CREATE, then ext4), one idmapped mount", async () => {
    const { img, dst } = imageAndTarget("type-list");
    const sys = injectFaults(libcSyscalls, {});
    const log: string[] = [];
    mount({ type: "xfs,ext4", source: img, options: ["loop", "ro", ...IDMAP_OPTIONS] }, dst, { sys, log: (line) => log.push(line) });
    expect(sys.log.filter((call) => call[0] === "fsopen").map((call) => call[1])).toEqual(["xfs", "ext4"]);
    // -v shows the retry as the calls it makes
    const retry = log.indexOf("EINVAL: not xfs; the next type");
    expect(retry).toBeGreaterThan(0);
    expect(log[retry + 1]).toStartWith('fsfd = fsopen("ext4", FSOPEN_CLOEXEC)\n');
    const at = topAt(dst);
    expect(at.map((m) => [m.fstype, m.options.includes("idmapped")])).toEqual([["ext4", true]]);
    expectMappedOwners(dst);
    expect(unmountAll(dst)).toBe(1);
    await expectFreed(img);
  });

  test("a write-protected device: the fd API's call refused, made again read-only the same way, with mount(8)'s warning", () => {
    const { img, dst } = imageAndTarget("read-only-device");
    cleanups.push(() => detachLoopDevicesOf(img));
    const loop = attachLoop(img, { readOnly: true });
    cleanups.push(() => {
      loop.close();
      detachLoop(loop.device);
    });
    const sys = injectFaults(libcSyscalls, {});
    const warnings: string[] = [];
    mount({ type: "ext4", source: loop.device, options: IDMAP_OPTIONS }, dst, { sys, warn: (w) => warnings.push(w) });
    // the first fs context is refused at CMD_CREATE, the second carries "ro"
    expect(sys.log.filter((call) => call[0] === "fsopen")).toHaveLength(2);
    expect(sys.log.filter((call) => call[0] === "fsconfig" && call[3] === "ro")).toHaveLength(1);
    expect(sys.log.filter((call) => call[0] === "mount")).toEqual([]);
    expect(warnings).toEqual([`${dst}: WARNING: source write-protected, mounted read-only`]);
    const at = topAt(dst);
    expect(at).toHaveLength(1);
    expect(at[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
    expectMappedOwners(dst);
    expect(unmountAll(dst)).toBe(1);
  });

  test("an option ext4 refuses: the kernel's words in the error, the device freed, no fd left", async () => {
    fresh("loop-bad-option");
    const img = ws.image();
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "bogus_opt", ...IDMAP_OPTIONS] }, dst)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.message).toMatch(/fsconfig\(2\): EINVAL/);
    expect(err.message).toContain("bogus_opt");
    expect(exitCodeFor(err)).toBe(32);
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
    await expectFreed(img);
  });

  test("mount_setattr failing on the loop device's new mount: never attached, the device freed; no fd left", async () => {
    fresh("loop-fail");
    const img = ws.image();
    const dst = dir("dst");
    cacheUserns(MAP);
    const fds = openFds();
    const sys = injectFaults(libcSyscalls, { mountSetattr: { calls: [1], errno: Errno.EPERM, syscall: "mount_setattr(2)" } });
    const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", ...IDMAP_OPTIONS] }, dst, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.message).toMatch(/mount_setattr\(2\): EPERM/);
    expect(exitCodeFor(err)).toBe(32);
    expect(mountsUnder(dst)).toEqual([]);
    expect(fdChanges(fds)).toEqual([]);
    await expectFreed(img);
  });

  test("through the binary: mount -o loop,uidmap=,gidmap=, and one umount", async () => {
    const { img, dst } = imageAndTarget("loop-cli");
    // the mappings hold commas: quoted, in util-linux option syntax
    const mounted = runCli(["mount", "-t", "ext4", "-o", `loop,uidmap="${MAP}",gidmap="${MAP}"`, img, dst]);
    expect(mounted).toMatchObject({ code: 0, stderr: "" });
    expectMappedOwners(dst);
    expect(topAt(dst)).toHaveLength(1);
    expect(runCli(["umount", dst])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(dst)).toEqual([]);
    await expectFreed(img);
  });
});

describe("mount() with X-mount.idmap= (util-linux)", () => {
  test("mappings: the same idmapped bind as uidmap=/gidmap=", () => {
    fresh("xidmap-maps");
    const src = containerTree();
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "none", source: src, options: ["bind", "X-mount.idmap=b:0:100000:65536 b:65536:0:1"] }, t);
    expectMappedOwners(t);
    writeFileSync(`${t}/write-test/new`, "x");
    expect(statSync(`${src}/write-test/new`)).toMatchObject({ uid: 65536, gid: 65536 });
  });

  test("a user namespace file: that namespace is used; the plan's fd on it is closed", () => {
    fresh("xidmap-file");
    const src = containerTree();
    const t = dir("t");
    unmountAfter(t);
    const nsFd = ownUsernsFd();
    const before = openFds();
    mount({ type: "none", source: src, options: ["bind", "ro", `X-mount.idmap=/proc/self/fd/${nsFd}`] }, t);
    expect(fdChanges(before)).toEqual([]);
    expectMappedOwners(t);
    expect(topAt(t)).toHaveLength(1);
    expect(errnoOf(() => writeFileSync(`${t}/write-test/new`, "x"))).toBe("EROFS");
  });

  test("through the binary: another process's namespace by its /proc path, as mount(8) users give it", () => {
    fresh("xidmap-cli");
    const src = containerTree();
    const t = dir("t");
    unmountAfter(t);
    const path = `/proc/${process.pid}/fd/${ownUsernsFd()}`;
    const run = runCli(["mount", "-v", "--bind", "-o", `X-mount.idmap=${path}`, src, t]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`$userns = open(${JSON.stringify(path)}, O_RDONLY|O_CLOEXEC)`);
    expectMappedOwners(t);
  });

  test("through the binary: --map-users and --map-groups (mount(8) 2.39), mappings and a namespace file", () => {
    fresh("xidmap-map-flags");
    const src = containerTree();
    const t = dir("t");
    unmountAfter(t);
    // containerd's comma-separated mapping, each one given its kind
    const mapped = runCli(["mount", "--bind", "--map-users", MAP, "--map-groups", MAP, src, t]);
    expect(mapped).toMatchObject({ code: 0, stderr: "" });
    expectMappedOwners(t);
    writeFileSync(`${t}/write-test/map-flags`, "x");
    expect(statSync(`${src}/write-test/map-flags`)).toMatchObject({ uid: 65536, gid: 65536 });
    expect(runCli(["umount", t]).code).toBe(0);

    const path = `/proc/${process.pid}/fd/${ownUsernsFd()}`;
    const byFile = runCli(["mount", "--bind", "-r", `--map-users=${path}`, src, t]);
    expect(byFile).toMatchObject({ code: 0, stderr: "" });
    expectMappedOwners(t);
    expect(errnoOf(() => writeFileSync(`${t}/write-test/new`, "x"))).toBe("EROFS");
    expect(runCli(["umount", t]).code).toBe(0);

    // only users mapped: refused before any syscall, naming what is missing
    const usersOnly = runCli(["mount", "--bind", "--map-users", "0:100000:65536", src, t]);
    expect(usersOnly.code).toBe(1);
    expect(usersOnly.stderr).toContain("only u: mappings");
    const both = runCli(["mount", "--bind", "--map-users", path, "--map-groups", MAP, src, t]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("a user namespace file maps users and groups: give it once");
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a file that is no user namespace: refused after opening it, nothing mounted, no fd left", () => {
    fresh("xidmap-not-userns");
    const src = containerTree();
    const t = dir("t");
    const plainFile = s.path("plain");
    writeFileSync(plainFile, "");
    const before = openFds();
    for (const [path, what] of [["/proc/self/ns/mnt", "a namespace of another kind"], [plainFile, "no namespace at all"]] as const) {
      const err = caught(() => mount({ type: "none", source: src, options: ["bind", `X-mount.idmap=${path}`] }, t)) as MountFailedError;
      expect(err).toBeInstanceOf(MountFailedError);
      expect(err.message).toContain(`X-mount.idmap=${path} is ${what}, not a user namespace`);
      expect(exitCodeFor(err)).toBe(32);
    }
    // NS_GET_NSTYPE failing otherwise (injected): its error, naming the file; the fd closed
    const sys = injectFaults(libcSyscalls, { namespaceType: { calls: "always", errno: Errno.EPERM, syscall: "ioctl(NS_GET_NSTYPE)" } });
    const refused = caught(() => mount({ type: "none", source: src, options: ["bind", "X-mount.idmap=/proc/self/ns/user"] }, t, { sys })) as SyscallError;
    expect([refused.syscall, refused.errno]).toEqual(["ioctl(NS_GET_NSTYPE)", Errno.EPERM]);
    expect(refused.message).toContain("/proc/self/ns/user");
    const missing = caught(() => mount({ type: "none", source: src, options: ["bind", `X-mount.idmap=${s.path("missing")}`] }, t)) as SyscallError;
    expect(missing).toBeInstanceOf(SyscallError);
    expect([missing.syscall, missing.errno]).toEqual(["open(2)", Errno.ENOENT]);
    expect(missing.message).toContain(s.path("missing"));
    expect(fdChanges(before)).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
  });
});
