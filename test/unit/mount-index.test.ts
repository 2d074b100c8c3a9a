import { describe, expect, test } from "bun:test";
import { lookupMount } from "../../src/mountinfo/lookup.ts";
import { MountIndex } from "../../src/mountinfo/mount-index.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";
import { PlanError } from "../../src/errors.ts";

function mnt(id: number, parent: number, mountpoint: string): MountInfo {
  return { id, parent, major: 0, minor: id, root: "/", mountpoint, options: "rw", optional: [], fstype: "tmpfs", source: "tmpfs", superOptions: "rw", unbindable: false };
}

/** Every mount point of the table, a path below each, and a few that no mount is on. */
function pathsOf(table: readonly MountInfo[]): string[] {
  const points = table.map((m) => m.mountpoint);
  return [...new Set(["/", "/elsewhere", "/a/", "/a//b/c", ...points, ...points.map((p) => `${p === "/" ? "" : p}/below/it`)])];
}

function expectLookupsAgree(index: MountIndex, table: readonly MountInfo[]): void {
  for (const path of pathsOf(table)) expect([path, index.lookup(path)]).toEqual([path, lookupMount(table, path)]);
}

// lookupMount's cases (mountinfo-lookup.test.ts): stacks, hidden mounts, reused ids, torn reads, no "/" root
const TABLES: Record<string, MountInfo[]> = {
  "component match": [mnt(1, 0, "/"), mnt(2, 1, "/a"), mnt(3, 1, "/ab"), mnt(4, 2, "/a/b")],
  "a stack listed top first, ids reused out of order": [mnt(30, 7, "/x"), mnt(50, 1, "/"), mnt(7, 90, "/x"), mnt(90, 50, "/x")],
  "a mount hidden under a stack, one on the stack's top": [mnt(1, 0, "/"), mnt(10, 1, "/x"), mnt(11, 10, "/x/y"), mnt(12, 10, "/x"), mnt(13, 12, "/x/y")],
  "a deeper mount hidden by a later one on its ancestor": [mnt(1, 0, "/"), mnt(63, 1, "/d"), mnt(64, 63, "/d/x/y"), mnt(65, 63, "/d/x")],
  "two children of one parent on one path": [mnt(1, 0, "/"), mnt(2, 1, "/p"), mnt(3, 1, "/p"), mnt(4, 2, "/p/q")],
  "a stacked root": [mnt(20, 1, "/"), mnt(21, 20, "/"), mnt(22, 21, "/"), mnt(23, 20, "/hidden")],
  "no / root (a filtered table)": [mnt(5, 900, "/srv"), mnt(6, 901, "/srv/data"), mnt(7, 6, "/srv/data/x")],
  "a cycle of duplicate ids (a torn read)": [mnt(1, 0, "/"), mnt(2, 1, "/x"), mnt(3, 2, "/x"), mnt(2, 3, "/x")],
  "a cycle unreachable from the root": [mnt(1, 0, "/"), mnt(4, 5, "/y"), mnt(5, 4, "/y")],
  empty: [],
};

describe("MountIndex.lookup gives lookupMount's answer", () => {
  for (const [name, table] of Object.entries(TABLES)) {
    test(name, () => expectLookupsAgree(new MountIndex(table), table));
  }

  test("a relative path is refused", () => {
    expect(() => new MountIndex(TABLES["component match"]!).lookup("a/b")).toThrow(/path is not absolute: "a\/b"/);
    expect(() => new MountIndex(TABLES["component match"]!).lookup("a/b")).toThrow(PlanError);
  });
});

describe("MountIndex.subtree: what umount(8) -R takes down", () => {
  const root = mnt(1, 1, "/");
  // /s: low (10) with /s/x (11); high (12) on it with /s/y (13) and /s/y/z (14); /t (15) beside
  const table = [root, mnt(10, 1, "/s"), mnt(11, 10, "/s/x"), mnt(12, 10, "/s"), mnt(13, 12, "/s/y"), mnt(14, 13, "/s/y/z"), mnt(15, 1, "/t")];

  test("deepest first, of one depth in table order; what the top covers stays out", () => {
    const index = new MountIndex(table);
    expect(index.subtree(table[1]!).map((m) => m.id)).toEqual([14, 13, 11, 12, 10]);
    expect(index.subtree(table[3]!).map((m) => m.id)).toEqual([14, 13, 12]);
    expect(index.subtree(table[6]!).map((m) => m.id)).toEqual([15]);
  });

  test("after remove(), as a table without those mounts: the covered mount is the top again", () => {
    const index = new MountIndex(table);
    for (const m of index.subtree(table[3]!)) index.remove(m);
    const left = [table[0]!, table[1]!, table[2]!, table[6]!];
    expect(index.size).toBe(4);
    expect(index.lookup("/s/y/z")).toBe(table[1]!);
    expect(index.lookup("/s/x/1")).toBe(table[2]!);
    expect(index.subtree(table[1]!).map((m) => m.id)).toEqual([11, 10]);
    expect(index.find(12, "/s")).toBeUndefined();
    expect(index.find(10, "/s")).toBe(table[1]!);
    // mounts() and has(): what umount -A -R chooses the filesystem's mounts from
    expect(index.mounts()).toEqual(left);
    expect(index.mounts()[0]).toBe(table[0]!);
    expect([index.has(table[1]!), index.has(table[3]!), index.has({ ...table[1]! })]).toEqual([true, false, false]);
    expectLookupsAgree(index, left);
  });

  test("a mount removed before its children leaves them parentless: roots, as in a table without it", () => {
    const filtered = TABLES["no / root (a filtered table)"]!;
    const index = new MountIndex(filtered);
    index.remove(filtered[1]!);
    expect(index.lookup("/srv/data/x/1")).toBe(filtered[2]!);
    expectLookupsAgree(index, [filtered[0]!, filtered[2]!]);
  });
});

/** A deterministic pseudo-random sequence (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A table as mount(2) makes them: each new mount on a directory of a mount already there
 * (often a mount point, which stacks it), on a few names so that mounts hide each other.
 */
function randomTable(next: () => number, size: number): MountInfo[] {
  const table = [mnt(1, 1, "/")];
  for (let id = 2; table.length < size; id++) {
    const parent = table[Math.floor(next() * table.length)]!;
    const stacked = next() < 0.25;
    const name = ["a", "b", "c"][Math.floor(next() * 3)]!;
    table.push(mnt(id, parent.id, stacked ? parent.mountpoint : `${parent.mountpoint === "/" ? "" : parent.mountpoint}/${name}`));
  }
  return table;
}

test("random tables: lookups agree with lookupMount as subtrees are removed deepest first", () => {
  const next = random(20250101);
  for (let round = 0; round < 40; round++) {
    let table = randomTable(next, 2 + Math.floor(next() * 40));
    const index = new MountIndex(table);
    expectLookupsAgree(index, table);
    while (table.length > 1) {
      const top = table[1 + Math.floor(next() * (table.length - 1))]!;
      const order = index.subtree(top);
      const positions = order.map((m) => table.indexOf(m));
      // each mount after every mount below it: a child's position in the order is before its parent's
      for (const m of order) if (m !== top) expect(order.indexOf(m)).toBeLessThan(order.findIndex((p) => p.id === m.parent));
      expect(positions.every((p) => p >= 0)).toBe(true);
      for (const m of order) index.remove(m);
      table = table.filter((m) => !order.includes(m));
      expect(index.size).toBe(table.length);
      expectLookupsAgree(index, table);
    }
  }
});
