// ROOT ONLY, private mount namespace. umount -R with many operands, through the binary: each
// operand's tree goes deepest first, operands in the order given, whether they are nested in
// each other or stacked, and the mount table is read once for all of them (it was read once
// per operand, which cost as much as the table is long: scripts/limits.ts measures it). The
// order is what -v prints; the reads are counted under strace, not timed.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { mount } from "../../src/ops/mount.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { mountsAt, mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";
import { umountTraced } from "../support/umount-traced.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountRecursive(s.path("r"));
  s.dispose();
});

function tmpfs(point: string): void {
  mkdirSync(point, { recursive: true });
  mount({ type: "tmpfs", source: "umount-r-many", options: [] }, point);
}

/** t: a tmpfs with x (and x/y on it) and z on it; the order -R takes them: y, x, z, t. */
function tree(t: string): string[] {
  for (const point of [t, `${t}/x`, `${t}/x/y`, `${t}/z`]) tmpfs(point);
  return [`${t}/x/y`, `${t}/x`, `${t}/z`, t];
}

/** The mount points of the umount2 calls -v printed, in order. */
function unmountedInOrder(stderr: string): string[] {
  return [...stderr.matchAll(/^mountkit: umount2\("(.*)", [^)]*\)$/gm)].map(([, point]) => JSON.parse(`"${point}"`) as string);
}

test("umount -R of 200 operands: each tree deepest first, in the operands' order, nested and stacked ones too; the table read once, as for 2", () => {
  s = scratch("umount-r-many");
  const root = s.path("r");
  tmpfs(root);
  const trees = Array.from({ length: 200 }, (_, i) => `${root}/t${i}`);
  const orders = trees.map(tree);
  // a stack at st: low with a mount on it, high on low with one on it; -R takes high's, then low's
  tmpfs(`${root}/st`);
  tmpfs(`${root}/st/a`);
  tmpfs(`${root}/st`);
  tmpfs(`${root}/st/b`);

  const few = umountTraced(s.path("strace-few.log"), ["-R", "-v", trees[0]!, trees[1]!]);
  expect([few.code, unmountedInOrder(few.stderr)]).toEqual([0, [...orders[0]!, ...orders[1]!]]);

  // t2/x before t2 (the mount on t2/x and what is on it go first), the stack twice, then the rest
  const operands = ["-R", "-v", `${trees[2]}/x`, trees[2]!, trees[3]!, `${root}/st`, `${root}/st`, ...trees.slice(4)];
  const many = umountTraced(s.path("strace-many.log"), operands);
  const stack = [`${root}/st/b`, `${root}/st`, `${root}/st/a`, `${root}/st`];
  expect(unmountedInOrder(many.stderr)).toEqual([...orders[2]!, ...orders[3]!, ...stack, ...orders.slice(4).flat()]);
  expect([many.code, many.tableReads]).toEqual([0, few.tableReads]);
  expect(few.tableReads).toBe(1);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root]);

  // a later operand the earlier ones took down is not found (exit 1 for it; 64, some went)
  tree(`${root}/u`);
  const gone = umountTraced(s.path("strace-gone.log"), ["-R", `${root}/u`, `${root}/u/x`]);
  expect([gone.code, gone.stderr]).toEqual([64, `mountkit: unmount ${root}/u/x: not found: realpath(3): ENOENT (No such file or directory)\n`]);
});

/** root, a tmpfs; p on it, shared, with a directory m; q a bind of p (its peer): a mount on p/m appears on q/m as well, and the other way. */
function peers(root: string): void {
  tmpfs(root);
  tmpfs(`${root}/p`);
  mkdirSync(`${root}/p/m`);
  expect(Bun.spawnSync(["mount", "--make-shared", `${root}/p`]).exitCode).toBe(0);
  mkdirSync(`${root}/q`);
  mount({ type: "bind", source: `${root}/p`, options: [] }, `${root}/q`);
}

test("umount -R where an unmount propagates to a later operand's tree: the table is read again, and that operand's mounts go", () => {
  s = scratch("umount-r-propagated");
  const root = s.path("r");
  peers(root);
  tmpfs(`${root}/p/m`);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, `${root}/p`, `${root}/q`, `${root}/p/m`, `${root}/q/m`]);

  // p/m's unmount takes q/m with it, which the table read first still lists under q
  const run = umountTraced(s.path("strace.log"), ["-R", `${root}/p/m`, `${root}/q`]);
  expect([run.code, run.stderr]).toEqual([0, ""]);
  expect(run.tableReads).toBe(2);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, `${root}/p`]);
});

