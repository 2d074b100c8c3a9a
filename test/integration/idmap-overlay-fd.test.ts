// Idmapped overlays under both strategies, forced on this kernel, and the fd strategy's own
// promises (containerd#11354): each lower layer a detached idmapped read-only tree handed to
// the overlay by FSCONFIG_SET_FD, no temp mount point at any moment, every tree fd open until
// FSCONFIG_CMD_CREATE has returned and closed on every path. Root, private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { appendFileSync, chownSync, existsSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { closeUsernsFds } from "../../src/ops/idmap.ts";
import { mount } from "../../src/ops/mount.ts";
import { tempMountLocation } from "../../src/ops/temp-location.ts";
import { unmount, unmountAll } from "../../src/ops/unmount.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { FSCONFIG } from "../../src/plan/mount-api-flags.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { cacheUserns, errnoOf, IDMAP_OPTIONS, idmapOverlayFixture, idmappedOverlay, snapshot } from "../support/idmap-overlay.ts";
import { children, notOurChild, recordingChildren } from "../support/processes.ts";
import { fdChanges, openFds } from "../support/resources.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";

beforeAll(requireRootNamespace);

const FD = probeKernelFacts("fd");

const fx = idmapOverlayFixture();
afterEach(() => fx.tearDown());
const { cleanups, fresh, dir, lowers } = fx;

/** What must hold after any idmapped overlay attempt, failed or not: nothing of ours is left. */
function expectNothingLeft(merged: string) {
  expect(mountsUnder(merged)).toEqual([]);
  expect(mountsUnder(tempMountLocation())).toEqual([]);
  expect(readdirSync(tempMountLocation())).toEqual([]);
}

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  describe(`${strategy} strategy (forced)`, () => {
    const facts = probeKernelFacts(strategy);

    test("mapped owners through the overlay; a write copies up with the mapped ids; the lowers are untouched", () => {
      fresh(`idov-${strategy}`);
      const layers = lowers(3);
      const before = layers.map(snapshot);
      const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
      cleanups.push(() => unmountAll(merged));
      const plan = mount(idmappedOverlay(layers, upper, work), merged, { facts });
      expect(plan.steps.some((step) => step.op === "fs-context")).toBe(strategy === "fd");

      for (let i = 0; i < 3; i++) {
        expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
        expect(readFileSync(`${merged}/sub${i}/deep`, "utf8")).toBe(`deep ${i}`);
      }
      // a lower file written through the overlay is copied up with the owner the overlay shows
      appendFileSync(`${merged}/file1`, " and more");
      expect(statSync(`${upper}/file1`)).toMatchObject({ uid: 101001, gid: 102001 });
      expect(readFileSync(`${upper}/file1`, "utf8")).toBe("content of layer 1 and more");
      // a new file lands in the upper layer as its writer (root, host id 0)
      writeFileSync(`${merged}/new`, "n");
      expect(statSync(`${upper}/new`)).toMatchObject({ uid: 0, gid: 0 });
      expect(layers.map(snapshot)).toEqual(before);
      // the mount table shows the overlay only, idmapped layers listed by fd ("/") under fd
      const [overlay, ...others] = mountsUnder(fx.scratch.dir);
      expect(others).toEqual([]);
      expect(overlay!.fstype).toBe("overlay");
      if (strategy === "fd") expect(overlay!.superOptions).toContain("lowerdir+=/");
      expectNothingLeft(`${fx.scratch.dir}/nothing`);
    });

    test("read-only overlays: no upperdir, or ro with one; writes fail with EROFS", () => {
      fresh(`idov-ro-${strategy}`);
      const layers = lowers(2);
      const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
      cleanups.push(() => unmountAll(merged));
      mount(idmappedOverlay(layers), merged, { facts });
      expect(statSync(`${merged}/file0`)).toMatchObject({ uid: 101000, gid: 102000 });
      expect(errnoOf(() => writeFileSync(`${merged}/x`, "x"))).toBe("EROFS");
      expect(unmount(merged)).toBe(true);
      mount(idmappedOverlay(layers, upper, work, ["ro"]), merged, { facts });
      expect(mountsUnder(merged)[0]!.options.split(",")).toContain("ro");
      expect(errnoOf(() => writeFileSync(`${merged}/x`, "x"))).toBe("EROFS");
      expect(readdirSync(upper)).toEqual([]);
    });
    test("50 idmapped overlay mounts in a loop leave no mount, temp dir, child process or fd", () => {
      fresh(`idov-loop-${strategy}`);
      const layers = lowers(3);
      const before = layers.map(snapshot);
      const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
      closeUsernsFds();
      const fds = openFds();
      const childrenBefore = children();
      const sys = recordingChildren(libcSyscalls);
      for (let i = 0; i < 50; i++) {
        const plan = mount(idmappedOverlay(layers, upper, work), merged, { facts, sys });
        expect(plan.steps.some((step) => step.op === "mkdir")).toBe(strategy === "legacy");
        expect(statSync(`${merged}/file2`).uid).toBe(101002);
        expect(unmount(merged)).toBe(true);
      }
      expectNothingLeft(merged);
      expect(sys.cloned).toHaveLength(1); // one namespace for the 50 mounts (cached)
      for (const c of sys.cloned) expect(notOurChild(c.pid)).toBe(true);
      expect(children().filter((c) => c.state === "Z")).toEqual([]);
      expect(children().map((c) => c.pid).sort()).toEqual(childrenBefore.map((c) => c.pid).sort());
      expect(fdChanges(fds)).toEqual([expect.stringMatching(/^\+\d+ user:\[/)]); // the cached namespace fd
      expect(closeUsernsFds()).toBe(1);
      expect(fdChanges(fds)).toEqual([]);
      expect(layers.map(snapshot)).toEqual(before);
    });
  });
}

