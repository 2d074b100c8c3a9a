// withMountsFromText's release when fn fails (the library's with-mounts: the CLI's command
// runner reports its own failures and returns a status, so only a library caller's fn throws),
// with --root when a mount fn stacked on a target will not come off, and in a temp root when fn
// swapped a directory on a target's path for a symlink out of it. Root, private mount
// namespace, real mounts; the one failure the kernel cannot give root on demand (umount2 EPERM,
// as for a mount a user namespace locked) is injected at the syscall seam.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, renameSync, symlinkSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { BatchError, SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { withMountsFromText } from "../../src/ops/with-mounts.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { mountinfoText, tempLocationScratch, type TempLocationScratch } from "../support/temp-location.ts";

beforeAll(requireRootNamespace);

let s: TempLocationScratch;
let location: string;
afterEach(() => {
  unmountRecursive(s.dir); // anything a failed test left (a root's mounts): the scratch dir is no mount point
  s.dispose();
});
function fresh(label: string) {
  s = tempLocationScratch(label);
  location = s.location;
}
/** A containerd list mounting a tmpfs at each target. */
const tmpfsList = (...targets: string[]) => JSON.stringify(targets.map((target) => ({ type: "tmpfs", source: `wm${target.replaceAll("/", "-")}`, target, options: ["size=1m"] })));

/** What withMountsFromText threw (it must throw). */
async function rejection(run: Promise<unknown>): Promise<unknown> {
  try {
    await run;
  } catch (err) {
    return err;
  }
  throw new Error("withMountsFromText returned: it was expected to throw");
}

describe("fn throws", () => {
  test("in a temp root: every mount, fn's own too, comes off, the temp dir is removed, and fn's error comes back unchanged", async () => {
    fresh("wm-release-temp");
    const before = mountinfoText();
    const mine = new TypeError("the command could not be run");
    let root = "";
    const err = await rejection(
      withMountsFromText(tmpfsList("/a", "/b"), {}, (dir) => {
        root = dir;
        mount({ type: "tmpfs", source: "fn-stacked", options: [] }, `${dir}/b`);
        expect(mountsUnder(dir).map((m) => m.source)).toEqual(["wm-a", "wm-b", "fn-stacked"]);
        throw mine;
      }),
    );
    expect(err).toBe(mine);
    expect(root.startsWith(`${location}/mountkit-mount-`)).toBe(true);
    expect(existsSync(root)).toBe(false);
    expect(readdirSync(location)).toEqual([]);
    expect(mountinfoText()).toBe(before);
  });

  test("with --root: ours and what fn stacked on them come off, a mount there before stays, the targets made are removed", async () => {
    fresh("wm-release-root");
    const root = s.path("root");
    mkdirSync(`${root}/a`, { recursive: true });
    mount({ type: "tmpfs", source: "there-before", options: [] }, `${root}/a`);
    const before = mountinfoText();
    const mine = new TypeError("the command could not be run");
    const err = await rejection(
      withMountsFromText(tmpfsList("/a", "/b"), { root, mkdir: true }, (dir) => {
        mount({ type: "tmpfs", source: "fn-stacked", options: [] }, `${dir}/a`);
        expect(mountsAt(`${root}/a`).map((m) => m.source)).toEqual(["there-before", "wm-a", "fn-stacked"]);
        throw mine;
      }),
    );
    expect(err).toBe(mine);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(root)).toEqual(["a"]); // b was made for the run
    expect(readdirSync(location)).toEqual([]);
    unmountRecursive(`${root}/a`);
  });
});

describe("with --root, a mount fn stacked will not come off", () => {
  test("our mounts at the other targets come off all the same, and so does what fn stacked there; the stuck target is the error", async () => {
    fresh("wm-release-stuck");
    const root = s.path("root");
    mkdirSync(root);
    const before = mountinfoText();
    // umount2 of the mounts at b fails, the lazy one too: what a mount locked by a user
    // namespace gives (EPERM), which root cannot make on demand
    const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EPERM, path: `${root}/b` } });
    const mine = new TypeError("the command could not be run");
    const err = await rejection(
      withMountsFromText(tmpfsList("/a", "/b", "/c"), { root, mkdir: true, sys }, (dir) => {
        for (const target of ["a", "b", "c"]) mount({ type: "tmpfs", source: `fn-${target}`, options: [] }, `${dir}/${target}`);
        throw mine;
      }),
    );
    // b: ours and fn's stay, and its directory, made for the run; a and c are gone
    expect(mountsAt(`${root}/b`).map((m) => m.source)).toEqual(["wm-b", "fn-b"]);
    expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([`${root}/b`, `${root}/b`]);
    expect(readdirSync(root)).toEqual(["b"]);
    expect(err).toBeInstanceOf(BatchError);
    expect((err as BatchError).message).toBe(
      `with-mounts: release ${root}: ${root}/b: umount2(2): EPERM (Operation not permitted); ` +
        `remove created mount point ${root}/b: rmdir(2): EBUSY (Device or resource busy): ${mine.message}`,
    );
    expect((err as BatchError).errors.map((f) => (f instanceof SyscallError ? [f.syscall, f.errnoName] : f.message))).toEqual([
      ["umount2(2)", "EPERM"],
      ["rmdir(2)", "EBUSY"],
    ]);
    expect((err as BatchError).cause).toBe(mine);
    // what was left comes off through the real seam: the table is back to what it was
    unmountRecursive(`${root}/b`);
    expect(mountinfoText()).toBe(before);
  });
});

