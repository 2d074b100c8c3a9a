// The unmount family against the real kernel; EBUSY injected only where it must be chosen.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, openSync, closeSync, symlinkSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { BatchError, PlanError, SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { UNMOUNT_BUSY, withPolicy } from "../../src/ops/retry.ts";
import { unmount, unmountAll, unmountMounts, unmountRecursive, unmountSubtree } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { MNT } from "../../src/plan/flags.ts";
import { caught } from "../support/caught.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());
const dir = (...parts: string[]) => {
  const p = s.path(...parts);
  mkdirSync(p, { recursive: true });
  return p;
};
const tmpfs = (t: string) => mount({ type: "tmpfs", source: "mk", options: [] }, t);
const quick = withPolicy(UNMOUNT_BUSY, { delayMs: 1 });

describe("unmount", () => {
  test("removes the top mount; not mounted (EINVAL) is not an error", () => {
    s = scratch("um");
    const t = dir("t");
    tmpfs(t);
    expect(unmount(t)).toBe(true);
    expect(mountsUnder(t)).toEqual([]);
    expect(unmount(t)).toBe(false);
  });

  test("EBUSY is retried under the named policy, then succeeds", () => {
    s = scratch("umbusy");
    const t = dir("t");
    tmpfs(t);
    const sys = injectFaults(libcSyscalls, { umount2: { calls: [1, 2, 3], errno: Errno.EBUSY } });
    expect(unmount(t, { sys, retry: quick })).toBe(true);
    expect(sys.counts.umount2).toBe(4);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("EBUSY every time: exactly `attempts` tries, then the error", () => {
    s = scratch("umbusy2");
    const t = dir("t");
    tmpfs(t);
    const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EBUSY } });
    expect(() => unmount(t, { sys, retry: quick })).toThrow(/unmount .*: umount2\(2\): EBUSY/);
    expect(sys.counts.umount2).toBe(UNMOUNT_BUSY.attempts);
    unmount(t);
  });

  test("a real busy mount: EBUSY after retries; lazy detaches it", () => {
    s = scratch("umreal");
    const t = dir("t");
    tmpfs(t);
    const fd = openSync(`${t}/held`, "w");
    try {
      let err: unknown;
      try {
        unmount(t, { retry: withPolicy(quick, { attempts: 3 }) });
      } catch (e) {
        err = e;
      }
      expect((err as SyscallError).errno).toBe(Errno.EBUSY);
      expect(mountsUnder(t)).toHaveLength(1);
      expect(unmount(t, { lazy: true })).toBe(true);
      expect(mountsUnder(t)).toEqual([]);
    } finally {
      closeSync(fd);
    }
  });

  test("a path that does not exist is an ENOENT error naming it", () => {
    s = scratch("umnoent");
    expect(() => unmount(s.path("nope"))).toThrow(/ENOENT/);
  });
});

describe("flags umount2 refuses whatever the target (EINVAL, which the family reads as not mounted)", () => {
  test("MNT_EXPIRE with lazy, an unknown bit: a PlanError before any umount2, the mounts stay (each returned false or 0 before)", () => {
    s = scratch("umflags");
    const t = dir("t");
    tmpfs(t);
    mkdirSync(`${t}/a`);
    tmpfs(`${t}/a`);
    const sys = injectFaults(libcSyscalls, {});
    for (const options of [{ lazy: true, flags: MNT.EXPIRE }, { force: true, flags: MNT.EXPIRE }, { flags: 0x10 }]) {
      for (const call of [() => unmount(t, { sys, ...options }), () => unmountAll(t, { sys, ...options }), () => unmountRecursive(t, { sys, ...options })]) {
        expect(caught(call)).toBeInstanceOf(PlanError);
      }
    }
    expect(sys.counts.umount2 ?? 0).toBe(0);
    expect(mountsUnder(t)).toHaveLength(2);
    // what the kernel would have said: EINVAL, read as "not mounted" while both mounts stand
    expect(() => libcSyscalls.umount2(t, MNT.EXPIRE | MNT.DETACH)).toThrow(/EINVAL/);
    expect(mountsUnder(t)).toHaveLength(2);
    unmountRecursive(t);
  });
});

