// The binary on a minimal host, as an init script runs it: a chroot with only the binary, its
// libraries, /proc and a few /dev nodes; no /etc, /tmp, /sys, shell or util-linux; an empty
// environment. Root, private namespace.
import { beforeAll, expect, test } from "bun:test";
import { chmodSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { detachLoopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { minimalRoot, type MinimalRoot, type MinimalRootOptions } from "../support/minimal-root.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();

function root(label: string, options?: MinimalRootOptions): MinimalRoot {
  const s = ws.fresh(label);
  const r = minimalRoot(s.path("root"), options);
  ws.cleanups.push(r.dispose);
  return r;
}

test("mount -a and umount -a without /etc/fstab: nothing to do, exit 0, as mount(8); -T of a missing file is an error", () => {
  const r = root("no-fstab");
  expect(r.run(["mount", "-a"])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(r.run(["mount", "-a", "-v"])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(r.run(["umount", "-a"])).toEqual({ code: 0, stdout: "", stderr: "" });
  const json = r.run(["mount", "-a", "--json"]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fstab: "/etc/fstab" });
  // mount DIR: "can't find in /etc/fstab", as mount(8)
  expect(r.run(["mount", "/mnt"])).toMatchObject({ code: 1, stderr: expect.stringContaining("mount: /mnt: can't find in /etc/fstab") });
  // a file asked for by name must exist
  expect(r.run(["mount", "-a", "-T", "/etc/fstab"])).toMatchObject({ code: 1, stderr: expect.stringContaining("ENOENT") });
  // findmnt --fstab and --verify check a file: its absence is their error, as findmnt's
  expect(r.run(["findmnt", "-s"]).code).toBe(1);
  expect(r.run(["findmnt", "--verify"]).code).toBe(1);
});

test("loop list without /sys: the attached devices from /proc/partitions and LOOP_GET_STATUS64, as losetup", () => {
  const r = root("no-sysfs-loop", { dev: "host" });
  const image = makeExt4Image(join(r.dir, "img"), 4);
  ws.cleanups.push(() => detachLoopDevicesOf(image));
  const attached = r.run(["loop", "attach", "-r", "/img"]);
  expect(attached).toMatchObject({ code: 0, stderr: "" });
  const device = attached.stdout.trim();
  expect(device).toMatch(/^\/dev\/loop\d+$/);

  const json = r.run(["loop", "list", "--json"]);
  expect(json).toMatchObject({ code: 0, stderr: "" });
  const mine = JSON.parse(json.stdout).loopdevices.filter((d: { name: string }) => d.name === device);
  // the name it was attached with, seen from the chroot: lo_file_name
  expect(mine).toEqual([{ name: device, sizelimit: 0, offset: 0, autoclear: false, ro: true, "back-file": "/img", dio: false, "log-sec": 512 }]);
  const text = r.run(["loop", "list", "/img"]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(new RegExp(`^NAME .*\n${device} +0 +0 +0 +1 /img +0 +512\n$`));

  expect(r.run(["loop", "detach", device])).toMatchObject({ code: 0, stderr: "" });
  expect(r.run(["loop", "list", "/img"])).toEqual({ code: 0, stdout: "", stderr: "" });

  // mount -o loop's device (autoclear) is listed as its file, as mount(8) lists it without sysfs
  expect(r.run(["mount", "-o", "loop", "/img", "/mnt"])).toEqual({ code: 0, stdout: "", stderr: "" });
  const listed = r.run(["mount", "-t", "ext4"]);
  expect(listed.code).toBe(0);
  expect(listed.stdout.split("\n").filter((l) => l.includes(" on /mnt "))).toEqual(["/img on /mnt type ext4 (rw,relatime)"]);
  expect(r.run(["umount", "/mnt"])).toEqual({ code: 0, stdout: "", stderr: "" });
});

const TMPFS_LIST = JSON.stringify([{ type: "tmpfs", source: "tmpfs", target: "/mnt/a", options: ["size=1m"] }]);

test("with-mounts on a host without /tmp: /tmp is made 1777, as every program expects it, and left empty", () => {
  const r = root("no-tmp", { files: { "/list.json": TMPFS_LIST } });
  const ran = r.run(["with-mounts", "/list.json", "--", "/mountkit", "findmnt", "-n", "-o", "FSTYPE,SIZE", "-S", "tmpfs"]);
  expect(ran).toEqual({ code: 0, stdout: "tmpfs    1M\n", stderr: "" });
  expect(statSync(join(r.dir, "tmp")).mode & 0o7777).toBe(0o1777);
  expect(readdirSync(join(r.dir, "tmp"))).toEqual([]);
});

test("with-mounts on a read-only root without /tmp: the error says to set MOUNTKIT_TMPDIR, and that works", () => {
  const r = root("read-only-root", { files: { "/list.json": TMPFS_LIST }, readOnly: true });
  const args = ["with-mounts", "/list.json", "--", "/mountkit", "findmnt", "-n", "-o", "FSTYPE,SIZE", "-S", "tmpfs"];
  const refused = r.run(args);
  expect(refused.code).toBe(32);
  expect(refused.stdout).toBe("");
  expect(refused.stderr).toStartWith("mountkit: temp mount location /tmp: mkdir(2): EROFS (Read-only file system) (");
  expect(refused.stderr).toContain("set MOUNTKIT_TMPDIR to a writable directory");
  // /dev is a tmpfs there: writable
  expect(r.run(args, { MOUNTKIT_TMPDIR: "/dev" })).toEqual({ code: 0, stdout: "tmpfs    1M\n", stderr: "" });
  expect(readdirSync(join(r.dir, "dev")).sort()).toEqual(["null", "zero"]);
});

test("in a chroot the kernel makes no user namespace: an idmapped mount says why; bench skips its idmap workloads, saying why", () => {
  const r = root("chroot-userns");
  const refused = r.run(["mount", "--bind", "-o", "uidmap=0:1000:1,gidmap=0:1000:1", "/mnt", "/mnt"]);
  expect(refused.code).toBe(32);
  expect(refused.stderr).toStartWith("mountkit: create user namespace uidmap=0:1000:1 gidmap=0:1000:1: clone(2): EPERM (Operation not permitted) (");
  expect(refused.stderr).toContain("no user namespace for a chrooted process");

  const listed = r.run(["bench", "--list"]);
  expect(listed.code).toBe(0);
  const idmapLines = listed.stdout.split("\n").filter((l) => /^(userns-create|idmap-)/.test(l));
  expect(idmapLines.length).toBeGreaterThan(1);
  for (const line of idmapLines) expect(line).toMatch(/^\S+ +skipped: no user namespace can be made here \(clone\(2\): EPERM: .*chrooted process/);
});

test("with-mounts without /bin/sh: a script that exists, and fails with ENOENT, is said to lack its interpreter", () => {
  const r = root("no-shell", { files: { "/list.json": TMPFS_LIST, "/plain": "echo hi\n", "/shebang": "#!/bin/sh -e\necho hi\n" } });
  chmodSync(join(r.dir, "plain"), 0o755);
  chmodSync(join(r.dir, "shebang"), 0o755);
  expect(r.run(["with-mounts", "/list.json", "--", "/shebang"])).toEqual({
    code: 127,
    stdout: "",
    stderr: "mountkit: with-mounts: run /shebang: posix_spawn(3): ENOENT (No such file or directory) (/shebang exists, but its #! interpreter /bin/sh does not)\n",
  });
  expect(r.run(["with-mounts", "/list.json", "--", "plain"], { PATH: "/" })).toMatchObject({
    code: 127,
    stderr: expect.stringContaining("(/plain exists, but /bin/sh, which runs a file without #!, does not)"),
  });
  // one that is not there is only that
  expect(r.run(["with-mounts", "/list.json", "--", "/absent"])).toMatchObject({ code: 127, stderr: "mountkit: with-mounts: run /absent: posix_spawn(3): ENOENT (No such file or directory)\n" });
  expect(readdirSync(join(r.dir, "tmp"))).toEqual([]);
});
