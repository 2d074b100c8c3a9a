// containerd's Mount helpers, without aliasing: inputs are frozen, so any write would throw.
import { describe, expect, test } from "bun:test";
import type { Mount } from "../../src/plan/mount-request.ts";
import { readOnly, readonlyMounts, readonlyOverlayOptions, removeVolatileOption } from "../../src/plan/mount-helpers.ts";
import { snapshotList } from "../support/snapshot-list.ts";
import { splitLowerdirValue } from "../../src/plan/overlay-options.ts";

function frozen(mounts: Mount[]): readonly Mount[] {
  for (const m of mounts) {
    Object.freeze(m.options);
    Object.freeze(m);
  }
  return Object.freeze(mounts);
}

describe("removeVolatileOption", () => {
  test("takes volatile and fsync=volatile off overlays only; the input is untouched", () => {
    const input = frozen([
      { type: "overlay", source: "overlay", options: ["lowerdir=/l", "volatile", "upperdir=/u", "fsync=volatile", "workdir=/w"] },
      { type: "tmpfs", source: "t", options: ["volatile"] },
      { type: "overlay", source: "overlay", options: ["lowerdir=/a:/b"] },
    ]);
    const out = removeVolatileOption(input);
    expect(out).not.toBe(input);
    expect(out.map((m) => m.options)).toEqual([["lowerdir=/l", "upperdir=/u", "workdir=/w"], ["volatile"], ["lowerdir=/a:/b"]]);
    expect(input[0]!.options).toContain("volatile");
    // Unchanged mounts are shared (they are never written to); changed ones are new objects.
    expect(out[1]).toBe(input[1]);
    expect(out[0]).not.toBe(input[0]);
  });

  test("a volatile packed into an entry with other options, as containerd joins them, goes too", () => {
    const input = frozen([{ type: "overlay", source: "overlay", options: ["lowerdir=/l,upperdir=/u,workdir=/w,volatile", "index=off,fsync=volatile"] }]);
    expect(removeVolatileOption(input)[0]!.options).toEqual(["lowerdir=/l", "upperdir=/u", "workdir=/w", "index=off"]);
  });

  test("containerd's aliasing case: the result and the input never share a changed array", () => {
    const options = ["volatile", "lowerdir=/l", "x"];
    const input = [{ type: "overlay", source: "o", options }];
    const out = removeVolatileOption(input);
    (out[0]!.options as string[]).push("appended");
    expect(options).toEqual(["volatile", "lowerdir=/l", "x"]);
  });
});

