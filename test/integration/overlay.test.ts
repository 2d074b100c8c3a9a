// Real overlay mounts, both strategies forced on this kernel. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, PlanError, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { runFsContextStep } from "../../src/ops/fs-context.ts";
import { probeOverlay } from "../../src/ops/overlay-probe.ts";
import { mount } from "../../src/ops/mount.ts";
import { opsContext } from "../../src/ops/context.ts";
import type { PlanRun } from "../../src/ops/run-plan.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { factsForVersion, type KernelFacts, type Strategy } from "../../src/plan/facts.ts";
import { readonlyMounts } from "../../src/plan/mount-helpers.ts";
import { joinLowerdirValue } from "../../src/plan/overlay-options.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { OPEN_TREE } from "../../src/sys/mount-api.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { withDirThread } from "../../src/sys/dir-thread.ts";
import { workspace, type Scratch } from "../support/workspace.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { eventually, newFds, openFds, workerThreads } from "../support/resources.ts";
import { caught } from "../support/caught.ts";

beforeAll(requireRootNamespace);

const BINARY = join(import.meta.dir, "../../dist/mountkit");
const STRATEGIES: Strategy[] = ["fd", "legacy"];
const factsFor = (strategy: Strategy): KernelFacts => probeKernelFacts(strategy);

