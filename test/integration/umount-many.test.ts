// ROOT ONLY, private mount namespace. umount with many operands in a large mount table, through
// the binary: as util-linux's umount, a mount point whose type (told by statfs(2)'s magic) has
// no umount.TYPE helper is unmounted without reading the whole table. It was read once per
// operand, which cost as much as the table is long (1000 operands in a table of 2000 mounts
// took 4 s; scripts/limits.ts measures it). Nor is a type's umount.TYPE helper looked for again
// for each operand (18 statx per tmpfs operand). Counted here, not timed: the binary runs under
// strace, and neither its reads of mountinfo nor its helper look-ups may grow with the operands.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { mount } from "../../src/ops/mount.ts";
import { unmountSubtree } from "../../src/ops/unmount.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";
import { umountTraced, type TracedUmount } from "../support/umount-traced.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountSubtree(s.path("r"));
  s.dispose();
});

function umountCounting(operands: string[]): TracedUmount {
  return umountTraced(s.path(`strace-${operands.length}.log`), operands);
}

test("umount of many mount points in a large table: each unmounted without a read of the table or a helper look-up of its own (as many for 200 operands as for 2)", () => {
  s = scratch("umount-many");
  const root = s.path("r");
  const source = s.path("src");
  mkdirSync(root);
  mkdirSync(source);
  mount({ type: "tmpfs", source: "umount-many", options: [] }, root);
  const points = Array.from({ length: 1000 }, (_, i) => `${root}/d${i}`);
  for (const point of points) {
    mkdirSync(point);
    mount({ type: "bind", source, options: [] }, point);
  }
  const few = umountCounting(points.slice(0, 2));
  const many = umountCounting(points.slice(2, 202));
  expect([few.code, few.stderr, many.code, many.stderr]).toEqual([0, "", 0, ""]);
  expect(many.tableReads).toBe(few.tableReads);
  expect(few.helperLookups).toBeGreaterThan(0); // the look-up is seen: tmpfs is looked for
  expect(many.helperLookups).toBe(few.helperLookups);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, ...points.slice(202)]);
});
