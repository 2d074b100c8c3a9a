// mountkit loop attach / detach beside util-linux losetup 2.38, on this kernel: sizes, hostile
// files and devices, size warnings, a detach of a device in use. Real devices; root, private
// mount namespace. Only devices bound to this test's own files are looked at (other engineers
// use loop devices too), and every one is released in the test's cleanup, whatever it did.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { MountFailedError } from "../../src/errors.ts";
import { detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { AT } from "../../src/plan/mount-api-flags.ts";
import { O } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { caught } from "../support/caught.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { loopSysfs as sysfs, runLosetup as losetup, zeroFile } from "../support/loop-files.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
/** A file of `bytes` zero bytes in the scratch dir, its devices detached after the test. */
const fileOf = (name: string, bytes: number) => zeroFile(s, cleanups, name, bytes);

describe("loop attach --offset / --sizelimit read sizes as losetup does", () => {
  test("each size attaches at the offset losetup attaches at; what losetup refuses, mountkit refuses (exit 1), attaching nothing", async () => {
    fresh("loopcmd-sizes");
    const img = image("img", 16);
    // fractions that util-linux computes exactly: see size.ts for the ones it does not
    const accepted = ["4096", "0x10", "0X10", "010", "010K", "0x1K", " 4096", "+4096", "1k", "1KiB", "1Kib", "1KB", "1kb", "1.5M", "1.5MiB", "1.5KB", "0.5K", "1.000K", "1.M"];
    for (const text of accepted) {
      const theirs = losetup(["-f", "--show", "-o", text, img]);
      expect([text, theirs.code]).toEqual([text, 0]);
      const theirOffset = sysfs(theirs.stdout.trim(), "loop/offset");
      losetup(["-d", theirs.stdout.trim()]);
      const ours = runCli(["loop", "attach", "--offset", text, img]);
      expect([text, ours.code]).toEqual([text, 0]);
      const device = ours.stdout.trim();
      expect([text, sysfs(device, "loop/offset")]).toEqual([text, theirOffset]);
      expect(runCli(["loop", "detach", device]).code).toBe(0);
    }
    for (const text of ["-1", "", "08", "0x", "1KIB", "4096 ", "1.5", "1.", "7B", "12q"]) {
      expect([text, losetup(["-f", "--show", "-o", text, img]).code]).toEqual([text, 1]);
      const ours = runCli(["loop", "attach", "--offset", text, img]);
      expect([text, ours.code, ours.stdout]).toEqual([text, 1, ""]);
      expect(ours.stderr).toBe(`mountkit: offset: ${JSON.stringify(text)} is not a size in bytes (e.g. 4096, 1MiB, 2KB)\n`);
    }
    const negative = runCli(["loop", "attach", "--sizelimit", "-5", img]);
    expect(negative).toMatchObject({ code: 1, stderr: 'mountkit: sizelimit: "-5" is not a size in bytes (e.g. 4096, 1MiB, 2KB)\n' });
    await expectFreed(img);
  });
});

describe("loop attach of what cannot be attached", () => {
  test("a missing path, a directory, a FIFO, a character device: exit 32 naming the syscall, errno and path (losetup: exit 1); nothing attached", async () => {
    fresh("loopcmd-hostile");
    const fifo = s.path("fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const directory = dir("a-directory");
    const missing = s.path("missing.img");
    for (const [file, detail, hint] of [
      [missing, "open(2): ENOENT (No such file or directory)", `${missing} does not exist`],
      [directory, "open(2): EISDIR (Is a directory)", `${directory} is not a regular file or block device`],
      [fifo, "ioctl(LOOP_CONFIGURE): EINVAL (Invalid argument)", `${fifo} is not a regular file or block device`],
      ["/dev/null", "ioctl(LOOP_CONFIGURE): EINVAL (Invalid argument)", "/dev/null is not a regular file or block device"],
    ] as const) {
      const ours = Bun.spawnSync(["timeout", "10", BINARY, "loop", "attach", file]); // a FIFO must never wait for a writer
      expect([file, ours.exitCode, ours.stdout.toString()]).toEqual([file, 32, ""]);
      const stderr = ours.stderr.toString();
      expect(stderr.startsWith(`mountkit: attach ${file} to a loop device: ${detail}`)).toBe(true);
      expect(stderr).toContain(`(${hint})`);
      expect([file, losetup(["-f", "--show", file]).code]).toEqual([file, 1]);
      await expectFreed(file);
    }
  });

  test("a file on a read-only mount: attached read-only, as losetup, saying so", async () => {
    fresh("loopcmd-rofs");
    const img = fileOf("img", 1 << 20);
    const ro = dir("ro");
    unmountAfter(ro);
    mount({ type: "bind", source: s.dir, options: ["bind", "ro"] }, ro);
    const path = `${ro}/img`;
    cleanups.push(() => detachLoopDevicesOf(path));
    const theirs = losetup(["-f", "--show", path]);
    expect(theirs.code).toBe(0);
    expect(sysfs(theirs.stdout.trim(), "ro")).toBe("1");
    losetup(["-d", theirs.stdout.trim()]);
    const ours = runCli(["loop", "attach", path]);
    expect(ours.code).toBe(0);
    const device = ours.stdout.trim();
    expect(ours.stderr).toBe(`mountkit: loop attach: ${path} is write-protected: ${device} is read-only\n`);
    expect(sysfs(device, "ro")).toBe("1");
    expect(runCli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(path);
    await expectFreed(img);
  });
});

describe("loop attach size warnings, as losetup's", () => {
  test("attached all the same (exit 0), with a warning on stderr and in --json, where losetup warns too (and where it cannot tell)", async () => {
    fresh("loopcmd-warn");
    const img = fileOf("img", 1 << 20);
    const small = fileOf("small", 1000);
    const tiny = fileOf("tiny", 100);
    for (const [file, args, warning, theyWarn] of [
      // losetup's own arithmetic wraps around here (file size - offset, unsigned): it says nothing
      [img, ["--offset", "100MiB"], `offset=104857600 is at or past the end of ${img} (1048576 bytes): the loop device is empty`, false],
      [img, ["--offset", "16"], `the last 496 bytes of ${img} do not fill a 512-byte sector: the loop device leaves them out`, true],
      [img, ["--sizelimit", "1000"], `the last 488 bytes of ${img} do not fill a 512-byte sector: the loop device leaves them out`, true],
      [small, [], `the last 488 bytes of ${small} do not fill a 512-byte sector: the loop device leaves them out`, true],
      [tiny, [], `the loop device shows 100 bytes of ${tiny}, less than one 512-byte sector: it is empty`, true],
    ] as const) {
      const theirs = losetup(["-f", "--show", ...args, file]);
      expect([file, args, theirs.code, theirs.stderr.includes("Warning")]).toEqual([file, args, 0, theyWarn]);
      losetup(["-d", theirs.stdout.trim()]);
      const ours = runCli(["loop", "attach", ...args, file]);
      expect([file, args, ours.code, ours.stderr]).toEqual([file, args, 0, `mountkit: loop attach: warning: ${warning}\n`]);
      expect(runCli(["loop", "detach", ours.stdout.trim()]).code).toBe(0);
      const json = runCli(["loop", "attach", "--json", ...args, file]);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, warnings: [warning] });
      expect(runCli(["loop", "detach", JSON.parse(json.stdout).device]).code).toBe(0);
      await expectFreed(file);
    }
    // whole sectors: no word
    const clean = runCli(["loop", "attach", "--offset", "4096", img]);
    expect(clean).toMatchObject({ code: 0, stderr: "" });
    expect(runCli(["loop", "detach", clean.stdout.trim()]).code).toBe(0);
    await expectFreed(img);
  });
});

describe("loop detach", () => {
  test("what is no loop device is refused before any ioctl (losetup: 'failed to use device'), naming what it is; only an O_PATH handle is opened", () => {
    fresh("loopcmd-detach-notloop");
    const file = fileOf("plain", 4096);
    const directory = dir("d");
    const fifo = s.path("fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    // a disk of this machine (vda, zram0...): the ioctl must never reach its driver
    const disk = readdirSync("/sys/block").find((name) => !name.startsWith("loop") && existsSync(`/dev/${name}`));
    if (disk === undefined) throw new Error("this test needs a block device that is not a loop device (/sys/block lists none with a /dev node)");
    const diskNumber = readFileSync(`/sys/block/${disk}/dev`, "utf8").trim();
    for (const [path, kind] of [
      ["/dev/null", "a character device"],
      [file, "a regular file"],
      [directory, "a directory"],
      [fifo, "a FIFO"],
      [`/dev/${disk}`, `another block device (${diskNumber}, ${disk})`],
    ] as const) {
      const before = openFds();
      const sys = injectFaults(libcSyscalls, {});
      const err = caught(() => detachLoop(path, { sys })) as MountFailedError;
      expect(err).toBeInstanceOf(MountFailedError);
      expect(err.message).toBe(`detach ${path}: ${path} is ${kind}, not a loop device`);
      // an O_PATH handle, stat()ed and closed: no open(2) for I/O (another driver's open, a FIFO's wait), no LOOP_CLR_FD
      expect(sys.log.map(([call]) => call).filter((call) => call !== "readlink")).toEqual(["openPath", "statxNode", "close"]);
      expect(newFds(before)).toEqual([]);
      expect([path, losetup(["-d", path]).code]).toEqual([path, 1]);
      const ours = Bun.spawnSync(["timeout", "10", BINARY, "loop", "detach", path]); // a FIFO must never wait for a writer
      expect({ code: ours.exitCode, stderr: ours.stderr.toString() }).toEqual({ code: 32, stderr: `mountkit: detach ${path}: ${path} is ${kind}, not a loop device (name a loop device, /dev/loopN (mountkit loop list shows the attached ones))\n` });
    }
  });

  test("a symlink to a loop device detaches the device, as losetup -d does", async () => {
    fresh("loopcmd-detach-symlink");
    const img = image();
    const link = s.path("link");
    for (const detach of [(path: string) => runCli(["loop", "detach", path]).code, (path: string) => losetup(["-d", path]).code]) {
      const device = runCli(["loop", "attach", img]).stdout.trim();
      symlinkSync(device, link);
      expect(detach(link)).toBe(0);
      await expectFreed(img);
      rmSync(link);
    }
  });

  /**
   * A seam whose openPath of `link` points link at `then` once it has returned: the name is
   * renamed over between the open and the check, as another process could.
   */
  const renamedAfterOpen = (link: string, then: string) => {
    const swap = s.path("swap");
    return injectFaults(
      {
        ...libcSyscalls,
        openPath(path) {
          const fd = libcSyscalls.openPath(path);
          if (path === link) {
            symlinkSync(then, swap);
            renameSync(swap, link);
          }
          return fd;
        },
      },
      {},
    );
  };

  test("the check and the ioctl are made on the file opened, not on its name: a name renamed over after the open changes neither", async () => {
    fresh("loopcmd-detach-race");
    const img = image();
    const plain = fileOf("plain", 4096);
    const link = s.path("link");

    // opened on a loop device, then the name points at /dev/null: the device opened is detached
    const device = runCli(["loop", "attach", img]).stdout.trim();
    symlinkSync(device, link);
    const before = openFds();
    const sys = renamedAfterOpen(link, "/dev/null");
    detachLoop(link, { sys });
    expect(readlinkSync(link)).toBe("/dev/null");
    await expectFreed(img);
    // the handle's own file is stat()ed, then opened for the ioctl through /proc/self/fd
    const [handle, fd] = [sys.log[1]?.[1], sys.log[3]?.[1]];
    expect(sys.log).toEqual([
      ["openPath", link],
      ["statxNode", handle, "", AT.EMPTY_PATH],
      ["open", `/proc/self/fd/${handle}`, O.RDONLY | O.CLOEXEC],
      ["loopClrFd", fd],
      ["close", fd],
      ["close", handle],
    ]);
    expect(typeof handle === "number" && typeof fd === "number" && handle !== fd).toBe(true);
    expect(newFds(before)).toEqual([]);

    // opened on a regular file, then the name points at a loop device: refused as the file, the device left alone
    const other = runCli(["loop", "attach", img]).stdout.trim();
    rmSync(link);
    symlinkSync(plain, link);
    const refused = caught(() => detachLoop(link, { sys: renamedAfterOpen(link, other) })) as MountFailedError;
    expect(readlinkSync(link)).toBe(other);
    expect(refused.message).toBe(`detach ${link}: ${link} is a regular file, not a loop device`);
    expect(loopDevicesOf(img).sysfs).toEqual([other]);
    expect(runCli(["loop", "detach", other]).code).toBe(0);
    await expectFreed(img);
  });

  test("a device not attached (ENXIO), one that does not exist (ENOENT): named with a hint; several with one bad: the others detached, exit 64", async () => {
    fresh("loopcmd-detach-several");
    const img = image();
    const [a, b] = [runCli(["loop", "attach", img]).stdout.trim(), runCli(["loop", "attach", img]).stdout.trim()];
    expect(loopDevicesOf(img).sysfs).toEqual([a, b].sort());
    const free = runCli(["loop", "detach", a, "/dev/loop999999", b]);
    expect(free.code).toBe(64);
    expect(free.stderr).toBe("mountkit: detach /dev/loop999999: open(2): ENOENT (No such file or directory) (there is no /dev/loop999999: mountkit loop list shows the attached loop devices)\n");
    await expectFreed(img);
    const again = runCli(["loop", "detach", a]);
    expect(again).toMatchObject({ code: 32, stderr: `mountkit: detach ${a}: ioctl(LOOP_CLR_FD): ENXIO (No such device or address) (the device is not attached to a file)\n` });
    expect(losetup(["-d", a]).code).toBe(1);
  });

  test("a device in use by a mount: detached when the mount goes (autoclear set), as losetup -d does", async () => {
    fresh("loopcmd-detach-busy");
    const img = image();
    const t = dir("m");
    unmountAfter(t);
    for (const detach of [(d: string) => runCli(["loop", "detach", d]).code, (d: string) => losetup(["-d", d]).code]) {
      const device = runCli(["loop", "attach", img]).stdout.trim();
      expect(sysfs(device, "loop/autoclear")).toBe("0");
      mount({ type: "ext4", source: device, options: [] }, t);
      expect(detach(device)).toBe(0);
      expect(loopDevicesOf(img).sysfs).toEqual([device]); // still there: the mount holds it
      expect(sysfs(device, "loop/autoclear")).toBe("1");
      expect(mountsUnder(t).map((m) => m.source)).toEqual([device]);
      unmountAll(t);
      await expectFreed(img);
    }
  });
});

