// containerd's erofs mount handler on the manager path: an erofs layer that a mount list's
// temp mount makes ({type: erofs, options: [ro, loop]}, as containerd's erofs snapshotter returns
// it) is mounted from the image file itself, no loop device (Linux 6.12+); ENOTBLK, which this
// kernel cannot be made to say on demand, is injected at the seam for the fallback to loop
// devices, which the process then keeps to. Real images from mkfs.erofs. Root, private mount
// namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { planApply } from "../../src/ops/apply.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { kernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, mountTable, requireRootNamespace } from "../support/root.ts";
import { snapshotList } from "../support/snapshot-list.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

function mkfsErofs(args: string[]): void {
  const made = Bun.spawnSync(["mkfs.erofs", "--quiet", ...args]);
  if (made.exitCode !== 0) throw new Error(`mkfs.erofs: ${made.stderr.toString()}${made.stdout.toString()}`);
}

/** An erofs layer image holding etc/motd; every loop device left on it is detached after the test. */
function layerImage(name = "layer"): string {
  const content = dir(`${name}-content`, "etc");
  writeFileSync(join(content, "motd"), `from ${name}\n`);
  const image = join(content, "..", "..", `${name}.erofs`);
  mkfsErofs([image, join(content, "..")]);
  cleanups.push(() => detachLoopDevicesOf(image));
  return image;
}

/** An erofs image whose file data lives on a second device (mkfs.erofs --blobdev), as a merged fsmeta. */
function multiDeviceImage(): { meta: string; blob: string } {
  const content = dir("multi-content", "etc");
  writeFileSync(join(content, "big"), Buffer.alloc(20_000, 7));
  const meta = join(content, "../..", "fsmeta.erofs");
  const blob = join(content, "../..", "blob.erofs");
  mkfsErofs(["--chunksize=4096", `--blobdev=${blob}`, meta, join(content, "..")]);
  cleanups.push(() => detachLoopDevicesOf(meta), () => detachLoopDevicesOf(blob));
  return { meta, blob };
}

/** A list whose temp mount is the erofs layer (with these options), under an overlay on the root. */
function layerList(layer: Mount): Mount[] {
  const upper = dir("snap", "fs");
  const work = dir("snap", "work");
  return [layer, { type: "format/overlay", source: "overlay", options: [`workdir=${work}`, `upperdir=${upper}`, "lowerdir={{ mount 0 }}"] }];
}

const attached = (image: string) => loopDevicesOf(image).sysfs;
const mountCallsOn = (sys: { log: unknown[][] }, source: string) => sys.log.filter((c) => c[0] === "mount" && c[1] === source);
/** Fresh facts of this kernel: a memo of their own, whatever another test taught the process's. */
const ownFacts = () => ({ ...kernelFacts() });

