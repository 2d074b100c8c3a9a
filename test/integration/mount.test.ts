// Real mounts through the library, checked in /proc/self/mountinfo. Root, private namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync, readFileSync, existsSync, symlinkSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { mount, mountMakingTarget, planOnly, preparePlan } from "../../src/ops/mount.ts";
import { opsContext } from "../../src/ops/context.ts";
import { runPlan } from "../../src/ops/run-plan.ts";
import { kernelFacts } from "../../src/ops/features.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { workspace, type Scratch } from "../support/workspace.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const top = (path: string) => {
  const list = mountsUnder(path).filter((m) => m.mountpoint === path);
  return list[list.length - 1];
};

describe("tmpfs", () => {
  test("flags reach the mount, data reaches the superblock", () => {
    fresh("tmpfs");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "mk-tmpfs", options: ["nosuid", "nodev", "noexec", "size=1m", "mode=0700"] }, t);
    const m = top(t)!;
    expect(m.fstype).toBe("tmpfs");
    expect(m.source).toBe("mk-tmpfs");
    expect(m.options.split(",")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev", "noexec"]));
    expect(m.superOptions).toContain("size=1024k");
    expect(m.superOptions).toContain("mode=700");
  });

  test("read-only, noatime, nosymfollow", () => {
    fresh("flags");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "x", options: ["ro", "noatime", "nosymfollow"] }, t);
    expect(top(t)!.options.split(",")).toEqual(expect.arrayContaining(["ro", "noatime", "nosymfollow"]));
  });

  test("defaults is not passed to the kernel (tmpfs would refuse it)", () => {
    fresh("defaults");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "x", options: ["defaults"] }, t);
    expect(top(t)).toBeDefined();
  });
});

describe("bind", () => {
  test("bind, bind type, rbind keeps submounts and bind does not", () => {
    fresh("bind");
    const src = dir("src");
    const sub = dir("src", "sub");
    writeFileSync(`${src}/file`, "hello");
    const a = dir("a");
    const b = dir("b");
    const c = dir("c");
    unmountAfter(sub);
    mount({ type: "tmpfs", source: "subfs", options: [] }, sub);
    writeFileSync(`${sub}/inner`, "x");
    // cleanups run newest first: children are registered after their parents
    for (const t of [a, `${a}/sub`, b, `${b}/sub`, c]) unmountAfter(t);
    mount({ type: "", source: src, options: ["bind"] }, a);
    mount({ type: "", source: src, options: ["rbind"] }, b);
    mount({ type: "bind", source: src, options: [] }, c);
    expect(readFileSync(`${a}/file`, "utf8")).toBe("hello");
    expect(existsSync(`${a}/sub/inner`)).toBe(false);
    expect(existsSync(`${b}/sub/inner`)).toBe(true);
    expect(readFileSync(`${c}/file`, "utf8")).toBe("hello");
  });

  test("bind+ro is read-only (EROFS on write) while the source stays writable", () => {
    fresh("bindro");
    const src = dir("src");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "", source: src, options: ["bind", "ro", "nosuid"] }, t);
    expect(top(t)!.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
    let code: string | undefined;
    try {
      writeFileSync(`${t}/nope`, "x");
    } catch (e) {
      code = (e as NodeJS.ErrnoException).code;
    }
    expect(code).toBe("EROFS");
    writeFileSync(`${src}/yes`, "x");
    expect(existsSync(`${t}/yes`)).toBe(true);
  });
});

