// statmount(2) (Linux 6.8) and the remount that uses it: a remount keeps lazytime, which statfs
// cannot show, by reading the mount's superblock flags with statmount instead of the whole
// mountinfo table; mountinfo stays the way on kernels without it, under MOUNTKIT_STRATEGY=legacy,
// and where statmount answers ENOSYS or EPERM (a seccomp filter that predates it, injected at the
// seam). The struct layout is checked against what the kernel fills, which the headers here
// (Linux 6.1's) cannot show. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { kernelFacts, probeKernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import type { KernelFacts } from "../../src/plan/facts.ts";
import { MOUNT_ATTR } from "../../src/plan/mount-api-flags.ts";
import { injectFaults, type FaultPlan } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { SB, STATMOUNT } from "../../src/sys/statmount.ts";
import { caught } from "../support/caught.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { mountsAt, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!kernelFacts().statmount) throw new Error(`this file needs statmount(2) (Linux 6.8); the kernel is ${kernelFacts().release}`);
});

const ws = workspace();
const { dir, unmountAfter } = ws;

/** A tmpfs on a new dir t with these options, unmounted after the test. */
function tmpfs(options: string[]): string {
  const t = dir("t");
  mount({ type: "tmpfs", source: "statmount-src", options: ["size=1m", ...options] }, t);
  unmountAfter(t);
  return t;
}

const superOptions = (t: string) => mountsAt(t).at(-1)!.superOptions.split(",");

describe("statmount(2) as the kernel fills it", () => {
  test("every field read agrees with statx, statfs and mountinfo for a tmpfs mounted ro,nosuid,lazytime; SB_BASIC alone fills no mount fields", () => {
    ws.fresh("statmount-layout");
    const t = tmpfs(["ro", "nosuid", "lazytime"]);
    const id = libcSyscalls.statxUniqueMountId(t)!;
    expect(id).toBeGreaterThan(2 ** 31); // unique IDs start above MNT_UNIQUE_ID_OFFSET
    const entry = mountsAt(t)[0]!;
    expect(libcSyscalls.statmount(id, STATMOUNT.SB_BASIC | STATMOUNT.MNT_BASIC)).toEqual({
      mask: STATMOUNT.SB_BASIC | STATMOUNT.MNT_BASIC,
      superblockFlags: SB.RDONLY | SB.LAZYTIME,
      superblockMagic: libcSyscalls.statfs(t).type,
      device: `${entry.major}:${entry.minor}`,
      mountId: id,
      oldMountId: entry.id,
      oldParentId: entry.parent,
      attributes: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID,
    });
    expect(libcSyscalls.statmount(id, STATMOUNT.SB_BASIC)).toMatchObject({ mask: STATMOUNT.SB_BASIC, superblockFlags: SB.RDONLY | SB.LAZYTIME, mountId: 0, oldMountId: 0 });
  });

  test("a mount ID no u64 holds exactly is refused before the call, not rounded to another mount's (id + 0.5 read mount id)", () => {
    ws.fresh("statmount-bad-id");
    const t = tmpfs([]);
    const id = libcSyscalls.statxUniqueMountId(t)!;
    expect(libcSyscalls.statmount(id, STATMOUNT.MNT_BASIC).mountId).toBe(id);
    for (const bad of [id + 0.5, -1, NaN, 2 ** 64]) {
      const err = caught(() => libcSyscalls.statmount(bad, STATMOUNT.MNT_BASIC)) as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect([err.syscall, err.errnoName, err.details]).toEqual(["statmount(2)", "EINVAL", [`not called: mount ID ${bad} is no whole number from 0 to 2^53 - 1`]]);
    }
    expect((caught(() => libcSyscalls.statmount(id, -1)) as SyscallError).details).toEqual(["not called: mask -1 is no whole number from 0 to 2^53 - 1"]);
  });

  test("mountinfo's ID is refused (EINVAL), and a unique ID no longer mounted is ENOENT", () => {
    ws.fresh("statmount-errors");
    const t = tmpfs([]);
    const id = libcSyscalls.statxUniqueMountId(t)!;
    expect(caught(() => libcSyscalls.statmount(mountsAt(t)[0]!.id, STATMOUNT.SB_BASIC))).toMatchObject({ syscall: "statmount(2)", errno: Errno.EINVAL });
    expect(libcSyscalls.statmount(id, STATMOUNT.SB_BASIC).superblockFlags).toBe(0);
    libcSyscalls.umount2(t, 0);
    expect(caught(() => libcSyscalls.statmount(id, STATMOUNT.SB_BASIC))).toMatchObject({ syscall: "statmount(2)", errno: Errno.ENOENT });
  });
});

