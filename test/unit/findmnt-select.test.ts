// findmnt's choice of mounts (selectMounts) with the system's answers handed in as text;
// test/integration/findmnt-select.test.ts and findmnt-more.test.ts compare the command with
// util-linux findmnt on real mounts.
import { describe, expect, test } from "bun:test";
import { deviceNumberOf, filtersNothing, selectMounts, type MountLookups, type MountQuery } from "../../src/mountinfo/findmnt-select.ts";
import { lookupMount } from "../../src/mountinfo/lookup.ts";
import { parseMountInfo } from "../../src/mountinfo/index.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";

// id parent maj:min target source: a root on /dev/vda, /a (holding /a/sub), a stack of three on
// /stack, /ro read-only, /d and /e two mounts of /dev/sdb (8:16).
const table = parseMountInfo(
  [
    "1 0 254:0 / / rw - ext4 /dev/vda rw",
    "2 1 0:2 / /a rw - tmpfs ta rw",
    "3 2 0:3 / /a/sub rw - tmpfs tb rw",
    "4 1 0:4 / /stack rw - tmpfs s1 rw",
    "5 4 0:5 / /stack rw - tmpfs s2 rw",
    "6 5 0:6 / /stack rw - tmpfs s3 rw",
    "7 1 0:7 / /ro ro,nosuid - tmpfs rot rw",
    "8 1 8:16 / /d rw - ext4 /dev/sdb rw",
    "9 1 8:16 /sub /e rw - ext4 /dev/sdb rw",
  ].join("\n") + "\n",
);
const ids = (mounts: readonly MountInfo[]) => mounts.map((m) => m.id);

// a system with no links: every path is its own canonical name; /a/sub/dir, /stack/dir and the
// mount points exist, /dev/sdb is a block device
const EXISTING = new Set(["/", "/a", "/a/sub", "/a/sub/dir", "/stack", "/stack/dir", "/ro", "/d", "/e"]);
const lookups: MountLookups = {
  point: (path) => (EXISTING.has(path) ? path : undefined),
  holder: (path) => (EXISTING.has(path) ? lookupMount(table, path) : undefined),
  sourceIs: (spec) => (m) => m.source === spec,
  operandKind: (operand) => (operand === "/dev/sdb" ? "block" : EXISTING.has(operand) ? "other" : "missing"),
};
const select = (query: MountQuery) => ids(selectMounts(table, query, lookups));

