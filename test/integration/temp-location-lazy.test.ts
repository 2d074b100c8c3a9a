// The temp mount location is created when a plan first makes a dir in it, never while planning:
// a dry run (mount -n, apply -n) writes nothing. Root, private namespace, the built binary.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { newTempPath, resetTempMountLocation, tempMountLocation } from "../../src/ops/temp-location.ts";
import { cleanupTempMounts } from "../../src/ops/temp-cleanup.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const { fresh, dir, cleanups, unmountAfter } = workspace();
const MAP = "0:100000:65536";
const IDMAP = `uidmap=${MAP},gidmap=${MAP}`;
const legacy = (tmp: string) => ({ ...process.env, MOUNTKIT_STRATEGY: "legacy", MOUNTKIT_TMPDIR: tmp });

afterEach(resetTempMountLocation);

/** $MOUNTKIT_TMPDIR = dir for this test, read afresh; restored after it. */
function useTmpdir(dir: string): void {
  const saved = process.env.MOUNTKIT_TMPDIR;
  cleanups.push(() => (saved === undefined ? delete process.env.MOUNTKIT_TMPDIR : (process.env.MOUNTKIT_TMPDIR = saved)));
  process.env.MOUNTKIT_TMPDIR = dir;
  resetTempMountLocation();
}

test("computing the location and a temp path creates nothing; the path is canonical through a link", () => {
  const s = fresh("tmploc-lazy");
  const real = dir("real");
  symlinkSync(real, s.path("link"));
  useTmpdir(s.path("link", "a", "b"));
  expect(tempMountLocation()).toBe(join(real, "a", "b"));
  expect(newTempPath("idmap").startsWith(`${real}/a/b/mountkit-idmap-`)).toBe(true);
  expect(readdirSync(real)).toEqual([]);
});

test("a location that exists but is not a directory is refused while planning", () => {
  const s = fresh("tmploc-file");
  writeFileSync(s.path("file"), "");
  useTmpdir(s.path("file"));
  expect(() => tempMountLocation()).toThrow("is not a directory");
});

test("mount -n and apply -n of a legacy idmapped overlay do not create MOUNTKIT_TMPDIR", () => {
  const s = fresh("tmploc-dry");
  const [lower, target] = [dir("lower"), dir("target")];
  const tmp = s.path("tmp", "deeper");
  const dry = runCli(["mount", "-n", "-t", "overlay", "-o", `lowerdir=${lower},${IDMAP}`, "overlay", target], { env: legacy(tmp) });
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`mkdir("${tmp}/mountkit-idmap-`);
  const list = s.path("list.json");
  writeFileSync(list, JSON.stringify([{ type: "overlay", source: "overlay", target: "/t", options: [`lowerdir=${lower}`, `uidmap=${MAP}`, `gidmap=${MAP}`] }]));
  const root = dir("root");
  mkdirSync(`${root}/t`);
  const batch = runCli(["apply", "-n", "--root", root, list], { env: legacy(tmp) });
  expect(batch.stderr).toBe("");
  expect(batch.code).toBe(0);
  expect(existsSync(s.path("tmp"))).toBe(false);
});

test("a real legacy idmapped overlay creates the missing location (0700) and leaves it empty", () => {
  const s = fresh("tmploc-real");
  const [lower, lower2, target] = [dir("lower"), dir("lower2"), dir("target")];
  writeFileSync(`${lower}/f`, "x");
  const tmp = s.path("tmp", "deeper");
  unmountAfter(target);
  const r = runCli(["mount", "-t", "overlay", "-o", `lowerdir=${lower}:${lower2},${IDMAP}`, "overlay", target], { env: legacy(tmp) });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(statSync(`${target}/f`).uid).toBe(100000);
  expect(statSync(tmp).mode & 0o777).toBe(0o700);
  expect(readdirSync(tmp)).toEqual([]);
  expect(mountsUnder(tmp)).toEqual([]);
});

test("cleanupTempMounts on a location not made yet: nothing to do, no warning, nothing created", () => {
  const s = fresh("tmploc-clean");
  useTmpdir(s.path("tmp"));
  expect(cleanupTempMounts()).toEqual({ unmounted: 0, removed: [], skipped: [], warnings: [] });
  expect(existsSync(s.path("tmp"))).toBe(false);
});
