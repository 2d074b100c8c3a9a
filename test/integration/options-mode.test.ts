// mount(8)'s --options-mode, --options-source and --options-source-force, through the binary:
// how the command line's options combine with an fstab line's, and when the fstab is read.
// Real tmpfs mounts (their size shows what was applied); root, private mount namespace.
import { beforeAll, expect, test } from "bun:test";
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
