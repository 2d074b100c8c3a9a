// Mounting by UUID= and LABEL=: through udev's /dev/disk links where they exist, else (this
// host has none) by reading the superblocks of the devices in /proc/partitions. Real
// loop devices; each image gets a random UUID and label, since other engineers' devices are
// scanned too. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { deviceOfTag, scanForTag } from "../../src/ops/block-devices.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
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
