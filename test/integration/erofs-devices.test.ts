// An erofs image whose data lives on extra devices (`device=FILE`), as containerd's erofs
// snapshotter returns a merged fsmeta: {type: erofs, source: fsmeta.erofs, options: [ro, loop,
// device=LAYER...]}. containerd's erofs mount handler attaches a read-only loop device to each
// device= file as well as to the image; the kernel takes only block devices there once the image
// itself is on a loop device (EINVAL otherwise). Real images from mkfs.erofs --blobdev. Root,
// private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { kernelFacts, probeKernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { loopSysfs } from "../support/loop-files.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/**
 * An erofs image (meta) whose file data is in chunks on a second device (blob): mkfs.erofs
 * --blobdev. Mounted, it needs device=BLOB; both files' loop devices are detached after the test.
 */
function multiDeviceImage(s: { path(...parts: string[]): string }) {
  const content = dir("content", "etc");
  writeFileSync(join(content, "motd"), "from the blob device\n");
  writeFileSync(join(content, "big"), Buffer.alloc(20_000, 7));
  const meta = s.path("fsmeta.erofs");
  const blob = s.path("layer.erofs");
  const made = Bun.spawnSync(["mkfs.erofs", "--quiet", "--chunksize=4096", `--blobdev=${blob}`, meta, join(content, "..")]);
  if (made.exitCode !== 0) throw new Error(`mkfs.erofs: ${made.stderr.toString()}${made.stdout.toString()}`);
  cleanups.push(() => detachLoopDevicesOf(meta), () => detachLoopDevicesOf(blob));
  return { meta, blob };
}

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  describe(`erofs with device= files (${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD"})`, () => {
    const facts = probeKernelFacts(strategy);

    test("the device= file gets a read-only autoclear loop device of its own; the data reads through it; unmount frees both", async () => {
      const s = ws.fresh(`erofs-dev-${strategy}`);
      const { meta, blob } = multiDeviceImage(s);
      const target = dir("mnt");
      unmountAfter(target);
      const sys = injectFaults(libcSyscalls, {});
      const plan = mount({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] }, target, { facts, sys });
      expect(plan.steps[0]).toMatchObject({ op: "loop-mount", devices: [{ path: blob, loop: { file: blob, readOnly: true, autoclear: true } }] });
      expect(readFileSync(join(target, "etc/motd"), "utf8")).toBe("from the blob device\n");
      expect(readFileSync(join(target, "etc/big"))).toEqual(Buffer.alloc(20_000, 7));
      const [device] = loopDevicesOf(blob).sysfs;
      expect(loopDevicesOf(blob).sysfs).toHaveLength(1);
      expect(loopSysfs(device!, "ro")).toBe("1");
      expect(loopSysfs(device!, "loop/autoclear")).toBe("1");
      // the kernel is given the device, never the file (erofs does not show device= in mountinfo)
      const calls = sys.log.filter((call) => call[0] === "mount");
      expect(calls).toHaveLength(1);
      expect(calls[0]!.slice(3)).toEqual(["erofs", MS.RDONLY, `device=${device}`]);
      unmountAll(target);
      await expectFreed(meta);
      await expectFreed(blob);
    });
  });
}

describe("erofs device= files: the rest", () => {
  test("the erofs snapshotter's fsmeta list through mountAll, facts of a kernel before 6.12 (no file-backed erofs: test/integration/erofs-file.test.ts): the merged layer under an overlay; release frees every device", async () => {
    const s = ws.fresh("erofs-dev-list");
    ws.tempLocation();
    const { meta, blob } = multiDeviceImage(s);
    const upper = dir("snap", "fs");
    const work = dir("snap", "work");
    const root = dir("root");
    unmountAfter(root);
    const outcome = mountAll(
      [
        { type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] },
        { type: "format/mkdir/overlay", source: "overlay", options: [`workdir=${work}`, `upperdir=${upper}`, "lowerdir={{ mount 0 }}"] },
      ],
      root,
      { facts: { ...kernelFacts(), erofsFileBacked: false } },
    );
    expect(mountsUnder(root).map((m) => m.fstype)).toEqual(["overlay"]);
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toBe("from the blob device\n");
    expect(loopDevicesOf(blob).sysfs).toHaveLength(1);
    outcome.release();
    expect(mountsUnder(root)).toEqual([]);
    await expectFreed(meta);
    await expectFreed(blob);
  });

  test("a device= file that cannot be opened: the error names it, nothing is mounted, the image's own device is freed", async () => {
    const s = ws.fresh("erofs-dev-fail");
    const { meta, blob } = multiDeviceImage(s);
    const target = dir("mnt");
    unmountAfter(target);
    const sys = injectFaults(libcSyscalls, { open: { calls: [1], errno: Errno.EIO, path: blob } });
    const err = caught(() => mount({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blob}`] }, target, { sys }));
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errno).toBe(Errno.EIO);
    expect((err as SyscallError).paths).toContain(blob);
    expect(mountsUnder(target)).toEqual([]);
    await expectFreed(meta);
    await expectFreed(blob);
  });

  test("a device= that is a block device already is passed as it is; only the files get loop devices", async () => {
    const s = ws.fresh("erofs-dev-block");
    const { meta, blob } = multiDeviceImage(s);
    // the blob attached by hand: a block device, as a caller may give one
    const attached = Bun.spawnSync(["losetup", "-f", "--show", "-r", blob]);
    expect(attached.exitCode).toBe(0);
    const blobDevice = attached.stdout.toString().trim();
    const target = dir("mnt");
    mkdirSync(target, { recursive: true });
    unmountAfter(target);
    const plan = mount({ type: "erofs", source: meta, options: ["ro", "loop", `device=${blobDevice}`] }, target);
    expect(plan.steps[0]).not.toHaveProperty("devices");
    expect(readFileSync(join(target, "etc/motd"), "utf8")).toBe("from the blob device\n");
    expect(loopDevicesOf(blob).sysfs).toEqual([blobDevice]);
    unmountAll(target);
    await expectFreed(meta);
  });
});
