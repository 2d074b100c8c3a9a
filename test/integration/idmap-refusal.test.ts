// The kernel's refusals to idmap, explained: a filesystem that cannot be idmapped (proc, sysfs),
// an rbind over one, a mount idmapped already, the caller's own user namespace. The kernel says
// only EINVAL or EPERM. Root, private mount namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SyscallError } from "../../src/errors.ts";
import { closeUsernsFds, openIdmappedTree, usernsFd } from "../../src/ops/idmap.ts";
import { mount } from "../../src/ops/mount.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { cacheUserns, IDMAP_OPTIONS, MAP } from "../support/idmap-overlay.ts";
import { fdChanges, openFds } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
afterAll(() => closeUsernsFds());

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;
const FD = probeKernelFacts("fd");
const LEGACY = probeKernelFacts("legacy");

/** The SyscallError fn threw, after checking nothing is left mounted at target and no fd leaked. */
function refusal(target: string, fn: () => unknown): SyscallError {
  cacheUserns(); // the cached namespaces exist before the fds are counted
  cacheUserns("0:1:1");
  const fds = openFds();
  const err = caught(fn);
  expect(err).toBeInstanceOf(SyscallError);
  expect(mountsUnder(target)).toEqual([]);
  expect(fdChanges(fds)).toEqual([]);
  return err as SyscallError;
}

