// Type lists on the real kernel: a device and an image mounted with the first type of a list
// that fits, the kernel's refusal of the others seen in the log, a list none of whose types
// fits, an error that stops the list at once, and an fstab line with a list. Root, private
// mount namespace; loop devices released in the cleanups.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;
const mountAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target);

/** An ext4 image of this test, attached by hand (no autoclear) when a device is wanted. */
function ext4Image(label: string): string {
  const s = ws.fresh(label);
  const image = makeExt4Image(s.path("a.img"));
  cleanups.push(() => detachLoopDevicesOf(image));
  return image;
}
function device(image: string): string {
  const loop = attachLoop(image);
  cleanups.push(() => {
    loop.close();
    detachLoop(loop.device);
  });
  return loop.device;
}

describe("a type list", () => {
  test("a device: the types the kernel refuses (ENODEV: no such type) are passed over, ext4 mounts", () => {
    const dev = device(ext4Image("types-device"));
    const t = dir("m");
    unmountAfter(t);
    const log: string[] = [];
    mount({ type: "mountkitfs,ext4", source: dev, options: ["nodev"] }, t, { log: (l) => log.push(l) });
    expect(mountAt(t)).toMatchObject({ source: dev, fstype: "ext4" });
    expect(log).toContain("ENODEV: not mountkitfs; the next type");
    expect(log.at(-1)).toBe(`mount(${JSON.stringify(dev)}, ${JSON.stringify(t)}, "ext4", MS_NODEV, NULL)`);
  });

  test("a filesystem type that is not what the device holds (EINVAL) is passed over too", () => {
    const dev = device(ext4Image("types-einval"));
    const t = dir("m");
    unmountAfter(t);
    const log: string[] = [];
    // squashfs is in this kernel (/proc/filesystems): it refuses an ext4 device with EINVAL
    mount({ type: "squashfs,ext4", source: dev, options: [] }, t, { log: (l) => log.push(l) });
    expect(mountAt(t)!.fstype).toBe("ext4");
    expect(log).toContain("EINVAL: not squashfs; the next type");
  });

  test("none fits: the last refusal, with a hint naming every type; nothing mounted", () => {
    const dev = device(ext4Image("types-none"));
    const t = dir("m");
    const err = caught(() => mount({ type: "mountkitfs,squashfs", source: dev, options: [] }, t)) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errno).toBe(Errno.EINVAL);
    expect(err.hint).toBe(`${dev} holds none of mountkitfs, squashfs (each refused with EINVAL or ENODEV), or an option is wrong`);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("any other error does not stop the list (libmount tries every type); none working, that error is the one reported", () => {
    const dev = device(ext4Image("types-stop"));
    const missing = join(dir("m"), "missing");
    const log: string[] = [];
    const err = caught(() => mount({ type: "ext4,squashfs", source: dev, options: [] }, missing, { log: (l) => log.push(l) })) as SyscallError;
    expect(err).toMatchObject({ syscall: "mount(2)", errno: Errno.ENOENT });
    expect(log.filter((l) => l.startsWith("mount("))).toHaveLength(2);
    expect(log).toContain("ENOENT with ext4; the next type");
  });

  test("a name no device holds, then tmpfs: ext4's ENOENT, then the tmpfs mounted, as mount(8) -t ext4,tmpfs does", () => {
    ws.fresh("types-name");
    const t = dir("m");
    unmountAfter(t);
    const run = runCli(["mount", "-t", "ext4,tmpfs", "mountkit-no-such-device", t]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(mountAt(t)).toMatchObject({ fstype: "tmpfs", source: "mountkit-no-such-device" });
  });

  test("an image: a loop device, mounted with the list's ext4; unmounting frees it (the CLI)", async () => {
    const image = ext4Image("types-image");
    const t = dir("m");
    unmountAfter(t);
    const run = runCli(["mount", "-t", "mountkitfs,ext4", image, t]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(mountAt(t)).toMatchObject({ fstype: "ext4", source: expect.stringMatching(/^\/dev\/loop\d+$/) });
    unmountAll(t);
    await expectFreed(image);
  });

  test("an fstab line with a list: mount -a mounts it, and the next mount -a sees it mounted", () => {
    const dev = device(ext4Image("types-fstab"));
    const t = dir("m");
    unmountAfter(t);
    const fstab = join(dir("etc"), "fstab");
    writeFileSync(fstab, `${dev} ${t} squashfs,ext4 defaults 0 0\n`);
    expect(runCli(["mount", "-a", "-T", fstab])).toMatchObject({ code: 0, stderr: "" });
    expect(mountAt(t)!.fstype).toBe("ext4");
    const again = runCli(["mount", "-a", "-v", "-T", fstab]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already mounted");
    expect(mountsUnder(t)).toHaveLength(1);
  });
});