test("umount -R where an unmount propagates to a later operand's top, uncovering the mount under it: statx tells, and that mount's tree goes", () => {
  s = scratch("umount-r-uncovered");
  const root = s.path("r");
  peers(root);
  // low on q/m with c on it, each copied to p/m; then top on p/m, copied onto q/m's low
  tmpfs(`${root}/q/m`);
  tmpfs(`${root}/q/m/c`);
  tmpfs(`${root}/p/m`);
  expect(mountsUnder(`${root}/q`).map((m) => m.mountpoint)).toEqual([`${root}/q`, `${root}/q/m`, `${root}/q/m/c`, `${root}/q/m`]);

  // p/m's top goes, and its copy on q/m with it: q/m's top is low now, which has c on it
  const run = umountTraced(s.path("strace.log"), ["-R", `${root}/p/m`, `${root}/q/m`]);
  expect([run.code, run.stderr]).toEqual([0, ""]);
  expect(run.tableReads).toBe(2);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, `${root}/p`, `${root}/q`]);
});

function bind(source: string, target: string): void {
  mkdirSync(target, { recursive: true });
  mount({ type: "bind", source, options: [] }, target);
}

test("umount -A -R of a filesystem with 100 mounts, each with a tree, and of another: latest first, each deepest first, a stacked one once uncovered; the table read once for both", () => {
  s = scratch("umount-a-r-many");
  const root = s.path("r");
  tmpfs(root);
  // fs (x on it), then binds of it: each with c on it and d on c; the last bind is stacked on b0
  const fs = `${root}/fs`;
  tmpfs(fs);
  tmpfs(`${fs}/x`);
  const binds = Array.from({ length: 100 }, (_, i) => `${root}/b${i}`);
  for (const b of [...binds, binds[0]!]) {
    bind(fs, b);
    tmpfs(`${b}/c`);
    tmpfs(`${b}/c/d`);
  }
  // and another filesystem, with a bind of it: a second operand
  const other = `${root}/other`;
  tmpfs(other);
  bind(other, `${root}/other-bind`);
  tmpfs(`${root}/other-bind/c`);
  const treeOf = (b: string) => [`${b}/c/d`, `${b}/c`, b];
  // b0's upper bind (the latest mount) first, then the others latest first, b0's lower once uncovered, then fs
  const order = [...treeOf(binds[0]!), ...binds.slice(1).reverse().flatMap(treeOf), ...treeOf(binds[0]!), `${fs}/x`, fs];

  const run = umountTraced(s.path("strace.log"), ["-A", "-R", "-v", fs, other]);
  expect([run.code, unmountedInOrder(run.stderr)]).toEqual([0, [...order, `${root}/other-bind/c`, `${root}/other-bind`, other]]);
  expect(run.tableReads).toBe(1);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root]);
});

test("umount -A -R where an unmount propagates to other mounts of the filesystem and takes them: statx tells, none is tried again", () => {
  s = scratch("umount-a-r-propagated");
  const root = s.path("r");
  peers(root); // p and q peers, another filesystem
  // fs; a bind of it on p/m (copied to q/m), one on q/m/s (copied to p/m/s), a tmpfs on p/m/s (copied to q/m/s)
  const fs = `${root}/fs`;
  tmpfs(fs);
  mkdirSync(`${fs}/s`);
  bind(fs, `${root}/p/m`);
  bind(fs, `${root}/q/m/s`);
  tmpfs(`${root}/p/m/s`);
  expect(mountsUnder(`${root}/q`).map((m) => m.mountpoint)).toEqual([`${root}/q`, `${root}/q/m`, `${root}/q/m/s`, `${root}/q/m/s`]);

  // q/m's tree goes first (the latest mount of fs the lookup reaches), and p/m's with it, by propagation
  const run = umountTraced(s.path("strace.log"), ["-A", "-R", "-v", fs]);
  expect([run.code, unmountedInOrder(run.stderr)]).toEqual([0, [`${root}/q/m/s`, `${root}/q/m/s`, `${root}/q/m`, fs]]);
  expect(run.tableReads).toBe(2);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, `${root}/p`, `${root}/q`]);
});

test("umount -A -R where an unmount propagates and uncovers a mount of the filesystem the table had covered: read again, it goes too", () => {
  s = scratch("umount-a-r-uncovered");
  const root = s.path("r");
  tmpfs(root);
  // fs, shared: c a bind of its directory s, m2 a bind of it, peers; fs gone, a tmpfs on m2/s is
  // copied onto c's root, covering c
  const fs = `${root}/fs`;
  tmpfs(fs);
  mkdirSync(`${fs}/s`);
  expect(Bun.spawnSync(["mount", "--make-shared", fs]).exitCode).toBe(0);
  bind(`${fs}/s`, `${root}/c`);
  bind(fs, `${root}/m2`);
  unmountRecursive(fs);
  tmpfs(`${root}/m2/s`);
  expect(mountsAt(`${root}/c`).map((m) => m.fstype)).toEqual(["tmpfs", "tmpfs"]);

  // m2's tree goes, and c's cover with its tmpfs: c, which the table read first had covered, goes too
  const run = umountTraced(s.path("strace.log"), ["-A", "-R", "-v", `${root}/m2`]);
  expect([run.code, unmountedInOrder(run.stderr)]).toEqual([0, [`${root}/m2/s`, `${root}/m2`, `${root}/c`]]);
  expect(run.tableReads).toBe(2);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root]);
});
