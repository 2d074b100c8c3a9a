// containerd's mount transformers (format/, mkdir/, mkfs/) and loop handler planned: temp mounts,
// templates, mkdir and mkfs options. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { fillTemplates, hasTransform, planActivation, takeMkdirOptions } from "../../src/plan/activation.ts";
import { entriesFromMounts, type BatchEntry } from "../../src/plan/batch-entry.ts";
import type { Mount } from "../../src/plan/mount-request.ts";
import { snapshotList } from "../support/snapshot-list.ts";

const TEMP = "/run/mountkit-activate-1-1-abc";
const entries = (mounts: Mount[]): BatchEntry[] => entriesFromMounts(mounts);

const EROFS_LIST = snapshotList("/snap/26/rwlayer.img", "/snap/1/layer.erofs");

describe("planActivation", () => {
  test("a list without transforms is no activation", () => {
    expect(planActivation(entries([{ type: "tmpfs", source: "t", options: [] }]), TEMP)).toBeUndefined();
    expect(hasTransform("overlay")).toBe(false);
    expect(hasTransform("format/overlay")).toBe(true);
  });

  test("the erofs snapshotter's list: the images on temp dirs named in cleanup order, the overlay filled in", () => {
    const list = entries(EROFS_LIST);
    const a = planActivation(list, TEMP)!;
    expect(a.tempDir).toBe(TEMP);
    expect(a.temp.map((t) => [t.entry.index, t.mount.type, t.mountPoint])).toEqual([
      [1, "ext4", `${TEMP}/2`],
      [2, "erofs", `${TEMP}/1`],
    ]);
    expect(a.temp.map((t) => t.mkdirs)).toEqual([[], []]);
    expect(a.system).toHaveLength(1);
    expect(a.system[0]).toMatchObject({ index: 3, where: "entry 3", nofail: false });
    expect(a.system[0]!.mount).toEqual({
      type: "overlay",
      source: "overlay",
      target: "",
      options: [`workdir=${TEMP}/2/work`, `upperdir=${TEMP}/2/upper`, `lowerdir=${TEMP}/1`],
    });
    expect(a.systemMkdirs).toEqual([
      { root: `${TEMP}/2`, below: "upper", mode: 0o755, uid: undefined, gid: undefined, option: `X-containerd.mkdir.path=${TEMP}/2/upper:0755` },
      { root: `${TEMP}/2`, below: "work", mode: 0o755, uid: undefined, gid: undefined, option: `X-containerd.mkdir.path=${TEMP}/2/work:0755` },
    ]);
    expect(list[2]!.mount.options[0]).toBe("X-containerd.mkdir.path={{ mount 0 }}/upper:0755"); // never the caller's arrays
  });

  test("mounts after the last transformed one are real mounts as given; a transform on the first entry makes no temp mount", () => {
    const a = planActivation(
      entries([
        { type: "tmpfs", source: "base", options: [] },
        { type: "format/bind", source: "{{ mount 0 }}/data", target: "/data", options: ["rbind"] },
        { type: "tmpfs", source: "later", target: "/data/tmp", options: ["size=1m"] },
      ]),
      TEMP,
    )!;
    expect(a.temp.map((t) => t.mountPoint)).toEqual([`${TEMP}/1`]);
    expect(a.system.map((e) => e.mount)).toEqual([
      { type: "bind", source: `${TEMP}/1/data`, target: "/data", options: ["rbind"] },
      { type: "tmpfs", source: "later", target: "/data/tmp", options: ["size=1m"] },
    ]);
    const first = planActivation(entries([{ type: "format/tmpfs", source: "t", options: ["size=1m"] }, { type: "tmpfs", source: "u", options: [] }]), TEMP)!;
    expect(first.temp).toEqual([]);
    expect(first.system.map((e) => e.mount.type)).toEqual(["tmpfs", "tmpfs"]);
  });

  test("a temp mount's own templates see only the mounts before it", () => {
    const a = planActivation(
      entries([
        { type: "tmpfs", source: "first", options: [] },
        { type: "format/mkdir/bind", source: "{{ mount 0 }}/sub", options: ["rbind", "X-containerd.mkdir.path={{ mount 0 }}/sub:0750:1000:2000"] },
        { type: "format/overlay", source: "overlay", options: ["lowerdir={{ overlay 1 0 }}"] },
      ]),
      TEMP,
    )!;
    expect(a.temp[1]).toMatchObject({
      mount: { type: "bind", source: `${TEMP}/2/sub`, options: ["rbind"] },
      mountPoint: `${TEMP}/1`,
      mkdirs: [{ root: `${TEMP}/2`, below: "sub", mode: 0o750, uid: 1000, gid: 2000 }],
    });
    expect(a.system[0]!.mount.options).toEqual([`lowerdir=${TEMP}/1:${TEMP}/2`]);
  });

  test("refused before anything, naming the entry: unknown transforms, no type, a bad template", () => {
    const refused = (mounts: Mount[]) => () => planActivation(entries(mounts), TEMP);
    try {
      refused([{ type: "foo/overlay", source: "o", options: [] }])();
      throw new Error("not refused");
    } catch (err) {
      expect(err).toBeInstanceOf(PlanError);
      expect((err as PlanError).message).toBe('entry 1: unknown mount transform "foo" in type "foo/overlay"');
      expect((err as PlanError).hint).toBe("known transforms: format/, mkdir/, mkfs/");
    }
    expect(refused([{ type: "format/", source: "o", options: [] }])).toThrow(/entry 1: type "format\/" names no filesystem type/);
    expect(refused([{ type: "tmpfs", source: "t", options: [] }, { type: "format/overlay", source: "o", options: ["lowerdir={{ mount 1 }}"] }])).toThrow(
      /^entry 2: option "lowerdir=\{\{ mount 1 \}\}": \{\{ mount 1 \}\}: index out of bounds: 1, has 1 active mounts$/,
    );
    // transforms apply in the order written: mkdir before format sees the template unfilled
    expect(refused([{ type: "tmpfs", source: "t", options: [] }, { type: "mkdir/format/overlay", source: "o", options: ["X-containerd.mkdir.path={{ mount 0 }}/u"] }])).toThrow(
      /entry 2: mkdir option .* is not inside a mount made before this one/,
    );
  });
});