describe("an erofs temp mount, file-backed (this kernel: 6.12+)", () => {
  test("the erofs snapshotter's list: the layer mounted from its file, no loop device on it before, while or after; the overlay shows its files", async () => {
    ws.fresh("erofs-file");
    ws.tempLocation();
    const rw = ws.image("rw.img", 16);
    const layer = layerImage();
    const root = dir("root");
    unmountAfter(root);
    expect(attached(layer)).toEqual([]);
    const sys = injectFaults(libcSyscalls, {});
    const seen: { devices: string[]; sources: string[] }[] = [];
    // while the temp mount stands: the real mount is made, the temp mounts not yet detached
    const onEntry = () => seen.push({ devices: attached(layer), sources: mountTable().filter((m) => m.fstype === "erofs").map((m) => m.source) });
    const outcome = mountAll(snapshotList(rw, layer), root, { sys, onEntry });
    expect(outcome.error).toBeUndefined();
    expect(seen).toEqual([{ devices: [], sources: [layer] }]);
    // one mount(2) of the image file itself, the loop option dropped
    expect(mountCallsOn(sys, layer).map((c) => c.slice(3))).toEqual([["erofs", 1, null]]);
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("from layer\n");
    expect(attached(layer)).toEqual([]);
    // the writable ext4 image is no erofs: on its loop device, as before
    expect(attached(rw)).toHaveLength(1);
    outcome.release();
    expect(mountsUnder(root)).toEqual([]);
    expect(attached(layer)).toEqual([]);
    await expectFreed(rw);
  });

  test("device= files go to the file-backed mount as they are (erofs takes regular files there then): no loop device at all", async () => {
    ws.fresh("erofs-file-devices");
    ws.tempLocation();
    const { meta, blob } = multiDeviceImage();
    const root = dir("root");
    unmountAfter(root);
    const sys = injectFaults(libcSyscalls, {});
    const outcome = mountAll(layerList({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] }), root, { sys });
    expect(outcome.error).toBeUndefined();
    expect(mountCallsOn(sys, meta).map((c) => c[5])).toEqual([`device=${blob}`]);
    expect(readFileSync(join(root, "etc/big"))).toEqual(Buffer.alloc(20_000, 7));
    expect([attached(meta), attached(blob)]).toEqual([[], []]);
    outcome.release();
    expect(mountsUnder(root)).toEqual([]);
  });

  test("the dry run shows the try and its fallback; the plain mount path keeps loop meaning a loop device", async () => {
    ws.fresh("erofs-file-dry");
    const location = ws.tempLocation();
    const layer = layerImage();
    const root = dir("root");
    const list = layerList({ type: "erofs", source: layer, options: ["ro", "loop"] });
    const planned = planApply(JSON.stringify(list), { root });
    expect(planned.entries[0]!.plan.steps[0]).toMatchObject({ op: "erofs-file-mount", source: layer, fstype: "erofs", data: null, fallback: { op: "loop-mount", loop: { file: layer } } });
    const file = join(dir("input"), "list.json");
    writeFileSync(file, JSON.stringify(list));
    const env = { ...process.env, MOUNTKIT_STRATEGY: "", MOUNTKIT_TMPDIR: location };
    const dry = runCli(["apply", "--root", root, "--dry-run", "--json", file], { env });
    expect(dry).toMatchObject({ code: 0, stderr: "" });
    const [step] = JSON.parse(dry.stdout).entries[0].steps;
    expect(step).toMatchObject({ op: "erofs-file-mount", syscall: "mount", args: { source: layer, fstype: "erofs" }, fallbackOn: "ENOTBLK", fallback: { op: "loop-mount" } });
    const text = runCli(["apply", "--root", root, "--dry-run", file], { env });
    expect(text.stdout).toContain(`mount(${JSON.stringify(layer)}, `);
    expect(text.stdout).toContain("on ENOTBLK (this kernel mounts erofs from block devices only; remembered for the process), loop devices instead:");
    expect(mountsUnder(root)).toEqual([]);

    // mount(), the library's plain path: loop is a loop device, as containerd's Mount.Mount and mount(8) have it
    const target = dir("plain");
    unmountAfter(target);
    const plain = mount({ type: "erofs", source: layer, options: ["ro", "loop"] }, target);
    expect(plain.steps[0]!.op).toBe("loop-mount");
    expect(attached(layer)).toHaveLength(1);
    unmountAll(target);
    await expectFreed(layer);
  });
});

