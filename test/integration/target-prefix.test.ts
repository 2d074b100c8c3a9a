// mount --target-prefix DIR (mount(8)'s): every mount point inside DIR, for a SOURCE TARGET
// mount, one fstab line and mount -a, through the binary. The prefix is a root: a symlink in a
// target's path is followed inside it, never out. Real tmpfs mounts; root, private namespace.
import { beforeAll, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { readMountInfo } from "../../src/mountinfo/read.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
const mountpoints = (under: string) => mountsUnder(under).map((m) => m.mountpoint);

test("SOURCE TARGET: TARGET inside the prefix; -m creates it there", () => {
  const s = ws.fresh("prefix-direct");
  const prefix = dir("chroot");
  unmountAfter(`${prefix}/srv/data`);
  const made = runCli(["mount", "-t", "tmpfs", "--target-prefix", prefix, "-m", "pfx", "/srv/data"]);
  expect(made).toMatchObject({ code: 0, stderr: "" });
  expect(mountpoints(s.path())).toEqual([`${prefix}/srv/data`]);
  // the only mount of that source anywhere
  expect(readMountInfo().filter((m) => m.source === "pfx").map((m) => m.mountpoint)).toEqual([`${prefix}/srv/data`]);
  expect(runCli(["umount", `${prefix}/srv/data`]).code).toBe(0);

  // the dry run names the prefixed target too
  const planned = runCli(["mount", "-n", "--json", "-t", "tmpfs", "--target-prefix", prefix, "pfx", "/srv/data"]);
  expect(planned.code).toBe(0);
  expect(JSON.stringify(JSON.parse(planned.stdout).steps)).toContain(`${prefix}/srv/data`);
});

test("a symlink in the target's path leads inside the prefix, not to the host's path it names", () => {
  const s = ws.fresh("prefix-symlink");
  const prefix = dir("chroot");
  const outside = dir("host-run"); // an absolute path the chroot's link names
  unmountAfter(outside);
  unmountAfter(`${prefix}${outside}`);
  symlinkSync(outside, `${prefix}/run-link`);
  const made = runCli(["mount", "-t", "tmpfs", "--target-prefix", prefix, "-m", "pfx", "/run-link"]);
  expect(made).toMatchObject({ code: 0, stderr: "" });
  expect(mountpoints(s.path())).toEqual([`${prefix}${outside}`]);
  expect(mountpoints(outside)).toEqual([]);
});

test("one fstab line, and mount -a: the lines' mount points inside the prefix; mounted ones skipped on a second run", () => {
  const s = ws.fresh("prefix-fstab");
  const prefix = dir("chroot");
  for (const m of ["a", "b"]) unmountAfter(`${prefix}/mnt/${m}`);
  const fstab = s.path("fstab");
  writeFileSync(fstab, "pfx-a /mnt/a tmpfs size=1m 0 0\npfx-b /mnt/b tmpfs size=2m,X-mount.mkdir 0 0\n");

  const one = runCli(["mount", "-T", fstab, "--target-prefix", prefix, "-m", "/mnt/a"]);
  expect(one).toMatchObject({ code: 0, stderr: "" });
  expect(mountpoints(s.path())).toEqual([`${prefix}/mnt/a`]);
  expect(runCli(["umount", `${prefix}/mnt/a`]).code).toBe(0);

  const dry = runCli(["mount", "-a", "-n", "--json", "-T", fstab, "--target-prefix", prefix, "-o", "X-mount.mkdir"]);
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout).entries.map((e: { target: string }) => e.target)).toEqual([`${prefix}/mnt/a`, `${prefix}/mnt/b`]);

  for (const round of [1, 2]) {
    const all = runCli(["mount", "-a", "--json", "-T", fstab, "--target-prefix", prefix, "-o", "X-mount.mkdir"]);
    expect([round, all.code, all.stderr]).toEqual([round, 0, ""]);
    const statuses = JSON.parse(all.stdout).entries.map((r: { target: string; status: string }) => [r.target, r.status]);
    const expected = round === 1 ? "mounted" : "skipped";
    expect(statuses).toEqual([[`${prefix}/mnt/a`, expected], [`${prefix}/mnt/b`, expected]]);
  }
  expect(mountpoints(s.path())).toEqual([`${prefix}/mnt/a`, `${prefix}/mnt/b`]);
});

test("a prefix that does not exist: refused, naming it, nothing mounted", () => {
  const s = ws.fresh("prefix-missing");
  const missing = s.path("nope");
  for (const argv of [["-t", "tmpfs", "pfx", "/x"], ["-a", "-T", "/dev/null"]]) {
    const r = runCli(["mount", "--target-prefix", missing, ...argv]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`--target-prefix ${missing}: no such directory`);
  }
  expect(mountpoints(s.path())).toEqual([]);
});
