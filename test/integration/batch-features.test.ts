// Loop devices and idmapped mounts in a batch: one user namespace per distinct mapping, and a
// failure later in the batch undoes them all (the loop device detached, nothing mounted).
import { afterEach, beforeAll, expect, test } from "bun:test";
import { chownSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { closeUsernsFds } from "../../src/ops/idmap.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { recordingChildren } from "../support/processes.ts";
import { expectFreed, loopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountTable, mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);
let s: ReturnType<typeof scratch>;
afterEach(() => {
  closeUsernsFds();
  s.dispose();
});

const MAP = "0:100000:65536";
const idmapped = (source: string, target: string, map = MAP) => ({
  type: "bind",
  source,
  target,
  options: ["rbind", `uidmap=${map}`, `gidmap=${map}`],
});

function fixture() {
  s = scratch("batchfeat");
  const root = s.path("root");
  for (const d of ["root/data", "root/a", "root/b", "root/c", "root/d", "src"]) mkdirSync(s.path(d), { recursive: true });
  writeFileSync(s.path("src/owned"), "x");
  chownSync(s.path("src/owned"), 0, 0);
  const img = makeExt4Image(s.path("disk.img"));
  const mounts = [
    { type: "tmpfs", source: "batch", target: "/", options: ["size=1m"] },
    { type: "ext4", source: img, target: "/data", options: ["loop", "ro"] },
    idmapped(s.path("src"), "/a"),
    idmapped(s.path("src"), "/b"),
    idmapped(s.path("src"), "/c", "0:200000:65536"),
  ];
  return { root, img, mounts };
}

test("one user namespace per distinct mapping; the loop mount and the idmaps all work", async () => {
  const { root, img, mounts } = fixture();
  // The tmpfs on the root hides root/a..d: mkdir creates them inside it.
  closeUsernsFds();
  const sys = recordingChildren(libcSyscalls);
  const batch = mountAll(mounts, root, { sys, mkdir: true });
  try {
    expect(sys.cloned).toHaveLength(2); // two distinct mappings, three idmapped entries
    expect(statSync(`${root}/a/owned`).uid).toBe(100000);
    expect(statSync(`${root}/c/owned`).uid).toBe(200000);
    expect(loopDevicesOf(img).sysfs).toHaveLength(1);
    const table = mountsUnder(root);
    expect(table.map((m) => m.mountpoint)).toEqual([root, ...["/data", "/a", "/b", "/c"].map((t) => root + t)]);
    expect(table[1]!.source).toBe(loopDevicesOf(img).sysfs[0]!);
    expect(table.slice(2).every((m) => m.options.split(",").includes("idmapped"))).toBe(true);
  } finally {
    batch.release();
  }
  expect(mountsUnder(root)).toEqual([]);
  await expectFreed(img);
});

test("a failure after them undoes the loop device and the idmapped mounts; the table is as before", async () => {
  const { root, img, mounts } = fixture();
  const before = mountTable();
  const failing = [...mounts, { type: "tmpfs", source: "last", target: "/d", options: [] }];
  // the last entry's mount(2) fails: the tmpfs, the loop mount and 3 idmapped trees came before
  const sys = injectFaults(libcSyscalls, { mount: { calls: [3], errno: Errno.ENOSPC } });
  let err: unknown;
  try {
    mountAll(failing, root, { sys, mkdir: true });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).message).toMatch(/entry 6/);
  expect(mountTable()).toEqual(before);
  await expectFreed(img);
});
