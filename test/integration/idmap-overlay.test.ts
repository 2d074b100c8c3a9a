// Idmapped overlays, legacy strategy (forced: this kernel would choose fd, see
// idmap-overlay-fd.test.ts): lowers idmapped read-only into temp dirs, the overlay on those,
// the temp mounts removed. The data-loss cases of containerd#10704/#10721/#12139: a temp
// mount that cannot be unmounted never costs the lower layer a file. Root, private namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { cleanupIdmapTemp } from "../../src/ops/idmap.ts";
import { mount } from "../../src/ops/mount.ts";
import { UNMOUNT_BUSY, withPolicy } from "../../src/ops/retry.ts";
import { setTempMountLocation, tempMountLocation } from "../../src/ops/temp-location.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { eventually, fdChanges, openFds, workerThreads } from "../support/resources.ts";
import { cacheUserns, errnoOf, IDMAP_OPTIONS, idmapOverlayFixture, idmappedOverlay, makeLowers, snapshot } from "../support/idmap-overlay.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";

beforeAll(requireRootNamespace);

const QUICK = withPolicy(UNMOUNT_BUSY, { attempts: 3, delayMs: 1 });
const LEGACY = probeKernelFacts("legacy");

const fx = idmapOverlayFixture();
afterEach(() => fx.tearDown());
const { cleanups, fresh, dir, lowers } = fx;

const overlayMount = (layers: readonly string[], upper: string, work: string) => idmappedOverlay(layers, upper, work);

describe("the normal lifecycle", () => {
  test("the merged view shows mapped owners; every temp mount and dir is gone afterwards", () => {
    fresh("ovl");
    const layers = lowers(3);
    const before = layers.map(snapshot);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    // what the temp location holds when the overlay is mounted (containerd#12092: one idmapped
    // mount of the layers' parent, each layer a link to its path in it)
    let during: { mounts: { mountpoint: string; options: string }[]; entries: string[]; links: string[] } | undefined;
    const sys: Syscalls = {
      ...libcSyscalls,
      mount(source, target, fstype, flags, data) {
        if (fstype === "overlay") {
          const temp = readdirSync(tempMountLocation())[0]!;
          const tempDir = join(tempMountLocation(), temp);
          const entries = readdirSync(tempDir).sort();
          const links = entries.filter((e) => e !== "layers").map((e) => readlinkSync(join(tempDir, e)));
          during = { mounts: mountsUnder(tempMountLocation()), entries, links };
        }
        libcSyscalls.mount(source, target, fstype, flags, data);
      },
    };
    const plan = mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, sys });
    expect(during!.entries).toEqual(["0", "1", "2", "layers"]);
    expect(during!.links).toEqual(["layers/lower0", "layers/lower1", "layers/lower2"]);
    expect(during!.mounts).toHaveLength(1);
    expect(during!.mounts[0]!.mountpoint).toEndWith("/layers");
    expect(during!.mounts[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));

    // what the plan did: temp dirs under the configured location, all removed again
    const temp = plan.steps.find((step) => step.op === "mkdir")!;
    expect(temp.op === "mkdir" && temp.path.startsWith(`${tempMountLocation()}/mountkit-idmap-`)).toBe(true);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    expect(mountsUnder(tempMountLocation())).toEqual([]);

    for (let i = 0; i < 3; i++) {
      expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
      expect(readFileSync(`${merged}/sub${i}/deep`, "utf8")).toBe(`deep ${i}`);
    }
    // the upper layer is the container's own: written through the overlay as root (host 0)
    writeFileSync(`${merged}/new`, "n");
    expect(readFileSync(`${upper}/new`, "utf8")).toBe("n");
    expect(layers.map(snapshot)).toEqual(before);
    expect(mountsUnder(merged)).toHaveLength(1);
  });

  test("a lowerdir holding an escaped colon is one layer", () => {
    fresh("ovl-colon");
    const layer = dir("lower:colon");
    writeFileSync(`${layer}/f`, "c");
    chownSync(`${layer}/f`, 7, 7);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    mount({ type: "overlay", source: "overlay", options: [`lowerdir=${layer.replace(":", "\\:")}`, `upperdir=${upper}`, `workdir=${work}`, ...IDMAP_OPTIONS] }, merged, { facts: LEGACY });
    expect(statSync(`${merged}/f`).uid).toBe(100007);
  });

  test("a failure while preparing the lowers removes every temp mount, link and dir made so far", () => {
    fresh("ovl-prep-fail");
    const layers = lowers(3);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    // the shared temp mount made and the first layer linked, then the second link refused
    const linkFails = injectFaults(libcSyscalls, { symlink: { calls: [2], errno: Errno.EACCES, syscall: "symlink(2)" } });
    // the shared clone refused (each layer then its own), the second layer's own clone refused
    const cloneFails = injectFaults(libcSyscalls, { openTree: { calls: [1, 3], errno: Errno.ENOENT, syscall: "open_tree(2)" } });
    const fds = openFds();
    expect(() => mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, sys: linkFails, unmountRetry: QUICK })).toThrow(/symlink\(2\): EACCES/);
    expect(linkFails.counts.moveMount).toBe(1);
    expect(mountsUnder(fx.scratch.dir)).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    expect(() => mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, sys: cloneFails, unmountRetry: QUICK })).toThrow(/open_tree\(2\): ENOENT/);
    expect(cloneFails.counts.moveMount).toBe(1); // the first layer's own temp mount
    expect(mountsUnder(fx.scratch.dir)).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    expect(fdChanges(fds)).toEqual([expect.stringMatching(/^\+\d+ user:\[/)]); // the cached namespace fd only
  });

  test("the overlay mount failing removes every temp mount and dir", () => {
    fresh("ovl-mount-fail");
    const layers = lowers(2);
    const [upper, merged] = [dir("upper"), dir("merged")];
    // workdir on another filesystem: the kernel refuses the overlay itself
    const work = dir("tmpfs");
    cleanups.push(() => unmountAll(work));
    mount({ type: "tmpfs", source: "other-fs", options: [] }, work);
    expect(() => mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, unmountRetry: QUICK })).toThrow(
      /mount overlay on .*merged: mount\(2\): EXDEV|EINVAL/,
    );
    expect(mountsUnder(merged)).toEqual([]);
    expect(mountsUnder(tempMountLocation())).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
  });
});