describe("a remount reads lazytime with statmount, mountinfo where it cannot", () => {
  /** remount,ro the lazytime tmpfs at t through a counting seam: the calls made, and the log. */
  function remountReadOnly(t: string, options: { facts?: KernelFacts; sys?: Syscalls; faults?: FaultPlan } = {}) {
    const sys = injectFaults(options.sys ?? libcSyscalls, options.faults ?? {});
    const log: string[] = [];
    mount({ type: "", source: "", options: ["remount", "ro"] }, t, { sys, log: (l) => log.push(l), ...(options.facts ? { facts: options.facts } : {}) });
    expect(superOptions(t)).toEqual(expect.arrayContaining(["ro", "lazytime"]));
    return { statmount: sys.counts.statmount ?? 0, mountinfoIds: sys.counts.statxMountId ?? 0, log };
  }

  test("on this kernel: one statmount, no mountinfo look-up; lazytime kept", () => {
    ws.fresh("statmount-remount");
    const t = tmpfs(["lazytime"]);
    expect(remountReadOnly(t)).toMatchObject({ statmount: 1, mountinfoIds: 0 });
    // and off stays off: nothing is turned on that was not
    mount({ type: "", source: "", options: ["remount", "rw", "nolazytime"] }, t);
    mount({ type: "", source: "", options: ["remount", "ro"] }, t);
    expect(superOptions(t)).not.toContain("lazytime");
  });

  test("forced to mountinfo: MOUNTKIT_STRATEGY=legacy, and a kernel before 6.8 (facts); no statmount, lazytime kept", () => {
    ws.fresh("statmount-forced");
    const t = tmpfs(["lazytime"]);
    expect(remountReadOnly(t, { facts: probeKernelFacts("legacy") })).toMatchObject({ statmount: 0, mountinfoIds: 1 });
    mount({ type: "", source: "", options: ["remount", "rw"] }, t);
    expect(remountReadOnly(t, { facts: { ...kernelFacts(), statmount: false } })).toMatchObject({ statmount: 0, mountinfoIds: 1 });
  });

  test("statmount refused (ENOSYS, EPERM: a seccomp filter), or statx without a unique ID: mountinfo answers, said in the log", () => {
    ws.fresh("statmount-refused");
    const t = tmpfs(["lazytime"]);
    for (const errno of [Errno.ENOSYS, Errno.EPERM]) {
      const run = remountReadOnly(t, { faults: { statmount: { calls: "always", errno } } });
      expect(run).toMatchObject({ statmount: 1, mountinfoIds: 1 });
      expect(run.log).toContain(`statmount(2): ${errno === Errno.ENOSYS ? "ENOSYS" : "EPERM"}: reading lazytime from mountinfo`);
      mount({ type: "", source: "", options: ["remount", "rw"] }, t);
    }
    const noUniqueId = remountReadOnly(t, { sys: { ...libcSyscalls, statxUniqueMountId: () => undefined } });
    expect(noUniqueId).toMatchObject({ statmount: 0, mountinfoIds: 1 });
    expect(noUniqueId.log.some((l) => l.includes("STATX_MNT_ID_UNIQUE is Linux 6.8"))).toBe(true);
  });

  test("any other statmount failure is the remount's error, not hidden by the fallback", () => {
    ws.fresh("statmount-other-error");
    const t = tmpfs(["lazytime"]);
    const err = caught(() => mount({ type: "", source: "", options: ["remount", "ro"] }, t, { sys: injectFaults(libcSyscalls, { statmount: { calls: [1], errno: Errno.ENOMEM } }) }));
    expect(err).toMatchObject({ syscall: "statmount(2)", errno: Errno.ENOMEM });
    expect(superOptions(t)).toEqual(expect.arrayContaining(["rw", "lazytime"])); // not remounted
  });
});

describe("the binary", () => {
  /** mountkit mount -o remount,ro T under strace: its status, mountinfo opens and statmount calls. */
  function remountTraced(t: string, strategy: string) {
    const log = `${t}.strace`;
    const run = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=all", "-o", log, BINARY, "mount", "-o", "remount,ro", t], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
    const calls = readFileSync(log, "utf8").split("\n");
    return {
      code: run.exitCode,
      stderr: run.stderr.toString(),
      tableReads: calls.filter((line) => /\/mountinfo"/.test(line)).length,
      // strace 6.1 does not know the call by name
      statmounts: calls.filter((line) => /^\d+ +(statmount|syscall_0x1c9)\(/.test(line)).length,
    };
  }

  test("remount,ro of a lazytime tmpfs: statmount and no table read; MOUNTKIT_STRATEGY=legacy: the table once; lazytime kept both ways", () => {
    ws.fresh("statmount-cli");
    const t = tmpfs(["lazytime"]);
    expect(remountTraced(t, "")).toEqual({ code: 0, stderr: "", tableReads: 0, statmounts: 1 });
    expect(superOptions(t)).toEqual(expect.arrayContaining(["ro", "lazytime"]));
    expect(runCli(["mount", "-o", "remount,rw", t]).code).toBe(0);
    expect(remountTraced(t, "legacy")).toEqual({ code: 0, stderr: "", tableReads: 1, statmounts: 0 });
    expect(superOptions(t)).toEqual(expect.arrayContaining(["ro", "lazytime"]));
  });

  test("features names the way chosen, and MOUNTKIT_STRATEGY=legacy's", () => {
    expect(runCli(["features"]).stdout).toMatch(/^remount lazytime +statmount\(2\) sb_flags$/m);
    expect(runCli(["features"]).stdout).toMatch(/^statmount +yes$/m);
    const forced = runCli(["features", "--json"], { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } });
    expect(JSON.parse(forced.stdout)).toMatchObject({ statmount: true, lazytimeRead: "mountinfo" });
  });
});