describe("fillTemplates: containerd's four functions", () => {
  const active = [
    { source: "/img/a", target: "/a", mountPoint: "/t/3" },
    { source: "/img/b", target: "/b", mountPoint: "/t/2" },
    { source: "/img/c", target: "", mountPoint: "/t/1" },
  ];
  const fill = (s: string) => fillTemplates(s, active, "option");

  test("mount, source, target, overlay (either direction); spacing as Go templates allow", () => {
    expect(fill("plain")).toBe("plain");
    expect(fill("upperdir={{ mount 0 }}/upper")).toBe("upperdir=/t/3/upper");
    expect(fill("{{mount 1}}|{{ source 2 }}|{{  target 0  }}")).toBe("/t/2|/img/c|/a");
    expect(fill("lowerdir={{ overlay 0 2 }}")).toBe("lowerdir=/t/3:/t/2:/t/1");
    expect(fill("lowerdir={{ overlay 2 1 }}")).toBe("lowerdir=/t/1:/t/2");
    expect(fill("{{- mount 0 -}}")).toBe("/t/3");
  });

  test("anything else is refused", () => {
    expect(() => fill("{{ mount 3 }}")).toThrow(/index out of bounds: 3, has 3 active mounts/);
    expect(() => fill("{{ mount -1 }}")).toThrow(/index out of bounds: -1/);
    expect(() => fill("{{ overlay 0 5 }}")).toThrow(/index out of bounds: 5/);
    expect(() => fill("{{ mount x }}")).toThrow(/mount takes mount numbers/);
    expect(() => fill("{{ mount 0 1 }}")).toThrow(/mount takes 1 mount number$/);
    expect(() => fill("{{ overlay 1 }}")).toThrow(/overlay takes 2 mount numbers/);
    expect(() => fill("{{ env HOME }}")).toThrow(/unsupported template \{\{ env HOME \}\}/);
    expect(() => fill("{{ mount 0 ")).toThrow(/an unclosed template/);
    expect(() => fillTemplates("{{ mount 0 }}", [], "source")).toThrow(/^source: \{\{ mount 0 \}\}: index out of bounds: 0, has 0 active mounts$/);
  });
});

