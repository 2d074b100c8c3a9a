import { describe, expect, test } from "bun:test";
import { errnoCode, errnoMessage, errnoName, Errno } from "../../src/errno.ts";
import { exitCodeFor, PlanError, quotePath, SyscallError, BatchError } from "../../src/errors.ts";
import { factsForVersion, parseKernelRelease, parseStrategy } from "../../src/plan/facts.ts";
import { formatFlags, lockedMountFlags, MNT, MS, ST, statfsFlagsToMs } from "../../src/plan/flags.ts";
import { runningInUserNamespace } from "../../src/ops/features.ts";

describe("kernel constants", () => {
  test("MS_* values match <sys/mount.h>", () => {
    expect<number[]>([MS.RDONLY, MS.NOSUID, MS.NODEV, MS.NOEXEC, MS.REMOUNT, MS.BIND, MS.REC]).toEqual([1, 2, 4, 8, 32, 4096, 16384]);
    expect<number[]>([MS.UNBINDABLE, MS.PRIVATE, MS.SLAVE, MS.SHARED]).toEqual([1 << 17, 1 << 18, 1 << 19, 1 << 20]);
    expect<number[]>([MS.RELATIME, MS.STRICTATIME, MS.LAZYTIME, MS.NOSYMFOLLOW]).toEqual([1 << 21, 1 << 24, 1 << 25, 256]);
    expect<number[]>([MNT.FORCE, MNT.DETACH, MNT.EXPIRE, MNT.NOFOLLOW]).toEqual([1, 2, 4, 8]);
  });
  test("errno table", () => {
    expect(errnoName(16)).toBe("EBUSY");
    expect(errnoMessage(16)).toBe("Device or resource busy");
    expect(errnoName(11)).toBe("EAGAIN");
    expect(errnoCode("EWOULDBLOCK")).toBe(11);
    expect(errnoName(9999)).toBe("E9999");
    for (const [name, code] of Object.entries(Errno)) expect(errnoName(code)).toBe(name);
  });
});

describe("statfs ST_* -> MS_*", () => {
  test("ST_RELATIME (0x1000) maps to MS_RELATIME (1<<21), not to MS_BIND", () => {
    expect(statfsFlagsToMs(ST.RELATIME)).toBe(MS.RELATIME);
    expect(statfsFlagsToMs(ST.NOSYMFOLLOW)).toBe(MS.NOSYMFOLLOW);
    expect(statfsFlagsToMs(ST.RDONLY | ST.NOSUID | ST.NODEV | ST.NOEXEC)).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  });
  test("locked flags use flag values (containerd ranged over indices 0..6 and got 0)", () => {
    // a source mounted ro,nosuid,nodev,noexec,relatime
    const st = ST.RDONLY | ST.NOSUID | ST.NODEV | ST.NOEXEC | ST.RELATIME | ST.VALID;
    expect(lockedMountFlags(st)).toBe(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME);
    expect(lockedMountFlags(ST.SYNCHRONOUS)).toBe(0);
  });
  test("formatFlags names every bit", () => {
    expect(formatFlags(MS.BIND | MS.REC)).toBe("MS_BIND|MS_REC");
    expect(formatFlags(0)).toBe("0");
    expect(formatFlags(MNT.DETACH, MNT, "MNT_")).toBe("MNT_DETACH");
    expect(formatFlags(1 << 30)).toBe("0x40000000");
  });
});

describe("kernel facts", () => {
  test("releases", () => {
    expect(parseKernelRelease("6.18.44-fc-v669")).toEqual([6, 18, 44]);
    expect(parseKernelRelease("5.4")).toEqual([5, 4, 0]);
    expect(parseKernelRelease("garbage")).toEqual([0, 0, 0]);
    // read by hand now: what the leading digits and dots give, and nothing past them
    expect(["6", "6.", "6.x", "6..1", "6.18-rc1", "6.18.44.1", "4.19.0-25-amd64", "6.1a.2", ".6.1", ""].map(parseKernelRelease)).toEqual([
      [6, 0, 0], [6, 0, 0], [6, 0, 0], [6, 0, 0], [6, 18, 0], [6, 18, 44], [4, 19, 0], [6, 1, 0], [0, 0, 0], [0, 0, 0],
    ]);
  });
  test("feature bits follow the version; the strategy follows overlay lowerdir+", () => {
    const old = factsForVersion("5.10.0");
    expect([old.mountApi, old.mountSetattr, old.loopConfigure, old.overlayLowerdirAppend, old.strategy]).toEqual([true, false, true, false, "legacy"]);
    const now = factsForVersion("6.8.0");
    expect([now.mountSetattr, now.overlayLowerdirAppend, now.strategy, now.strategySource]).toEqual([true, true, "fd", "kernel"]);
    const forced = factsForVersion("6.8.0", { strategy: "legacy" });
    expect([forced.strategy, forced.strategySource]).toEqual(["legacy", "environment"]);
  });
  test("MOUNTKIT_STRATEGY", () => {
    expect(parseStrategy(undefined)).toBeUndefined();
    expect(parseStrategy("")).toBeUndefined();
    expect(parseStrategy("fd")).toBe("fd");
    expect(() => parseStrategy("fast")).toThrow(PlanError);
  });
  test("user namespace detection from uid_map", () => {
    expect(runningInUserNamespace("         0          0 4294967295\n")).toBe(false);
    expect(runningInUserNamespace("         0       1000          1\n")).toBe(true);
    expect(runningInUserNamespace("0 100000 65536\n65536 200000 1000\n")).toBe(true);
  });
});

describe("errors", () => {
  test("a SyscallError names action, syscall, errno name and message", () => {
    const e = new SyscallError("mount(2)", 22, ["/x"]).withAction("mount overlay on /x");
    expect(e.message).toBe("mount overlay on /x: mount(2): EINVAL (Invalid argument)");
    expect(e.toJSON()).toMatchObject({ kind: "syscall", syscall: "mount(2)", errno: 22, errnoName: "EINVAL", paths: ["/x"] });
  });
  test("exit codes follow util-linux", () => {
    expect(exitCodeFor(new PlanError("x"))).toBe(1);
    expect(exitCodeFor(new SyscallError("mount(2)", 1))).toBe(32);
    expect(exitCodeFor(new BatchError("x", [new PlanError("a")], 1))).toBe(64);
    expect(exitCodeFor(new BatchError("x", [new PlanError("a")], 0))).toBe(32);
    expect(exitCodeFor(new Error("boom"))).toBe(2);
  });

  test("a BatchError names its action once, before each failure's message", () => {
    const failures = [new PlanError("mount all: entry 2: bad"), new PlanError("something else")];
    expect(new BatchError("mount all", failures, 1).message).toBe("mount all: entry 2: bad; something else");
  });
  test("paths that would break a line are quoted", () => {
    expect(quotePath("/a b")).toBe("/a b");
    expect(quotePath("/a\nb")).toBe('"/a\\nb"');
    expect(quotePath("/a\\b")).toBe('"/a\\\\b"');
    // DEL and C1 (CSI), which JSON.stringify leaves raw, are quoted and escaped too
    expect(quotePath("/a\u009b2Jb\u007f")).toBe('"/a\\u009b2Jb\\u007f"');
    // an empty path is shown as one ("can't find in \"\""), not as nothing
    expect(quotePath("")).toBe('""');
  });
});
