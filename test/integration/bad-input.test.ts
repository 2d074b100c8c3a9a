// Bad input to each command, through the binary: one clear line naming what was wrong (the
// syscall, its errno name and the path when a syscall failed), the README's exit code, and
// nothing left behind. The cases an audit of every command found wrong.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s?.dispose());

const oneLine = (stderr: string): string => {
  const lines = stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith("mountkit: ")).toBe(true);
  return lines[0]!;
};

test("umount quotes a path that holds a newline, tab or backslash, or is empty, as mount does", () => {
  s = scratch("badin");
  // a backslash-n in a name and a newline in another read alike unless the path is quoted
  for (const [name, shown] of [
    ["no\npe", '"no\\npe"'],
    ["no\\npe", '"no\\\\npe"'],
    ["no\tpe", '"no\\tpe"'],
  ] as const) {
    for (const flags of [[], ["--all-stacked"], ["-l"]]) {
      const r = runCli(["umount", ...flags, s.path(name)]);
      expect(r.code).toBe(32);
      expect(oneLine(r.stderr)).toBe(`mountkit: unmount ${shown.replace(/^"/, `"${s.dir}/`)}: umount2(2): ENOENT (No such file or directory)`);
    }
  }
  const empty = runCli(["umount", ""]);
  expect(empty.code).toBe(32);
  expect(oneLine(empty.stderr)).toBe('mountkit: unmount "": umount2(2): ENOENT (No such file or directory)');
  // a directory that is no mount point, named with a newline: "not mounted", quoted
  const dir = s.path("a\nb");
  mkdirSync(dir);
  const notMounted = runCli(["umount", dir]);
  expect(oneLine(notMounted.stderr)).toBe(`mountkit: unmount "${s.dir}/a\\nb": umount2(2): EINVAL (Invalid argument) (not mounted)`);
});
