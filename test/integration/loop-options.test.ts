// offset= and sizelimit= ask for a loop device without loop, as libmount's
// mnt_context_is_loopdev reads them, checked beside util-linux mount(8) in this namespace.
// Real devices; root, private mount namespace. Every device bound to a test's image (or to a
// device attached over it) is released in its cleanup, whatever the test did.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { PlanError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop } from "../../src/ops/loop.ts";
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
const sourceAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target)?.source;
const sysfsLoop = (device: string, name: string) => readFileSync(`/sys/block/${device.slice("/dev/".length)}/loop/${name}`, "utf8").trim();
const MiB = 1 << 20;
/** util-linux mount(8) or umount(8), in this namespace. */
const utilLinux = (args: string[]) => {
  const run = Bun.spawnSync(args);
  return { code: run.exitCode, stderr: run.stderr.toString() };
};
/** An ext4 filesystem 1 MiB into a 16 MiB file: mountable only at offset=1MiB. */
const imageAtOffset = () => image("img", 16, ["-E", "offset=1048576"], "8M");

describe("offset= and sizelimit= without loop", () => {
  test("a typed mount of an image: a loop device at that offset, with autoclear; mountkit and mount(8) alike", async () => {
    fresh("loopopt-file");
    const img = imageAtOffset();
    const t = dir("m");
    unmountAfter(t);
    for (const [who, run] of [
      ["mountkit", (args: string[]) => runCli(["mount", ...args])],
      ["util-linux", (args: string[]) => utilLinux(["mount", ...args])],
    ] as const) {
      for (const options of ["offset=1048576", "offset=1MiB,sizelimit=8MiB"]) {
        const result = run(["-t", "ext4", "-o", options, img, t]);
        expect([who, options, result.code, result.stderr]).toEqual([who, options, 0, ""]);
        const device = sourceAt(t)!;
        expect(device).toMatch(/^\/dev\/loop\d+$/);
        expect([sysfsLoop(device, "offset"), sysfsLoop(device, "autoclear"), sysfsLoop(device, "backing_file")]).toEqual(["1048576", "1", img]);
        expect(sysfsLoop(device, "sizelimit")).toBe(options.includes("sizelimit") ? String(8 * MiB) : "0");
        expect(utilLinux(["umount", t]).code).toBe(0);
        await expectFreed(img);
      }
    }
  });

  test("the library: offset= alone makes the loop mount, the source's kind not asked", async () => {
    fresh("loopopt-library");
    const img = imageAtOffset();
    const t = dir("m");
    unmountAfter(t);
    const plan = mount({ type: "ext4", source: img, options: ["offset=1MiB"] }, t, { facts: probeKernelFacts("fd") });
    expect(plan.steps[0]).toMatchObject({ op: "loop-mount", loop: { offset: MiB }, data: null });
    expect(sysfsLoop(sourceAt(t)!, "offset")).toBe(String(MiB));
    unmountAll(t);
    await expectFreed(img);
  });

  test("a block device source: a loop device over the device, as mount(8) makes; the unmount frees it", async () => {
    fresh("loopopt-block");
    const img = imageAtOffset();
    const attached = attachLoop(img);
    attached.close();
    const whole = attached.device; // attached by hand: the image cleanup detaches it
    cleanups.push(() => detachLoopDevicesOf(whole)); // runs first: the device over it
    const t = dir("m");
    unmountAfter(t);
    for (const [who, run] of [
      ["mountkit", (args: string[]) => runCli(["mount", ...args])],
      ["util-linux", (args: string[]) => utilLinux(["mount", ...args])],
    ] as const) {
      for (const args of [["-o", "offset=1048576"], ["-t", "ext4", "-o", "offset=1MiB"]]) {
        const result = run([...args, whole, t]);
        expect([who, ...args, result.code, result.stderr]).toEqual([who, ...args, 0, ""]);
        const device = sourceAt(t)!;
        expect(device).toMatch(/^\/dev\/loop\d+$/);
        expect(device).not.toBe(whole);
        expect([sysfsLoop(device, "backing_file"), sysfsLoop(device, "offset"), sysfsLoop(device, "autoclear")]).toEqual([whole, "1048576", "1"]);
        expect(utilLinux(["umount", t]).code).toBe(0);
        await expectFreed(whole);
      }
    }
    expect(loopDevicesOf(img).sysfs).toEqual([whole]);
  });

  test("a tmpfs with offset=: refused before any syscall, exit 1, naming the option; nothing mounted", () => {
    fresh("loopopt-tmpfs");
    const t = dir("m");
    const sys = injectFaults(libcSyscalls, {});
    const err = caught(() => mount({ type: "tmpfs", source: "tmpfs", options: ["size=1m", "offset=1048576"] }, t, { sys })) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(sys.log).toEqual([]);
    const cli = runCli(["mount", "-t", "tmpfs", "-o", "sizelimit=1M", "tmpfs", t]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toBe(
      `mountkit: mount tmpfs on ${t}: tmpfs is not mounted from a file or block device: no loop device for sizelimit=1M ` +
        "(leave out sizelimit=1M (mount(8) ignores it for tmpfs), or give the image's type with -t)\n",
    );
    expect(mountsUnder(t)).toEqual([]);
  });

  test("a source that cannot be looped, with no type: exit 32 naming the syscall and the path, as mount(8)'s 32; no device left", async () => {
    fresh("loopopt-notfile");
    const t = dir("m");
    const directory = dir("a-directory");
    const fifo = s.path("fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    for (const [source, syscall, hint] of [
      [directory, "open(2): EISDIR", `${directory} is not a regular file or block device`],
      [fifo, "ioctl(LOOP_CONFIGURE): EINVAL", `${fifo} is not a regular file or block device`],
      [s.path("missing.img"), "open(2): ENOENT", `${s.path("missing.img")} does not exist`],
    ] as const) {
      const ours = runCli(["mount", "-o", "offset=4096", source, t]);
      expect([source, ours.code]).toEqual([source, 32]);
      expect(ours.stderr).toContain(`mountkit: mount ${source} on ${t}: ${syscall}`);
      expect(ours.stderr).toContain(`(${hint})`);
      expect([source, utilLinux(["mount", "-o", "offset=4096", source, t]).code]).toEqual([source, 32]);
      expect(mountsUnder(t)).toEqual([]);
      await expectFreed(source);
    }
  });

  test("offset= past the end of the image: the kernel's failure, a hint that says why; no device left", async () => {
    fresh("loopopt-past-end");
    const img = image();
    const t = dir("m");
    const ours = runCli(["mount", "-t", "ext4", "-o", "offset=100MiB", img, t]);
    expect(ours.code).toBe(32);
    expect(ours.stderr).toContain(`(offset=104857600 is at or past the end of ${img} (8388608 bytes): the loop device is empty)`);
    expect(utilLinux(["mount", "-t", "ext4", "-o", "offset=100MiB", img, t]).code).toBe(32);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
  });

  test("loop=/dev/loopN of a device that does not exist: exit 32, ENOENT with a hint, no node made; mount(8) makes none either", async () => {
    fresh("loopopt-no-device");
    const img = image();
    const t = dir("m");
    const device = "/dev/loop987654";
    expect(existsSync(device)).toBe(false);
    const ours = runCli(["mount", "-t", "ext4", "-o", `loop=${device}`, img, t]);
    expect(ours).toMatchObject({ code: 32, stdout: "" });
    expect(ours.stderr).toBe(
      `mountkit: mount ${img} on ${t}: open(2): ENOENT (No such file or directory): ${device} (there is no ${device}: name an existing loop device, or give loop alone for a free one)\n`,
    );
    expect(utilLinux(["mount", "-t", "ext4", "-o", `loop=${device}`, img, t]).code).toBe(32);
    expect(existsSync(device)).toBe(false);
    expect(mountsUnder(t)).toEqual([]);
    await expectFreed(img);
  });
});
