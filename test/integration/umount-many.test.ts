// ROOT ONLY, private mount namespace. umount with many operands in a large mount table, through
// the binary: as util-linux's umount, a mount point whose type (told by statfs(2)'s magic) has
// no umount.TYPE helper is unmounted without reading the whole table. It was read once per
// operand, which cost as much as the table is long: 1000 operands in a table of 2000 mounts
// took 4 s, 4000 in 8000 took 65 s (util-linux: 0.1 s and 0.7 s). The bound below is many
// times what it takes now.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { mount } from "../../src/ops/mount.ts";
import { unmountSubtree } from "../../src/ops/unmount.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountSubtree(s.path("r"));
  s.dispose();
});

test("umount of 1000 mount points in a table of 2000: each unmounted without a read of the table, in well under 1.5 s", () => {
  s = scratch("umount-many");
  const root = s.path("r");
  const source = s.path("src");
  mkdirSync(root);
  mkdirSync(source);
  mount({ type: "tmpfs", source: "umount-many", options: [] }, root);
  const points = Array.from({ length: 2000 }, (_, i) => `${root}/d${i}`);
  for (const point of points) {
    mkdirSync(point);
    mount({ type: "bind", source, options: [] }, point);
  }
  const operands = points.filter((_, i) => i % 2 === 0);
  const started = performance.now();
  const run = runCli(["umount", ...operands]);
  const elapsed = performance.now() - started;
  expect([run.code, run.stderr]).toEqual([0, ""]);
  expect(mountsUnder(root).map((m) => m.mountpoint)).toEqual([root, ...points.filter((_, i) => i % 2 === 1)]);
  expect(elapsed).toBeLessThan(1500);
});
