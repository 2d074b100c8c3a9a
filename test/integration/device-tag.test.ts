// Mounting by UUID= and LABEL=: through udev's /dev/disk links where they exist, else (this
// host has none) by reading the superblocks of the devices in /proc/partitions. ID=: through
// udev's /dev/disk/by-id link only, made here as udev makes it, in an overlay on /dev that only
// this test's mount namespace sees. Real loop devices; each image gets a random UUID and label,
// since other engineers' devices are scanned too. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { deviceOfTag, scanForTag } from "../../src/ops/block-devices.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmount, unmountAll, unmountDevice } from "../../src/ops/unmount.ts";
import { PlanError } from "../../src/errors.ts";
import { deviceTagOf } from "../../src/plan/device-tag.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/** An ext4 image with a fresh UUID and label, attached to a loop device until the test ends. */
function labelledDevice(label: string) {
  const s = ws.fresh(label);
  const uuid = crypto.randomUUID();
  const name = `mk${uuid.slice(0, 8)}`;
  const img = makeExt4Image(s.path("img"), 8, ["-U", uuid, "-L", name]);
  cleanups.push(() => detachLoopDevicesOf(img));
  const loop = attachLoop(img);
  cleanups.push(() => {
    loop.close();
    detachLoop(loop.device);
  });
  return { img, uuid, name, device: loop.device };
}
/**
 * udev's link /dev/disk/by-id/ID to device (../../loopN, as udev writes it), until the test ends:
 * this host has no udev, and /dev is the host's, so the link is made in an overlay on /dev, in
 * this process's mount namespace alone (its children, the binary, see it too).
 */
function byIdLink(id: string, device: string): void {
  const upper = dir("dev-upper");
  const work = dir("dev-work");
  mkdirSync(`${upper}/disk/by-id`, { recursive: true });
  symlinkSync(`../../${device.slice("/dev/".length)}`, `${upper}/disk/by-id/${id}`);
  mount({ type: "overlay", source: "udev-links", options: [`lowerdir=/dev`, `upperdir=${upper}`, `workdir=${work}`] }, "/dev");
  cleanups.push(() => void unmount("/dev"));
}
const mountedAt = (target: string) => mountsUnder(target).map((m) => `${m.source} ${m.fstype}`);

