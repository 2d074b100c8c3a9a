import { describe, expect, test } from "bun:test";
import {
  allOf,
  anyOf,
  fstypeFilter,
  isPathUnder,
  lookupMount,
  mountsOfDevice,
  mountsOfSource,
  mountsUnder,
  mountOptionItems,
  parentsFilter,
  prefixFilter,
  propagationOf,
  singleEntryFilter,
} from "../../src/mountinfo/index.ts";
import type { MountInfo } from "../../src/mountinfo/index.ts";
import { PlanError } from "../../src/errors.ts";
import { subtreeUnmountOrder, unmountOrder } from "../../src/plan/unmount-plan.ts";

function mnt(id: number, parent: number, mountpoint: string, extra: Partial<MountInfo> = {}): MountInfo {
  return {
    id,
    parent,
    major: 0,
    minor: id,
    root: "/",
    mountpoint,
    options: "rw",
    optional: [],
    fstype: "tmpfs",
    source: "tmpfs",
    superOptions: "rw",
    unbindable: false,
    ...extra,
  };
}

test("mountOptionItems: the per-mount options then the superblock's, a quoted value one item", () => {
  const m = { options: "rw,nosuid", superOptions: 'rw,context="system_u:a:b:s0:c1,c2",size=1024k' } as MountInfo;
  expect(mountOptionItems(m)).toEqual(["rw", "nosuid", "rw", 'context="system_u:a:b:s0:c1,c2"', "size=1024k"]);
});

describe("isPathUnder", () => {
  const cases: [path: string, prefix: string, want: boolean][] = [
    ["/a/b", "/a", true],
    ["/a/b", "/a/b", true],
    ["/a", "/a", true],
    ["/ab", "/a", false],
    ["/a", "/a/b", false],
    ["/", "/a", false],
    ["/anything/at/all", "/", true],
    ["/", "/", true],
    ["/a/b/", "/a/b", true],
    ["/a/b", "/a/b/", true],
    ["/a//b", "/a/b", true],
    ["/a/bc", "/a/b", false],
    ["/a b/c", "/a b", true],
    ["/a\nb", "/a", false],
  ];
  for (const [path, prefix, want] of cases) {
    test(`${JSON.stringify(path)} under ${JSON.stringify(prefix)} is ${want}`, () => {
      expect(isPathUnder(path, prefix)).toBe(want);
    });
  }
});

