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

test("umount --helper-dir that is not absolute: bad usage, exit 1, said once, before any unmount", () => {
  s = scratch("badin");
  const t = s.path("t");
  mkdirSync(t);
  expect(Bun.spawnSync(["mount", "-t", "tmpfs", "badin", t]).exitCode).toBe(0);
  try {
    const r = runCli(["umount", "--helper-dir", "rel", t, s.path("other")]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe("mountkit: umount: --helper-dir rel is not an absolute path");
    expect(mountsUnder(s.dir)).toHaveLength(1);
    const json = runCli(["umount", "--json", "--helper-dir", "rel", t]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ ok: false, exitCode: 1, error: { kind: "plan", message: "umount: --helper-dir rel is not an absolute path" } });
  } finally {
    Bun.spawnSync(["umount", t]);
  }
});

test("an empty --root or --target-prefix is refused (exit 1): it mounted in the working directory", () => {
  s = scratch("badin");
  mkdirSync(s.path("dir"));
  const list = s.path("list.json");
  writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "badin", target: "dir", options: [] }]));
  for (const [args, message] of [
    [["apply", "--root", "", list], "apply: --root: empty path"],
    [["with-mounts", "--root", "", list, "--", "true"], "with-mounts: --root: empty path"],
    [["mount", "-t", "tmpfs", "--target-prefix", "", "badin", "/dir"], "mount: --target-prefix: empty path"],
  ] as const) {
    const r = runCli(args, { cwd: s.dir });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`mountkit: ${message}`);
    expect(mountsUnder(s.dir)).toEqual([]);
  }
});

test("an unbalanced double quote in an apply entry is refused (exit 1), as in -o and fstab, with a comma in the entry or without; nothing mounted", () => {
  s = scratch("badin");
  mkdirSync(s.path("a"));
  const list = s.path("list.json");
  // without a comma the quote was dropped and the tmpfs mounted with size=1m
  for (const option of ['size="1m', 'mode=700,size="1m']) {
    writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "badin", target: "/a", options: [option] }]));
    for (const dryRun of [[], ["-n"]]) {
      const r = runCli(["apply", ...dryRun, "--root", s.dir, list]);
      expect({ option, dryRun, code: r.code, stdout: r.stdout }).toEqual({ option, dryRun, code: 1, stdout: "" });
      expect(oneLine(r.stderr)).toBe(`mountkit: apply ${list}: parse options: unbalanced double quote in ${JSON.stringify(option)} (nothing was mounted)`);
      expect(mountsUnder(s.dir)).toEqual([]);
    }
  }
});

test("a --root or --target-prefix that does not exist names realpath(3) and ENOENT (exit 1), as umount -R's not found", () => {
  s = scratch("badin");
  const list = s.path("list.json");
  writeFileSync(list, "[]");
  const missing = s.path("nope");
  for (const [args, what] of [
    [["apply", "--root", missing, list], "root"],
    [["with-mounts", "--root", missing, list, "--", "true"], "root"],
    [["mount", "-t", "tmpfs", "--target-prefix", missing, "badin", "/dir"], "--target-prefix"],
  ] as const) {
    const r = runCli(args);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`mountkit: ${what} ${missing}: no such directory: realpath(3): ENOENT (No such file or directory)`);
  }
});

test("loop attach of an empty FILE is refused (exit 1), not the working directory opened", () => {
  s = scratch("badin");
  // it said open(2): EISDIR of the working directory
  const r = runCli(["loop", "attach", ""], { cwd: s.dir });
  expect(r.code).toBe(1);
  expect(oneLine(r.stderr)).toBe("mountkit: loop attach: empty FILE");
  const json = runCli(["loop", "attach", "--json", ""], { cwd: s.dir });
  expect(JSON.parse(json.stdout)).toEqual({ ok: false, exitCode: 1, error: { kind: "plan", message: "loop attach: empty FILE" } });
});

test("loop with no or an unknown subcommand: one line, the usage not squeezed into it", () => {
  for (const args of [["loop"], ["loop", "frob"]]) {
    const r = runCli(args);
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).not.toContain("\\n");
    expect(line).toBe(`mountkit: loop: expected attach, detach, set-capacity or list, got ${JSON.stringify(args[1] ?? "")} (see 'mountkit loop --help')`);
  }
});

test("loop list -O with an empty column name says so", () => {
  for (const list of ["", "NAME,"]) {
    const r = runCli(["loop", "list", "-O", list]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toStartWith('mountkit: loop list: unknown column: "" (');
  }
});

test("mount -o X-mount.subdir= naming no directory: the hint speaks of the subdir, not of the source", () => {
  s = scratch("badin");
  const t = s.path("t");
  mkdirSync(t);
  const r = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.subdir=nosub", "tmpfs", t], { cwd: s.dir });
  expect(r.code).toBe(32);
  const line = oneLine(r.stderr);
  expect(line).toContain("openat2(2): ENOENT (No such file or directory): nosub below the filesystem's root (X-mount.subdir)");
  expect(line).not.toContain("source tmpfs does not exist");
  expect(mountsUnder(s.dir)).toEqual([]);
  expect(readdirSync(s.dir)).toEqual(["t"]);
});

test("mount's extra operands are shown quoted where they hold a blank, newline or nothing", () => {
  const r = runCli(["mount", "-t", "tmpfs", "a", "b", "c d", "e\nf", ""]);
  expect(r.code).toBe(1);
  expect(oneLine(r.stderr)).toBe('mountkit: mount: too many operands: "c d" "e\\nf" ""');
});

test("findmnt -w takes a number of milliseconds, as findmnt's: anything else is exit 1", () => {
  for (const bad of ["abc", "1.5", ""]) {
    const r = runCli(["findmnt", "-w", bad, "-n", "-o", "TARGET", "-M", "/"]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`mountkit: findmnt: invalid timeout argument: ${JSON.stringify(bad)}`);
  }
  for (const good of ["5", "-1"]) expect(runCli(["findmnt", "-w", good, "-n", "-o", "TARGET", "-M", "/"])).toMatchObject({ code: 0, stdout: "/\n" });
});