describe("UUID= and LABEL= sources", () => {
  test("the superblock scan finds the device by UUID (either case) and label; a tag nobody has, nowhere", () => {
    const { uuid, name, device } = labelledDevice("tag-scan");
    expect(scanForTag(deviceTagOf(`UUID=${uuid.toUpperCase()}`)!)).toBe(device);
    expect(scanForTag(deviceTagOf(`LABEL=${name}`)!)).toBe(device);
    expect(scanForTag(deviceTagOf(`LABEL=${name}x`)!)).toBeUndefined();
    // with udev's link (not on this host) or without it, the answer is the device itself
    expect(deviceOfTag(deviceTagOf(`UUID=${uuid}`)!)).toBe(device);
  });

  test("each finds its loop device, UUID in either case; the type is read too", () => {
    const { uuid, name, device } = labelledDevice("tag-lib");
    const t = dir("m");
    unmountAfter(t);
    for (const source of [`UUID=${uuid.toUpperCase()}`, `LABEL=${name}`, `/dev/disk/by-label/${name}`]) {
      const plan = mount({ type: "", source, options: ["ro"] }, t);
      expect(plan.steps[0]).toMatchObject({ op: "probed-mount", source: device });
      expect(mountedAt(t)).toEqual([`${device} ext4`]);
      unmountAll(t);
    }
    expect(mountsUnder(t)).toEqual([]);
  });

  test("unmountDevice (the library's umount DEVICE): the device's mount point, by device or tag; undefined when not mounted or no device; a tag nobody has is a PlanError", () => {
    const { uuid, name, device } = labelledDevice("tag-unmount-device");
    const t = dir("m");
    unmountAfter(t);
    for (const named of [device, `UUID=${uuid}`, `LABEL=${name}`]) {
      mount({ type: "ext4", source: device, options: ["ro"] }, t);
      expect(unmountDevice(named)).toBe(t);
      expect(mountsUnder(t)).toEqual([]);
    }
    expect(unmountDevice(device)).toBeUndefined(); // attached, mounted nowhere
    expect(unmountDevice(t)).toBeUndefined(); // a directory is no block device
    expect(() => unmountDevice(`LABEL=${name}x`)).toThrow(PlanError);
  });

  test("the binary: mount LABEL=x DIR; a tag nobody has exits 1 naming it; mount -a twice mounts once", () => {
    const { uuid, name, device } = labelledDevice("tag-cli");
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", `LABEL=${name}`, t])).toMatchObject({ code: 0, stderr: "" });
    expect(mountedAt(t)).toEqual([`${device} ext4`]);
    expect(runCli(["umount", t]).code).toBe(0);

    const missing = runCli(["mount", "-t", "ext4", `UUID=${crypto.randomUUID()}`, t]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no block device has UUID "[0-9a-f-]{36}" \(looked for \/dev\/disk\/by-uuid\/.*, then read the superblock of each device in \/proc\/partitions\)/);

    const fstab = dir("etc") + "/fstab";
    writeFileSync(fstab, `UUID=${uuid} ${t} auto nodev 0 2\n`);
    const first = runCli(["mount", "-a", "-T", fstab, "--json"]);
    const again = runCli(["mount", "-a", "-T", fstab, "--json"]);
    expect([first.code, again.code]).toEqual([0, 0]);
    expect([JSON.parse(first.stdout).entries[0].status, JSON.parse(again.stdout).entries[0].status]).toEqual(["mounted", "skipped"]);
    expect(mountedAt(t)).toEqual([`${device} ext4`]);
    expect(runCli(["umount", "-a", "-T", fstab]).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("mount -L LABEL DIR, -U UUID DIR, --source/--target, as mount(8); -L with -U is a usage error", () => {
    const { uuid, name, device } = labelledDevice("tag-flags");
    const t = dir("m");
    unmountAfter(t);
    for (const args of [["-L", name, t], ["-U", uuid, "-c", t], ["-L", name, "--target", t], ["--source", device, "--target", t], ["--target", t, device]]) {
      expect(runCli(["mount", ...args])).toMatchObject({ code: 0, stderr: "" });
      expect(mountedAt(t)).toEqual([`${device} ext4`]);
      expect(runCli(["umount", t]).code).toBe(0);
    }
    const both = runCli(["mount", "-L", name, "-U", uuid, t]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("give the source once");
    expect(runCli(["mount", "-L", name, device, t]).stderr).toContain("too many operands");
    expect(mountsUnder(t)).toEqual([]);
  });

  test("umount UUID=x and LABEL=x unmount the device's mount; not mounted, or a tag nobody has, fails that target (exit 32)", () => {
    const { uuid, name, device } = labelledDevice("tag-umount");
    const t = dir("m");
    unmountAfter(t);
    for (const tag of [`LABEL=${name}`, `UUID=${uuid.toUpperCase()}`]) {
      mount({ type: "ext4", source: device, options: [] }, t);
      expect(runCli(["umount", tag])).toMatchObject({ code: 0, stderr: "" });
      expect(mountsUnder(t)).toEqual([]);
    }
    const notMounted = runCli(["umount", `LABEL=${name}`]);
    expect(notMounted.code).toBe(32);
    expect(notMounted.stderr).toContain("not mounted");
    const nobody = runCli(["umount", `LABEL=${name}x`]);
    expect(nobody.code).toBe(32);
    expect(nobody.stderr).toContain(`unmount LABEL=${name}x: no block device has LABEL "${name}x"`);
  });
});

describe("ID= sources: a device by udev's id, its /dev/disk/by-id link the only place to find it", () => {
  test("mount ID=x DIR, umount ID=x, the library's mount and an fstab line's ID=x find the device the link names", () => {
    const { device } = labelledDevice("tag-id");
    const id = `mk-${crypto.randomUUID().slice(0, 8)}`;
    byIdLink(id, device);
    const t = dir("m");
    unmountAfter(t);
    expect(runCli(["mount", `ID=${id}`, t])).toMatchObject({ code: 0, stderr: "" });
    expect(mountedAt(t)).toEqual([`${device} ext4`]);
    expect(runCli(["umount", `ID=${id}`])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(t)).toEqual([]);

    const plan = mount({ type: "", source: `ID=${id}`, options: ["ro"] }, t);
    expect(plan.steps[0]).toMatchObject({ op: "probed-mount", source: device });
    expect(mountedAt(t)).toEqual([`${device} ext4`]);
    unmountAll(t);

    const fstab = dir("etc") + "/fstab";
    writeFileSync(fstab, `ID=${id} ${t} auto nodev 0 2\n`);
    expect(runCli(["mount", "-a", "-T", fstab])).toMatchObject({ code: 0, stderr: "" });
    expect(mountedAt(t)).toEqual([`${device} ext4`]);
    expect(runCli(["umount", "-a", "-T", fstab]).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("no link (this host has no udev): mount ID=x exits 1, umount ID=x 32, an fstab line fails alike, each naming the by-id path", () => {
    ws.fresh("tag-id-none");
    const t = dir("m");
    const id = `mk-absent-${crypto.randomUUID().slice(0, 8)}`;
    const said = `no block device has ID "${id}" (looked for /dev/disk/by-id/${id}: udev's link is all that names a device by its id)`;
    // before, the operand was a path: "no filesystem type given, and ID=x is no block device", and with -t mount(2)'s ENOENT
    expect(runCli(["mount", `ID=${id}`, t])).toEqual({ code: 1, stdout: "", stderr: `mountkit: mount ID=${id} on ${t}: ${said}\n` });
    expect(runCli(["mount", "-t", "ext4", `ID=${id}`, t])).toEqual({ code: 1, stdout: "", stderr: `mountkit: mount ID=${id} on ${t}: ${said}\n` });
    // before, umount2(2) of the operand as a path: ENOENT
    expect(runCli(["umount", `ID=${id}`])).toEqual({ code: 32, stdout: "", stderr: `mountkit: unmount ID=${id}: ${said}\n` });
    const fstab = dir("etc") + "/fstab";
    writeFileSync(fstab, `ID=${id} ${t} ext4 defaults 0 0\n`);
    const all = runCli(["mount", "-a", "-T", fstab]);
    expect(all.code).toBe(32);
    expect(all.stderr).toBe(`mountkit: mount -a: line 1 (${t}): mount /dev/disk/by-id/${id} on ${t}: ${said}\n`);
    expect(mountsUnder(t)).toEqual([]);
  });
});