const ws = workspace();
const { dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const overlaysAt = (path: string) => mountsUnder(path).filter((m) => m.mountpoint === path && m.fstype === "overlay");

/**
 * n layers in containerd's layout under a long root: <root>/snapshots/<i>/fs, each path at
 * least 80 bytes. Layer i holds f<i> and a file "top" that says i (the topmost layer wins).
 */
function makeLayers(n: number, name = "layers"): string[] {
  const root = dir(name, `a-long-runtime-root-${"r".repeat(40)}`, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
  return Array.from({ length: n }, (_, k) => {
    const layer = join(root, String(k + 1), "fs");
    mkdirSync(layer, { recursive: true });
    writeFileSync(join(layer, `f${k + 1}`), "");
    writeFileSync(join(layer, "top"), String(k + 1));
    return layer;
  });
}

for (const strategy of STRATEGIES) {
  describe(`overlay, ${strategy} strategy`, () => {
    const facts = factsFor(strategy);

    for (const n of [1, 10, 128, 500]) {
      // overlayfs needs two lower layers, or an upper layer, so one layer comes with an upperdir.
      const readOnly = n > 1;
      test(`${n} ${readOnly ? "read-only layers" : "layer and an upperdir"} of long paths: every layer is visible, the first is on top`, () => {
        fresh(`ov-${strategy}-${n}`);
        const layers = makeLayers(n);
        expect(layers.every((l) => l.length >= 80)).toBe(true);
        if (n >= 128) expect(joinLowerdirValue(layers, []).length).toBeGreaterThan(4096);
        const t = dir("merged");
        unmountAfter(t);
        const options = [`lowerdir=${joinLowerdirValue(layers, [])}`];
        if (!readOnly) options.push(`upperdir=${dir("upper")}`, `workdir=${dir("work")}`);
        const cwd = process.cwd();
        const plan = mount({ type: "overlay", source: "overlay", options }, t, { facts });
        expect(process.cwd()).toBe(cwd);
        expect(plan.steps[0]!.op).toBe(strategy === "fd" ? "fs-context" : n >= 128 ? "mount-in-dir" : "mount");
        expect(overlaysAt(t)).toHaveLength(1);
        const names = readdirSync(t);
        expect(names.length).toBe(n + 1);
        for (let k = 1; k <= n; k++) expect(names).toContain(`f${k}`);
        expect(readFileSync(join(t, "top"), "utf8")).toBe("1");
        const write = caught(() => writeFileSync(join(t, "new"), "x")) as NodeJS.ErrnoException | undefined;
        expect(write?.code).toBe(readOnly ? "EROFS" : undefined);
      });
    }

    test("upperdir and workdir: writes land in the upper layer", () => {
      fresh(`ov-${strategy}-rw`);
      const [lower] = makeLayers(1);
      const upper = dir("upper");
      const work = dir("work");
      const t = dir("merged");
      unmountAfter(t);
      mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, "nodev"] }, t, { facts });
      writeFileSync(join(t, "written"), "hello");
      expect(readFileSync(join(upper, "written"), "utf8")).toBe("hello");
      expect(overlaysAt(t)[0]!.options.split(",")).toContain("nodev");
    });

    test("readonlyMounts() of a used overlay mounts read-only with the upper layer's files on top", () => {
      fresh(`ov-${strategy}-readonly`);
      const layers = makeLayers(2);
      const upper = dir("up:per");
      const rw = { type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`, `upperdir=${upper}`, `workdir=${dir("work")}`] };
      const t = dir("merged");
      unmountAfter(t);
      mount(rw, t, { facts });
      writeFileSync(join(t, "top"), "upper");
      unmountAll(t);
      const [ro] = readonlyMounts([rw]);
      mount(ro!, t, { facts });
      expect(readFileSync(join(t, "top"), "utf8")).toBe("upper");
      expect((caught(() => writeFileSync(join(t, "x"), "")) as NodeJS.ErrnoException).code).toBe("EROFS");
      expect(rw.options).toHaveLength(3);
    });

    test("layer names holding ':', ',' and '\\' (escaped in lowerdir=) and a ':' in upperdir", () => {
      fresh(`ov-${strategy}-names`);
      const lowers = ["col:on", "com,ma", "back\\slash"].map((name) => {
        const p = dir("l", name);
        writeFileSync(join(p, `in-${name.replace(/\W/g, "")}`), "");
        return p;
      });
      const upper = dir("up:per");
      const work = dir("wo,rk");
      const t = dir("merged");
      unmountAfter(t);
      const options = [`lowerdir=${joinLowerdirValue(lowers, [])}`, `upperdir=${upper}`, `workdir=${work.replace(",", "\\,")}`];
      mount({ type: "overlay", source: "overlay", options }, t, { facts });
      expect(readdirSync(t).sort()).toEqual(["in-backslash", "in-colon", "in-comma"]);
      writeFileSync(join(t, "w"), "");
      expect(existsSync(join(upper, "w"))).toBe(true);
    });

    test("an upperdir and workdir holding '\\' (overlay unescapes those two, through fsconfig too)", () => {
      fresh(`ov-${strategy}-backslash`);
      const [lower] = makeLayers(1);
      const upper = dir("up\\per");
      const work = dir("wo\\rk");
      const t = dir("merged");
      unmountAfter(t);
      const escape = (path: string) => path.replace(/\\/g, "\\\\");
      mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${escape(upper)}`, `workdir=${escape(work)}`] }, t, { facts });
      writeFileSync(join(t, "w"), "");
      expect(existsSync(join(upper, "w"))).toBe(true);
      expect(readdirSync(s.dir).sort()).toEqual(["layers", "merged", "up\\per", "wo\\rk"]);
    });

    test("mount and unmount leave no fd open; a failed mount neither", async () => {
      fresh(`ov-${strategy}-fds`);
      const layers = makeLayers(200);
      const t = dir("merged");
      const options = [`lowerdir=${joinLowerdirValue(layers, [])}`];
      const before = openFds();
      withDirThread(() => {
        mount({ type: "overlay", source: "overlay", options }, t, { facts });
        unmountAll(t);
        expect(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers[0]}:${s.path("missing")}`] }, t, { facts })).toThrow(SyscallError);
      });
      if (strategy === "fd") expect(newFds(before)).toEqual([]);
      // A terminated Worker closes its own event loop's fds when its thread exits.
      else await eventually("the dir thread exits and its fds are closed", () => workerThreads() === 0 && newFds(before).length === 0);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("a lowerdir that does not exist: exit 32, the layer named, nothing mounted", () => {
      fresh(`ov-${strategy}-missing`);
      const [lower] = makeLayers(1);
      const missing = s.path("no-such-layer");
      const t = dir("merged");
      const before = mountTable().length;
      const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}:${missing}`] }, t, { facts })) as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect(err.errno).toBe(Errno.ENOENT);
      expect(exitCodeFor(err)).toBe(32);
      expect(`${err.message} (${err.hint})`).toContain(missing);
      expect(err.message.startsWith(`mount overlay on ${t}: `)).toBe(true);
      expect(mountTable().length).toBe(before);
    });

    test("an upperdir without a workdir: exit 32 and a hint", () => {
      fresh(`ov-${strategy}-noworkdir`);
      const [lower] = makeLayers(1);
      const t = dir("merged");
      const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${dir("u")}`] }, t, { facts })) as SyscallError;
      expect(err.errno).toBe(Errno.EINVAL);
      expect(exitCodeFor(err)).toBe(32);
      expect(err.hint).toMatch(/upperdir needs a workdir/);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("a lower layer that is a file: exit 32, the layer named (the kernel's message, or a hint where only the log has it)", () => {
      fresh(`ov-${strategy}-filelayer`);
      const [lower] = makeLayers(1);
      const file = join(lower!, "top");
      const t = dir("merged");
      const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}:${file}`] }, t, { facts })) as SyscallError;
      expect(err.errno).toBe(Errno.EINVAL);
      expect(exitCodeFor(err)).toBe(32);
      expect(`${err.message} (${err.hint ?? ""})`).toContain(`${file} is not a directory`);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("upperdir and workdir through two bind mounts of one filesystem: the hint says they must be under one mount", () => {
      fresh(`ov-${strategy}-twomounts`);
      const [lower] = makeLayers(1);
      const shared = dir("shared");
      mkdirSync(join(shared, "upper"));
      mkdirSync(join(shared, "work"));
      const bindA = dir("bind-a");
      const bindB = dir("bind-b");
      for (const b of [bindA, bindB]) {
        unmountAfter(b);
        mount({ type: "bind", source: shared, options: ["bind"] }, b);
      }
      const t = dir("merged");
      const options = [`lowerdir=${lower}`, `upperdir=${join(bindA, "upper")}`, `workdir=${join(bindB, "work")}`];
      const err = caught(() => mount({ type: "overlay", source: "overlay", options }, t, { facts })) as SyscallError;
      expect(err.errno).toBe(Errno.EINVAL);
      expect(err.hint).toMatch(/under the same mount/);
      expect(mountsUnder(t)).toEqual([]);
    });

    test("a later step fails: the overlay is unmounted again", () => {
      fresh(`ov-${strategy}-rollback`);
      const layers = makeLayers(3);
      const t = dir("merged");
      const sys = injectFaults(libcSyscalls, { mount: { calls: strategy === "fd" ? [1] : [2], errno: Errno.EINVAL } });
      const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`, "rshared"] }, t, { facts, sys }));
      expect(err).toBeInstanceOf(SyscallError);
      expect(sys.counts.umount2).toBe(1);
      expect(mountsUnder(t)).toEqual([]);
    });
  });
}

describe("fd strategy specifics", () => {
  const facts = factsFor("fd");

  test("a failed fsconfig carries the kernel's message from the fs context", () => {
    fresh("ov-kmsg");
    const [lower] = makeLayers(1);
    const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, "index=maybe"] }, dir("m"), { facts })) as SyscallError;
    expect(err.syscall).toBe("fsconfig(2)");
    expect(err.details).toEqual(["index=maybe", "overlay: Bad value for 'index'"]);
    expect(err.message).toMatch(/fsconfig\(2\): EINVAL \(Invalid argument\): index=maybe: overlay: Bad value for 'index'$/);
    expect(err.hint).toBeUndefined();
  });

  for (const pass of ["fd", "proc-path"] as const) {
    test(`layer paths past fsconfig's 256-byte limit, passed as ${pass === "fd" ? "O_PATH fds" : "/proc/self/fd paths"}`, () => {
      fresh(`ov-long-${pass}`);
      const deep = dir(...Array.from({ length: 6 }, (_, i) => `${i}${"d".repeat(50)}`));
      const lowers = ["a", "b"].map((name) => {
        const p = dir(deep.slice(s.dir.length + 1), name);
        writeFileSync(join(p, name), "");
        return p;
      });
      const upper = dir(deep.slice(s.dir.length + 1), "upper");
      const work = dir(deep.slice(s.dir.length + 1), "work");
      expect(lowers[0]!.length).toBeGreaterThan(255);
      const t = dir("merged");
      unmountAfter(t);
      const long = pass === "fd" ? facts : { ...facts, overlayLayerFd: false };
      const before = openFds();
      const plan = mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lowers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`] }, t, { facts: long });
      expect(newFds(before)).toEqual([]);
      const step = plan.steps[0]!;
      expect(step.op === "fs-context" && step.params.filter((p) => p.kind === "layer" && p.source.kind === "opath").length).toBe(4);
      expect(readdirSync(t).sort()).toEqual(["a", "b"]);
      writeFileSync(join(t, "c"), "");
      expect(existsSync(join(upper, "c"))).toBe(true);
    });
  }

  test("a layer handed in as an fd (a detached tree from open_tree) by handle", () => {
    fresh("ov-handle");
    const [lower] = makeLayers(1);
    const detached = dir("detached");
    writeFileSync(join(detached, "from-tree"), "");
    const t = dir("merged");
    unmountAfter(t);
    const ctx = opsContext({ facts });
    const treeFd = libcSyscalls.openTree(-100, detached, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC);
    const before = mountTable().length;
    try {
      const run: PlanRun = { rollback: [], handles: [{ name: "tree:0", fd: treeFd, owned: false }], undoWanted: true };
      runFsContextStep(
        {
          op: "fs-context",
          fstype: "overlay",
          params: [
            { kind: "layer", key: "lowerdir+", source: { kind: "handle", handle: "tree:0", label: detached } },
            { kind: "layer", key: "lowerdir+", source: { kind: "path", path: lower! } },
          ],
          attrFlags: 0,
          target: t,
          undoable: true,
        },
        ctx,
        run,
      );
      expect(run.rollback).toHaveLength(1);
    } finally {
      libcSyscalls.close(treeFd);
    }
    expect(readdirSync(t).sort()).toEqual(["f1", "from-tree", "top"]);
    expect(mountTable().length).toBe(before + 1); // only the overlay: the tree stays detached
  });

  test("a file as the mount point: move_mount's EINVAL is explained as the file, not sent to dmesg (overlayfs logs nothing there)", () => {
    fresh("ov-on-file");
    const layers = makeLayers(2);
    const file = join(dir("m"), "file");
    writeFileSync(file, "");
    const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }, file, { facts }));
    expect(err).toMatchObject({ syscall: "move_mount(2)", errno: Errno.EINVAL });
    expect((err as SyscallError).hint).toBe(`mount point ${file} is not a directory, and a new overlay is one: a directory is mounted on a directory`);
    expect(mountsUnder(dir("m"))).toEqual([]);
  });

  test("move_mount fails: the detached mount and every fd are released", () => {
    fresh("ov-movefail");
    const layers = makeLayers(2);
    const t = dir("merged");
    const sys = injectFaults(libcSyscalls, { moveMount: { calls: [1], errno: Errno.EBUSY, syscall: "move_mount(2)" } });
    const before = openFds();
    const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }, t, { facts, sys }));
    expect((err as SyscallError).syscall).toBe("move_mount(2)");
    expect(newFds(before)).toEqual([]);
    expect(sys.counts.close).toBe(2);
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("legacy strategy specifics", () => {
  const facts = factsFor("legacy");

  test("a one-shot dir thread leaves no Worker thread behind; the process cwd never moves", async () => {
    fresh("ov-thread");
    const layers = makeLayers(128);
    const t = dir("merged");
    unmountAfter(t);
    const cwd = process.cwd();
    const plan = mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }, t, { facts });
    expect(plan.steps[0]!.op).toBe("mount-in-dir");
    expect(process.cwd()).toBe(cwd);
    expect(readlinkSync("/proc/self/cwd")).toBe(cwd);
    await eventually("the dir thread exits", () => workerThreads() === 0);
  });

  test("a compacted mount that fails leaves no mount and no Worker thread", async () => {
    fresh("ov-thread-fail");
    const present = makeLayers(128);
    const layers = [...present, join(present[0]!, "../../missing-layer/fs")];
    const t = dir("merged");
    const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }, t, { facts })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("mount(2)");
    expect(err.hint).toContain("missing-layer");
    expect(err.hint).toMatch(/does not exist/);
    expect(mountsUnder(t)).toEqual([]);
    await eventually("the dir thread exits", () => workerThreads() === 0);
  });

  test("a relative target is resolved against the process's cwd, not the thread's", () => {
    fresh("ov-relative");
    const layers = makeLayers(128);
    const t = dir("merged");
    unmountAfter(t);
    const cwd = process.cwd();
    process.chdir(s.dir);
    try {
      mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layers.join(":")}`] }, "merged", { facts });
    } finally {
      process.chdir(cwd);
    }
    expect(overlaysAt(t)).toHaveLength(1);
  });

  test("too long even compacted: a PlanError before any syscall", () => {
    fresh("ov-toolong");
    const scattered = Array.from({ length: 60 }, (_, i) => dir(`${"x".repeat(100)}${i}`));
    const sys = injectFaults(libcSyscalls, {});
    const err = caught(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${scattered.join(":")}`] }, dir("m"), { facts, sys }));
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).hint).toMatch(/MOUNTKIT_STRATEGY=fd/);
    expect(sys.log).toEqual([]);
  });
});

describe("the binary", () => {
  test("MOUNTKIT_STRATEGY=legacy dist/mountkit mounts 500 layers compacted, from its dir thread", () => {
    fresh("ov-binary");
    const layers = makeLayers(500);
    const t = dir("merged");
    unmountAfter(t);
    const run = Bun.spawnSync([BINARY, "mount", "--json", "-t", "overlay", "-o", `lowerdir=${joinLowerdirValue(layers, [])}`, "overlay", t], {
      env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" },
    });
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout.toString()).steps[0].op).toBe("mount-in-dir");
    expect(overlaysAt(t)).toHaveLength(1);
    expect(readdirSync(t).length).toBe(501);
  });

  test("-o with overlay's '\\,' escape in lowerdir=, upperdir= and workdir= mounts the layers named, as mount(8) does", () => {
    fresh("ov-binary-escaped-comma");
    const lowers = ["a,b", "c:d", "e\\f"].map((name) => {
      const p = dir("l", name);
      writeFileSync(join(p, `in-${name.replace(/\W/g, "")}`), "");
      return p;
    });
    const upper = dir("u,1");
    const t = dir("merged");
    unmountAfter(t);
    const escape = (path: string) => path.replace(/[\\:,]/g, "\\$&");
    const options = `lowerdir=${lowers.map(escape).join(":")},upperdir=${escape(upper)},workdir=${escape(dir("w,1"))},nodev`;
    const merged = (run: { exitCode: number; stderr: Buffer }) => {
      expect(run.stderr.toString()).toBe("");
      expect(run.exitCode).toBe(0);
      const names = readdirSync(t).sort();
      writeFileSync(join(t, "written"), "");
      expect(existsSync(join(upper, "written"))).toBe(true);
      expect(overlaysAt(t)[0]!.options.split(",")).toContain("nodev");
      unmountAll(t);
      return names;
    };
    const reference = merged(Bun.spawnSync(["mount", "-t", "overlay", "-o", options, "overlay", t]));
    expect(reference).toEqual(["in-ab", "in-cd", "in-ef"]);
    for (const strategy of STRATEGIES) {
      const run = Bun.spawnSync([BINARY, "mount", "-t", "overlay", "-o", options, "overlay", t], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
      expect(merged(run)).toEqual([...reference, "written"]);
    }
  });

  test("lowerdir+= after datadir+=: the kernel refuses the order (mount(8) fails), and mountkit refuses it before any syscall", () => {
    fresh("ov-binary-data-order");
    const [l1, l2] = makeLayers(2);
    const t = dir("merged");
    unmountAfter(t);
    const options = `lowerdir+=${l1},datadir+=${dir("data")},lowerdir+=${l2}`;
    expect(Bun.spawnSync(["mount", "-t", "overlay", "-o", options, "overlay", t]).exitCode).toBe(32);
    for (const strategy of STRATEGIES) {
      const run = Bun.spawnSync([BINARY, "mount", "-t", "overlay", "-o", options, "overlay", t], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
      expect(run.stderr.toString()).toMatch(/regular layers cannot follow data-only layers/);
      expect(run.exitCode).toBe(1);
      expect(mountsUnder(t)).toEqual([]);
    }
  });

  test("a remount of an overlay applies its flags and warns that overlayfs ignored the filesystem options given", () => {
    fresh("ov-binary-remount");
    const [l1, l2] = makeLayers(2);
    const t = dir("merged");
    unmountAfter(t);
    mount({ type: "overlay", source: "overlay", options: [`lowerdir=${l1}`, `upperdir=${dir("upper")}`, `workdir=${dir("work")}`] }, t);
    const superOptions = overlaysAt(t)[0]!.superOptions;
    const remount = (options: string) => Bun.spawnSync([BINARY, "mount", "-o", options, t]);
    const changed = remount(`remount,ro,lowerdir=${l2},index=on`);
    expect(changed.exitCode).toBe(0);
    expect(changed.stderr.toString()).toBe(
      `mountkit: ${t}: overlayfs ignores filesystem options on a remount: lowerdir=${l2},index=on not applied (unmount it and mount it again to change them)\n`,
    );
    expect(overlaysAt(t)[0]!.options.split(",")).toContain("ro");
    expect(overlaysAt(t)[0]!.superOptions).toBe(superOptions.replace(/^rw,/, "ro,"));
    const flagsOnly = remount("remount,rw");
    expect([flagsOnly.exitCode, flagsOnly.stderr.toString()]).toEqual([0, ""]);
  });

  test("remount,rw of an overlay with no upperdir: named as a remount, and why it cannot be made writable", () => {
    fresh("ov-binary-remount-rw");
    const [l1, l2] = makeLayers(2);
    const t = dir("merged");
    unmountAfter(t);
    mount({ type: "overlay", source: "overlay", options: [`lowerdir=${l1}:${l2}`] }, t);
    const rw = Bun.spawnSync([BINARY, "mount", "-o", "remount,rw", t]);
    expect([rw.exitCode, rw.stderr.toString()]).toEqual([
      32,
      `mountkit: remount ${t}: mount(2): EROFS (Read-only file system) (the overlay at ${t} has no upperdir, so it is read-only for good: mount it again with upperdir= and workdir=)\n`,
    ]);
    expect(overlaysAt(t)[0]!.superOptions.split(",")).toContain("ro");
  });

  test("bad input through the binary: exit 32 for a missing layer, 1 for options no strategy can fit", () => {
    fresh("ov-binary-bad");
    const [lower] = makeLayers(1);
    const t = dir("merged");
    for (const strategy of STRATEGIES) {
      const run = Bun.spawnSync([BINARY, "mount", "-t", "overlay", "-o", `lowerdir=${lower}:${s.path("missing")}`, "overlay", t], {
        env: { ...process.env, MOUNTKIT_STRATEGY: strategy },
      });
      expect(run.exitCode).toBe(32);
      expect(run.stderr.toString()).toContain(s.path("missing"));
    }
    const scattered = Array.from({ length: 60 }, (_, i) => dir(`${"y".repeat(100)}${i}`));
    const run = Bun.spawnSync([BINARY, "mount", "-t", "overlay", "-o", `lowerdir=${scattered.join(":")}`, "overlay", t], {
      env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr.toString()).toMatch(/MOUNTKIT_STRATEGY=fd/);
    expect(mountsUnder(t)).toEqual([]);
  });
});

test("version-derived facts choose fd on this kernel", () => {
  expect(factsForVersion("6.18.0").strategy).toBe("fd");
  expect(factsForVersion("6.7.0").strategy).toBe("legacy");
});

describe("features", () => {
  test("mountkit features shows the overlay strategy, forced or probed, and the loop ioctls", () => {
    const text = (env: Record<string, string>) => {
      const run = Bun.spawnSync([BINARY, "features"], { env: { ...process.env, ...env } });
      expect(run.exitCode).toBe(0);
      return run.stdout.toString();
    };
    const chosen = text({ MOUNTKIT_STRATEGY: "" });
    expect(chosen).toMatch(/^overlay strategy +fd: fsopen \+ one fsconfig per layer/m);
    expect(chosen).toMatch(/^overlay probe +lowerdir\+ yes, layer fds yes$/m);
    expect(chosen).toMatch(/^loop attach +LOOP_CONFIGURE$/m);
    const forced = text({ MOUNTKIT_STRATEGY: "legacy" });
    expect(forced).toMatch(/^overlay strategy +legacy: mount\(2\), lowerdirs compacted/m);
    expect(forced).toMatch(/^loop attach +LOOP_SET_FD \+ LOOP_SET_STATUS64$/m);
    const json = JSON.parse(Bun.spawnSync([BINARY, "features", "--json"], { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } }).stdout.toString());
    expect(json).toMatchObject({ overlayStrategy: "legacy", loopMethod: "set-fd", overlayProbe: { probed: true, lowerdirAppend: true } });
  });

  test("the probe reads a refusal as 'no', closes what it opened, and never mounts", () => {
    const before = openFds();
    const tableSize = mountTable().length;
    const sys = injectFaults(libcSyscalls, { fsconfig: { calls: [1], errno: Errno.EINVAL } });
    expect(probeOverlay(sys)).toEqual({ probed: true, lowerdirAppend: false, layerFd: true });
    expect(probeOverlay(injectFaults(libcSyscalls, { fsopen: { calls: [1], errno: Errno.ENODEV } }))).toMatchObject({ probed: false });
    expect(newFds(before)).toEqual([]);
    expect(mountTable().length).toBe(tableSize);
  });
});