describe("readonlyMounts", () => {
  test("overlay: upperdir becomes the top lower layer, workdir dropped", () => {
    const input = frozen([{ type: "overlay", source: "overlay", options: ["index=off", "lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w"] }]);
    expect(readonlyMounts(input)[0]!.options).toEqual(["index=off", "lowerdir=/u:/l1:/l2"]);
    expect(input[0]!.options).toEqual(["index=off", "lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w"]);
  });

  test("overlay: uidmap= and gidmap= go too (containerd's isSkippedReadonlyOption), with and without an upperdir", () => {
    const input = frozen([
      { type: "overlay", source: "overlay", options: ["lowerdir=/l", "upperdir=/u", "workdir=/w", "uidmap=0:1000:1", "gidmap=0:1000:1", "index=off"] },
      { type: "overlay", source: "overlay", options: ["uidmap=0:1000:1", "lowerdir=/a:/b", "gidmap=0:1000:1"] },
      // only overlays: an idmapped bind stays idmapped
      { type: "bind", source: "/s", options: ["rbind", "uidmap=0:1000:1", "gidmap=0:1000:1"] },
    ]);
    expect(readonlyMounts(input).map((m) => m.options)).toEqual([
      ["lowerdir=/u:/l", "index=off"],
      ["lowerdir=/a:/b"],
      ["rbind", "uidmap=0:1000:1", "gidmap=0:1000:1", "ro"],
    ]);
  });

  test("containerd's TestReadonlyMounts table", () => {
    expect(readonlyMounts([])).toEqual([]);
    const overlays = frozen([
      { type: "overlay", source: "overlay", options: ["index=off", "workdir=/path/to/snapshots/4/work", "upperdir=/path/to/snapshots/4/fs", "lowerdir=/path/to/snapshots/1/fs"] },
      { type: "overlay", source: "overlay", options: ["index=on", "lowerdir=/another/path/to/snapshots/2/fs"] },
    ]);
    expect(readonlyMounts(overlays)).toEqual([
      { type: "overlay", source: "overlay", options: ["index=off", "lowerdir=/path/to/snapshots/4/fs:/path/to/snapshots/1/fs"] },
      { type: "overlay", source: "overlay", options: ["index=on", "lowerdir=/another/path/to/snapshots/2/fs"] },
    ]);
    const others = frozen([
      { type: "mount-without-rw", source: "", options: ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l"] },
      { type: "mount-with-rw", source: "", options: ["an-option=a-value", "another_opt=/another/value", "rw"] },
      { type: "mount-with-ro", source: "", options: ["an-option=a-value", "another_opt=/another/value", "ro"] },
    ]);
    expect(readonlyMounts(others).map((m) => m.options)).toEqual([
      ["index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l", "ro"],
      ["an-option=a-value", "another_opt=/another/value", "ro"],
      ["an-option=a-value", "another_opt=/another/value", "ro"],
    ]);
  });

  test("options packed into one entry, as containerd joins them: upperdir and workdir found and dropped, the view read-only", () => {
    const input = frozen([{ type: "overlay", source: "overlay", options: ["index=off", "lowerdir=/lower,upperdir=/upper,workdir=/work"] }]);
    const [ro] = readonlyMounts(input);
    expect(ro!.options).toEqual(["index=off", "lowerdir=/upper:/lower"]);
    expect(readOnly(ro!)).toBe(true);
  });

  test("every lowerdir= gets the upper layer (containerd's readonlyOverlay): the last one, which the kernel uses, among them", () => {
    const input = frozen([{ type: "overlay", source: "overlay", options: ["lowerdir=/old", "lowerdir=/l", "upperdir=/u", "workdir=/w"] }]);
    expect(readonlyMounts(input)[0]!.options).toEqual(["lowerdir=/u:/old", "lowerdir=/u:/l"]);
    expect(readonlyOverlayOptions(["lowerdir=/a", "lowerdir+=/b", "upperdir=/u", "lowerdir=/c"])).toEqual(["lowerdir=/u:/a", "lowerdir+=/b", "lowerdir=/u:/c"]);
  });

  test("an upperdir holding ':' or an escape stays one layer", () => {
    const [options] = [readonlyOverlayOptions(["lowerdir=/l", "upperdir=/up:per\\,x", "workdir=/w"])];
    const value = options[0]!.slice("lowerdir=".length);
    expect(splitLowerdirValue(value).lowerdirs).toEqual(["/up:per,x", "/l"]);
  });

  test("layers given one by one: lowerdir+= upper goes first", () => {
    expect(readonlyOverlayOptions(["lowerdir+=/a", "lowerdir+=/b", "upperdir=/u", "workdir=/w"])).toEqual(["lowerdir+=/u", "lowerdir+=/a", "lowerdir+=/b"]);
  });

  test("an overlay without upperdir is unchanged; others get one ro in place of rw/ro", () => {
    const input = frozen([
      { type: "overlay", source: "o", options: ["lowerdir=/a:/b"] },
      { type: "ext4", source: "/dev/x", options: ["rw", "noatime", "ro"] },
      { type: "bind", source: "/s", options: ["rbind"] },
    ]);
    expect(readonlyMounts(input).map((m) => m.options)).toEqual([["lowerdir=/a:/b"], ["noatime", "ro"], ["rbind", "ro"]]);
  });

  test("containerd's transform lists: a format/mkdir/overlay is an overlay; the mkdir options go, the images get ro; mkfs/ goes", () => {
    const ro = readonlyMounts(frozen(snapshotList("/rw.img", "/layer.erofs")));
    expect(ro.map((m) => [m.type, m.options])).toEqual([
      ["ext4", ["loop", "ro"]],
      ["erofs", ["loop", "ro"]],
      ["format/mkdir/overlay", ["lowerdir={{ mount 0 }}/upper:{{ mount 1 }}"]],
    ]);
    const bind = readonlyMounts([{ type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper", "rw", "rbind"] }]);
    expect(bind[0]!.options).toEqual(["rbind", "ro"]);
    // mkfs/ makes nothing in a read-only view: the transform and its options go; a loop handler attaches read-only
    const blocks = readonlyMounts([
      { type: "mkfs/loop", source: "/disk.img", options: ["X-containerd.mkfs.size=200MiB", "X-containerd.mkfs.fs=ext4"] },
      { type: "format/ext4", source: "{{ mount 0 }}", options: ["rw"] },
      { type: "format/mkfs/ext4", source: "{{ source 0 }}", options: ["X-containerd.mkfs.size=1m", "loop"] },
    ]);
    expect(blocks.map((m) => [m.type, m.options])).toEqual([
      ["loop", ["ro"]],
      ["format/ext4", ["ro"]],
      ["format/ext4", ["loop", "ro"]],
    ]);
  });
});

describe("readOnly", () => {
  test("the last of ro and rw wins", () => {
    expect(readOnly({ type: "tmpfs", source: "t", options: ["ro"] })).toBe(true);
    expect(readOnly({ type: "tmpfs", source: "t", options: ["ro", "rw"] })).toBe(false);
    expect(readOnly({ type: "tmpfs", source: "t", options: ["rw", "nosuid", "ro"] })).toBe(true);
    expect(readOnly({ type: "tmpfs", source: "t", options: [] })).toBe(false);
  });

  // containerd's TestMountReadOnly (core/mount/mount_test.go), case by case
  const containerdCases: [string, Mount, boolean][] = [
    ["erofs is always read-only", { type: "erofs", source: "/path/to/layer.erofs", options: ["loop"] }, true],
    ["overlay without upperdir is read-only", { type: "overlay", source: "overlay", options: ["lowerdir=/lower"] }, true],
    ["overlay with upperdir is writable", { type: "overlay", source: "overlay", options: ["lowerdir=/lower", "upperdir=/upper"] }, false],
    ["overlay with upperdir packed into a comma-joined options string is writable", { type: "overlay", source: "overlay", options: ["lowerdir=/lower,upperdir=/upper,workdir=/work"] }, false],
    ["type modifiers are stripped before matching overlay", { type: "format/mkdir/overlay", source: "overlay", options: ["lowerdir=/lower"] }, true],
    ["type modifiers are stripped, overlay with upperdir still writable", { type: "format/mkdir/overlay", source: "overlay", options: ["upperdir=/upper"] }, false],
    ["overlay with an explicit `ro` option is read-only despite upperdir", { type: "overlay", source: "overlay", options: ["lowerdir=/lower", "upperdir=/upper", "ro"] }, true],
    ["overlay `ro` packed into a comma-joined options string is read-only", { type: "overlay", source: "overlay", options: ["lowerdir=/lower,upperdir=/upper,ro"] }, true],
    ["other types are read-only only with the `ro` option", { type: "bind", source: "/path", options: ["ro", "rbind"] }, true],
    ["other types are writable without the `ro` option", { type: "bind", source: "/path", options: ["rbind"] }, false],
  ];
  for (const [desc, m, expected] of containerdCases) {
    test(`containerd: ${desc}`, () => expect(readOnly(m)).toBe(expected));
  }

  test("an entry is read as mount() reads it: a comma in a layer path no option follows is the path's; a quoted one the value's", () => {
    expect(readOnly({ type: "overlay", source: "overlay", options: ["lowerdir=/l,x", "upperdir=/u,ro", "workdir=/w"] })).toBe(true);
    expect(readOnly({ type: "overlay", source: "overlay", options: ["lowerdir=/l", "upperdir=/u,x", "workdir=/w"] })).toBe(false);
    expect(readOnly({ type: "tmpfs", source: "t", options: ['context="a,ro"'] })).toBe(false);
  });

  test("erofs under a transform prefix; a packed `ro` of another type; an escaped comma does not split", () => {
    expect(readOnly({ type: "format/erofs", source: "{{ mount 0 }}", options: [] })).toBe(true);
    expect(readOnly({ type: "ext4", source: "/dev/x", options: ["noatime,ro"] })).toBe(true);
    // one upperdir whose path holds an escaped ",ro"
    expect(readOnly({ type: "overlay", source: "overlay", options: ["lowerdir=/l", "upperdir=/u\\,ro", "workdir=/w"] })).toBe(false);
    // the last of ro and rw still wins, packed or not
    expect(readOnly({ type: "overlay", source: "overlay", options: ["lowerdir=/l,upperdir=/u,workdir=/w,ro", "rw"] })).toBe(false);
  });
});
