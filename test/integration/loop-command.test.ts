// mountkit loop attach / detach beside util-linux losetup 2.38, on this kernel: sizes, hostile
// files and devices, size warnings, a detach of a device in use. Real devices; root, private
// mount namespace. Only devices bound to this test's own files are looked at (other engineers
// use loop devices too), and every one is released in the test's cleanup, whatever it did.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { MountFailedError } from "../../src/errors.ts";
import { detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { runCli } from "../support/cli.ts";
import { caught } from "../support/caught.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const sysfs = (device: string, name: string) => readFileSync(`/sys/block/${device.slice("/dev/".length)}/${name}`, "utf8").trim();
const losetup = (args: string[]) => {
  const run = Bun.spawnSync(["losetup", ...args]);
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
};
/** A file of `bytes` zero bytes in the scratch dir, its devices detached after the test. */
const fileOf = (name: string, bytes: number) => {
  const path = s.path(name);
  writeFileSync(path, new Uint8Array(bytes));
  cleanups.push(() => detachLoopDevicesOf(path));
  return path;
};

describe("loop detach", () => {
  test("what is no loop device is refused before any ioctl (losetup: 'failed to use device'), naming what it is", () => {
    fresh("loopcmd-detach-notloop");
    const file = fileOf("plain", 4096);
    const directory = dir("d");
    // a disk of this machine (vda, zram0...): the ioctl must never reach its driver
    const disk = readdirSync("/sys/block").find((name) => !name.startsWith("loop") && existsSync(`/dev/${name}`));
    if (disk === undefined) throw new Error("this test needs a block device that is not a loop device (/sys/block lists none with a /dev node)");
    const diskNumber = readFileSync(`/sys/block/${disk}/dev`, "utf8").trim();
    for (const [path, kind] of [
      ["/dev/null", "a character device"],
      [file, "a regular file"],
      [directory, "a directory"],
      [`/dev/${disk}`, `another block device (${diskNumber}, ${disk})`],
    ] as const) {
      const sys = injectFaults(libcSyscalls, {});
      const err = caught(() => detachLoop(path, { sys })) as MountFailedError;
      expect(err).toBeInstanceOf(MountFailedError);
      expect(err.message).toBe(`detach ${path}: ${path} is ${kind}, not a loop device`);
      expect(sys.log).toEqual([]); // no open, no LOOP_CLR_FD
      expect([path, losetup(["-d", path]).code]).toEqual([path, 1]);
      const ours = runCli(["loop", "detach", path]);
      expect(ours).toMatchObject({ code: 32, stderr: `mountkit: detach ${path}: ${path} is ${kind}, not a loop device (name a loop device, /dev/loopN (mountkit loop list shows the attached ones))\n` });
    }
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

