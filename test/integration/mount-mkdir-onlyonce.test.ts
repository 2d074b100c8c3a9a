// mount -m (--mkdir[=MODE], util-linux's alias of -o X-mount.mkdir) and --onlyonce (util-linux
// 2.39: refuse what is mounted on the target already). Real mounts through the binary; root,
// private mount namespace.
import { beforeAll, expect, test } from "bun:test";
import { existsSync, linkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, image, unmountAfter } = ws;
const modeOf = (path: string) => statSync(path).mode & 0o7777;
const sourcesAt = (target: string) => mountsUnder(target).filter((m) => m.mountpoint === target).map((m) => m.source);

test("-m creates a missing target and its parents (0755, or -mMODE / --mkdir=MODE); from an fstab line too; a failed mount removes what it made", () => {
  const s = ws.fresh("mount-m");
  ws.umask(0o022); // mkdir(2) takes the umask from 0755, as it does from util-linux's
  const [plain, moded, fromFstab] = [s.path("a", "b"), s.path("c"), s.path("d", "e")];
  for (const t of [plain, moded, fromFstab]) unmountAfter(t);
  expect(runCli(["mount", "-m", "-t", "tmpfs", "mk-m", plain]).code).toBe(0);
  expect(sourcesAt(plain)).toEqual(["mk-m"]);
  expect(modeOf(s.path("a"))).toBe(0o755);
  expect(runCli(["mount", "-m0700", "-t", "tmpfs", "mk-m", moded]).code).toBe(0);
  expect(runCli(["umount", moded]).code).toBe(0);
  expect(modeOf(moded)).toBe(0o700);
  expect(runCli(["mount", "--mkdir=0750", "-t", "tmpfs", "mk-m", moded]).code).toBe(0); // there already: mode kept
  expect(runCli(["umount", moded]).code).toBe(0);
  expect(modeOf(moded)).toBe(0o700);

  const fstab = s.path("fstab");
  writeFileSync(fstab, `mk-fstab ${fromFstab} tmpfs defaults 0 0\n`);
  expect(runCli(["mount", "-T", fstab, fromFstab]).code).toBe(32); // no target, no -m
  expect(runCli(["mount", "-T", fstab, "-m", fromFstab]).code).toBe(0);
  expect(sourcesAt(fromFstab)).toEqual(["mk-fstab"]);

  const bad = s.path("f", "g");
  const failed = runCli(["mount", "-m", "-t", "bogus-fs", "x", bad]);
  expect(failed.code).toBe(32);
  expect(existsSync(s.path("f"))).toBe(false);
  expect(runCli(["mount", "-mxyz", "-t", "tmpfs", "x", bad]).stderr).toContain('X-mount.mkdir mode "xyz" is not an octal mode');
});

test("--onlyonce: what is mounted on the target already is refused (exit 32, nothing stacked); anything else mounts", () => {
  ws.fresh("mount-onlyonce");
  const [t, b, src] = [dir("t"), dir("b"), dir("src")];
  unmountAfter(t);
  unmountAfter(b);
  expect(runCli(["mount", "--onlyonce", "-t", "tmpfs", "mk-once", t]).code).toBe(0);
  const again = runCli(["mount", "--onlyonce", "-t", "tmpfs", "mk-once", t]);
  expect(again.code).toBe(32);
  expect(again.stderr).toContain(`mount mk-once on ${t}: filesystem already mounted`);
  expect(sourcesAt(t)).toEqual(["mk-once"]);
  // another source is another filesystem; without --onlyonce the kernel stacks a second one
  expect(runCli(["mount", "--onlyonce", "-t", "tmpfs", "mk-other", t]).code).toBe(0);
  expect(runCli(["mount", "-t", "tmpfs", "mk-other", t]).code).toBe(0);
  expect(sourcesAt(t)).toEqual(["mk-once", "mk-other", "mk-other"]);
  // a bind: the same directory of the same filesystem
  expect(runCli(["mount", "--onlyonce", "--bind", src, b]).code).toBe(0);
  expect(runCli(["mount", "--onlyonce", "--bind", src, b]).code).toBe(32);
  expect(mountsUnder(b)).toHaveLength(1);
});

test("--onlyonce of an image: mounted already through its loop device, by another name (a hard link): refused, no device attached", () => {
  const s = ws.fresh("mount-onlyonce-loop");
  const img = image();
  const link = s.path("hard-link");
  linkSync(img, link);
  const t = dir("t");
  unmountAfter(t);
  expect(runCli(["mount", "--onlyonce", "-o", "loop", img, t]).code).toBe(0);
  const devices = loopDevicesOf(img).sysfs;
  expect(devices).toHaveLength(1);
  const again = runCli(["mount", "--onlyonce", "-o", "loop", link, join(t, ".")]);
  expect(again.code).toBe(32);
  expect(again.stderr).toContain("filesystem already mounted");
  expect(loopDevicesOf(img).sysfs).toEqual(devices);
  expect(mountsUnder(t)).toHaveLength(1);
});
