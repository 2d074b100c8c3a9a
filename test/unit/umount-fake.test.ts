// umount --fake's answers for umount2, told from a mount table (plan/umount-fake.ts), and the
// capability read that decides its EPERM.
import { describe, expect, test } from "bun:test";
import { Errno } from "../../src/errno.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";
import { MNT } from "../../src/plan/flags.ts";
import { CAP_SYS_ADMIN, hasEffectiveCapability, imagineUmount2 } from "../../src/plan/umount-fake.ts";

function mnt(id: number, parent: number, mountpoint: string): MountInfo {
  return { id, parent, major: 0, minor: id, root: "/", mountpoint, options: "rw", optional: [], fstype: "tmpfs", source: `t${id}`, superOptions: "rw", unbindable: false };
}

// /a with /a/sub on it; /s a stack (low 10, high 12) with /s/x on low and /s/y on high; /f a file's bind
const TABLE = [mnt(1, 1, "/"), mnt(2, 1, "/a"), mnt(3, 2, "/a/sub"), mnt(10, 1, "/s"), mnt(11, 10, "/s/x"), mnt(12, 10, "/s"), mnt(13, 12, "/s/y"), mnt(20, 1, "/f")];

const ids = (answer: ReturnType<typeof imagineUmount2>) => ("removed" in answer ? answer.removed.map((m) => m.id) : answer);

describe("imagineUmount2: umount2's answer from the table", () => {
  test("a mount point with nothing on it: that mount goes, alone", () => {
    expect(ids(imagineUmount2(TABLE, "/a/sub", 0, true))).toEqual([3]);
    expect(ids(imagineUmount2(TABLE, "/f", MNT.FORCE, true))).toEqual([20]);
  });

  test("a stack: the top one (12) goes; without MNT_DETACH not while /s/y is on it (EBUSY)", () => {
    expect(imagineUmount2(TABLE, "/s", 0, true)).toEqual({ errno: Errno.EBUSY });
    expect(ids(imagineUmount2(TABLE.filter((m) => m.id !== 13), "/s", 0, true))).toEqual([12]);
  });

  test("MNT_DETACH takes the mount and everything below it, top first; what the stack covers stays", () => {
    expect(ids(imagineUmount2(TABLE, "/a", MNT.DETACH, true))).toEqual([2, 3]);
    expect(ids(imagineUmount2(TABLE, "/s", MNT.DETACH, true))).toEqual([12, 13]);
  });

  test("no mount point (a path inside a mount, a mount hidden under another): EINVAL", () => {
    for (const path of ["/a/dir", "/s/x", "/elsewhere"]) expect([path, imagineUmount2(TABLE, path, 0, true)]).toEqual([path, { errno: Errno.EINVAL }]);
    expect(imagineUmount2([], "/a", 0, true)).toEqual({ errno: Errno.EINVAL });
  });

  test("without the capability: EPERM before anything else, as can_umount checks may_mount first", () => {
    expect(imagineUmount2(TABLE, "/a/sub", 0, false)).toEqual({ errno: Errno.EPERM });
    expect(imagineUmount2(TABLE, "/a/dir", 0, false)).toEqual({ errno: Errno.EPERM });
  });

  test("MNT_EXPIRE only marks the mount: EAGAIN; a path that is no mount point stays EINVAL", () => {
    expect(imagineUmount2(TABLE, "/a/sub", MNT.EXPIRE, true)).toEqual({ errno: Errno.EAGAIN });
    expect(imagineUmount2(TABLE, "/a/dir", MNT.EXPIRE, true)).toEqual({ errno: Errno.EINVAL });
  });

  test("the table given is not changed", () => {
    const copy = [...TABLE];
    imagineUmount2(TABLE, "/a", MNT.DETACH, true);
    expect(TABLE).toEqual(copy);
  });
});

describe("hasEffectiveCapability: a bit of CapEff in /proc/PID/status", () => {
  const status = (capEff: string) => `Name:\tmountkit\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

  test("root's full set, and a set of CAP_SYS_ADMIN alone: it is there", () => {
    expect(hasEffectiveCapability(status("000001ffffffffff"), CAP_SYS_ADMIN)).toBe(true);
    expect(hasEffectiveCapability(status("0000000000200000"), CAP_SYS_ADMIN)).toBe(true);
  });

  test("an empty set, and one with only the bits beside it: it is not", () => {
    expect(hasEffectiveCapability(status("0000000000000000"), CAP_SYS_ADMIN)).toBe(false);
    expect(hasEffectiveCapability(status("ffffffffffdfffff"), CAP_SYS_ADMIN)).toBe(false);
  });

  test("bits above 32 are read (CAP_CHECKPOINT_RESTORE, 40), and a bit beyond the digits is not set", () => {
    expect(hasEffectiveCapability(status("0000010000000000"), 40)).toBe(true);
    expect(hasEffectiveCapability(status("0000010000000000"), 39)).toBe(false);
    expect(hasEffectiveCapability(status("1"), 8)).toBe(false);
  });

  test("no CapEff line (CapPrm is not it): undefined, nothing told", () => {
    expect(hasEffectiveCapability("Name:\tx\nCapPrm:\t000001ffffffffff\n", CAP_SYS_ADMIN)).toBeUndefined();
  });
});
