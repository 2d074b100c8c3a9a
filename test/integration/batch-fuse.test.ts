// A FUSE entry (fuse-overlayfs through mount.fuse3) in a batch: planned and run by the same
// planMount/runPlan path as a single mount, and rolled back through its own undo action
// (an unmount) when a later entry fails. Root, private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { HelperError, SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";
import { waitForDaemonsGone } from "../support/fuse-daemons.ts";

beforeAll(() => {
  requireRootNamespace();
  // npm test installs these (scripts/test-deps.sh); without them this file must fail, not skip.
  for (const name of ["mount.fuse3", "fusermount3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
});

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountRecursive(s.dir);
  waitForDaemonsGone(s.dir);
  s.dispose();
});

function batch(): { root: string; mounts: Mount[] } {
  s = scratch("bfuse");
  const root = s.path("root");
  for (const d of ["lower", "upper", "work"]) mkdirSync(s.path(d));
  mkdirSync(root);
  writeFileSync(s.path("lower", "from-lower"), "lower\n");
  return {
    root,
    mounts: [
      { type: "tmpfs", source: "first", target: "/a", options: [] },
      {
        type: "fuse3.fuse-overlayfs",
        source: "overlay",
        target: "/merged",
        options: [`lowerdir=${s.path("lower")}`, `upperdir=${s.path("upper")}`, `workdir=${s.path("work")}`],
      },
      { type: "tmpfs", source: "last", target: "/c", options: [] },
    ],
  };
}

test("a FUSE entry mounts in a batch and release() unmounts it", () => {
  const { root, mounts } = batch();
  const done = mountAll(mounts, root, { mkdir: true });
  expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["tmpfs", "fuse.fuse-overlayfs", "tmpfs"]);
  expect(readFileSync(join(root, "merged/from-lower"), "utf8")).toBe("lower\n");
  done.release();
  expect(mountsUnder(root)).toEqual([]);
  waitForDaemonsGone(s.dir);
});

test("a failure after a FUSE entry rolls it back too: mountinfo as before, daemon gone", () => {
  const { root, mounts } = batch();
  const before = readFileSync("/proc/self/mountinfo", "utf8");
  const sys = injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EIO, path: join(root, "c") } });
  let err: unknown;
  try {
    mountAll(mounts, root, { mkdir: true, sys });
  } catch (e) {
    err = e;
  }
  expect((err as SyscallError).message).toStartWith(`mount all: entry 3: mount last on ${root}/c: mount(2): EIO`);
  expect(sys.log.some((c) => c[0] === "umount2" && c[1] === join(root, "merged"))).toBe(true);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(before);
  expect(readdirSync(root)).toEqual([]);
  waitForDaemonsGone(s.dir);
});

test("a FUSE helper that is not installed refuses the batch before any mount", () => {
  const { root, mounts } = batch();
  const before = readFileSync("/proc/self/mountinfo", "utf8");
  let err: unknown;
  try {
    mountAll(mounts, root, { mkdir: true, helperDir: s.path("empty-helper-dir") });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HelperError);
  expect((err as Error).message).toMatch(/^mount all: entry 2: .*mount helper mount.fuse3 not found/);
  expect(readFileSync("/proc/self/mountinfo", "utf8")).toBe(before);
  expect(existsSync(join(root, "a"))).toBe(false);
});
