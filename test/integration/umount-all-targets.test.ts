// umount -A (--all-targets) and -q (--quiet), as util-linux: every mount of one filesystem,
// named by a mount point, a device or an image; and no "not mounted" message. Real mounts;
// root, private mount namespace.
import { beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { mount } from "../../src/ops/mount.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { runCli } from "../support/cli.ts";
import { expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { umountTraced } from "../support/umount-traced.ts";
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

/** The mount points of the umount2 calls -v printed, in order. */
function unmountedInOrder(stderr: string): string[] {
  return [...stderr.matchAll(/^mountkit: umount2\("(.*)", [^)]*\)$/gm)].map(([, point]) => JSON.parse(`"${point}"`) as string);
}

/** A tmpfs at r (taken down after the test, whatever is left on it) with fs, a tmpfs, on it; and where logs go. */
function filesystemIn(label: string): { root: string; fs: string; logs: string } {
  ws.fresh(label);
  const logs = dir("logs");
  const root = dir("r");
  tmpfs(root, "mk-all-targets-root");
  ws.cleanups.push(() => unmountRecursive(root));
  const fs = join(root, "fs");
  mkdirSync(fs);
  tmpfs(fs);
  return { root, fs, logs };
}

/** n binds of fs on directories of root named PREFIX0, PREFIX1...: their mount points. */
function bindsOf(fs: string, root: string, n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const b = join(root, `${prefix}${i}`);
    mkdirSync(b);
    bind(fs, b);
    return b;
  });
}

test("-A of a filesystem with 100 mounts, with -d too: latest first, and the mount table read once, as for 2 (it was read once per mount)", () => {
  const { root, fs, logs } = filesystemIn("all-targets-reads");
  for (const [name, args] of [["plain", ["-A", "-v"]], ["detach", ["-A", "-d", "-v"]]] as const) {
    const few = bindsOf(fs, root, 2, `${name}-few-`);
    const fewRun = umountTraced(join(logs, `${name}-few.log`), [...args, fs]);
    expect([name, fewRun.code, unmountedInOrder(fewRun.stderr)]).toEqual([name, 0, [...few.reverse(), fs]]);
    tmpfs(fs);
    const many = bindsOf(fs, root, 100, `${name}-many-`);
    const manyRun = umountTraced(join(logs, `${name}-many.log`), [...args, fs]);
    expect([name, manyRun.code, unmountedInOrder(manyRun.stderr)]).toEqual([name, 0, [...many.reverse(), fs]]);
    expect([name, fewRun.tableReads, manyRun.tableReads]).toEqual([name, 1, 1]);
    expect(points(root)).toEqual([root]);
    tmpfs(fs);
  }
});

test("-A where an unmount propagates to another mount of the filesystem and takes it: statx tells, the table is read again, it is not tried", () => {
  const { root, fs, logs } = filesystemIn("all-targets-propagated");
  // p shared, q a bind of it (its peer): fs bound on p/m appears on q/m too, the later mount
  const [p, q] = [join(root, "p"), join(root, "q")];
  mkdirSync(p);
  tmpfs(p, "mk-all-targets-p");
  mkdirSync(join(p, "m"));
  expect(Bun.spawnSync(["mount", "--make-shared", p]).exitCode).toBe(0);
  mkdirSync(q);
  bind(p, q);
  bind(fs, join(p, "m"));
  expect(points(root).filter((m) => m.endsWith("/m"))).toEqual([join(p, "m"), join(q, "m")]);

  // q/m's unmount takes p/m with it (umount propagates to peers): then fs alone
  const run = umountTraced(join(logs, "propagated.log"), ["-A", "-v", fs]);
  expect([run.code, unmountedInOrder(run.stderr)]).toEqual([0, [join(q, "m"), fs]]);
  expect(run.tableReads).toBe(2);
  expect(points(root)).toEqual([root, p, q]);
});