describe("a Mount with a target of its own", () => {
  // containerd's Mount.Mount(target) mounts on fs.RootPath(target, m.Target), as mountAll does.
  test("is mounted at that path inside target; planOnly and mountMakingTarget say and do the same", () => {
    fresh("own-target");
    const root = dir("root");
    const sub = dir("root", "a", "b");
    unmountAfter(sub);
    const plan = mount({ type: "tmpfs", source: "mk-joined", target: "/a/b", options: ["size=64k"] }, root);
    expect(plan.action).toBe(`mount mk-joined on ${sub}`);
    expect(top(sub)?.source).toBe("mk-joined");
    expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([sub]);
    expect(planOnly({ type: "tmpfs", source: "x", target: "a/b", options: [] }, root).action).toBe(`mount x on ${sub}`);
    const made = `${root}/c`;
    unmountAfter(made);
    mountMakingTarget({ type: "tmpfs", source: "mk-made", target: "/c", options: ["X-mount.mkdir"] }, root);
    expect(top(made)?.source).toBe("mk-made");
  });

  test("a link on the way is read inside target, and `..` cannot climb out of it", () => {
    fresh("own-target-link");
    const root = dir("root");
    const outside = dir("outside");
    const inside = dir("root", outside); // where the link's text lands when read inside root
    symlinkSync(outside, `${root}/link`);
    unmountAfter(inside);
    mount({ type: "tmpfs", source: "mk-link", target: "/link", options: [] }, root);
    expect(top(inside)?.source).toBe("mk-link");
    expect(mountsUnder(outside)).toEqual([]);
    const etc = dir("root", "etc");
    unmountAfter(etc);
    mount({ type: "tmpfs", source: "mk-climb", target: "../../../../etc", options: [] }, root);
    expect(top(etc)?.source).toBe("mk-climb");
  });

  test("an empty target is target itself", () => {
    fresh("own-target-empty");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "mk-empty", target: "", options: [] }, t);
    expect(top(t)?.source).toBe("mk-empty");
  });
});

describe("remount", () => {
  test("remount,ro then remount,rw keeps nosuid (flags not mentioned are kept)", () => {
    fresh("remount");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "x", options: ["nosuid", "nodev"] }, t);
    mount({ type: "", source: "", options: ["remount", "ro"] }, t);
    expect(top(t)!.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev"]));
    mount({ type: "", source: "", options: ["remount", "rw"] }, t);
    expect(top(t)!.options.split(",")).toEqual(expect.arrayContaining(["rw", "nosuid", "nodev"]));
    expect(mountsUnder(t)).toHaveLength(1);
  });

  test("remount with data changes the superblock", () => {
    fresh("remountdata");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "x", options: ["size=1m"] }, t);
    mount({ type: "tmpfs", source: "x", options: ["remount", "size=2m"] }, t);
    expect(top(t)!.superOptions).toContain("size=2048k");
  });
});

describe("propagation", () => {
  test("shared, then private, as separate calls", () => {
    fresh("prop");
    const t = dir("t");
    unmountAfter(t);
    mount({ type: "tmpfs", source: "x", options: ["shared"] }, t);
    expect(top(t)!.shared).toBeGreaterThan(0);
    mount({ type: "", source: "", options: ["private"] }, t);
    expect(top(t)!.shared).toBeUndefined();
    mount({ type: "", source: "", options: ["unbindable"] }, t);
    expect(top(t)!.unbindable).toBe(true);
  });
});