describe("takeMkdirOptions: X-containerd.mkdir.path=DIR[:MODE[:UID:GID]]", () => {
  const points = ["/t/2", "/t/1"];
  test("taken out of the options, in order; mode 0700 by default (containerd's)", () => {
    const { options, mkdirs } = takeMkdirOptions(["ro", "X-containerd.mkdir.path=/t/2/a/b", "X-containerd.mkdir.path=/t/1/c:0755:0:5", "rbind"], points);
    expect(options).toEqual(["ro", "rbind"]);
    expect(mkdirs).toEqual([
      { root: "/t/2", below: "a/b", mode: 0o700, uid: undefined, gid: undefined, option: "X-containerd.mkdir.path=/t/2/a/b" },
      { root: "/t/1", below: "c", mode: 0o755, uid: 0, gid: 5, option: "X-containerd.mkdir.path=/t/1/c:0755:0:5" },
    ]);
  });

  test("refused: other mkdir options, bad fields, a path outside the earlier mounts", () => {
    const take = (o: string) => () => takeMkdirOptions([o], points);
    expect(take("X-containerd.mkdir.mode=0755")).toThrow(/invalid mkdir option .*only X-containerd.mkdir.path=/);
    expect(take("X-containerd.mkdir.path=/t/1/c:0755:1")).toThrow(/DIR\[:MODE\[:UID:GID\]\]/);
    expect(take("X-containerd.mkdir.path=/t/1/c:0755:1:2:3")).toThrow(/DIR\[:MODE\[:UID:GID\]\]/);
    expect(take("X-containerd.mkdir.path=/t/1/c:rwx")).toThrow(/mode "rwx" is not an octal mode/);
    expect(take("X-containerd.mkdir.path=/t/1/c:4755")).toThrow(/mode 4755 has bits beyond the permissions/);
    expect(take("X-containerd.mkdir.path=/t/1/c:0755:x:0")).toThrow(/uid "x"/);
    for (const path of ["/etc/evil", "/t/1", "/t/1/../2/x", "/t/1/./x", "/t/1//x", "/t/3/x", "relative/x"]) {
      expect(take(`X-containerd.mkdir.path=${path}`)).toThrow(/is not inside a mount made before this one/);
    }
  });
});

describe("mkdir roots: directories the caller allows X-containerd.mkdir.path beneath (containerd's WithAllowedRoot)", () => {
  const ROOT = "/var/lib/containerd";
  // containerd's TestMkdirHandler: a mkdir/overlay whose directory is a host path in an allowed root
  const list = entries([
    {
      type: "mkdir/overlay",
      source: "overlay",
      options: [`X-containerd.mkdir.path=${ROOT}/snapshots/5/work:0751:0:0`, `workdir=${ROOT}/snapshots/5/work`, `upperdir=${ROOT}/snapshots/5/fs`, "lowerdir=/l1:/l2"],
    },
  ]);

  test("a path beneath a root is made before the mount; the first entry makes no temp mount", () => {
    const activation = planActivation(list, TEMP, [ROOT])!;
    expect(activation.temp).toEqual([]);
    expect(activation.systemMkdirs).toEqual([{ root: ROOT, below: "snapshots/5/work", mode: 0o751, uid: 0, gid: 0, option: `X-containerd.mkdir.path=${ROOT}/snapshots/5/work:0751:0:0` }]);
    expect(activation.system[0]!.mount).toMatchObject({ type: "overlay", options: [`workdir=${ROOT}/snapshots/5/work`, `upperdir=${ROOT}/snapshots/5/fs`, "lowerdir=/l1:/l2"] });
  });

  test("without the root (or outside it, or through ..) it is refused as before; a temp mount inside a root is still the one a path is made in", () => {
    expect(() => planActivation(list, TEMP)).toThrow(/is not inside a mount made before this one/);
    expect(() => planActivation(list, TEMP, ["/var/lib/other"])).toThrow(/not inside a mount made before this one, nor a mkdir root/);
    const climbing = entries([{ type: "mkdir/overlay", source: "overlay", options: [`X-containerd.mkdir.path=${ROOT}/../x`, "lowerdir=/l1:/l2"] }]);
    expect(() => planActivation(climbing, TEMP, [ROOT])).toThrow(/not inside/);
    const inTemp = planActivation(entries(EROFS_LIST), "/run/mountkit-activate-1", ["/run"])!;
    expect(inTemp.systemMkdirs.map((m) => m.root)).toEqual(["/run/mountkit-activate-1/2", "/run/mountkit-activate-1/2"]);
  });
});
