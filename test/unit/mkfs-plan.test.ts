// containerd's mkfs/ transform and loop handler, planned: the X-containerd.mkfs options, sizes as
// go-units reads them, the helper's argv, and where they may appear in a list. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { planActivation } from "../../src/plan/activation.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { describeMkfs, formattingName, mkfsArgv, takeMkfsOptions } from "../../src/plan/mkfs.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { parseBinarySize } from "../../src/plan/size.ts";

const TEMP = "/run/mountkit-activate-1-1-abc";
const MiB = 1024 * 1024;

describe("parseBinarySize: go-units RAMInBytes", () => {
  test("every unit is a power of 1024, with or without i and b, any case, one space allowed", () => {
    const table: [string, number][] = [
      ["67108864", 67108864],
      ["64MiB", 64 * MiB],
      ["64MB", 64 * MiB],
      ["64m", 64 * MiB],
      ["64 mb", 64 * MiB],
      ["1g", 1024 * MiB],
      ["1GiB", 1024 * MiB],
      ["2k", 2048],
      ["2KB", 2048],
      ["1.5k", 1536],
      ["1t", 1024 ** 4],
      ["1p", 1024 ** 5],
      ["0", 0],
      ["10b", 10],
    ];
    for (const [text, bytes] of table) expect([text, parseBinarySize("size", text)]).toEqual([text, bytes]);
  });

  test("anything else is refused, naming the option", () => {
    for (const text of ["", "-1", "1x", "1.2.3", "0x10", "1  m", "m", "1e", "1 EiB"]) {
      expect(() => parseBinarySize("X-containerd.mkfs.size=" + text, text)).toThrow(PlanError);
    }
    expect(() => parseBinarySize("X-containerd.mkfs.size=big", "big")).toThrow('X-containerd.mkfs.size=big: "big" is not a size (e.g. 67108864, 64MiB, 1g)');
    expect(() => parseBinarySize("s", "99999p")).toThrow("s: 99999p is too large");
  });
});

describe("takeMkfsOptions", () => {
  test("the erofs snapshotter's block-mode options: ext4, the size in bytes; the rest kept in order", () => {
    const taken = takeMkfsOptions("/snap/7/rwlayer.img", ["X-containerd.mkfs.fs=ext4", "X-containerd.mkfs.size=67108864", "rw", "loop"]);
    expect(taken).toEqual({
      options: ["rw", "loop"],
      mkfs: { image: "/snap/7/rwlayer.img", size: 67108864, fs: "ext4", uuid: undefined, helper: "mkfs.ext4" },
    });
  });

  test("ext4 by default; xfs and a UUID, each passed to its mkfs as containerd does", () => {
    const ext = takeMkfsOptions("/i.img", ["X-containerd.mkfs.size=1g", "X-containerd.mkfs.uuid=550e8400-e29b-41d4-a716-446655440000"]).mkfs;
    expect(ext.fs).toBe("ext4");
    expect(mkfsArgv(ext, "/.i.img.mkfs-1")).toEqual(["mkfs.ext4", "-q", "-U", "550e8400-e29b-41d4-a716-446655440000", "/.i.img.mkfs-1"]);
    const xfs = takeMkfsOptions("/i.img", ["X-containerd.mkfs.fs=xfs", "X-containerd.mkfs.size=300m", "X-containerd.mkfs.uuid=550E8400-E29B-41D4-A716-446655440000"]).mkfs;
    expect(mkfsArgv(xfs, "/f")).toEqual(["mkfs.xfs", "-q", "-m", "uuid=550E8400-E29B-41D4-A716-446655440000", "/f"]);
    expect(mkfsArgv(takeMkfsOptions("/i.img", ["X-containerd.mkfs.fs=ext2", "X-containerd.mkfs.size=1m"]).mkfs, "/f")).toEqual(["mkfs.ext2", "-q", "/f"]);
  });

  test("refused: no size, size 0, another filesystem, a bad UUID, an unknown key, a relative or unclean image path", () => {
    const refused = (source: string, options: string[]) => () => takeMkfsOptions(source, options);
    expect(refused("/i.img", ["X-containerd.mkfs.fs=ext4"])).toThrow("mkfs/ needs X-containerd.mkfs.size=SIZE (the image's size), more than 0");
    expect(refused("/i.img", ["X-containerd.mkfs.size=0"])).toThrow(/needs X-containerd.mkfs.size/);
    expect(refused("/i.img", ["X-containerd.mkfs.size=1m", "X-containerd.mkfs.fs=btrfs"])).toThrow('X-containerd.mkfs.fs=btrfs: mkfs/ makes ext2, ext3, ext4, xfs images, not "btrfs"');
    expect(refused("/i.img", ["X-containerd.mkfs.size=1m", "X-containerd.mkfs.uuid=random"])).toThrow(/"random" is not a UUID/);
    expect(refused("/i.img", ["X-containerd.mkfs.size=1m", "X-containerd.mkfs.label=x"])).toThrow('unknown mkfs option "X-containerd.mkfs.label=x"');
    expect(refused("/i.img", ["X-containerd.mkfs.size=1m", "X-containerd.mkfs.force"])).toThrow('unknown mkfs option "X-containerd.mkfs.force"');
    for (const source of ["i.img", "/a/../i.img", "/a/./i.img", "/a//i.img", "/a/", ""]) {
      expect(refused(source, ["X-containerd.mkfs.size=1m"])).toThrow(/is not a clean absolute path/);
    }
  });

  test("the image is formatted under a hidden name beside it; the dry run says so", () => {
    expect(formattingName("/snap/7/rwlayer.img", "k3x9")).toBe("/snap/7/.rwlayer.img.mkfs-k3x9");
    const mkfs = takeMkfsOptions("/snap/7/rwlayer.img", ["X-containerd.mkfs.size=16MiB"]).mkfs;
    expect(describeMkfs(mkfs)).toBe("if /snap/7/rwlayer.img does not exist: create it (16777216 bytes) under a temporary name, mkfs.ext4 -q FILE, rename it into place");
  });
});