describe("a temp mount that cannot be unmounted", () => {
  /** A seam whose first unmount of the temp mount whose path matches finds an fd held open inside it: a real EBUSY. */
  function holding(name: RegExp, inside: string): { sys: Syscalls; held: () => number | undefined; path: () => string | undefined } {
    let fd: number | undefined;
    let path: string | undefined;
    const sys: Syscalls = {
      ...libcSyscalls,
      umount2(target, flags) {
        if (fd === undefined && name.test(target)) {
          path = target;
          fd = openSync(`${target}/${inside}`, "r"); // something (a shell, a scanner) is inside it
        }
        libcSyscalls.umount2(target, flags);
      },
    };
    return { sys, held: () => fd, path: () => path };
  }

  /**
   * Mount with busy's seam: the mount fails with EBUSY naming the leaked temp mount, which is
   * left read-only and idmapped, nothing else of the call is left, the layers are intact, and
   * cleaning up removes it once released (and not before).
   */
  function leavesBusyMountSafely(layers: string[], busy: ReturnType<typeof holding>, leftInTempDir: string[], fileThrough: [string, string]) {
    const before = layers.map(snapshot);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    let caught: unknown;
    try {
      mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, sys: busy.sys, unmountRetry: QUICK });
    } catch (err) {
      caught = err;
    }
    const fd = busy.held();
    expect(fd).toBeDefined();
    const tempDir = join(busy.path()!, "..");
    try {
      // the failure is reported, naming the syscall, errno and the leaked path
      expect(caught).toBeInstanceOf(SyscallError);
      const err = caught as SyscallError;
      expect(err.errno).toBe(Errno.EBUSY);
      expect(err.message).toMatch(/^mount overlay on .*merged: umount2\(2\): EBUSY/);
      expect(err.paths).toEqual([busy.path()!]);
      expect(err.hint).toContain(`stays mounted read-only at ${busy.path()}`);

      // the overlay was rolled back; only the busy temp mount is left, read-only and idmapped
      expect(mountsUnder(merged)).toEqual([]);
      const leaked = mountsUnder(tempMountLocation());
      expect(leaked.map((m) => m.mountpoint)).toEqual([busy.path()!]);
      expect(leaked[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
      expect(errnoOf(() => writeFileSync(`${busy.path()}/intruder`, "x"))).toBe("EROFS");
      expect(readdirSync(tempDir)).toEqual(leftInTempDir); // every other link, mount and dir was removed

      // nothing was deleted through it: every lower file and its content is there
      expect(layers.map(snapshot)).toEqual(before);
      expect(readFileSync(`${busy.path()}/${fileThrough[0]}`, "utf8")).toBe(fileThrough[1]);

      // cleaning up while it is still held fails the same safe way
      expect(() => cleanupIdmapTemp(tempDir, { unmountRetry: QUICK })).toThrow(/EBUSY/);
      expect(existsSync(busy.path()!)).toBe(true);
      expect(layers.map(snapshot)).toEqual(before);
    } finally {
      closeSync(fd!);
    }
    // released: cleaning up again removes the mount and the dirs, and only those
    cleanupIdmapTemp(tempDir, { unmountRetry: QUICK });
    expect(existsSync(tempDir)).toBe(false);
    expect(mountsUnder(tempMountLocation())).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    expect(layers.map(snapshot)).toEqual(before);
  }

  test("the layers' shared temp mount: it stays read-only with its dir, the layers are intact; releasing and cleaning up removes it", () => {
    fresh("ovl-busy");
    const busy = holding(/\/mountkit-idmap-[^/]+\/layers$/, "lower0/sub0");
    leavesBusyMountSafely(lowers(2), busy, ["layers"], ["lower0/file0", "content of layer 0"]);
  });

  test("a layer's own temp mount (behind a mount point, not in the shared one): the same", () => {
    fresh("ovl-busy-own");
    const lower0 = dir("lower0");
    mount({ type: "tmpfs", source: "layer-fs", options: [] }, lower0);
    cleanups.push(() => unmountAll(lower0));
    const busy = holding(/\/mountkit-idmap-[^/]+\/0$/, "sub0");
    leavesBusyMountSafely(lowers(2), busy, ["0"], ["file0", "content of layer 0"]);
  });

  test("cleanupIdmapTemp unlinks a crashed run's layer links, never what they point to", () => {
    fresh("ovl-crashed-links");
    const layers = lowers(2);
    const before = layers.map(snapshot);
    const tempDir = dir("tmp", "mountkit-idmap-1-1-crashed");
    symlinkSync(layers[0]!, join(tempDir, "0")); // a link to the layer itself: only the link may go
    symlinkSync("layers/lower1", join(tempDir, "1")); // dangling
    cleanupIdmapTemp(tempDir, { unmountRetry: QUICK });
    expect(existsSync(tempDir)).toBe(false);
    expect(layers.map(snapshot)).toEqual(before);
  });
});