describe("EINVAL: a filesystem that cannot be idmapped is named", () => {
  test("a bind of /proc", () => {
    ws.fresh("proc-bind");
    const dst = dir("dst");
    const err = refusal(dst, () => mount({ type: "bind", source: "/proc", options: ["bind", ...IDMAP_OPTIONS] }, dst));
    expect(err).toMatchObject({ syscall: "mount_setattr(2)", errnoName: "EINVAL" });
    expect(err.hint).toStartWith("proc (the filesystem of /proc) does not support idmapped mounts");
  });

  test("a new sysfs mount", () => {
    ws.fresh("sysfs-new");
    const dst = dir("dst");
    const err = refusal(dst, () => mount({ type: "sysfs", source: "sysfs", options: IDMAP_OPTIONS }, dst));
    expect(err.hint).toStartWith("sysfs does not support idmapped mounts");
  });

  test("an rbind whose tree holds a proc mount: the filesystems that may refuse the idmap listed, proc with its mount point (not the ext4 or tmpfs that takes it)", () => {
    ws.fresh("rbind-proc");
    const src = dir("src");
    const proc = dir("src", "p");
    unmountAfter(proc);
    mount({ type: "proc", source: "proc", options: [] }, proc);
    const dst = dir("dst");
    cleanups.push(() => unmountRecursive(dst));
    const err = refusal(dst, () => mount({ type: "", source: src, options: ["rbind", ...IDMAP_OPTIONS] }, dst));
    expect(err.hint).toStartWith(`rbind idmaps every mount below ${src} too, and one of their filesystems does not support it:`);
    expect(err.hint).toContain(`proc (${proc})`);
    // src's own filesystem (ext4 or tmpfs) takes the idmap: not named as one that may refuse it
    expect(err.hint).not.toMatch(/\b(ext4|tmpfs) \(/);
    // a plain bind of the same tree is idmapped: the hint's advice works
    mount({ type: "", source: src, options: ["bind", ...IDMAP_OPTIONS] }, dst);
    expect(mountsUnder(dst).map((m) => m.options.split(",").includes("idmapped"))).toEqual([true]);
  });

  test("a bind of an overlay mount: the overlay's layers can be idmapped, the overlay itself not", () => {
    ws.fresh("overlay-bind");
    const [lower, upper, work, merged] = [dir("lower"), dir("upper"), dir("work"), dir("merged")];
    unmountAfter(merged);
    mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }, merged);
    const dst = dir("dst");
    const err = refusal(dst, () => mount({ type: "", source: merged, options: ["bind", ...IDMAP_OPTIONS] }, dst));
    expect(err.hint).toStartWith("an overlay mount cannot be idmapped, its layers can: mount the overlay itself with uidmap=/gidmap=");
  });

  for (const [strategy, facts] of [["fd", FD], ["legacy", LEGACY]] as const) {
    test(`an idmapped overlay's lower layer on another overlay (${strategy} strategy): the layer's place is blamed, not the request; that overlay's own layers work`, () => {
      ws.fresh(`overlay-layer-on-overlay-${strategy}`);
      const [innerLower, innerUpper, innerWork, inner] = [dir("inner-lower"), dir("inner-upper"), dir("inner-work"), dir("inner")];
      writeFileSync(join(innerLower, "file"), "from the inner overlay");
      unmountAfter(inner);
      mount({ type: "overlay", source: "overlay", options: [`lowerdir=${innerLower}`, `upperdir=${innerUpper}`, `workdir=${innerWork}`] }, inner);
      mkdirSync(join(inner, "sub"));
      const [plain, upper, work, merged] = [dir("plain"), dir("upper"), dir("work"), dir("merged")];
      // the overlay as the layer, a directory in it, and beside a plain layer (the layers' shared parent is no overlay)
      for (const [layers, blamed, where] of [
        [[inner], inner, "is an overlay mount"],
        [[join(inner, "sub")], join(inner, "sub"), `is on the overlay mounted at ${inner}`],
        [[inner, plain], inner, "is an overlay mount"],
      ] as const) {
        const options = [`lowerdir=${layers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`, ...IDMAP_OPTIONS];
        const err = refusal(merged, () => mount({ type: "overlay", source: "overlay", options }, merged, { facts }));
        expect([layers, err.syscall, err.errnoName]).toEqual([layers, "mount_setattr(2)", "EINVAL"]);
        expect(err.hint).toBe(
          `${blamed} ${where}, and the kernel cannot idmap a mount of an overlayfs, so it cannot be a layer of an idmapped overlay: ` +
            `a layer must live on a filesystem that supports idmapped mounts (ext4, xfs, btrfs, tmpfs...). Give the directories that overlay is made of as layers instead ` +
            `(its upperdir= and lowerdir=, which findmnt ${inner} shows), copy the layer onto such a filesystem, or leave out uidmap=/gidmap= (X-mount.idmap=)`,
        );
      }
      // what the hint says to do: the inner overlay's upper over its lower, idmapped
      unmountAfter(merged);
      mount({ type: "overlay", source: "overlay", options: [`lowerdir=${innerUpper}:${innerLower}`, `upperdir=${upper}`, `workdir=${work}`, ...IDMAP_OPTIONS] }, merged, { facts });
      expect(readFileSync(join(merged, "file"), "utf8")).toBe("from the inner overlay");
      expect(statSync(join(merged, "sub")).isDirectory()).toBe(true);
      expect(statSync(join(merged, "file")).uid).toBe(100000); // on-disk 0, seen through the idmap
    });

    test(`an overlay lower layer on proc (${strategy} strategy): the layer's filesystem, not overlayfs, is blamed`, () => {
      ws.fresh(`overlay-proc-${strategy}`);
      const [lower, upper, work, merged] = [dir("lower"), dir("upper"), dir("work"), dir("merged")];
      const options = [`lowerdir=${lower}:/proc/sys`, `upperdir=${upper}`, `workdir=${work}`, ...IDMAP_OPTIONS];
      const err = refusal(merged, () => mount({ type: "overlay", source: "overlay", options }, merged, { facts }));
      expect(err).toMatchObject({ syscall: "mount_setattr(2)", errnoName: "EINVAL" });
      expect(err.hint).toStartWith("proc (the filesystem of /proc/sys) does not support idmapped mounts");
    });
  }

  test("openIdmappedTree of /proc", () => {
    const fd = usernsFd(MAP, MAP);
    cleanups.push(() => libcSyscalls.close(fd));
    const err = caught(() => openIdmappedTree("/proc", fd)) as SyscallError;
    expect(err.hint).toStartWith("proc (the filesystem of /proc) does not support idmapped mounts");
  });
});

describe("EPERM: why the kernel would not", () => {
  test("the source is an idmapped mount already", () => {
    ws.fresh("idmapped-twice");
    const src = dir("src");
    const first = dir("first");
    unmountAfter(first);
    mount({ type: "", source: src, options: ["bind", ...IDMAP_OPTIONS] }, first);
    const dst = dir("dst");
    const err = refusal(dst, () => mount({ type: "", source: first, options: ["bind", "uidmap=0:1:1", "gidmap=0:1:1"] }, dst));
    expect(err).toMatchObject({ syscall: "mount_setattr(2)", errnoName: "EPERM" });
    expect(err.hint).toBe(`${first} is an idmapped mount already, and the kernel idmaps a mount only once: bind the mount it was made from`);
  });

  test("X-mount.idmap= naming this process's own user namespace (the initial one)", () => {
    ws.fresh("own-userns");
    const src = dir("src");
    const dst = dir("dst");
    const err = refusal(dst, () => mount({ type: "", source: src, options: ["bind", "X-mount.idmap=/proc/self/ns/user"] }, dst));
    expect(err).toMatchObject({ syscall: "mount_setattr(2)", errnoName: "EPERM" });
    expect(err.hint).toStartWith("the user namespace given is this process's own");
  });
});
