// X-mount.subdir=DIR (util-linux 2.39): one directory of a filesystem mounted on the target,
// through a temp mount of its root that leaves nothing behind. Real loop and tmpfs mounts;
// root, private mount namespace. The temp mount location is this test's own dir.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { closeUsernsFds } from "../../src/ops/idmap.ts";
import { mount } from "../../src/ops/mount.ts";
import { resetTempMountLocation, setTempMountLocation } from "../../src/ops/temp-location.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { expectFreed, fdChanges, makeExt4Image, openFds } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
afterAll(() => {
  resetTempMountLocation();
  closeUsernsFds();
});

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/** A scratch dir with its own temp mount location, and an ext4 image holding content/. */
function setUp(label: string) {
  const s = ws.fresh(label);
  const temp = setTempMountLocation(s.path("temp")); // made 0700, whatever the umask
  const content = dir("content");
  mkdirSync(`${content}/sub/deeper`, { recursive: true });
  writeFileSync(`${content}/sub/file`, "in sub");
  writeFileSync(`${content}/top`, "at the root");
  symlinkSync("/etc", `${content}/escape`);
  symlinkSync("sub", `${content}/inside`);
  const img = makeExt4Image(s.path("img"), 8, ["-d", content]);
  cleanups.push(() => runCli(["loop", "detach", img]));
  const t = dir("t");
  unmountAfter(t);
  return { s, temp, img, t };
}

test("the directory of the image is mounted (fsroot /sub), a symlink inside the filesystem is followed; no temp dir left; the unmount frees the loop device", async () => {
  const { temp, img, t } = setUp("subdir-loop");
  mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=/sub"] }, t);
  expect(readdirSync(t).sort()).toEqual(["deeper", "file"]);
  expect(readFileSync(`${t}/file`, "utf8")).toBe("in sub");
  const at = mountsUnder(t);
  expect(at.map((m) => [m.mountpoint, m.root, m.fstype])).toEqual([[t, "/sub", "ext4"]]);
  expect(readdirSync(temp)).toEqual([]);
  expect(runCli(["umount", t]).code).toBe(0);
  await expectFreed(img);

  const run = runCli(["mount", "-o", "loop,X-mount.subdir=inside", img, t]);
  expect(run.code).toBe(0);
  expect(mountsUnder(t).map((m) => m.root)).toEqual(["/sub"]);
  expect(runCli(["umount", t]).code).toBe(0);
  await expectFreed(img);
});

test("idmapped: the clone of the directory keeps the mount's idmapping; one mount, no temp dir, the unmount frees the loop device", async () => {
  const { temp, img, t } = setUp("subdir-idmap");
  mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=sub", "uidmap=0:100000:65536", "gidmap=0:200000:65536"] }, t);
  expect(statSync(`${t}/file`)).toMatchObject({ uid: 100000, gid: 200000 });
  expect(readFileSync(`${t}/file`, "utf8")).toBe("in sub");
  const at = mountsUnder(t);
  expect(at.map((m) => [m.mountpoint, m.root, m.fstype, m.options.split(",").includes("idmapped")])).toEqual([[t, "/sub", "ext4", true]]);
  expect(readdirSync(temp)).toEqual([]);
  expect(runCli(["umount", t]).code).toBe(0);
  await expectFreed(img);
});

test("a symlink out of the filesystem is refused (EXDEV, with a hint): nothing mounted, no temp dir, the loop device freed", async () => {
  const { temp, img, t } = setUp("subdir-escape");
  const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=escape"] }, t)) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect([err.syscall, err.errno]).toEqual(["openat2(2)", Errno.EXDEV]);
  expect(err.message).toContain("escape below the filesystem's root (X-mount.subdir)");
  expect(err.hint).toContain("leads out of the filesystem");
  expect(mountsUnder(ws.dir())).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
  await expectFreed(img);
});

test("a missing directory (a fresh tmpfs has none): ENOENT, exit 32, nothing left; \".\" refused before any syscall", () => {
  const { temp, t } = setUp("subdir-missing");
  const run = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.subdir=nope", "mk-subdir", t]);
  expect(run.code).toBe(32);
  expect(run.stderr).toContain("openat2(2): ENOENT");
  const dot = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.subdir=a/../b", "mk-subdir", t]);
  expect(dot.code).toBe(1);
  expect(dot.stderr).toContain('"." and ".." are not allowed');
  expect(mountsUnder(ws.dir())).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
});

test("move_mount failing (EBUSY injected): the clone is dropped, the temp mount and dir undone, the loop device freed", async () => {
  const { temp, img, t } = setUp("subdir-move-fails");
  const sys = injectFaults(libcSyscalls, { moveMount: { calls: [1], errno: Errno.EBUSY, syscall: "move_mount(2)" } });
  const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=sub"] }, t, { sys })) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect([err.syscall, err.errno]).toEqual(["move_mount(2)", Errno.EBUSY]);
  expect(err.cleanupErrors).toEqual([]);
  // the temp mount's unmount before the move, then the rollback's, which finds nothing mounted there
  expect(sys.log.filter(([call]) => call === "umount2").map(([, target]) => (target as string).startsWith(`${temp}/mountkit-`))).toEqual([true, true]);
  expect(mountsUnder(ws.dir())).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
  await expectFreed(img);
});

test("the temp mount's unmount failing (EBUSY injected): the clone is dropped, the rollback unmounts the temp mount and removes its dir", async () => {
  const { temp, img, t } = setUp("subdir-temp-busy");
  const sys = injectFaults(libcSyscalls, { umount2: { calls: [1], errno: Errno.EBUSY, syscall: "umount2(2)" } });
  const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=sub"] }, t, { sys })) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect([err.syscall, err.errno]).toEqual(["umount2(2)", Errno.EBUSY]);
  expect(err.cleanupErrors).toEqual([]);
  expect(sys.counts.umount2).toBe(2); // the failed one, then the rollback's
  expect(sys.counts.moveMount ?? 0).toBe(0);
  expect(mountsUnder(ws.dir())).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
  await expectFreed(img);
});

test("open_tree failing after openat2 found the directory (EMFILE injected): the directory's fd closed, the temp mount undone, no fd left", async () => {
  const { temp, img, t } = setUp("subdir-open-tree-fail");
  const fds = openFds();
  const sys = injectFaults(libcSyscalls, { openTree: { calls: [1], errno: Errno.EMFILE, syscall: "open_tree(2)" } });
  const err = caught(() => mount({ type: "ext4", source: img, options: ["loop", "X-mount.subdir=sub"] }, t, { sys })) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect([err.syscall, err.errno]).toEqual(["open_tree(2)", Errno.EMFILE]);
  expect(err.message).toContain("sub");
  expect(sys.counts.openat2).toBe(1);
  expect(sys.counts.moveMount ?? 0).toBe(0);
  expect(fdChanges(fds)).toEqual([]);
  expect(mountsUnder(ws.dir())).toEqual([]);
  expect(readdirSync(temp)).toEqual([]);
  await expectFreed(img);
});