describe("lookupMount", () => {
  // "/" (1) with children "/a" (2), "/ab" (3); "/a/b" (4) on "/a".
  const simple = [mnt(1, 0, "/"), mnt(2, 1, "/a"), mnt(3, 1, "/ab"), mnt(4, 2, "/a/b")];
  const simpleCases: [path: string, id: number][] = [
    ["/", 1],
    ["/etc/passwd", 1],
    ["/a", 2],
    ["/a/", 2],
    ["/a/x", 2],
    ["/a/bc", 2],
    ["/a/b", 4],
    ["/a/b/", 4],
    ["/a//b/c", 4],
    ["/ab", 3],
    ["/ab/x", 3],
    ["/abc", 1],
  ];
  for (const [path, id] of simpleCases) {
    test(`component match: ${path} -> ${id}`, () => {
      expect(lookupMount(simple, path)?.id).toBe(id);
    });
  }

  test("stacked mounts with reused, out-of-order ids: the top of the stack, not the highest id", () => {
    // Bottom 90, then 7 on it, then 30 on 7; table listed top first.
    const mounts = [mnt(30, 7, "/x"), mnt(50, 1, "/"), mnt(7, 90, "/x"), mnt(90, 50, "/x")];
    expect(lookupMount(mounts, "/x")?.id).toBe(30);
    expect(lookupMount(mounts, "/x/y/z")?.id).toBe(30);
    expect(lookupMount(mounts, "/y")?.id).toBe(50);
  });

  test("a mount under an overmounted directory is hidden (stacked overmount)", () => {
    // 11 at /x/y on 10 (/x); then 12 mounted on /x, stacked on 10: 11 is hidden.
    const mounts = [mnt(1, 0, "/"), mnt(10, 1, "/x"), mnt(11, 10, "/x/y"), mnt(12, 10, "/x")];
    expect(lookupMount(mounts, "/x/y")?.id).toBe(12);
    expect(lookupMount(mounts, "/x/y/z")?.id).toBe(12);
    // A mount made later on the top of the stack is visible again.
    const more = [...mounts, mnt(13, 12, "/x/y")];
    expect(lookupMount(more, "/x/y/z")?.id).toBe(13);
  });

  test("a deeper mount hidden by a later mount on its ancestor directory (same parent)", () => {
    // 64 at /d/x/y on the "/d" mount, then 65 at /d/x on the same parent: /d/x/y resolves
    // into 65 (the kernel crosses /d/x first); the longest prefix (64) would be wrong.
    const mounts = [mnt(1, 0, "/"), mnt(63, 1, "/d"), mnt(64, 63, "/d/x/y"), mnt(65, 63, "/d/x")];
    expect(lookupMount(mounts, "/d/x/y")?.id).toBe(65);
    expect(lookupMount(mounts, "/d/x/y/z")?.id).toBe(65);
    expect(lookupMount(mounts, "/d/z")?.id).toBe(63);
  });

  test("a stacked root: the top of the stack on /", () => {
    const mounts = [mnt(20, 1, "/"), mnt(21, 20, "/"), mnt(22, 21, "/"), mnt(23, 20, "/hidden")];
    expect(lookupMount(mounts, "/")?.id).toBe(22);
    expect(lookupMount(mounts, "/hidden/x")?.id).toBe(22);
  });

  test("the root is the parentless mount on /, wherever it sits in the table", () => {
    const mounts = [mnt(5, 9, "/a"), mnt(9, 3, "/"), mnt(6, 9, "/b")];
    expect(lookupMount(mounts, "/b/c")?.id).toBe(6);
    expect(lookupMount(mounts, "/c")?.id).toBe(9);
  });

  test("without a / root (a filtered table), the deepest parentless mount covering the path", () => {
    const mounts = [mnt(5, 900, "/srv"), mnt(6, 901, "/srv/data"), mnt(7, 6, "/srv/data/x")];
    expect(lookupMount(mounts, "/srv/data/x/1")?.id).toBe(7);
    expect(lookupMount(mounts, "/srv/data/y")?.id).toBe(6);
    expect(lookupMount(mounts, "/srv/other")?.id).toBe(5);
    expect(lookupMount(mounts, "/etc")).toBeUndefined();
  });

  test("an empty table holds nothing", () => {
    expect(lookupMount([], "/")).toBeUndefined();
  });

  test("a parent cycle from duplicate ids (a torn read) ends instead of looping", () => {
    // Two entries claim id 2, so 2 -> 3 -> 2 -> ... along child links.
    const mounts = [mnt(1, 0, "/"), mnt(2, 1, "/x"), mnt(3, 2, "/x"), mnt(2, 3, "/x")];
    expect(lookupMount(mounts, "/x/y")).toBeUndefined();
    // A cycle unreachable from the root does not disturb the lookup.
    expect(lookupMount([mnt(1, 0, "/"), mnt(4, 5, "/y"), mnt(5, 4, "/y")], "/y")?.id).toBe(1);
  });

  test("a relative path is refused", () => {
    expect(() => lookupMount(simple, "a/b")).toThrow(/path is not absolute: "a\/b"/);
    expect(() => lookupMount(simple, "a/b")).toThrow(PlanError); // typed, as every bad input
  });

  test("does not mutate the table", () => {
    const mounts = [mnt(30, 7, "/x"), mnt(50, 1, "/"), mnt(7, 50, "/x")];
    const copy = structuredClone(mounts);
    lookupMount(mounts, "/x");
    expect(mounts).toEqual(copy);
  });

  test("5,000 mounts under one parent", () => {
    const mounts = [mnt(1, 0, "/")];
    for (let i = 2; i <= 5000; i++) mounts.push(mnt(i, 1, `/run/c${i}`));
    mounts.push(mnt(6000, 4321, "/run/c4321/rootfs"));
    expect(lookupMount(mounts, "/run/c4321/rootfs/etc")?.id).toBe(6000);
    expect(lookupMount(mounts, "/run/c4321/etc")?.id).toBe(4321);
    expect(lookupMount(mounts, "/run/c5001")?.id).toBe(1);
  });
});

