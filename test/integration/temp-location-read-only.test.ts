// A temp location mountkit cannot write to (MOUNTKIT_TMPDIR on a read-only bind mount): every
// directory made there, not only the location itself, fails with the hint to set
// MOUNTKIT_TMPDIR, and nothing is left mounted. Root, private namespace, the built binary.
import { beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { runCli, type CliResult } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const { fresh, dir, unmountAfter } = workspace();
const MAP = "0:100000:65536";
const HINT = "set MOUNTKIT_TMPDIR to a writable directory";

/** A directory that exists and that nothing can be made in: a read-only bind mount of itself. */
function readOnlyLocation(): string {
  const location = dir("read-only-tmp");
  chmodSync(location, 0o700); // else, where the umask leaves it group-writable, the ownership check refuses it first
  unmountAfter(location);
  for (const args of [["--bind", location, location], ["-o", "remount,bind,ro", location]]) {
    const r = Bun.spawnSync(["mount", ...args]);
    if (r.exitCode !== 0) throw new Error(`mount ${args.join(" ")}: ${r.stderr.toString()}`);
  }
  return location;
}

const withLocation = (location: string, strategy = "") => ({ ...process.env, MOUNTKIT_STRATEGY: strategy, MOUNTKIT_TMPDIR: location });

/** mount a legacy idmapped overlay of layers on target, with its temp lowers in location. */
const idmappedOverlay = (layers: readonly string[], target: string, location: string) =>
  runCli(["mount", "-t", "overlay", "-o", `lowerdir=${layers.join(":")},uidmap=${MAP},gidmap=${MAP}`, "overlay", target], { env: withLocation(location, "legacy") });

/** A run that failed (32) on a directory in the temp location: its message, and the hint. */
function expectRefused(r: CliResult, message: string | RegExp): void {
  expect(r.stdout).toBe("");
  if (typeof message === "string") expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain(HINT);
  expect(r.code).toBe(32);
}

test("a legacy idmapped overlay's temp lowers (one layer's own temp mount, and the layers' shared one): EROFS, with the hint", () => {
  fresh("tmploc-ro-idmap");
  const location = readOnlyLocation();
  const target = dir("target");
  // one layer (its own temp mount), and two (one temp mount of their parent)
  for (const layers of [[dir("a", "lower")], [dir("c", "lower1"), dir("c", "lower2")]]) {
    expectRefused(idmappedOverlay(layers, target, location), `mkdir(2): EROFS (Read-only file system): in the temp mount location: ${location}/mountkit-idmap-`);
  }
  expect(mountsUnder(target)).toEqual([]);
  expect(readdirSync(location)).toEqual([]);
});

test("a full temp location (a tmpfs of two inodes): the temp lowers made inside the temp dir fail with the hint too", () => {
  fresh("tmploc-full-idmap");
  const location = dir("full-tmp");
  chmodSync(location, 0o700);
  unmountAfter(location);
  // the root and one directory: the temp dir is made, the first directory inside it is not
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "nr_inodes=2,size=1m", "full", location]);
  if (r.exitCode !== 0) throw new Error(`mount tmpfs: ${r.stderr.toString()}`);
  const target = dir("target");
  const shapes = [
    { layers: [dir("a", "lower")], inside: "0" },
    { layers: [dir("c", "lower1"), dir("c", "lower2")], inside: "layers" },
  ];
  for (const { layers, inside } of shapes) {
    const message = new RegExp(`mkdir\\(2\\): ENOSPC \\(No space left on device\\): in the temp mount location: ${location}/mountkit-idmap-[^/ ]+/${inside} `);
    expectRefused(idmappedOverlay(layers, target, location), message);
  }
  expect(mountsUnder(target)).toEqual([]);
  expect(readdirSync(location)).toEqual([]);
});

test("a containerd transform's temp mounts (format/, mkdir/): EROFS, with the hint", () => {
  const s = fresh("tmploc-ro-activate");
  const location = readOnlyLocation();
  const root = dir("root");
  mkdirSync(`${root}/t`);
  const list = s.path("list.json");
  writeFileSync(
    list,
    JSON.stringify([
      { type: "tmpfs", source: "tmpfs", target: "/t", options: ["size=1m"] },
      { type: "format/mkdir/bind", source: "{{ mount 0 }}/upper", target: "/t", options: ["X-containerd.mkdir.path={{ mount 0 }}/upper", "rbind"] },
    ]),
  );
  const r = runCli(["apply", "--root", root, list], { env: withLocation(location) });
  expectRefused(r, `mkdir(2): EROFS (Read-only file system): in the temp mount location: ${location}/mountkit-activate-`);
  expect(mountsUnder(root)).toEqual([]);
  expect(readdirSync(location)).toEqual([]);
});

test("the subdir option's temp mount: EROFS, with the hint", () => {
  fresh("tmploc-ro-subdir");
  const location = readOnlyLocation();
  const target = dir("target");
  const r = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.subdir=x", "tmpfs", target], { env: withLocation(location) });
  expectRefused(r, `mkdir(2): EROFS (Read-only file system): in the temp mount location: ${location}/mountkit-`);
  expect(mountsUnder(target)).toEqual([]);
});