describe("in a temp root, the command swapped a directory on a target's path for a symlink to a host directory", () => {
  test("the release unmounts inside the temp dir: the host's mount there stays, what is left is reported", async () => {
    fresh("wm-release-swap");
    const outside = s.path("outside");
    mkdirSync(`${outside}/t`, { recursive: true });
    mount({ type: "tmpfs", source: "host-tmpfs", options: [] }, `${outside}/t`);
    let root = "";
    const err = await rejection(
      withMountsFromText(tmpfsList("/a/t"), {}, (dir) => {
        root = dir;
        // what a command may do in the dir it was given: stack on ours, then move a/ aside
        // and leave in its place a link to a host directory with a mount at the same name
        mount({ type: "tmpfs", source: "fn-stacked", options: [] }, `${dir}/a/t`);
        renameSync(`${dir}/a`, `${dir}/a-moved`);
        symlinkSync(outside, `${dir}/a`);
      }),
    );
    // before, the release's unmount of what was stacked at a/t went by path, through the link:
    // it took the host's mount
    expect(mountsAt(`${outside}/t`).map((m) => m.source)).toEqual(["host-tmpfs"]);
    // looked up inside the temp dir, a/ leads nowhere: ours and fn's stay where the rename put
    // them, and the temp dir, which cannot be removed, is the error
    expect(mountsAt(`${root}/a-moved/t`).map((m) => m.source)).toEqual(["wm-a-t", "fn-stacked"]);
    expect(err).toBeInstanceOf(BatchError);
    expect((err as BatchError).message).toBe(
      `temp mount ${root}: release ${root}: remove created mount point ${root}/a/t: openat2(2): ELOOP (Too many levels of symbolic links); ` +
        `remove created mount point ${root}/a: rmdir(2): ENOTDIR (Not a directory)`,
    );
    const left = (err as BatchError).cleanupErrors.map((e) => (e as SyscallError).message);
    expect(left).toEqual([`remove temp mount dir ${root}: rmdir(2): ENOTEMPTY (Directory not empty)`]);
    unmountRecursive(`${root}/a-moved/t`);
    unmountRecursive(`${outside}/t`);
  });
});

describe("the batch's own warnings reach onBatchWarning (with-mounts returns no outcome that could show them)", () => {
  test("a failed close of the fs context that checked an entry's options: said once, the mounts made, fn run, all released; with --root and in a temp root", async () => {
    fresh("wm-batch-warning");
    const root = s.path("root");
    mkdirSync(root);
    const before = mountinfoText();
    for (const options of [{ root, mkdir: true }, {}]) {
      // the first close of the run is the option check's context (fsopen, fsconfig, close)
      const sys = injectFaults(libcSyscalls, { close: { calls: [1], errno: Errno.EIO, when: "after" } });
      const warnings: string[] = [];
      const seen = await withMountsFromText(tmpfsList("/a"), { ...options, sys, onBatchWarning: (w) => warnings.push(w.message) }, (dir) => mountsUnder(dir).map((m) => m.source));
      expect(seen).toEqual(["wm-a"]);
      expect(warnings).toEqual([expect.stringMatching(/^tmpfs: close the fs context that checked its options: close\(2\): EIO/)]);
    }
    expect(mountinfoText()).toBe(before);
  });

  test("a callback that throws: fn is not run and the mounts are released, as when fn throws; with --root and in a temp root", async () => {
    fresh("wm-batch-warning-throws");
    const root = s.path("root");
    mkdirSync(root);
    const before = mountinfoText();
    for (const options of [{ root, mkdir: true }, {}]) {
      const sys = injectFaults(libcSyscalls, { close: { calls: [1], errno: Errno.EIO, when: "after" } });
      let ran = false;
      const thrown = new Error("the caller's callback failed");
      const err = await rejection(
        withMountsFromText(tmpfsList("/a"), { ...options, sys, onBatchWarning: () => { throw thrown; } }, () => {
          ran = true;
        }),
      );
      expect(err).toBe(thrown);
      expect(ran).toBe(false);
      expect(mountinfoText()).toBe(before);
    }
  });
});
