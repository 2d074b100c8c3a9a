// mount(8)'s --options-mode, --options-source and --options-source-force, through the binary:
// how the command line's options combine with an fstab line's, and when the fstab is read.
// Real tmpfs mounts (their size shows what was applied); root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { runCli } from "../support/cli.ts";
import { mountsAt, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
/** The tmpfs size (superblock option) of the top mount at target, as mountinfo shows it. */
const sizeAt = (target: string) => mountsAt(target).at(-1)?.superOptions.match(/size=(\w+)/)?.[1];

function fstabWith(line: (target: string) => string) {
  const s = ws.fresh("options-mode");
  const target = dir("t");
  unmountAfter(target);
  const fstab = s.path("fstab");
  writeFileSync(fstab, `${line(target)}\n`);
  return { target, fstab };
}

test("--options-mode: prepend (the default) lets -o win, append lets the line win, replace keeps the line's, ignore the command line's", () => {
  const { target, fstab } = fstabWith((t) => `om-src ${t} tmpfs size=1m,mode=0700 0 0`);
  const cases: [string[], string][] = [
    [[], "2048k"],
    [["--options-mode", "prepend"], "2048k"],
    [["--options-mode", "append"], "1024k"],
    [["--options-mode", "replace"], "1024k"],
    [["--options-mode", "ignore"], "2048k"],
  ];
  for (const [flags, size] of cases) {
    const r = runCli(["mount", "-T", fstab, ...flags, "-o", "size=2m", target]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect([flags, sizeAt(target)]).toEqual([flags, size]);
    expect(runCli(["umount", target]).code).toBe(0);
  }
  // ignore drops the line's mode too (tmpfs shows no mode= for its default, 1777); replace keeps it
  expect(runCli(["mount", "-T", fstab, "--options-mode", "ignore", "-o", "size=2m", target]).code).toBe(0);
  expect(mountsAt(target)[0]!.superOptions).not.toContain("mode=");
  expect(runCli(["umount", target]).code).toBe(0);
  expect(runCli(["mount", "-T", fstab, "--options-mode", "replace", "-o", "mode=0755", target]).code).toBe(0);
  expect(mountsAt(target)[0]!.superOptions).toContain("mode=700");
  expect(runCli(["umount", target]).code).toBe(0);

  const bad = runCli(["mount", "-T", fstab, "--options-mode", "merge", target]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('--options-mode "merge": not one of prepend, append, replace, ignore');
  expect(mountsAt(target)).toEqual([]);
});

test("mount -a --options-mode applies to every line", () => {
  const { target, fstab } = fstabWith((t) => `om-all ${t} tmpfs size=1m 0 0`);
  expect(runCli(["mount", "-a", "-T", fstab, "--options-mode", "append", "-o", "size=3m"]).code).toBe(0);
  expect(sizeAt(target)).toBe("1024k");
  expect(runCli(["umount", target]).code).toBe(0);
  expect(runCli(["mount", "-a", "-T", fstab, "-o", "size=3m"]).code).toBe(0);
  expect(sizeAt(target)).toBe("3072k");
});

test("--options-source-force: with SOURCE and TARGET the line with both applies too (its type and options); without it, none is read", () => {
  const { target, fstab } = fstabWith((t) => `om-force ${t} tmpfs size=1m 0 0`);
  const forced = runCli(["mount", "-T", fstab, "--options-source-force", "om-force", target]);
  expect(forced.stderr).toBe("");
  expect(forced.code).toBe(0);
  expect(mountsAt(target).map((m) => [m.source, m.fstype])).toEqual([["om-force", "tmpfs"]]);
  expect(sizeAt(target)).toBe("1024k");
  expect(runCli(["umount", target]).code).toBe(0);
  // no line with both: refused before anything is mounted
  const missing = runCli(["mount", "-T", fstab, "--options-source-force", "-t", "tmpfs", "other", target]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain(`other on ${target}: can't find in ${fstab}`);
  // without it, SOURCE TARGET reads no fstab: no type given, so nothing to mount
  expect(runCli(["mount", "-T", fstab, "om-force", target]).code).not.toBe(0);
  expect(mountsAt(target)).toEqual([]);
});

test("--options-source: fstab (the default) finds one operand; disable (or mtab alone) reads no fstab, so one operand is refused", () => {
  const { target, fstab } = fstabWith((t) => `om-source ${t} tmpfs size=1m 0 0`);
  expect(runCli(["mount", "-T", fstab, "--options-source", "fstab,mtab", target]).code).toBe(0);
  expect(runCli(["umount", target]).code).toBe(0);
  for (const list of ["disable", "mtab"]) {
    const r = runCli(["mount", "-T", fstab, "--options-source", list, target]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--options-source ${list} reads no fstab`);
  }
  expect(runCli(["mount", "-T", fstab, "--options-source", "fstab,nfs", target]).stderr).toContain("not a list of fstab, mtab and disable");
  expect(mountsAt(target)).toEqual([]);
});

// mount(8) -o remount X reads the fstab as mount X does: a line for X (its mount point, else its
// source) gives its options, -o's after them (or as --options-mode says), and those are the
// remount's whole options: a per-mount flag neither gives is cleared, as util-linux 2.38 clears
// it. Only a mount the fstab does not list keeps its own flags (util-linux reads them from the
// mount table then).
describe("a remount of a mount the fstab lists", () => {
  /** the per-mount options of the top mount at target */
  const flagsAt = (target: string) => mountsAt(target).at(-1)!.options.split(",");

  function mountedWithLine(line: (target: string) => string) {
    const paths = fstabWith(line);
    const r = runCli(["mount", "-t", "tmpfs", "-o", "size=4m,nosuid", "rm-mounted", paths.target]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    return paths;
  }

  test("takes the line's options before -o: its size and nodev apply, nosuid (in neither) is cleared; found by mount point or by source", () => {
    const { target, fstab } = mountedWithLine((t) => `rm-line ${t} tmpfs size=1m,nodev,noauto,x-note=1 0 0`);
    const ro = runCli(["mount", "-T", fstab, "-o", "remount,ro", target]);
    expect([ro.code, ro.stderr]).toEqual([0, ""]);
    expect(flagsAt(target)).toEqual(expect.arrayContaining(["ro", "nodev"]));
    expect(flagsAt(target)).not.toContain("nosuid");
    expect(sizeAt(target)).toBe("1024k");
    // -o remount alone: the line again, which says no ro
    expect(runCli(["mount", "-T", fstab, "-o", "remount,size=2m", target]).code).toBe(0);
    expect(flagsAt(target)).toEqual(expect.arrayContaining(["rw", "nodev"]));
    expect(sizeAt(target)).toBe("2048k");
    // the line's source names it as well
    expect(runCli(["mount", "-T", fstab, "-o", "remount,ro", "rm-line"]).code).toBe(0);
    expect(flagsAt(target)).toContain("ro");
    expect(sizeAt(target)).toBe("1024k");
    expect(mountsAt(target)).toHaveLength(1);
  });

  test("--options-mode: append lets the line win, ignore takes -o alone, replace the line's alone (still a remount: nothing is stacked)", () => {
    const { target, fstab } = mountedWithLine((t) => `rm-mode ${t} tmpfs size=1m,nodev 0 0`);
    const cases: [string, string, string[], string[]][] = [
      ["append", "1024k", ["ro", "nodev"], ["nosuid"]],
      ["ignore", "2048k", ["ro"], ["nosuid", "nodev"]],
      ["replace", "1024k", ["rw", "nodev"], ["nosuid"]],
      ["prepend", "2048k", ["ro", "nodev"], ["nosuid"]],
    ];
    for (const [mode, size, present, absent] of cases) {
      expect(runCli(["mount", "-o", "remount,rw,nosuid,size=4m", target]).code).toBe(0);
      const r = runCli(["mount", "-T", fstab, "--options-mode", mode, "-o", "remount,ro,size=2m", target]);
      expect([mode, r.code, r.stderr]).toEqual([mode, 0, ""]);
      expect([mode, sizeAt(target)]).toEqual([mode, size]);
      expect([mode, flagsAt(target)]).toEqual([mode, expect.arrayContaining(present)]);
      for (const flag of absent) expect([mode, flag, flagsAt(target).includes(flag)]).toEqual([mode, flag, false]);
      expect(mountsAt(target)).toHaveLength(1);
    }
  });

  test("a mount the fstab does not list keeps its own flags; a bad line elsewhere is skipped with a warning, as mount(8) does", () => {
    const { target, fstab } = mountedWithLine((t) => `rm-other ${t}-elsewhere tmpfs size=1m,nodev 0 0\nnot-a-line`);
    const r = runCli(["mount", "-T", fstab, "-o", "remount,ro", target]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${fstab}: line 2:`);
    expect(r.stderr).toContain("ignored");
    expect(flagsAt(target)).toEqual(expect.arrayContaining(["ro", "nosuid"]));
    expect(flagsAt(target)).not.toContain("nodev");
    expect(sizeAt(target)).toBe("4096k");
    // --options-mode ignore leaves the mount's own flags out too, as mount(8) ignores the mount table's
    expect(runCli(["mount", "-T", fstab, "--options-mode", "ignore", "-o", "remount,noexec", target]).code).toBe(0);
    expect(flagsAt(target)).toEqual(expect.arrayContaining(["rw", "noexec"]));
    expect(flagsAt(target)).not.toContain("nosuid");
  });

  test("a bind line's bind is dropped unless -o says it (as libmount drops it): the dry run shows which remount is made", () => {
    const s = ws.fresh("options-mode-bind");
    const source = dir("src");
    const target = dir("t");
    const fstab = s.path("fstab");
    writeFileSync(fstab, `${source} ${target} none bind,nodev 0 0\n`);
    const plain = runCli(["mount", "-T", fstab, "-n", "-o", "remount,ro", target]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`mount(NULL, "${target}", NULL, MS_RDONLY|MS_NODEV|MS_REMOUNT, NULL)`);
    const bind = runCli(["mount", "-T", fstab, "-n", "-o", "remount,bind,ro", target]);
    expect(bind.code).toBe(0);
    expect(bind.stdout).toContain(`mount(NULL, "${target}", NULL, MS_RDONLY|MS_NODEV|MS_REMOUNT|MS_BIND, NULL)`);
    expect(mountsAt(target)).toEqual([]);
  });
});