describe("a failed mount leaves nothing behind", () => {
  test("propagation step fails: the first mount is undone", () => {
    fresh("rollback-prop");
    const t = dir("t");
    const before = mountTable().length;
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.EINVAL } });
    let err: unknown;
    try {
      mount({ type: "tmpfs", source: "x", options: ["rshared"] }, t, { sys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errno).toBe(Errno.EINVAL);
    expect((err as SyscallError).message).toMatch(/^mount x on .*: mount\(2\): EINVAL \(Invalid argument\)$/);
    expect(sys.counts.mount).toBe(2);
    expect(sys.counts.umount2).toBe(1);
    expect(mountsUnder(t)).toEqual([]);
    expect(mountTable().length).toBe(before);
  });

  test("read-only remount fails: the bind is undone", () => {
    fresh("rollback-ro");
    const src = dir("src");
    const t = dir("t");
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.EPERM } });
    expect(() => mount({ type: "bind", source: src, options: ["ro"] }, t, { sys })).toThrow(/EPERM/);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("when the undo's umount is busy, the mount is detached instead", () => {
    fresh("rollback-busy");
    const t = dir("t");
    const sys = injectFaults(libcSyscalls, {
      mount: { calls: [2], errno: Errno.EINVAL },
      umount2: { calls: [1], errno: Errno.EBUSY },
    });
    expect(() => mount({ type: "tmpfs", source: "x", options: ["private"] }, t, { sys })).toThrow(SyscallError);
    expect(sys.log.filter((c) => c[0] === "umount2").map((c) => c[2])).toEqual([0, 2]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("when the undo itself fails, the first error is thrown and the undo's failure kept beside it", () => {
    fresh("rollback-fails");
    const t = dir("t");
    unmountAfter(t); // the injected faults leave the mount: the real unmount removes it after the test
    const sys = injectFaults(libcSyscalls, {
      mount: { calls: [2], errno: Errno.EINVAL },
      umount2: { calls: "always", errno: Errno.EPERM },
    });
    let err: unknown;
    try {
      mount({ type: "tmpfs", source: "x", options: ["private"] }, t, { sys });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errnoName).toBe("EINVAL");
    expect((err as SyscallError).cleanupErrors).toHaveLength(1);
    expect(((err as SyscallError).cleanupErrors[0] as SyscallError).errnoName).toBe("EPERM");
  });

  test("bad input fails before any syscall", () => {
    fresh("badinput");
    const t = dir("t");
    const sys = injectFaults(libcSyscalls, {});
    expect(() => mount({ type: "", source: "/dev/nothing", options: [] }, t, { sys })).toThrow(PlanError);
    expect(() => mount({ type: "tmpfs", source: "x", options: ["x".repeat(5000)] }, t, { sys })).toThrow(PlanError);
    expect(sys.log).toEqual([]);
  });

  test("kernel refusals carry syscall, errno, paths and a hint", () => {
    fresh("refusals");
    const t = dir("t");
    const missing = s.path("missing");
    const cases: [() => unknown, string, RegExp][] = [
      [() => mount({ type: "tmpfs", source: "x", options: [] }, missing), "ENOENT", /mount point .* does not exist/],
      [() => mount({ type: "", source: s.path("nosrc"), options: ["bind"] }, t), "ENOENT", /source .* does not exist/],
      [() => mount({ type: "nosuchfs", source: "x", options: [] }, t), "ENODEV", /unknown filesystem type "nosuchfs"/],
      // the kernel names the option when asked through fsconfig
      [() => mount({ type: "tmpfs", source: "x", options: ["bogus_option=1"] }, t), "EINVAL", /^option "bogus_option=1" refused by the kernel: tmpfs: Unknown parameter 'bogus_option'$/],
      [() => mount({ type: "", source: "", options: ["remount", "ro"] }, t), "EINVAL", /^"?.*"? is not a mount point: a remount or a propagation change acts on a mount$/],
    ];
    for (const [run, errnoName, hint] of cases) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as SyscallError).errnoName).toBe(errnoName);
      expect((err as SyscallError).syscall).toBe("mount(2)");
      expect((err as SyscallError).hint ?? "").toMatch(hint);
    }
    expect(mountsUnder(s.dir)).toEqual([]);
  });
});

describe("awkward paths", () => {
  test("spaces, tabs, backslashes and newlines mount and read back from mountinfo", () => {
    fresh("paths");
    for (const name of ["sp ace", "t\tab", "back\\slash", "new\nline"]) {
      const t = dir(name);
      unmountAfter(t);
      mount({ type: "tmpfs", source: `src ${name}`, options: [] }, t);
      const m = top(t);
      expect(m?.mountpoint).toBe(t);
      expect(m?.source).toBe(`src ${name}`);
    }
  });
});

test("kernel facts: this kernel has the mount API and runs us outside a user namespace", () => {
  const facts = kernelFacts();
  expect(facts.mountApi).toBe(true);
  expect(facts.inUserNamespace).toBe(false);
  expect(facts.pageSize).toBeGreaterThanOrEqual(4096);
});


describe("undo records", () => {
  // The last step's undo is made only for a batch: nothing after it in its own plan can fail.
  test("a batch (keep) gets the undo of a one-step plan's mount, and it unmounts", () => {
    fresh("undo");
    const t = dir("t");
    unmountAfter(t);
    const ctx = opsContext();
    const plan = preparePlan({ type: "tmpfs", source: "undo", options: [] }, t, ctx);
    expect(plan.steps).toHaveLength(1);

    runPlan(plan, ctx);
    expect(mountsUnder(t)).toHaveLength(1);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(` ${t} `);

    const keep = { rollback: [] as (() => void)[] };
    runPlan(plan, ctx, keep);
    expect(mountsUnder(t)).toHaveLength(2);
    expect(keep.rollback).toHaveLength(1);
    keep.rollback[0]!();
    expect(mountsUnder(t)).toHaveLength(1);
  });
});
