// Exports of the package entry point that no other test named: each checked here through
// src/index.ts, as an embedder imports them, for the behaviour its doc comment promises.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, symlinkSync, mkdirSync, rmdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { tmpdir } from "node:os";
import {
  BatchError,
  Errno,
  HelperError,
  PlanError,
  SyscallError,
  TEMP_DIR_PREFIX,
  UNMOUNT_BUSY,
  canonicalRoot,
  formatExec,
  helperExitStatus,
  joinUnderRoot,
  makeTempDir,
  readMountInfoFile,
  resolveInRoot,
  retryAsync,
  retrySync,
  targetInPrefix,
  tempMountLocation,
  unquoteOption,
  withBatch,
  withPolicy,
  type MountedBatch,
} from "../../src/index.ts";

const NO_PAUSE = withPolicy(UNMOUNT_BUSY, { attempts: 3, delayMs: 0, jitterPerAttemptMs: 0 });
const busy = () => new SyscallError("umount2(2)", Errno.EBUSY, ["/x"]);

describe("retrySync / retryAsync", () => {
  test("an errno of the policy is tried again, up to its attempts, then thrown", async () => {
    const tries: number[] = [];
    expect(() => retrySync(NO_PAUSE, (n) => { tries.push(n); throw busy(); })).toThrow(SyscallError);
    expect(tries).toEqual([1, 2, 3]);
    tries.length = 0;
    expect(retrySync(NO_PAUSE, (n) => { tries.push(n); if (n < 2) throw busy(); return "done"; })).toBe("done");
    expect(tries).toEqual([1, 2]);
    tries.length = 0;
    await expect(retryAsync(NO_PAUSE, async (n) => { tries.push(n); throw busy(); })).rejects.toThrow(SyscallError);
    expect(tries).toEqual([1, 2, 3]);
  });

  test("another errno, or an error that is none, is thrown at once", async () => {
    let tries = 0;
    expect(() => retrySync(NO_PAUSE, () => { tries++; throw new SyscallError("umount2(2)", Errno.EPERM, ["/x"]); })).toThrow(/EPERM/);
    expect(() => retrySync(NO_PAUSE, () => { tries++; throw new Error("plain"); })).toThrow("plain");
    await expect(retryAsync(NO_PAUSE, () => { tries++; throw new Error("plain"); })).rejects.toThrow("plain");
    expect(tries).toBe(3);
  });
});

describe("paths inside a root", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  test("joinUnderRoot is lexical: .. stops at the root, a symlink is not followed", () => {
    expect(joinUnderRoot("/r", "../../etc/x")).toBe("/r/etc/x");
    expect(joinUnderRoot("/r", "")).toBe("/r");
    expect(joinUnderRoot("/r", "/a/./b/")).toBe("/r/a/b");
    expect(joinUnderRoot("/", "")).toBe("/");
  });

  test("resolveInRoot and targetInPrefix follow a symlink inside the root, never out of it", () => {
    root = mkdtempSync(join(tmpdir(), "mountkit-unit-root-"));
    const canonical = canonicalRoot(root);
    mkdirSync(join(root, "etc"));
    symlinkSync("/etc", join(root, "abs"));
    symlinkSync("../../..", join(root, "up"));
    expect(resolveInRoot(canonical, "abs/passwd")).toBe(join(canonical, "etc/passwd"));
    expect(resolveInRoot(canonical, "up/etc")).toBe(join(canonical, "etc"));
    expect(targetInPrefix(root, "/abs")).toBe(join(canonical, "etc"));
  });

  test("canonicalRoot of a missing directory is a PlanError naming it", () => {
    root = mkdtempSync(join(tmpdir(), "mountkit-unit-root-"));
    const missing = join(root, "gone");
    expect(() => canonicalRoot(missing)).toThrow(PlanError);
    expect(() => canonicalRoot(missing, "--target-prefix")).toThrow(`--target-prefix ${missing}: no such directory`);
  });
});

describe("makeTempDir", () => {
  test("a new 0700 dir in the temp location, named by prefix, kind and pid; the caller removes it", () => {
    const dir = makeTempDir("unittest");
    try {
      expect(dirname(dir)).toBe(tempMountLocation());
      expect(basename(dir).startsWith(`${TEMP_DIR_PREFIX}unittest-${process.pid}-`)).toBe(true);
      const st = statSync(dir);
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o777).toBe(0o700);
      const second = makeTempDir("unittest");
      rmdirSync(second);
      expect(second).not.toBe(dir); // each call its own
    } finally {
      rmdirSync(dir);
    }
  });

  test("a kind that could leave the name's shape (a slash, upper case) is a PlanError", () => {
    expect(() => makeTempDir("../x")).toThrow(PlanError);
    expect(() => makeTempDir("Mount")).toThrow(/temp dir kind must be lower-case letters and digits/);
  });
});

describe("withBatch", () => {
  function fakeBatch(release: () => void): MountedBatch & { releases: number } {
    const batch = { root: "/", results: [], targets: [], warnings: [], releases: 0, release() { batch.releases++; release(); } };
    return batch as unknown as MountedBatch & { releases: number };
  }

  test("fn's result, after the batch is released once", async () => {
    const batch = fakeBatch(() => {});
    expect(await withBatch(batch, async () => 42)).toBe(42);
    expect(batch.releases).toBe(1);
  });

  test("fn's error unchanged when the release succeeds", async () => {
    const boom = new Error("boom");
    const batch = fakeBatch(() => {});
    await expect(withBatch(batch, () => { throw boom; })).rejects.toBe(boom);
    expect(batch.releases).toBe(1);
  });

  test("fn and the release both failing: the release's error, fn's message after it and fn's error as its cause", async () => {
    const boom = new Error("boom");
    const batch = fakeBatch(() => { throw new BatchError("release", [busy()], 0); });
    const err = await withBatch(batch, () => { throw boom; }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchError);
    expect((err as Error).message).toEndWith(": boom");
    expect((err as Error).cause).toBe(boom);
  });
});

test("readMountInfoFile parses a mountinfo file: this process's has the root mount", () => {
  const mounts = readMountInfoFile("/proc/self/mountinfo");
  expect(mounts.some((m) => m.mountpoint === "/")).toBe(true);
  expect(() => readMountInfoFile("/proc/self/no-such-file")).toThrow(/ENOENT/);
});

test("unquoteOption drops an option's double quotes, as fsconfig reads the value", () => {
  expect(unquoteOption('context="system_u:object_r:tmp_t:s0:c1,c2"')).toBe("context=system_u:object_r:tmp_t:s0:c1,c2");
  expect(unquoteOption("size=1m")).toBe("size=1m");
});

test("helperExitStatus: a failed helper's own non-zero status, else undefined", () => {
  const failed = (status: number | null) => new HelperError("mount.x failed", "mount.x", ["mount.x"], status, "");
  expect(helperExitStatus(failed(32))).toBe(32);
  expect(helperExitStatus(failed(0))).toBeUndefined();
  expect(helperExitStatus(failed(null))).toBeUndefined(); // killed by a signal
  expect(helperExitStatus(busy())).toBeUndefined();
});

test("formatExec prints an execve call, a placeholder path unquoted", () => {
  expect(formatExec("/sbin/mount.fuse3", ["mount.fuse3", "a b", "/x"])).toBe('execve("/sbin/mount.fuse3", ["mount.fuse3", "a b", "/x"])');
  expect(formatExec("<mount.fuse3>", ["mount.fuse3"])).toBe('execve(<mount.fuse3>, ["mount.fuse3"])');
});
