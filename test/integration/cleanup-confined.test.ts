// cleanupTempMounts runs as root over a location others can write to (/tmp): a user can plant
// a "mountkit-*" directory there, and rename it, or a directory in it, and put a symlink in
// its place while the cleanup runs. Nothing outside the location may then be unmounted, rmdir'd
// or unlinked. The swaps are made at the syscall seam, right before a chosen call, by a wrapper
// that then makes the real call; everything else is the real kernel. Root, private namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { resetTempMountLocation, setTempMountLocation } from "../../src/ops/temp-location.ts";
import { cleanupTempMounts } from "../../src/ops/temp-cleanup.ts";
import { unmountAll, unmountRecursive } from "../../src/ops/unmount.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
let location: string;
let outside: string;
afterEach(() => {
  unmountRecursive(location);
  unmountAll(join(outside, "m"));
  resetTempMountLocation();
  s.dispose();
});

/**
 * A location, and a directory outside it holding what a redirected cleanup would hit: a
 * mount, an empty directory and a symlink.
 */
function layout(label: string) {
  s = scratch(label);
  location = setTempMountLocation(s.path("tmp"));
  outside = s.path("outside");
  mkdirSync(join(outside, "m"), { recursive: true });
  mkdirSync(join(outside, "empty"));
  symlinkSync("/etc/passwd", join(outside, "link"));
  mount({ type: "tmpfs", source: "outside", options: [] }, join(outside, "m"));
}

/** The outside directory as layout() made it: its entries, and its mount. */
function expectOutsideUntouched() {
  expect(readdirSync(outside).sort()).toEqual(["empty", "link", "m"]);
  expect(mountsUnder(outside).map((m) => m.source)).toEqual(["outside"]);
}

/** The real seam, with swap run once right before the nth umount2. */
function swapBeforeUmount(n: number, swap: () => void): Syscalls {
  let calls = 0;
  return {
    ...libcSyscalls,
    umount2(path, flags) {
      if (++calls === n) swap();
      return libcSyscalls.umount2(path, flags);
    },
  };
}

/** rename path to path + ".moved" and put a symlink to target in its place. */
function swapForLink(path: string, target: string) {
  renameSync(path, `${path}.moved`);
  symlinkSync(target, path);
}

describe("cleanupTempMounts never acts outside the location", () => {
  test("a mountkit-* dir swapped for a symlink out of the location after the table was read: nothing outside is unmounted or removed", () => {
    layout("confined-top");
    const planted = join(location, "mountkit-mount-abc123");
    mkdirSync(join(planted, "m"), { recursive: true });
    mkdirSync(join(planted, "empty"));
    mount({ type: "tmpfs", source: "planted", options: [] }, join(planted, "m"));
    const result = cleanupTempMounts({ sys: swapBeforeUmount(1, () => swapForLink(planted, outside)) });
    expectOutsideUntouched();
    // the name was opened before the swap: what was unmounted is the planted dir's own mount;
    // the next look for a mount stacked there finds the link, and stops
    expect(mountsUnder(`${planted}.moved`)).toEqual([]);
    expect(result.removed).toEqual([]);
    expect(result.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^unmount .*mountkit-mount-abc123\/m: open\(2\): ENOTDIR/),
      expect.stringMatching(/mountkit-mount-abc123.*left in place, a mount inside it could not be unmounted/),
    ]);
    expect((result.warnings[0] as SyscallError).paths).toEqual([planted]);
  });

  test("a directory on a nested mount's path swapped for a symlink before its unmount: refused, left and said", () => {
    layout("confined-nested");
    const planted = join(location, "mountkit-mount-def456");
    mkdirSync(join(planted, "first"), { recursive: true });
    mkdirSync(join(planted, "a", "m"), { recursive: true });
    mount({ type: "tmpfs", source: "first", options: [] }, join(planted, "first"));
    mount({ type: "tmpfs", source: "nested", options: [] }, join(planted, "a", "m"));
    const result = cleanupTempMounts({ sys: swapBeforeUmount(1, () => swapForLink(join(planted, "a"), outside)) });
    expectOutsideUntouched();
    // the first mount went; the nested one stays where the rename put it, inside the location
    expect(mountsUnder(planted).map((m) => [m.mountpoint, m.source])).toEqual([[`${planted}/a.moved/m`, "nested"]]);
    expect(result.unmounted).toBe(1);
    expect(result.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/^unmount .*\/a\/m: open\(2\): ENOTDIR/),
      expect.stringMatching(/mountkit-mount-def456.*left in place, a mount inside it could not be unmounted/),
    ]);
  });

  test("a directory swapped for a symlink while the tree is removed: its fd holds the real one, nothing outside is removed", () => {
    layout("confined-remove");
    const planted = join(location, "mountkit-idmap-ghi789");
    mkdirSync(join(planted, "sub", "deeper"), { recursive: true });
    symlinkSync("/etc/passwd", join(planted, "sub", "link"));
    let swapped = false;
    const sys: Syscalls = {
      ...libcSyscalls,
      open(path, flags, mode) {
        const fd = libcSyscalls.open(path, flags, mode);
        if (!swapped && path.endsWith("/sub")) {
          swapped = true;
          swapForLink(join(planted, "sub"), outside);
        }
        return fd;
      },
    };
    const result = cleanupTempMounts({ sys });
    expect(swapped).toBe(true);
    expectOutsideUntouched();
    // the real sub (now sub.moved) was emptied through its fd; its name is a link now
    expect(readdirSync(planted).sort()).toEqual(["sub", "sub.moved"]);
    expect(readdirSync(join(planted, "sub.moved"))).toEqual([]);
    expect(result.warnings.map((w) => (w as SyscallError).errnoName)).toEqual(["ENOTDIR", "ENOTEMPTY"]);
  });
});