describe("filters", () => {
  const mounts = [
    mnt(1, 0, "/", { fstype: "ext4" }),
    mnt(2, 1, "/a", { fstype: "tmpfs" }),
    mnt(3, 1, "/ab", { fstype: "overlay" }),
    mnt(4, 2, "/a/b", { fstype: "proc" }),
    mnt(5, 4, "/a/b", { fstype: "tmpfs" }),
    mnt(6, 4, "/a/b/c", { fstype: "tmpfs" }),
  ];
  const ids = (f: (m: MountInfo) => boolean) => mounts.filter(f).map((m) => m.id);

  test("prefixFilter matches the prefix and below, by component", () => {
    expect(ids(prefixFilter("/a"))).toEqual([2, 4, 5, 6]);
    expect(ids(prefixFilter("/a/"))).toEqual([2, 4, 5, 6]);
    expect(ids(prefixFilter("/a/b"))).toEqual([4, 5, 6]);
    expect(ids(prefixFilter("/"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ids(prefixFilter("/z"))).toEqual([]);
  });

  test("parentsFilter matches the path and its ancestors, by component", () => {
    expect(ids(parentsFilter("/a/b/x"))).toEqual([1, 2, 4, 5]);
    expect(ids(parentsFilter("/ab"))).toEqual([1, 3]);
    expect(ids(parentsFilter("/abc"))).toEqual([1]);
  });

  test("fstypeFilter matches any of its types", () => {
    expect(ids(fstypeFilter("tmpfs"))).toEqual([2, 5, 6]);
    expect(ids(fstypeFilter("proc", "overlay"))).toEqual([3, 4]);
    expect(ids(fstypeFilter())).toEqual([]);
  });

  test("singleEntryFilter matches every mount of a stack at exactly that point", () => {
    expect(ids(singleEntryFilter("/a/b"))).toEqual([4, 5]);
    expect(ids(singleEntryFilter("/a/b/"))).toEqual([4, 5]);
    expect(ids(singleEntryFilter("/a/b/c/d"))).toEqual([]);
  });

  test("filters compose", () => {
    expect(ids(allOf(prefixFilter("/a"), fstypeFilter("tmpfs")))).toEqual([2, 5, 6]);
    expect(ids(allOf(prefixFilter("/a/b"), fstypeFilter("tmpfs"), parentsFilter("/a/b")))).toEqual([5]);
    expect(ids(anyOf(singleEntryFilter("/ab"), fstypeFilter("proc")))).toEqual([3, 4]);
    expect(ids(allOf())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ids(anyOf())).toEqual([]);
  });

  test("mountsUnder returns a new array in table order", () => {
    const got = mountsUnder(mounts, "/a/b");
    expect(got.map((m) => m.id)).toEqual([4, 5, 6]);
    expect(got).not.toBe(mounts);
    expect(mounts).toHaveLength(6);
  });
});

describe("propagationOf", () => {
  const cases: [extra: Partial<MountInfo>, want: string][] = [
    [{}, "private"],
    [{ shared: 1 }, "shared"],
    [{ master: 1 }, "private,slave"],
    [{ shared: 2, master: 1 }, "shared,slave"],
    [{ unbindable: true }, "private,unbindable"],
    [{ master: 3, propagateFrom: 1 }, "private,slave"],
    [{ shared: 0 }, "shared"], // a peer group id of 0 is still shared
  ];
  for (const [extra, want] of cases) {
    test(`${JSON.stringify(extra)} -> ${want}`, () => {
      expect(propagationOf(mnt(1, 0, "/", extra))).toBe(want);
    });
  }
});

describe("mountsOfDevice: the mount umount(8) given a device removes", () => {
  const loop3 = { major: 7, minor: 3, fstype: "ext4", source: "/dev/loop3" };
  const root = mnt(1, 1, "/", { major: 8, minor: 1 });

  test("the last mount of the device in the table", () => {
    const table = [root, mnt(20, 1, "/a", loop3), mnt(21, 1, "/b", loop3), mnt(22, 1, "/c")];
    const { all, reachable } = mountsOfDevice(table, "7:3");
    expect(all.map((m) => m.mountpoint)).toEqual(["/a", "/b"]);
    expect(reachable?.mountpoint).toBe("/b");
  });

  test("never one under a stack or under a later mount above it: umount2 there would remove that one", () => {
    const stacked = [root, mnt(20, 1, "/a", loop3), mnt(21, 1, "/b", loop3), mnt(22, 21, "/b")];
    expect(mountsOfDevice(stacked, "7:3").reachable?.id).toBe(20);
    const overAncestor = [root, mnt(20, 1, "/x/y", loop3), mnt(22, 1, "/x")];
    expect(mountsOfDevice(overAncestor, "7:3")).toEqual({ all: [overAncestor[1]!], reachable: undefined });
  });

  test("a device mounted nowhere", () => {
    expect(mountsOfDevice([root, mnt(20, 1, "/a", loop3)], "7:4")).toEqual({ all: [], reachable: undefined });
  });
});

describe("mountsOfSource: the mount umount(8) given a source name (no path) removes", () => {
  const root = mnt(1, 1, "/", { source: "/dev/vda" });
  const exp = { source: "srv:/exp" };

  test("the latest reachable mount whose source is the name exactly; none hidden everywhere", () => {
    const table = [root, mnt(20, 1, "/a", exp), mnt(21, 1, "/b", exp), mnt(22, 21, "/b"), mnt(23, 1, "/c", { source: "srv:/exp2" })];
    const { all, reachable } = mountsOfSource(table, "srv:/exp");
    expect(all.map((m) => m.id)).toEqual([20, 21]);
    expect(reachable?.id).toBe(20); // 21 is under 22's stack
    expect(mountsOfSource([root, mnt(21, 1, "/b", exp), mnt(22, 21, "/b")], "srv:/exp").reachable).toBeUndefined();
    expect(mountsOfSource(table, "srv:").all).toEqual([]);
  });
});

describe("subtreeUnmountOrder: what umount(8) -R takes down", () => {
  const root = mnt(1, 1, "/");
  // /s: low (10) with /s/x (11); high (12) on it with /s/y (13) and /s/y/z (14); /t (15) beside
  const table = [root, mnt(10, 1, "/s"), mnt(11, 10, "/s/x"), mnt(12, 10, "/s"), mnt(13, 12, "/s/y"), mnt(14, 13, "/s/y/z"), mnt(15, 1, "/t")];

  test("the top mount and everything on it, deepest first; the mount it covers and that one's own stay", () => {
    expect(subtreeUnmountOrder(table, table[3]!).map((m) => m.id)).toEqual([14, 13, 12]);
    expect(subtreeUnmountOrder(table, table[1]!).map((m) => m.id)).toEqual([14, 13, 11, 12, 10]);
    expect(unmountOrder(table, "/s").map((m) => m.id)).toEqual([14, 13, 11, 12, 10]); // at or under a path: all of them
  });

  test("a parent cycle (a torn read) ends", () => {
    const torn = [mnt(30, 31, "/u"), mnt(31, 30, "/u/v")];
    expect(subtreeUnmountOrder(torn, torn[0]!).map((m) => m.id).sort()).toEqual([30, 31]);
  });
});