describe("planActivation with mkfs/ and the loop handler", () => {
  const plan = (mounts: Mount[]) => planActivation(entriesFromMounts(mounts), TEMP);

  test("mkfs/loop then format/ext4 (containerd's own example): the image on a loop handler, the device mounted", () => {
    const a = plan([
      { type: "mkfs/loop", source: "/img/disk.img", options: ["X-containerd.mkfs.size=200MiB", "X-containerd.mkfs.fs=ext4"] },
      { type: "format/ext4", source: "{{ mount 0 }}", target: "/data", options: [] },
    ])!;
    expect(a.temp).toHaveLength(1);
    expect(a.temp[0]).toMatchObject({
      mount: { type: "loop", source: "/img/disk.img", options: [] },
      mountPoint: `${TEMP}/1`,
      mkfs: { image: "/img/disk.img", size: 200 * MiB, fs: "ext4" },
      loop: { readOnly: false, directIo: false },
    });
    expect(a.system.map((e) => e.mount)).toEqual([{ type: "ext4", source: `${TEMP}/1`, target: "/data", options: [] }]);
    expect(a.systemMkfs).toBeUndefined();
  });

  test("the erofs snapshotter's single writable layer in block mode: an ext4 image on a temp mount, its upper dir bound", () => {
    const a = plan([
      { type: "mkfs/ext4", source: "/snap/7/rwlayer.img", options: ["X-containerd.mkfs.fs=ext4", "X-containerd.mkfs.size=67108864", "rw", "loop"] },
      { type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper:0755", "rw", "rbind"] },
    ])!;
    expect(a.temp[0]).toMatchObject({ mount: { type: "ext4", options: ["rw", "loop"] }, mkfs: { size: 67108864 }, loop: undefined });
    expect(a.system[0]!.mount).toEqual({ type: "bind", source: `${TEMP}/1/upper`, target: "", options: ["rw", "rbind"] });
    expect(a.systemMkdirs.map((m) => [m.root, m.below, m.mode])).toEqual([[`${TEMP}/1`, "upper", 0o755]]);
  });

  test("mkfs/ on the real mount itself: its image made before it; a loop handler reads ro and direct-io only", () => {
    const a = plan([{ type: "mkfs/ext4", source: "/i.img", target: "/x", options: ["X-containerd.mkfs.size=8m", "loop", "noatime"] }])!;
    expect(a.temp).toEqual([]);
    expect(a.systemMkfs).toMatchObject({ image: "/i.img", size: 8 * MiB });
    expect(a.system[0]!.mount.options).toEqual(["loop", "noatime"]);
    const ro = plan([
      { type: "loop", source: "/l.img", options: ["ro", "direct-io", "whatever"] },
      { type: "format/erofs", source: "{{ mount 0 }}", options: ["ro"] },
    ])!;
    expect(ro.temp[0]!.loop).toEqual({ readOnly: true, directIo: true });
    expect(ro.temp[0]!.mkfs).toBeUndefined();
  });

  test("refused before anything: a loop handler with no mount after it, mkfs/ twice, a bad mkfs option, naming the entry", () => {
    const refused = (mounts: Mount[]) => () => plan(mounts);
    let err: unknown;
    try {
      plan([{ type: "mkfs/loop", source: "/i.img", target: "/x", options: ["X-containerd.mkfs.size=8m"] }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toBe(`entry 1: type "loop" (containerd's loop handler) makes a loop device for a later mount of the list, and this one has none after it`);
    expect((err as PlanError).hint).toMatch(/format\/ext4/);
    expect(refused([{ type: "tmpfs", source: "t", options: [] }, { type: "format/tmpfs", source: "t", options: [] }, { type: "loop", source: "/i.img", options: [] }])).toThrow(
      /^entry 3: type "loop" \(containerd's loop handler\)/,
    );
    expect(refused([{ type: "mkfs/mkfs/ext4", source: "/i.img", options: ["X-containerd.mkfs.size=8m"] }])).toThrow('entry 1: type "mkfs/mkfs/ext4" asks for mkfs/ twice');
    expect(refused([{ type: "mkfs/ext4", source: "/i.img", options: [] }, { type: "format/bind", source: "{{ mount 0 }}", options: [] }])).toThrow(/^entry 1: mkfs\/ needs X-containerd.mkfs.size/);
    // mkfs/ before format/ sees the template unfilled: not an absolute path
    expect(refused([{ type: "tmpfs", source: "t", options: [] }, { type: "mkfs/format/ext4", source: "{{ mount 0 }}/i.img", options: ["X-containerd.mkfs.size=1m"] }])).toThrow(
      /entry 2: mkfs\/: the image .* is not a clean absolute path/,
    );
  });
});