describe("an erofs temp mount on a kernel without file-backed erofs (ENOTBLK injected)", () => {
  test("loop devices for the image and each device= file; the next erofs mount of the process goes to loop devices at once; release frees them all", async () => {
    ws.fresh("erofs-file-fallback");
    ws.tempLocation();
    const { meta, blob } = multiDeviceImage();
    const layer = layerImage();
    const facts = ownFacts();
    // every file-backed erofs mount(2) says what a kernel without it says
    const sys = injectFaults(libcSyscalls, { mount: [{ calls: "always", errno: Errno.ENOTBLK, path: meta }, { calls: "always", errno: Errno.ENOTBLK, path: layer }] });
    const root = dir("root");
    unmountAfter(root);
    const first = mountAll(layerList({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] }), root, { sys, facts });
    expect(first.error).toBeUndefined();
    expect(mountCallsOn(sys, meta)).toHaveLength(1); // the try
    expect(readFileSync(join(root, "etc/big"))).toEqual(Buffer.alloc(20_000, 7));
    // the overlay holds the erofs, which holds both devices
    expect([attached(meta), attached(blob)].map((d) => d.length)).toEqual([1, 1]);
    const [erofs] = mountCallsOn(sys, attached(meta)[0]!);
    expect(erofs!.slice(3)).toEqual(["erofs", 1, `device=${attached(blob)[0]}`]);

    // remembered: planned, and mounted, with loop devices at once, no mount(2) of the file
    const second = dir("second");
    unmountAfter(second);
    const secondList = layerList({ type: "erofs", source: layer, options: ["ro", "loop"] });
    expect(planApply(JSON.stringify(secondList), { root: second, facts }).entries[0]!.plan.steps[0]!.op).toBe("loop-mount");
    const next = mountAll(secondList, second, { sys, facts });
    expect(next.error).toBeUndefined();
    expect(mountCallsOn(sys, layer)).toEqual([]);
    expect(readFileSync(join(second, "etc/motd"), "utf8")).toBe("from layer\n");
    expect(attached(layer)).toHaveLength(1);
    // the process's own facts learned nothing from these
    expect(planApply(JSON.stringify(secondList), { root: second }).entries[0]!.plan.steps[0]!.op).toBe("erofs-file-mount");

    first.release();
    next.release();
    expect([mountsUnder(root), mountsUnder(second)]).toEqual([[], []]);
    await expectFreed(meta);
    await expectFreed(blob);
    await expectFreed(layer);
  });

  test("the fallback's mount failing (EIO injected): nothing mounted, every device detached, no temp dir left", async () => {
    ws.fresh("erofs-file-fallback-fail");
    const location = ws.tempLocation();
    const { meta, blob } = multiDeviceImage();
    const root = dir("root");
    const before = mountTable().length;
    // the try says ENOTBLK; the next mount(2), the loop device's, fails
    const sys = injectFaults(libcSyscalls, { mount: [{ calls: "always", errno: Errno.ENOTBLK, path: meta }, { calls: [1], errno: Errno.EIO }] });
    const err = caught(() => mountAll(layerList({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] }), root, { sys, facts: ownFacts() })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("EIO");
    expect(err.message).toMatch(/^mount all: entry 1: mount .*fsmeta\.erofs.* on .*\/1: mount\(2\): EIO/);
    expect(mountCallsOn(sys, meta)).toHaveLength(1);
    expect(mountTable().length).toBe(before);
    expect(readdirSync(location)).toEqual([]);
    await expectFreed(meta);
    await expectFreed(blob);
  });

  test("the try failing otherwise (EINVAL injected): no fallback, the hint, nothing attached or left, and nothing remembered", async () => {
    ws.fresh("erofs-file-try-fail");
    const location = ws.tempLocation();
    const layer = layerImage();
    const root = dir("root");
    const before = mountTable().length;
    const facts = ownFacts();
    const sys = injectFaults(libcSyscalls, { mount: [{ calls: [1], errno: Errno.EINVAL, path: layer }] });
    const list = layerList({ type: "erofs", source: layer, options: ["ro", "loop"] });
    const err = caught(() => mountAll(list, root, { sys, facts })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("EINVAL");
    expect(err.hint).toContain("holds no valid erofs filesystem");
    expect(mountCallsOn(sys, layer)).toHaveLength(1);
    expect(attached(layer)).toEqual([]);
    expect(mountTable().length).toBe(before);
    expect(readdirSync(location)).toEqual([]);
    // only ENOTBLK is remembered: the next plan still tries the file
    expect(planApply(JSON.stringify(list), { root, facts }).entries[0]!.plan.steps[0]!.op).toBe("erofs-file-mount");
  });

  test("a mount after the file-backed one failing: the erofs temp mount undone, nothing left", async () => {
    ws.fresh("erofs-file-later-fail");
    const location = ws.tempLocation();
    const layer = layerImage();
    const root = dir("root");
    const before = mountTable().length;
    const sys = injectFaults(libcSyscalls, {});
    const list = layerList({ type: "erofs", source: layer, options: ["ro", "loop"] });
    // the overlay's lower dir is missing inside the erofs: it fails once the erofs stands
    const broken = [list[0]!, { ...list[1]!, options: list[1]!.options.map((o) => (o.startsWith("lowerdir=") ? "lowerdir={{ mount 0 }}/missing" : o)) }];
    const err = caught(() => mountAll(broken, root, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errnoName).toBe("ENOENT");
    expect(mountCallsOn(sys, layer)).toHaveLength(1); // it was mounted from the file
    expect(mountTable().length).toBe(before);
    expect(readdirSync(location)).toEqual([]);
    expect(attached(layer)).toEqual([]);
  });
});