describe("fd strategy", () => {
  /**
   * A seam that watches the tree fds (the shared clone and the layers opened in it, or a
   * layer's own clone): open when CMD_CREATE runs, closed after it, never before.
   */
  function watchingTrees() {
    const trees: string[] = [];
    const open = new Set<number>(); // tree fds not closed yet (a closed fd's number is reused)
    const events: string[] = [];
    const opened = (what: string, fd: number) => {
      trees.push(what);
      open.add(fd);
      return fd;
    };
    const sys: Syscalls = {
      ...libcSyscalls,
      openTree: (dfd, path, flags) => opened(`open_tree ${path}`, libcSyscalls.openTree(dfd, path, flags)),
      openat2: (dfd, path, flags, resolve) => opened(`openat2 ${path}`, libcSyscalls.openat2(dfd, path, flags, resolve)),
      fsconfig(fd, cmd, key, value, aux) {
        if (cmd === FSCONFIG.CMD_CREATE) {
          events.push(`create with ${[...open].filter((t) => existsSync(`/proc/self/fd/${t}`)).length} trees open`);
        }
        libcSyscalls.fsconfig(fd, cmd, key, value, aux);
        if (cmd === FSCONFIG.CMD_CREATE) events.push("created");
      },
      close(fd) {
        if (open.delete(fd)) events.push("close tree");
        libcSyscalls.close(fd);
      },
      mkdir(path, mode) {
        events.push(`mkdir ${path}`);
        libcSyscalls.mkdir(path, mode);
      },
      moveMount(fromDfd, fromPath, toDfd, toPath, flags) {
        events.push(`move_mount to ${toPath}`);
        libcSyscalls.moveMount(fromDfd, fromPath, toDfd, toPath, flags);
      },
    };
    return { sys, trees, events };
  }

  test("one idmapped clone of the layers' parent, each layer opened in it; all open until FSCONFIG_CMD_CREATE has returned, the layers closed right then; no temp mount point ever exists", () => {
    fresh("idov-fd-order");
    const layers = lowers(3);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    cacheUserns();
    const fds = openFds();
    const mountsBefore = mountTable().length;
    const watch = watchingTrees();
    mount(idmappedOverlay(layers, upper, work), merged, { facts: FD, sys: watch.sys });
    expect(watch.trees).toEqual([`open_tree ${fx.scratch.dir}`, "openat2 lower0", "openat2 lower1", "openat2 lower2"]);
    // no mkdir at all, and one move_mount: the overlay's, onto the target; the shared clone is
    // released when the plan ends
    expect(watch.events).toEqual([
      "create with 4 trees open",
      "created",
      "close tree",
      "close tree",
      "close tree",
      `move_mount to ${merged}`,
      "close tree",
    ]);
    for (let i = 0; i < 3; i++) expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
    expect(existsSync(tempMountLocation())).toBe(true); // made by setTempMountLocation, and
    expect(readdirSync(tempMountLocation())).toEqual([]); // never used
    expect(mountTable().length).toBe(mountsBefore + 1);
    expect(fdChanges(fds)).toEqual([]);
  });

  /** Mounts the 3 layers, checks the merged view, and returns which trees were opened. */
  function mountedTrees(layers: string[], sys: Syscalls, expected: (i: number) => string = (i) => `content of layer ${i}`): string[] {
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    cacheUserns();
    const fds = openFds();
    const watch = watchingTrees();
    mount(idmappedOverlay(layers, upper, work), merged, { facts: FD, sys: { ...sys, openTree: watch.sys.openTree, openat2: watch.sys.openat2, close: watch.sys.close } });
    for (let i = 0; i < 3; i++) {
      expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
      expect(readFileSync(`${merged}/file${i}`, "utf8")).toBe(expected(i));
    }
    expect(unmount(merged)).toBe(true);
    expect(fdChanges(fds)).toEqual([]);
    expectNothingLeft(merged);
    return watch.trees;
  }

  test("the kernel refusing the shared clone: every layer gets its own clone, the same overlay", () => {
    fresh("idov-fd-shared-refused");
    const layers = lowers(3);
    const sys = injectFaults(libcSyscalls, { mountSetattr: { calls: [1], errno: Errno.EINVAL, syscall: "mount_setattr(2)" } });
    expect(mountedTrees(layers, sys)).toEqual([`open_tree ${fx.scratch.dir}`, ...layers.map((l) => `open_tree ${l}`)]);
  });

  test("statx of the shared clone itself failing: the clone is closed, every layer gets its own clone", () => {
    fresh("idov-fd-clone-statx");
    const layers = lowers(3);
    // statx #1 is the parent's path, #2 the clone's fd
    const sys = injectFaults(libcSyscalls, { statxIdentity: { calls: [2], errno: Errno.EINTR, syscall: "statx(2)" } });
    expect(mountedTrees(layers, sys)).toEqual([`open_tree ${fx.scratch.dir}`, ...layers.map((l) => `open_tree ${l}`)]);
    expect(sys.counts.openat2 ?? 0).toBe(0);
  });

  test("a kernel without mount IDs (statx leaves STATX_MNT_ID out, before Linux 5.8): no shared clone, every layer its own", () => {
    fresh("idov-fd-no-mount-id");
    const layers = lowers(3);
    const sys: Syscalls = {
      ...libcSyscalls,
      statxIdentity: (dfd, path, flags) => ({ ...libcSyscalls.statxIdentity(dfd, path, flags), mountId: 0 }),
    };
    // no clone of the parent is even attempted: there is nothing to check a layer against
    expect(mountedTrees(layers, sys)).toEqual(layers.map((l) => `open_tree ${l}`));
  });

  test("a layer behind a mount point below the parent gets its own clone: the overlay shows that mount's files, not what it covers", () => {
    fresh("idov-fd-submount");
    const layers = lowers(3);
    writeFileSync(`${layers[1]}/file1`, "covered"); // what the clone of the parent would show
    mount({ type: "tmpfs", source: "layer1", options: [] }, layers[1]!);
    cleanups.push(() => unmountAll(layers[1]!));
    writeFileSync(`${layers[1]}/file1`, "content of layer 1");
    chownSync(`${layers[1]}/file1`, 1001, 2001);
    expect(mountedTrees(layers, libcSyscalls)).toEqual([`open_tree ${fx.scratch.dir}`, "openat2 lower0", `open_tree ${layers[1]}`, "openat2 lower2"]);
  });

  test("a layer opened in the clone that is not the same directory (renamed meanwhile, say) is closed and gets its own clone", () => {
    fresh("idov-fd-other-inode");
    const layers = lowers(3);
    let opened = 0;
    const sys: Syscalls = {
      ...libcSyscalls,
      // a race the kernel cannot be made to lose on demand: the 2nd layer's fd reports another inode
      statxIdentity(dfd, path, flags) {
        const identity = libcSyscalls.statxIdentity(dfd, path, flags);
        return path === "" && dfd >= 0 && ++opened === 3 ? { ...identity, inoLow: identity.inoLow + 1 } : identity;
      },
    };
    // (the 1st statx of an fd is the clone's own; the 3rd is the 2nd layer's)
    expect(mountedTrees(layers, sys)).toEqual([`open_tree ${fx.scratch.dir}`, "openat2 lower0", "openat2 lower1", `open_tree ${layers[1]}`, "openat2 lower2"]);
  });

  test("a layer reached through a symlink out of the parent gets its own clone (openat2 stays beneath the clone)", () => {
    fresh("idov-fd-symlink");
    const layers = lowers(3);
    const elsewhere = dir("elsewhere");
    renameSync(layers[2]!, `${elsewhere}/lower2`);
    symlinkSync(`${elsewhere}/lower2`, layers[2]!); // absolute: resolved below the clone it would leave it
    expect(mountedTrees(layers, libcSyscalls)).toEqual([`open_tree ${fx.scratch.dir}`, "openat2 lower0", "openat2 lower1", `open_tree ${layers[2]}`]);
  });

  /** fsconfig fails at one command (CMD_CREATE), with everything else real. */
  function failingCommand(cmd: number, errno: number): Syscalls {
    return {
      ...libcSyscalls,
      fsconfig(fd, c, key, value, aux) {
        if (c === cmd) throw new SyscallError("fsconfig(2)", errno, []);
        libcSyscalls.fsconfig(fd, c, key, value, aux);
      },
    };
  }

  const faults: [string, () => Syscalls, RegExp][] = [
    // (the shared clone refused by the kernel, so that each layer gets its own)
    ["open_tree of the 2nd layer's own clone", () => injectFaults(libcSyscalls, { mountSetattr: { calls: [1], errno: Errno.EINVAL }, openTree: { calls: [3], errno: Errno.ENOENT, syscall: "open_tree(2)" } }), /open_tree\(2\): ENOENT \(No such file or directory\): .*lower1$/],
    ["mount_setattr of the 3rd layer's own clone", () => injectFaults(libcSyscalls, { mountSetattr: { calls: [1, 4], errno: Errno.EINVAL, syscall: "mount_setattr(2)" } }), /mount_setattr\(2\): EINVAL \(Invalid argument\): .*lower2$/],
    // out of fds: said as openat2's, not retried as the layer's own clone (whose open_tree it was said as)
    ["openat2 of the 2nd layer in the shared clone, EMFILE", () => injectFaults(libcSyscalls, { openat2: { calls: [2], errno: Errno.EMFILE, syscall: "openat2(2)" } }), /openat2\(2\): EMFILE \(Too many open files\): .*lower1$/],
    ["FSCONFIG_SET_FD of the 2nd layer", () => injectFaults(libcSyscalls, { fsconfig: { calls: [2], errno: Errno.EINVAL, path: "lowerdir+", syscall: "fsconfig(2)" } }), /fsconfig\(2\): EINVAL.*lowerdir\+ /],
    ["FSCONFIG_CMD_CREATE", () => failingCommand(FSCONFIG.CMD_CREATE, Errno.EINVAL), /fsconfig\(2\): EINVAL.*FSCONFIG_CMD_CREATE/],
    ["fsmount", () => injectFaults(libcSyscalls, { fsmount: { calls: [1], errno: Errno.ENOMEM, syscall: "fsmount(2)" } }), /fsmount\(2\): ENOMEM/],
    ["move_mount onto the target", () => injectFaults(libcSyscalls, { moveMount: { calls: [1], errno: Errno.EBUSY, syscall: "move_mount(2)" } }), /move_mount\(2\): EBUSY/],
    ["the propagation change after the mount", () => injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.EINVAL, syscall: "mount(2)" } }), /mount\(2\): EINVAL/],
  ];
  for (const [where, makeSys, message] of faults) {
    test(`a failure at ${where}: exit 32, every tree fd closed, nothing mounted, no temp dir`, () => {
      fresh("idov-fd-fail");
      const layers = lowers(3);
      const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
      cleanups.push(() => unmountAll(merged));
      cacheUserns(); // before counting: the plan borrows it
      const fds = openFds();
      let caught: unknown;
      try {
        mount(idmappedOverlay(layers, upper, work, ["private"]), merged, { facts: FD, sys: makeSys() });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SyscallError);
      expect((caught as Error).message).toMatch(/^mount overlay on .*merged: /);
      expect((caught as Error).message).toMatch(message);
      expect(exitCodeFor(caught)).toBe(32);
      expect(fdChanges(fds)).toEqual([]);
      expectNothingLeft(merged);
    });
  }

  test("real kernel refusals: a missing lower layer, a workdir on another filesystem", () => {
    fresh("idov-fd-real");
    const layers = lowers(2);
    const [upper, work, merged, other] = [dir("upper"), dir("work"), dir("merged"), dir("other-fs")];
    cleanups.push(() => unmountAll(merged));
    cacheUserns();
    const fds = openFds();
    const missing = fx.scratch.path("no-such-layer");
    expect(() => mount(idmappedOverlay([layers[0]!, missing], upper, work), merged, { facts: FD })).toThrow(
      /^mount overlay on .*merged: open_tree\(2\): ENOENT \(No such file or directory\): .*no-such-layer$/,
    );
    mount({ type: "tmpfs", source: "other", options: [] }, other);
    cleanups.push(() => unmountAll(other));
    expect(() => mount(idmappedOverlay(layers, upper, other), merged, { facts: FD })).toThrow(/FSCONFIG_CMD_CREATE/);
    expect(fdChanges(fds)).toEqual([]);
    expectNothingLeft(merged);
  });
});