describe("selectMounts", () => {
  test("filters: -t, -O, kinds; nothing asked, the whole table", () => {
    expect(select({})).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(select({ types: "ext4" })).toEqual([1, 8, 9]);
    expect(select({ options: "ro" })).toEqual([7]);
    expect(select({ kinds: (t) => t !== "tmpfs" })).toEqual([1, 8, 9]);
  });

  test("a PATH (operand or -T): the mount holding it, the top of a stack, if it passes the filters", () => {
    expect(select({ operands: ["/a/sub/dir"] })).toEqual([3]);
    expect(select({ target: "/stack" })).toEqual([6]);
    expect(select({ target: "/stack", types: "ext4" })).toEqual([]); // not the / below it
    expect(select({ operands: ["/nothing"] })).toEqual([]);
  });

  test("--shadowed: the over-mounted mounts; with a PATH, those on the mount point holding it", () => {
    expect(select({ shadowed: true })).toEqual([4, 5]);
    expect(select({ shadowed: true, target: "/stack" })).toEqual([4, 5]);
    expect(select({ shadowed: true, operands: ["/stack/dir"] })).toEqual([4, 5]);
    expect(select({ shadowed: true, operands: ["/stack/dir"], types: "ext4" })).toEqual([]);
    expect(select({ shadowed: true, target: "/a/sub/dir" })).toEqual([]);
  });

  test("an operand naming a source: a block device, MAJ:MIN, a name no path has", () => {
    expect(select({ operands: ["/dev/sdb"] })).toEqual([8, 9]);
    expect(select({ operands: ["8:16"] })).toEqual([8, 9]);
    expect(select({ operands: ["s2"] })).toEqual([5]);
  });

  test("-M every mount on exactly the mount point; -S every mount of the source, MAJ:MIN by device number", () => {
    expect(select({ mountpoint: "/stack" })).toEqual([4, 5, 6]);
    expect(select({ mountpoint: "/stack/dir" })).toEqual([]);
    expect(select({ source: "/dev/sdb" })).toEqual([8, 9]);
    expect(select({ source: " 8: 16junk" })).toEqual([8, 9]); // as findmnt's sscanf reads it
    expect(select({ source: "s9" })).toEqual([]);
  });

  test("SOURCE TARGET: the source's mounts on TARGET; a MAJ:MIN asked again of the mount point holding TARGET", () => {
    expect(select({ operands: ["s2", "/stack"] })).toEqual([5]);
    expect(select({ operands: ["s2", "/stack/dir"] })).toEqual([]);
    expect(select({ operands: ["0:5", "/stack/dir"] })).toEqual([5]);
  });

  test("-i: what findmnt's own match turns down, a mount point matched exactly", () => {
    expect(select({ invert: true, types: "tmpfs" })).toEqual([1, 8, 9]);
    expect(select({ invert: true, mountpoint: "/stack" })).toEqual([1, 2, 3, 7, 8, 9]);
    // -T of a PATH no mount is on: every mount fails the test, so every mount is found
    expect(select({ invert: true, target: "/stack/dir" })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // a PATH operand is a source first: every mount's source differs from /stack, and that is found
    expect(select({ invert: true, operands: ["/stack"] })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(select({ invert: true, operands: ["s2", "/stack"] })).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
  });

  test("findmntMatch \"list\" (a link named findmnt): findmnt's own match, its tests in turn while nothing is found", () => {
    const list = (query: MountQuery) => select({ findmntMatch: "list", ...query });
    // a PATH operand: a source, then a mount point exactly (every mount of a stack); never the mount holding it
    expect(list({ operands: ["ta"] })).toEqual([2]);
    expect(list({ operands: ["/stack"] })).toEqual([4, 5, 6]);
    expect(list({ operands: ["/a/sub/dir"] })).toEqual([]);
    expect(list({ operands: ["/stack"], types: "ext4" })).toEqual([]);
    expect(list({ operands: ["8:16"] })).toEqual([8, 9]);
    // -T: a mount point exactly, then the mount point holding PATH, every mount on it
    expect(list({ target: "/stack" })).toEqual([4, 5, 6]);
    expect(list({ target: "/stack/dir" })).toEqual([4, 5, 6]);
    expect(list({ target: "/a/sub/dir" })).toEqual([3]);
    expect(list({ target: "/nothing" })).toEqual([]);
    expect(list({ mountpoint: "/stack/dir" })).toEqual([]);
    expect(list({ operands: ["s2", "/stack"] })).toEqual([5]);
    expect(list({ types: "ext4" })).toEqual([1, 8, 9]);
  });

  test("findmntMatch \"tree\" (findmnt's tree of a search): the first look only, a PATH operand a source, -T a mount point exactly", () => {
    const tree = (query: MountQuery) => select({ findmntMatch: "tree", ...query });
    expect(tree({ operands: ["/stack"] })).toEqual([]);
    expect(tree({ operands: ["ta"] })).toEqual([2]);
    expect(tree({ target: "/stack/dir" })).toEqual([]);
    expect(tree({ target: "/stack" })).toEqual([4, 5, 6]);
    expect(tree({ source: "/dev/sdb", types: "ext4" })).toEqual([8, 9]);
  });

  test("filtersNothing: no search and no filter", () => {
    expect(filtersNothing({})).toBe(true);
    expect(filtersNothing({ operands: [] })).toBe(true);
    expect(filtersNothing({ shadowed: true })).toBe(false);
    expect(filtersNothing({ kinds: () => true })).toBe(false);
    expect(filtersNothing({ operands: ["/"] })).toBe(false);
  });

  test("deviceNumberOf: MAJ:MIN as sscanf %d:%d reads it", () => {
    expect(deviceNumberOf("8:16")).toEqual({ major: 8, minor: 16 });
    expect(deviceNumberOf("\t+8: -1x")).toEqual({ major: 8, minor: -1 });
    expect(deviceNumberOf("/dev/sdb")).toBeUndefined();
    expect(deviceNumberOf("srv:/exp")).toBeUndefined();
  });
});