describe("cleanupIdmapTemp never follows a link", () => {
  test("an entry swapped for a symlink to a mount point between its lstat and its umount2: the mount the link names stays", () => {
    fresh("ovl-crashed-swap");
    const outside = dir("outside");
    mount({ type: "tmpfs", source: "outside", options: [] }, outside);
    cleanups.push(() => unmountAll(outside));
    const tempDir = dir("tmp", "mountkit-idmap-1-1-swapped");
    const entry = dir("tmp", "mountkit-idmap-1-1-swapped", "0");
    mount({ type: "tmpfs", source: "temp-lower", options: [] }, entry);
    cleanups.push(() => unmountAll(`${entry}.moved`));
    let swapped = false;
    const sys: Syscalls = {
      ...libcSyscalls,
      umount2(path, flags) {
        if (!swapped) {
          swapped = true;
          // from a mount namespace where the entry is no mount point: here it cannot be renamed
          const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-euc", 'umount "$1"; mv "$1" "$1.moved"; ln -s "$2" "$1"', "sh", entry, outside]);
          if (r.exitCode !== 0) throw new Error(`swap failed: ${r.stderr.toString()}`);
        }
        return libcSyscalls.umount2(path, flags);
      },
    };
    expect(() => cleanupIdmapTemp(tempDir, { sys, unmountRetry: QUICK })).toThrow(/rmdir\(2\): ENOTDIR/);
    expect(swapped).toBe(true);
    expect(mountsUnder(outside).map((m) => m.source)).toEqual(["outside"]);
    expect(mountsUnder(tempDir).map((m) => m.source)).toEqual(["temp-lower"]);
  });
});