describe("the binary", () => {
  const options = (layers: string[], upper: string, work: string) => [
    "-t",
    "overlay",
    "-o",
    `lowerdir=${layers.join(":")},upperdir=${upper},workdir=${work}`,
    "-o",
    IDMAP_OPTIONS.map((o) => `${o.split("=")[0]}="${o.slice(o.indexOf("=") + 1)}"`).join(","),
    "overlay",
  ];

  test("--dry-run --json shows the fd plan (MOUNTKIT_STRATEGY=fd) and the temp-dir plan (legacy)", () => {
    fresh("idov-cli-plan");
    const layers = lowers(2);
    const args = ["mount", "--dry-run", "--json", ...options(layers, "/u", "/w"), dir("merged")];
    const fd = runCli(args, { env: { ...process.env, MOUNTKIT_STRATEGY: "fd" } });
    expect([fd.code, fd.stderr]).toEqual([0, ""]);
    const steps = JSON.parse(fd.stdout).steps as { op: string; params?: { cmd: string; key: string; source?: unknown }[] }[];
    expect(steps.map((step) => step.op)).toEqual(["userns", "idmap_shared_tree", "open_layer", "open_layer", "fs-context"]);
    expect((steps[4] as { closeAfterCreate?: string[] }).closeAfterCreate).toEqual(["$layer0", "$layer1"]);
    expect(steps[4]!.params!.filter((p) => p.key === "lowerdir+")).toEqual([
      { cmd: "FSCONFIG_SET_FD", key: "lowerdir+", source: { kind: "handle", handle: "layer0", label: layers[0] } },
      { cmd: "FSCONFIG_SET_FD", key: "lowerdir+", source: { kind: "handle", handle: "layer1", label: layers[1] } },
    ]);
    const legacy = runCli(args, { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } });
    expect(legacy.code).toBe(0);
    expect((JSON.parse(legacy.stdout).steps as { op: string }[]).map((step) => step.op)).toContain("mkdir");
  });

  test("features names the idmapped overlay strategy, probed or forced", () => {
    const chosen = runCli(["features"]);
    expect(chosen.stdout).toMatch(/^idmapped overlay +fd: detached idmapped trees as lowerdir\+ fds, no temp mount point$/m);
    const forced = runCli(["features", "--json"], { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } });
    expect(JSON.parse(forced.stdout)).toMatchObject({ overlayStrategy: "legacy", idmapOverlayStrategy: "legacy" });
  });

  test("under a low RLIMIT_NOFILE (prlimit --nofile=20:20), 40 layers: EMFILE named with the layer and the limit, exit 32, nothing left", () => {
    fresh("idov-cli-nofile");
    const layers = lowers(40);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    const env = { ...process.env, MOUNTKIT_STRATEGY: "fd", XDG_RUNTIME_DIR: fx.scratch.path("tmp") };
    const run = Bun.spawnSync(["prlimit", "--nofile=20:20", BINARY, "mount", ...options(layers, upper, work), merged], { env });
    expect(run.exitCode).toBe(32);
    expect(run.stderr.toString()).toMatch(/^mountkit: mount overlay on .*merged: openat2\(2\): EMFILE \(Too many open files\): .*lower\d+ \(more files open than RLIMIT_NOFILE \(20\) allows; an idmapped overlay holds one per lower layer until it is made: raise it \(ulimit -n, prlimit --nofile\)\)\n$/);
    expectNothingLeft(merged);
    // the same with the limit raised
    expect(runCli(["mount", ...options(layers, upper, work), merged], { env }).code).toBe(0);
    expect(runCli(["umount", merged]).code).toBe(0);
    expectNothingLeft(merged);
  });

  test("mounts and unmounts an fd-strategy idmapped overlay", () => {
    fresh("idov-cli");
    const layers = lowers(2);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    const env = { ...process.env, MOUNTKIT_STRATEGY: "fd", XDG_RUNTIME_DIR: fx.scratch.path("tmp") };
    const run = runCli(["mount", "-v", ...options(layers, upper, work), merged], { env });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, $layer0)  [${layers[0]}]`);
    expect(statSync(`${merged}/file1`)).toMatchObject({ uid: 101001, gid: 102001 });
    expect(runCli(["umount", merged]).code).toBe(0);
    expectNothingLeft(merged);
  });
});
