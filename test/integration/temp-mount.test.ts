// Temp mounts and cleanupTempMounts against the real kernel (root, private namespace).
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { BatchError, MountkitError, SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { resetTempMountLocation, setTempMountLocation, tempMountLocation } from "../../src/ops/temp-location.ts";
import { cleanupTempMounts } from "../../src/ops/temp-cleanup.ts";
import { RunStopped } from "../../src/ops/stop.ts";
import { withReadonlyTempMount, withTempMount } from "../../src/ops/temp-mount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { mountinfoText, tempLocationScratch, type TempLocationScratch } from "../support/temp-location.ts";

beforeAll(requireRootNamespace);

let s: TempLocationScratch;
let location: string;
afterEach(() => s.dispose());
function fresh(label: string) {
  s = tempLocationScratch(label);
  location = s.location;
}

describe("withTempMount", () => {
  test("mounts into a fresh mountkit-mount-* dir, runs fn, unmounts and removes the dir", async () => {
    fresh("temp");
    const src = s.path("src");
    mkdirSync(src);
    writeFileSync(`${src}/f`, "hello");
    const before = mountinfoText();
    let seen = "";
    const result = await withTempMount(
      [
        { type: "tmpfs", source: "temp-root", options: [] },
        { type: "bind", source: src, target: "/inner", options: ["bind"] },
      ],
      async (dir) => {
        seen = dir;
        expect(dirname(dir)).toBe(tempMountLocation());
        expect(basename(dir)).toStartWith("mountkit-mount-");
        expect(mountsUnder(dir).map((m) => m.mountpoint)).toEqual([dir, `${dir}/inner`]);
        return readFileSync(`${dir}/inner/f`, "utf8");
      },
      { mkdir: true },
    );
    expect(result).toBe("hello");
    expect(existsSync(seen)).toBe(false);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("mounts fn stacked on the temp mounts go with them (containerd peels with UnmountAll): nothing left, the dir removed", async () => {
    fresh("tempstack");
    const src = s.path("src");
    mkdirSync(src);
    const before = mountinfoText();
    let seen = "";
    await withTempMount(
      [
        { type: "tmpfs", source: "temp-root", options: [] },
        { type: "bind", source: src, target: "/inner", options: ["bind"] },
      ],
      (dir) => {
        seen = dir;
        // one on the entry below the dir, then two on the temp dir itself, hiding the first
        mount({ type: "tmpfs", source: "fn-1", options: [] }, `${dir}/inner`);
        mount({ type: "tmpfs", source: "fn-2", options: [] }, dir);
        mount({ type: "tmpfs", source: "fn-3", options: [] }, dir);
        expect(mountsUnder(dir)).toHaveLength(5);
      },
      { mkdir: true },
    );
    expect(existsSync(seen)).toBe(false);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a stack fn made on the temp dir alone: peeled, ours last", async () => {
    fresh("tempstack1");
    const before = mountinfoText();
    let seen = "";
    await withTempMount([{ type: "tmpfs", source: "temp-root", options: [] }], (dir) => {
      seen = dir;
      mount({ type: "tmpfs", source: "fn-1", options: [] }, dir);
    });
    expect(existsSync(seen)).toBe(false);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a volatile overlay, plain or under a transform prefix, is temp-mounted without volatile: its upper layer can be mounted again after", async () => {
    fresh("tempvolatile");
    for (const type of ["overlay", "format/overlay", "format/mkdir/overlay"]) {
      const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((name) => s.path(type.replaceAll("/", "-"), name));
      for (const d of [lower!, upper!, work!, merged!]) mkdirSync(d, { recursive: true });
      const volatile = { type, source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`, "volatile"] };
      await withTempMount([volatile], (dir) => writeFileSync(join(dir, "f"), type));
      // overlayfs refuses an upper/work pair a volatile mount used ("incompat feature 'volatile'")
      mount({ type: "overlay", source: "overlay", options: volatile.options }, merged!);
      expect(readFileSync(join(merged!, "f"), "utf8")).toBe(type);
      unmountAll(merged!);
    }
    expect(readdirSync(location)).toEqual([]);
  });

  test("a volatile packed into one entry with the layers (containerd joins entries, the kernel splits them) is taken off too", async () => {
    fresh("tempvolatile-packed");
    const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((name) => s.path(name));
    for (const d of [lower!, upper!, work!, merged!]) mkdirSync(d);
    const layers = `lowerdir=${lower},upperdir=${upper},workdir=${work}`;
    await withTempMount([{ type: "overlay", source: "overlay", options: [`${layers},volatile`] }], (dir) => writeFileSync(join(dir, "f"), "packed"));
    mount({ type: "overlay", source: "overlay", options: [layers] }, merged!);
    expect(readFileSync(join(merged!, "f"), "utf8")).toBe("packed");
    unmountAll(merged!);
    expect(readdirSync(location)).toEqual([]);
  });

  test("fn's error comes back unchanged, after the same cleanup", async () => {
    fresh("tempfail");
    const before = mountinfoText();
    const mine = new TypeError("callback broke");
    let caught: unknown;
    try {
      await withTempMount([{ type: "tmpfs", source: "t", options: [] }], () => {
        throw mine;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(mine);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a failed mount leaves nothing: no mount, no dir", async () => {
    fresh("tempmnt");
    const before = mountinfoText();
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.ENOSPC } });
    let called = false;
    const attempt = withTempMount(
      [
        { type: "tmpfs", source: "a", options: [] },
        { type: "tmpfs", source: "b", target: "/b", options: [] },
      ],
      () => {
        called = true;
      },
      { sys, mkdir: true },
    );
    await expect(attempt).rejects.toThrow(/temp mount .*mountkit-mount-.*: entry 2: mount b on .*: mount\(2\): ENOSPC/);
    expect(called).toBe(false);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a failed mount whose rmdir also fails oddly: the mount's error, the rmdir's kept as a cleanup error", async () => {
    fresh("temprmdir");
    const sys = {
      ...injectFaults(libcSyscalls, { mount: { calls: [1], errno: Errno.ENOSPC } }),
      // an rmdir failure without an errno (the kernel gives none such; this stands for any surprise)
      rmdir: () => {
        throw new TypeError("rmdir broke");
      },
    };
    let caught: unknown;
    try {
      await withTempMount([{ type: "tmpfs", source: "a", options: [] }], () => {}, { sys });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyscallError);
    expect((caught as SyscallError).errnoName).toBe("ENOSPC");
    const [left] = (caught as SyscallError).cleanupErrors as MountkitError[];
    expect(left?.message).toMatch(new RegExp(`^remove temp mount dir .*mountkit-mount-${process.pid}-\\w+: TypeError: rmdir broke$`));
    for (const name of readdirSync(location)) fs.rmdirSync(join(location, name)); // what the broken rmdir left
  });

  test("a stop while mounting whose rmdir of the temp dir fails: RunStopped, the mounts undone, the dir left named among its cleanup errors", async () => {
    fresh("tempstoprmdir");
    const before = mountinfoText();
    // asked between the two entries: the first, on the dir itself, is undone; the temp dir's
    // rmdir is then the one rmdir made
    const sys = injectFaults(libcSyscalls, { rmdir: { calls: [1], errno: Errno.EBUSY } });
    const stop = { arm() {}, requested: () => "SIGTERM" };
    const mounts = ["stopped-1", "stopped-2"].map((source) => ({ type: "tmpfs", source, options: [] }));
    let called = false;
    const err = await withTempMount(mounts, () => void (called = true), { sys, stop }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RunStopped);
    expect(called).toBe(false);
    // the first entry mounted, then unmounted; the second never mounted
    expect([sys.counts.mount, sys.counts.umount2]).toEqual([1, 1]);
    expect(mountinfoText()).toBe(before);
    const [left] = readdirSync(location);
    // before, a RunStopped kept no rmdir failure: nothing named the dir left in the temp location
    expect((err as RunStopped).cleanupErrors.map((e) => (e as Error).message)).toEqual([`remove temp mount dir ${join(location, left!)}: rmdir(2): EBUSY (Device or resource busy)`]);
    fs.rmdirSync(join(location, left!)); // what the failed rmdir left
  });

  test("fn and the cleanup both fail: the cleanup's error, fn's message after it, fn's error as cause", async () => {
    fresh("tempboth");
    const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EBUSY } });
    const mine = new Error("callback broke");
    let dir = "";
    let caught: unknown;
    try {
      await withTempMount([{ type: "tmpfs", source: "t", options: [] }], (d) => {
        dir = d;
        throw mine;
      }, { sys });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BatchError);
    const err = caught as BatchError;
    expect(err.message).toMatch(/release .*mountkit-mount-.*umount2\(2\): EBUSY.*: callback broke$/);
    expect(err.cause).toBe(mine);
    expect(err.cleanupErrors.map((e) => (e as SyscallError).errnoName)).toEqual(["EBUSY"]); // the rmdir of a mounted dir
    // the dir stays, its mount too: never a recursive delete through it
    expect(mountsUnder(dir)).toHaveLength(1);
  });
});

describe("a temp mount location others can rename entries of", () => {
  const savedMk = process.env.MOUNTKIT_TMPDIR;
  afterEach(() => {
    if (savedMk === undefined) delete process.env.MOUNTKIT_TMPDIR;
    else process.env.MOUNTKIT_TMPDIR = savedMk;
  });

  test("writable by every user and not sticky: refused before its temp dir is made; a swap there would have sent the mount out", async () => {
    s = tempLocationScratch("temp-open-location");
    location = s.path("open");
    mkdirSync(location);
    fs.chmodSync(location, 0o777);
    const outside = s.path("outside");
    mkdirSync(outside);
    process.env.MOUNTKIT_TMPDIR = location;
    resetTempMountLocation();
    // another user, right after mountkit made its temp dir: renamed, and a symlink in its place
    const sys = {
      ...libcSyscalls,
      open(path: string, flags: number, mode?: number) {
        if (basename(path).startsWith("mountkit-mount-") && !fs.lstatSync(path).isSymbolicLink()) {
          fs.renameSync(path, `${path}.moved`);
          fs.symlinkSync(outside, path);
        }
        return libcSyscalls.open(path, flags, mode);
      },
    };
    let mountedOutside = -1;
    const run = withTempMount([{ type: "tmpfs", source: "temp-root", options: [] }], () => void (mountedOutside = mountsUnder(outside).length), { sys });
    await expect(run).rejects.toThrow(/^temp mount location .*open: it is writable by every user and not sticky \(mode 0777\): another user could replace/);
    expect(mountedOutside).toBe(-1);
    expect(mountsUnder(outside)).toEqual([]);
    expect(readdirSync(location)).toEqual([]);
  });

  test("another user's, or writable by its group: refused; a sticky one (/tmp) and this user's own are taken", () => {
    s = tempLocationScratch("temp-owned-location");
    location = s.path("loc");
    mkdirSync(location);
    fs.chownSync(location, 65534, 65534);
    expect(() => setTempMountLocation(location)).toThrow(/: it belongs to uid 65534, not to root or this user \(uid 0\)/);
    fs.chownSync(location, 0, 0);
    fs.chmodSync(location, 0o770);
    expect(() => setTempMountLocation(location)).toThrow(/: it is writable by its group and not sticky \(mode 0770\)/);
    fs.chmodSync(location, 0o1777);
    expect(setTempMountLocation(location)).toBe(location);
    fs.chmodSync(location, 0o700);
    expect(setTempMountLocation(location)).toBe(location);
  });
});

describe("a read-only tmpfs with a target inside it (mkdir)", () => {
  test("withTempMount: the target is created in it, then it is read-only; nothing left after", async () => {
    fresh("temp-ro-nested");
    const before = mountinfoText();
    const mounts = [
      { type: "tmpfs", source: "ro-outer", target: "/a", options: ["ro", "size=1m"] },
      { type: "tmpfs", source: "ro-inner", target: "/a/b", options: ["size=1m"] },
    ];
    const seen = await withTempMount(mounts, (dir) => mountsUnder(dir).map((m) => [m.mountpoint.slice(dir.length), m.options.split(",")[0]]), { mkdir: true });
    expect(seen).toEqual([
      ["/a", "ro"],
      ["/a/b", "rw"],
    ]);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });
});

describe("withReadonlyTempMount", () => {
  test("every mount is read-only inside fn; the source stays writable", async () => {
    fresh("tempro");
    const src = s.path("src");
    mkdirSync(src);
    await withReadonlyTempMount([{ type: "bind", source: src, options: ["rbind", "rw"] }], (dir) => {
      expect(() => writeFileSync(`${dir}/x`, "no")).toThrow(/EROFS|read-only/i);
      expect(mountsUnder(dir)[0]!.options.split(",")).toContain("ro");
    });
    writeFileSync(`${src}/x`, "yes");
  });

  test("an overlay: the upper layer on top of the lowers, read-only; with its options packed into one entry (containerd joins them) or two lowerdir= (the last counts)", async () => {
    fresh("tempro-overlay");
    const [lower, old, upper, work] = ["lower", "old", "upper", "work"].map((name) => s.path(name));
    for (const d of [lower!, old!, upper!, work!]) mkdirSync(d);
    writeFileSync(join(lower!, "from-lower"), "l");
    writeFileSync(join(upper!, "from-upper"), "u");
    const before = mountinfoText();
    for (const options of [
      [`lowerdir=${lower},upperdir=${upper},workdir=${work}`],
      [`lowerdir=${old}`, `lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`],
    ]) {
      // the writable mount is what the read-only one shows
      expect(await withTempMount([{ type: "overlay", source: "overlay", options }], (dir) => readdirSync(dir).sort())).toEqual(["from-lower", "from-upper"]);
      const seen = await withReadonlyTempMount([{ type: "overlay", source: "overlay", options }], (dir) => {
        expect(() => writeFileSync(join(dir, "x"), "no")).toThrow(/EROFS|read-only/i);
        return readdirSync(dir).sort();
      });
      expect(seen).toEqual(["from-lower", "from-upper"]);
    }
    expect(readdirSync(upper!).sort()).toEqual(["from-upper"]);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });

  test("a tmpfs with mkdir and a mount inside it: read-only once the mount point inside is made; nothing left after", async () => {
    fresh("tempro-nested");
    const before = mountinfoText();
    const mounts = [
      { type: "tmpfs", source: "ro-outer", target: "/a", options: ["size=1m"] },
      { type: "tmpfs", source: "ro-inner", target: "/a/b", options: ["size=1m"] },
    ];
    const seen = await withReadonlyTempMount(mounts, (dir) => mountsUnder(dir).map((m) => [m.mountpoint.slice(dir.length), m.options.split(",")[0]]), { mkdir: true });
    expect(seen).toEqual([
      ["/a", "ro"],
      ["/a/b", "ro"],
    ]);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(location)).toEqual([]);
  });
});

describe("cleanupTempMounts", () => {
  test("unmounts and removes what a crashed run left, deepest first; leaves what is not mountkit's", () => {
    fresh("cleanup");
    // a crashed temp mount: tmpfs, a nested tmpfs, a stack on the nested one, a bind target on disk
    const crashed = join(location, "mountkit-mount-abc123");
    mkdirSync(crashed);
    mount({ type: "tmpfs", source: "crashed-root", options: [] }, crashed);
    mkdirSync(`${crashed}/a/b`, { recursive: true });
    mount({ type: "tmpfs", source: "crashed-nested", options: [] }, `${crashed}/a/b`);
    mount({ type: "tmpfs", source: "crashed-stacked", options: [] }, `${crashed}/a/b`);
    // another feature's leftover, never mounted: empty directories only
    const idmap = join(location, "mountkit-idmap-x1");
    mkdirSync(`${idmap}/lower/1`, { recursive: true });
    // a legacy idmapped overlay's: the layers' shared temp mount and the layers' links into it
    // (and one to a layer itself): the links go, never what they point to
    const layers = join(location, "mountkit-idmap-x2");
    mkdirSync(`${layers}/layers`, { recursive: true });
    mount({ type: "tmpfs", source: "crashed-layers", options: [] }, `${layers}/layers`);
    mkdirSync(`${layers}/layers/lower0`);
    const outside = s.path("a-layer");
    mkdirSync(outside);
    writeFileSync(`${outside}/f`, "layer file");
    fs.symlinkSync("layers/lower0", `${layers}/0`);
    fs.symlinkSync(outside, `${layers}/1`);
    // a directory with a file in it: kept, reported
    const withFile = join(location, "mountkit-mount-file00");
    mkdirSync(withFile);
    writeFileSync(`${withFile}/keep-me`, "data");
    // not mountkit's: untouched, mount included
    const foreign = join(location, "other-tool");
    mkdirSync(foreign);
    mount({ type: "tmpfs", source: "foreign", options: [] }, foreign);

    // the seam sees each umount2 made beneath the location's fd (temp-cleanup.ts): the log names the path
    const lines: string[] = [];
    const result = cleanupTempMounts({ log: (line) => lines.push(line) });
    const umountOf = (path: string) => lines.findIndex((line) => line.startsWith(`umount2(${JSON.stringify(path)},`));
    expect(umountOf(`${crashed}/a/b`)).toBeGreaterThanOrEqual(0);
    expect(umountOf(`${crashed}/a/b`)).toBeLessThan(umountOf(crashed));
    expect(result.unmounted).toBe(4);
    expect(mountsUnder(crashed)).toEqual([]);
    expect(mountsUnder(layers)).toEqual([]);
    expect(existsSync(crashed)).toBe(false);
    expect(existsSync(idmap)).toBe(false);
    expect(existsSync(layers)).toBe(false);
    expect(readFileSync(`${outside}/f`, "utf8")).toBe("layer file");
    expect(result.removed).toEqual(expect.arrayContaining([crashed, idmap, `${idmap}/lower`, `${idmap}/lower/1`]));
    expect(readFileSync(`${withFile}/keep-me`, "utf8")).toBe("data");
    expect(result.warnings.map((w) => (w as SyscallError).errnoName)).toEqual(["ENOTEMPTY"]);
    expect(result.warnings[0]!.message).toContain(withFile);
    expect(mountsUnder(foreign).map((m) => m.source)).toEqual(["foreign"]);
  });

  test("a mount that cannot be unmounted is a warning, and its directory is left alone", () => {
    fresh("cleanbusy");
    const crashed = join(location, "mountkit-mount-busy00");
    mkdirSync(crashed);
    mount({ type: "tmpfs", source: "busy", options: [] }, crashed);
    writeFileSync(`${crashed}/data`, "x");
    const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EBUSY } });
    const result = cleanupTempMounts({ sys, retry: { name: "t", attempts: 1, delayMs: 0, jitterPerAttemptMs: 0, errnos: [], reason: "test" } });
    expect(result.warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/unmount .*busy00: umount2\(2\): EBUSY/),
      expect.stringMatching(/left in place/),
    ]);
    expect(result.warnings.every((w) => w instanceof MountkitError)).toBe(true);
    expect(readFileSync(`${crashed}/data`, "utf8")).toBe("x"); // nothing deleted through the mount
  });
});