describe("the shared temp mount stands only for layers that are the same directory in it", () => {
  function mountedWithLog(layers: string[]): string[] {
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    const log: string[] = [];
    mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, log: (line) => log.push(line) });
    for (let i = 0; i < layers.length; i++) {
      expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
      expect(readFileSync(`${merged}/file${i}`, "utf8")).toBe(`content of layer ${i}`);
    }
    expect(mountsUnder(merged)).toHaveLength(1);
    expect(mountsUnder(tempMountLocation())).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    return log.filter((line) => /its own temp mount|one temp mount per layer/.test(line));
  }

  test("a layer behind a mount point below the parent (the shared clone shows the dir under it) gets its own", () => {
    fresh("ovl-shared-mountpoint");
    const lower1 = dir("lower1");
    mount({ type: "tmpfs", source: "layer-fs", options: [] }, lower1);
    cleanups.push(() => unmountAll(lower1));
    const layers = lowers(3);
    expect(mountedWithLog(layers)).toEqual([`layer ${JSON.stringify(layers[1])} is not the same directory in the shared temp mount: its own temp mount`]);
  });

  test("a layer reached by a symlink out of the parent (through the shared mount it would not be idmapped) gets its own", () => {
    fresh("ovl-shared-symlink");
    const [real] = makeLowers(1, (name) => dir("elsewhere", name)); // file0 owned by 1000:2000
    const layers = lowers(2);
    const linked = fx.scratch.path("lowers-parent", "lower0");
    mkdirSync(join(linked, ".."), { recursive: true });
    symlinkSync(real!, linked);
    const parentLayers = [linked, ...layers.slice(1).map((l) => { const moved = fx.scratch.path("lowers-parent", "lower1"); renameSync(l, moved); return moved; })];
    expect(mountedWithLog(parentLayers)).toEqual([`layer ${JSON.stringify(linked)} is not the same directory in the shared temp mount: its own temp mount`]);
  });

  for (const [step, fault] of [
    ["mount_setattr", { mountSetattr: { calls: [1], errno: Errno.EINVAL, syscall: "mount_setattr(2)" } }],
    ["move_mount", { moveMount: { calls: [1], errno: Errno.EINVAL, syscall: "move_mount(2)" } }],
  ] as const) {
    test(`the shared temp mount refused by the kernel (at ${step}): every layer its own temp mount`, () => {
      fresh(`ovl-shared-refused-${step}`);
      const layers = lowers(2);
      const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
      cleanups.push(() => unmountAll(merged));
      const sys = injectFaults(libcSyscalls, fault);
      cacheUserns(); // made before the fds are counted: the plan borrows it
      const fds = openFds();
      const log: string[] = [];
      mount(overlayMount(layers, upper, work), merged, { facts: LEGACY, sys, log: (line) => log.push(line) });
      expect(log.filter((line) => line.startsWith("shared temp mount of"))).toEqual([expect.stringMatching(new RegExp(`refused \\(${step}\\(2\\): EINVAL\\): one temp mount per layer$`))]);
      expect(sys.counts.moveMount).toBe(step === "move_mount" ? 3 : 2);
      for (let i = 0; i < 2; i++) expect(statSync(`${merged}/file${i}`)).toMatchObject({ uid: 101000 + i, gid: 102000 + i });
      expect(mountsUnder(tempMountLocation())).toEqual([]);
      expect(readdirSync(tempMountLocation())).toEqual([]);
      expect(fdChanges(fds)).toEqual([]); // the refused clone's fd was closed
    });
  }
});

describe("long options: compacted after the idmap step, as containerd recomputes them", () => {
  test("128 layers of long paths: mounted from a thread in the temp dir, every layer mapped, nothing left", async () => {
    fresh("ovl-128");
    const root = dir(`a-long-runtime-root-${"r".repeat(40)}`, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
    const layers = Array.from({ length: 128 }, (_, i) => {
      const layer = join(root, String(i), "fs");
      mkdirSync(layer, { recursive: true });
      writeFileSync(`${layer}/f${i}`, String(i));
      chownSync(`${layer}/f${i}`, i, i);
      return layer;
    });
    expect(layers.join(":").length).toBeGreaterThan(4096 * 3);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    const cwd = process.cwd();
    const plan = mount(overlayMount(layers, upper, work), merged, { facts: LEGACY });
    expect(process.cwd()).toBe(cwd);
    const overlay = plan.steps.find((step) => step.op === "mount-in-dir");
    expect(overlay?.op === "mount-in-dir" && overlay.dir.startsWith(`${tempMountLocation()}/mountkit-idmap-`)).toBe(true);
    for (const i of [0, 1, 63, 127]) expect(statSync(`${merged}/f${i}`)).toMatchObject({ uid: 100000 + i, gid: 100000 + i });
    expect(readdirSync(merged)).toHaveLength(128);
    writeFileSync(`${merged}/new`, "n");
    expect(statSync(`${upper}/new`)).toMatchObject({ uid: 0, gid: 0 });
    expect(mountsUnder(merged)).toHaveLength(1);
    expect(mountsUnder(tempMountLocation())).toEqual([]);
    expect(readdirSync(tempMountLocation())).toEqual([]);
    await eventually("the one-shot dir thread exits", () => workerThreads() === 0);
  });

  test("a temp location whose path holds a comma and a colon is escaped in the options", () => {
    fresh("ovl-odd-temp");
    setTempMountLocation(fx.scratch.path("tmp,with:odd"));
    const layers = lowers(2);
    const [upper, work, merged] = [dir("upper"), dir("work"), dir("merged")];
    cleanups.push(() => unmountAll(merged));
    mount(overlayMount(layers, upper, work), merged, { facts: LEGACY });
    expect(statSync(`${merged}/file1`)).toMatchObject({ uid: 101001, gid: 102001 });
    expect(readdirSync(tempMountLocation())).toEqual([]);
  });
});
