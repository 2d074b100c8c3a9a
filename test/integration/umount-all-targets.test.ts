// umount -A (--all-targets) and -q (--quiet), as util-linux: every mount of one filesystem,
// named by a mount point, a device or an image; and no "not mounted" message. Real mounts;
// root, private mount namespace.
import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { mount } from "../../src/ops/mount.ts";
import { runCli } from "../support/cli.ts";
import { expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, image, unmountAfter } = ws;
const tmpfs = (target: string, source = "mk-all-targets") => mount({ type: "tmpfs", source, options: [] }, target);
const bind = (source: string, target: string) => mount({ type: "none", source, options: ["bind"] }, target);
const points = (under: string) => mountsUnder(under).map((m) => m.mountpoint);

test("-A TARGET: every mount of its filesystem (binds of it and of a dir in it), not the others; --json counts them", () => {
  const s = ws.fresh("all-targets");
  const [a, b, c, other] = [dir("a"), dir("b"), dir("c"), dir("other")];
  for (const t of [a, b, c, other]) unmountAfter(t);
  tmpfs(a);
  dir("a", "sub");
  bind(a, b);
  bind(join(a, "sub"), c);
  tmpfs(other); // another tmpfs: another device number
  const run = runCli(["umount", "-A", "--json", b]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).results).toEqual([{ target: b, ok: true, unmounted: 3 }]);
  expect(points(s.dir)).toEqual([other]);
});

test("-A IMAGE and -A DEVICE: every mount of the loop device attached to the image; the last frees it", async () => {
  ws.fresh("all-targets-loop");
  const img = image();
  const [a, b] = [dir("a"), dir("b")];
  unmountAfter(a);
  unmountAfter(b);
  for (const t of [a, b]) expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
  expect(loopDevicesOf(img).sysfs).toHaveLength(1); // the second mount reused the first one's device
  expect(runCli(["umount", "-A", img])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect([...points(a), ...points(b)]).toEqual([]);
  await expectFreed(img);

  for (const t of [a, b]) expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
  const again = loopDevicesOf(img).sysfs[0]!;
  expect(runCli(["umount", "-A", "--json", again]).stdout).toContain('"unmounted": 2');
  expect([...points(a), ...points(b)]).toEqual([]);
  await expectFreed(img);
});

test("-A with a mount of it hidden under another: the reachable ones go, the hidden one is named and stays, so does what covers it", () => {
  const s = ws.fresh("all-targets-hidden");
  const [a, b] = [dir("a"), dir("b")];
  unmountAfter(a);
  unmountAfter(b);
  tmpfs(a);
  bind(a, b);
  tmpfs(b, "mk-cover"); // covers the bind at b
  const run = runCli(["umount", "-A", a]);
  expect(run.code).toBe(32);
  expect(run.stderr).toContain(`its filesystem is still mounted under other mounts (on ${b})`);
  expect(mountsUnder(s.dir).map((m) => [m.mountpoint, m.source])).toEqual([
    [b, "mk-all-targets"],
    [b, "mk-cover"],
  ]);
});

test("-A -R: each mount of it with everything under it", () => {
  const s = ws.fresh("all-targets-recursive");
  const [a, b] = [dir("a"), dir("b")];
  unmountAfter(a);
  unmountAfter(b);
  tmpfs(a);
  bind(a, b);
  const child = dir("a", "child");
  tmpfs(child, "mk-child");
  const run = runCli(["umount", "-A", "-R", "--json", a]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).results).toEqual([{ target: a, ok: true, unmounted: 3 }]);
  expect(points(s.dir)).toEqual([]);
});

test("-q: nothing mounted is exit 32 without a message; other errors are still said; -A of nothing mounted is 'not mounted'", () => {
  ws.fresh("umount-quiet");
  const t = dir("t");
  expect(runCli(["umount", "-q", t])).toEqual({ code: 32, stdout: "", stderr: "" });
  expect(runCli(["umount", t]).stderr).toContain("not mounted");
  expect(runCli(["umount", "-q", "--json", t]).stderr).toBe("");
  expect(runCli(["umount", "-A", t]).stderr).toContain("not mounted");
  const missing = runCli(["umount", "-q", "UUID=00000000-dead-beef-0000-000000000000"]);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).not.toBe("");
  const usage = runCli(["umount", "-A", "-a"]);
  expect(usage.code).toBe(1);
  expect(usage.stderr).toContain("-A goes with TARGET operands");
});

test("-A -d: every mount of a loop device attached by hand goes, then the device is detached", async () => {
  ws.fresh("all-targets-detach");
  const img = image();
  const device = runCli(["loop", "attach", img]).stdout.trim();
  const [a, b] = [dir("a"), dir("b")];
  unmountAfter(a);
  unmountAfter(b);
  for (const t of [a, b]) expect(runCli(["mount", device, t]).code).toBe(0);
  const run = runCli(["umount", "-A", "-d", "--json", a]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).results).toEqual([{ target: a, ok: true, unmounted: 2 }]);
  expect([...points(a), ...points(b)]).toEqual([]);
  await expectFreed(img);
});
