// findmnt --verify through the binary: an fstab checked against this system, a real ext4
// image on a loop device included (its superblock's type and UUID). Root, private namespace;
// the loop device is released whatever happens.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { filesystemTypesOfKernel } from "../../src/ops/fstab-verify.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { loopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());

test("a real loop device: its on-disk type and UUID are read; a bad option is the kernel's refusal; exit 1 on errors, 0 on warnings alone", () => {
  s = scratch("verify");
  const d = s.dir;
  const image = makeExt4Image(s.path("fs.img"), 8, ["-U", "0b1e2c3d-1111-4222-8333-444455556666"]);
  const loop = attachLoop(image);
  try {
    mkdirSync(`${d}/data`);
    mkdirSync(`${d}/scratch`);
    const fstab = s.path("fstab");
    writeFileSync(
      fstab,
      [
        `${loop.device} ${d}/data auto defaults 0 2`,
        `${loop.device} ${d}/data xfs noauto 0 0`,
        `UUID=0b1e2c3d-1111-4222-8333-444455556666 ${d}/data ext4 noauto 0 0`,
        `tmpfs ${d}/scratch tmpfs mode=banana`,
        `tmpfs ${d}/gone tmpfs defaults`,
        "",
      ].join("\n"),
    );
    const r = runCli(["findmnt", "--verify", "-F", fstab, "--verbose"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      [
        `${d}/data`,
        "   [ ] on-disk type: ext4",
        `${d}/data`,
        "   [W] target specified more than once (also line 1): mounted on top of it",
        "   [W] type xfs does not match the on-disk ext4",
        `${d}/data`,
        "   [W] target specified more than once (also line 1): mounted on top of it",
        `   [ ] source UUID=0b1e2c3d-1111-4222-8333-444455556666 is ${loop.device}`,
        `${d}/scratch`,
        `   [E] option "mode=banana" refused by the kernel: tmpfs: Bad value for 'mode'`,
        `${d}/gone`,
        "   [E] target does not exist",
        "",
        "0 parse errors, 2 errors, 3 warnings",
        "",
      ].join("\n"),
    );

    const json = runCli(["findmnt", "--verify", "-F", fstab, "--json", "-t", "ext4,auto"]);
    expect(json.code).toBe(0); // the two errors are on tmpfs lines, left out by -t
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, parseErrors: [], errors: 0, warnings: 1 });
    expect(doc.filesystems.map((f: { line: number }) => f.line)).toEqual([1, 3]);
    expect(mountsUnder(d)).toEqual([]); // nothing was mounted to check it
  } finally {
    loop.close();
    detachLoop(loop.device);
  }
  expect(loopDevicesOf(image)).toEqual({ sysfs: [], losetup: [] });
});

test("a clean fstab: success, exit 0; a parse error is exit 1 and the other lines are still checked; a missing file is exit 1", () => {
  s = scratch("verify-clean");
  const d = s.dir;
  mkdirSync(`${d}/t`);
  const clean = s.path("clean");
  writeFileSync(clean, `# nothing wrong\ntmpfs ${d}/t tmpfs size=1m,mode=0755\nproc ${d}/t/proc proc defaults,X-mount.mkdir\n`);
  const ok = runCli(["findmnt", "--verify", "--tab-file", clean]);
  expect([ok.code, ok.stdout]).toEqual([0, "Success, no errors or warnings detected\n"]);

  const broken = s.path("broken");
  writeFileSync(broken, `tmpfs ${d}/t tmpfs defaults\nonly-two fields\ntmpfs relative tmpfs defaults\n`);
  const bad = runCli(["findmnt", "--verify", "-F", broken]);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toBe(
    `   [E] parse error: line 2: 2 fields, expected at least 3 (source, target, type)\nrelative\n   [E] target "relative" is not an absolute path\n\n1 parse error, 1 error, 0 warnings\n`,
  );

  const missing = runCli(["findmnt", "--verify", "-F", s.path("nowhere")]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`read ${s.path("nowhere")}: open(2): ENOENT (No such file or directory)`);
});

test("the kernel's types: /proc/filesystems, and the filesystem modules it could load (with the names they register)", () => {
  s = scratch("verify-modules");
  const modules = s.path("modules");
  mkdirSync(join(modules, "isofs"), { recursive: true });
  writeFileSync(join(modules, "isofs", "isofs.ko.xz"), "");
  mkdirSync(join(modules, "zonefs"));
  writeFileSync(join(modules, "zonefs", "zonefs.ko"), "");
  const types = filesystemTypesOfKernel(modules);
  expect(types.has("tmpfs")).toBe(true); // from /proc/filesystems
  expect(types.has("iso9660")).toBe(true);
  expect(types.has("zonefs")).toBe(true);
  expect(types.has("no-such-fs")).toBe(false);
});

test("a block device that cannot be read (a node of a major no driver has): type auto is an error, a given type is not checked against the disk", () => {
  s = scratch("verify-unreadable");
  const d = s.dir;
  mkdirSync(`${d}/m`);
  const node = s.path("nodev");
  // major 240 is reserved for local use: no driver, so open(2) fails (ENXIO) without creating anything
  const made = Bun.spawnSync(["mknod", node, "b", "240", "0"]);
  expect(made.exitCode).toBe(0);
  expect(() => openSync(node, "r")).toThrow(/ENXIO|EACCES/); // EACCES where the scratch dir's filesystem is nodev
  const fstab = s.path("fstab");
  writeFileSync(fstab, [`${node} ${d}/m auto defaults`, `${node} ${d}/m ext4 noauto`, ""].join("\n"));
  const r = runCli(["findmnt", "--verify", "-F", fstab, "--verbose"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(
    [
      `${d}/m`,
      `   [E] cannot detect the on-disk filesystem type of ${node}`,
      `${d}/m`,
      "   [W] target specified more than once (also line 1): mounted on top of it",
      "",
      "0 parse errors, 1 error, 1 warning",
      "",
    ].join("\n"),
  );
});