describe("unmountAll", () => {
  test("peels every stacked mount", () => {
    s = scratch("stack");
    const t = dir("t");
    tmpfs(t);
    tmpfs(t);
    tmpfs(t);
    expect(mountsUnder(t)).toHaveLength(3);
    expect(unmountAll(t)).toBe(3);
    expect(mountsUnder(t)).toEqual([]);
    expect(unmountAll(s.path("missing"))).toBe(0);
  });
});

describe("unmountRecursive", () => {
  test("unmounts everything under a path, deepest first, including under a stack", () => {
    s = scratch("rec");
    const t = dir("t");
    tmpfs(t);
    mkdirSync(`${t}/a/b`, { recursive: true });
    tmpfs(`${t}/a`);
    mkdirSync(`${t}/a/b/c`, { recursive: true });
    tmpfs(`${t}/a/b/c`);
    tmpfs(t); // a stacked mount hides the ones below
    mkdirSync(`${t}/z`);
    tmpfs(`${t}/z`);
    const sys = injectFaults(libcSyscalls, {});
    expect(unmountRecursive(t, { sys })).toBe(5);
    const order = sys.log.filter((c) => c[0] === "umount2").map((c) => c[1]);
    expect(order.indexOf(`${t}/z`)).toBeLessThan(order.lastIndexOf(t));
    expect(mountsUnder(t)).toEqual([]);
  });

  test("every failure is reported, not only the target's", () => {
    s = scratch("recfail");
    const t = dir("t");
    tmpfs(t);
    for (const d of ["x", "y"]) {
      mkdirSync(`${t}/${d}`);
      tmpfs(`${t}/${d}`);
    }
    const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EBUSY } });
    let err: unknown;
    try {
      unmountRecursive(t, { sys, retry: withPolicy(quick, { attempts: 2 }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BatchError);
    // both children failed and both are reported; their parent was never tried while they stayed
    expect((err as BatchError).errors.map((e) => (e as SyscallError).paths[0])).toEqual([`${t}/x`, `${t}/y`]);
    expect(sys.log.filter((c) => c[0] === "umount2" && c[1] === t)).toEqual([]);
    unmountRecursive(t);
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("a mount that stays busy under unmountRecursive or unmountSubtree (umount -R)", () => {
  for (const [name, unmountUnder] of [["unmountRecursive", unmountRecursive], ["unmountSubtree", unmountSubtree]] as const) {
    test(`its EBUSY retries run once, though its sibling's unmount brings another pass; reported, its parent left (${name})`, () => {
      s = scratch("recbusyonce");
      const t = dir("t");
      tmpfs(t);
      for (const d of ["x", "y"]) {
        mkdirSync(`${t}/${d}`);
        tmpfs(`${t}/${d}`);
      }
      const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EBUSY, path: `${t}/x` } });
      const err = caught(() => unmountUnder(t, { sys, retry: withPolicy(quick, { attempts: 3 }) }));
      expect(err).toBeInstanceOf(BatchError);
      expect((err as BatchError).errors.map((e) => [(e as SyscallError).errnoName, (e as SyscallError).paths[0]])).toEqual([["EBUSY", `${t}/x`]]);
      // before, the pass after y went tried x again: the whole policy twice (umount -R waited 5 s, not 2.5)
      expect(sys.log.filter((c) => c[0] === "umount2" && c[1] === `${t}/x`)).toHaveLength(3);
      expect(mountsUnder(t).map((m) => m.mountpoint).sort()).toEqual([t, `${t}/x`]);
      unmountRecursive(t);
    });
  }
});

describe("a mount made while unmountRecursive or unmountSubtree runs", () => {
  /** libc's umount2, but its first call is preceded by another tmpfs mounted on target (a concurrent mount). */
  const mountingOverFirst = (target: string) => {
    let first = true;
    return {
      ...libcSyscalls,
      umount2(path: string, flags: number) {
        if (first) tmpfs(target);
        first = false;
        libcSyscalls.umount2(path, flags);
      },
    };
  };

  for (const [name, unmountUnder] of [["unmountRecursive", unmountRecursive], ["unmountSubtree", unmountSubtree]] as const) {
    test(`${name}: one stacked on the target, hiding the mounts the table read found, is seen and taken too (0 and all left before)`, () => {
      s = scratch(`concurrent-${name}`);
      const t = dir("t");
      tmpfs(t);
      mkdirSync(`${t}/a`);
      tmpfs(`${t}/a`);
      // the first umount2, of t/a, finds t covered: ENOENT, and then nothing in that pass went
      expect(unmountUnder(t, { sys: mountingOverFirst(t) })).toBe(3);
      expect(mountsUnder(t)).toEqual([]);
    });
  }
});

describe("unmountMounts", () => {
  test("reverse order under a root, every failure reported", () => {
    s = scratch("list");
    const root = dir("root");
    for (const d of ["a", "b", "c"]) dir("root", d);
    const mounts = ["a", "b", "c"].map((d) => ({ type: "tmpfs", source: "mk", target: `/${d}`, options: [] }));
    for (const m of mounts) mount(m, root); // each on its own target inside root
    const sys = injectFaults(libcSyscalls, {
      umount2: [
        { calls: "always", errno: Errno.EBUSY, path: `${root}/a` },
        { calls: "always", errno: Errno.EPERM, path: `${root}/c` },
      ],
    });
    let err: unknown;
    try {
      unmountMounts(mounts, root, { sys, retry: withPolicy(quick, { attempts: 2 }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BatchError);
    const errnos = (err as BatchError).errors.map((e) => (e as SyscallError).errnoName);
    expect(errnos).toEqual(["EPERM", "EBUSY"]); // c first: reverse order
    expect((err as BatchError).succeeded).toBe(1);
    expect(mountsUnder(`${root}/b`)).toEqual([]);
    expect(unmountMounts(mounts, root)).toBe(2);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("a target cannot climb out of the root", () => {
    s = scratch("climb");
    const root = dir("root");
    dir("root", "etc");
    mount({ type: "tmpfs", source: "mk", options: [] }, `${root}/etc`);
    expect(unmountMounts([{ type: "tmpfs", source: "mk", target: "../../../../etc", options: [] }], root)).toBe(1);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("a symlinked target is followed inside the root, never to the host path it names", () => {
    s = scratch("rootpath");
    const root = dir("root");
    const outside = dir("outside");
    const inside = dir("root", outside); // the link's target, read as a path inside root
    symlinkSync(outside, `${root}/link`);
    mount({ type: "tmpfs", source: "mk-outside", options: [] }, outside);
    mount({ type: "tmpfs", source: "mk-inside", options: [] }, inside);
    try {
      expect(unmountMounts([{ type: "tmpfs", source: "mk", target: "/link", options: [] }], root)).toBe(1);
      expect(mountsUnder(root)).toEqual([]);
      expect(mountsUnder(outside).map((m) => m.source)).toEqual(["mk-outside"]);
    } finally {
      unmountAll(outside);
    }
  });

  test("each target is resolved once the mounts after it are gone (containerd): a later bind on the root that hides an earlier target's symlink does not leave that mount", () => {
    s = scratch("resolve-late");
    const root = dir("root");
    dir("root", "real");
    symlinkSync("/real", `${root}/d`); // the first target, /d, is ROOT/real
    dir("over", "d"); // the second mount covers the root with a tree where d is a plain directory
    const mounts = [
      { type: "tmpfs", source: "mk-first", target: "/d", options: [] },
      { type: "bind", source: s.path("over"), target: "", options: ["bind"] },
    ];
    for (const m of mounts) mount(m, root); // each on its target inside root: ROOT/real, then ROOT
    expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([`${root}/real`, root]);
    expect(unmountMounts(mounts, root)).toBe(2);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("a mount without a target was mounted on the root itself", () => {
    s = scratch("noroot");
    const root = dir("root");
    mount({ type: "tmpfs", source: "mk", options: [] }, root);
    expect(unmountMounts([{ type: "tmpfs", source: "mk", options: [] }], root)).toBe(1);
    expect(mountsUnder(root)).toEqual([]);
  });
});
