// mountsAdded: what a bench run left in its namespace, from the tables before and after.
import { expect, test } from "bun:test";
import { mountsAdded } from "../../src/bench/leftovers.ts";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";

const line = (id: number, parent: number, target: string, fstype: string, source: string) =>
  `${id} ${parent} 0:${id} / ${target} rw,relatime - ${fstype} ${source} rw\n`;
const BEFORE = parseMountInfo(line(21, 1, "/", "ext4", "/dev/sda1") + line(22, 21, "/tmp", "tmpfs", "tmpfs"));

test("nothing added: nothing left", () => {
  expect(mountsAdded(BEFORE, BEFORE)).toEqual([]);
  // a mount of the entry table unmounted meanwhile is not a leftover
  expect(mountsAdded(BEFORE, BEFORE.slice(0, 1))).toEqual([]);
});

test("the scratch, a workload's mount, anything new anywhere in the namespace is reported in table order", () => {
  const after = parseMountInfo(
    line(21, 1, "/", "ext4", "/dev/sda1") +
      line(22, 21, "/tmp", "tmpfs", "tmpfs") +
      line(40, 22, "/tmp", "tmpfs", "mountkit-bench") +
      line(41, 40, "/tmp/bind", "tmpfs", "mountkit-bench-bind") +
      line(42, 21, "/var/tmp/x", "overlay", "overlay"),
  );
  expect(mountsAdded(BEFORE, after)).toEqual([
    { target: "/tmp", source: "mountkit-bench", fstype: "tmpfs" },
    { target: "/tmp/bind", source: "mountkit-bench-bind", fstype: "tmpfs" },
    { target: "/var/tmp/x", source: "overlay", fstype: "overlay" },
  ]);
});

test("an id reused at another mount point is a new mount", () => {
  const after = parseMountInfo(line(21, 1, "/", "ext4", "/dev/sda1") + line(22, 21, "/mnt", "tmpfs", "reused"));
  expect(mountsAdded(BEFORE, after)).toEqual([{ target: "/mnt", source: "reused", fstype: "tmpfs" }]);
});
