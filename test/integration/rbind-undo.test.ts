// Undoing an rbind whose source holds mounts (an OCI config's /sys, /dev or a volume with
// submounts): its copies are unmounted children first, so the undo needs no lazy detach and
// says nothing; a copy that really is busy is still detached and named in a warning.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mountAll, runBatch } from "../../src/ops/batch.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  s.dispose();
});
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");

/** root/, and src/ holding two nested tmpfs mounts (src/sub, src/sub/deeper). */
function setUp() {
  s = scratch("rbind-undo");
  const root = s.path("root");
  const src = s.path("src");
  mkdirSync(`${src}/sub`, { recursive: true });
  mkdirSync(root);
  mount({ type: "tmpfs", source: "rbind-undo-sub", options: [] }, `${src}/sub`);
  cleanups.push(() => unmountAll(`${src}/sub`));
  mkdirSync(`${src}/sub/deeper`);
  writeFileSync(`${src}/sub/deeper-file`, "x");
  mount({ type: "tmpfs", source: "rbind-undo-deeper", options: [] }, `${src}/sub/deeper`);
  cleanups.push(() => unmountAll(`${src}/sub/deeper`));
  return { root, src };
}

describe("undo of an rbind with submounts", () => {
  test("a rollback unmounts the copies children first: no lazy detach, no warning", () => {
    const { root, src } = setUp();
    const warnings: string[] = [];
    const entries = entriesFromMounts([
      { type: "bind", source: src, target: "/data", options: ["rbind"] },
      { type: "tmpfs", source: "t", target: "/missing/x", options: [] },
    ]);
    mkdirSync(`${root}/data`);
    const before = mountinfoText();
    const batch = runBatch(entries, root, { warn: (m) => warnings.push(m) });
    cleanups.push(() => batch.release());
    expect(batch.error).toBeDefined();
    expect(batch.results.map((r) => r.status)).toEqual(["rolled-back", "failed"]);
    expect(warnings).toEqual([]);
    expect(mountinfoText()).toBe(before);
  });

  test("release() does the same", () => {
    const { root, src } = setUp();
    mkdirSync(`${root}/data`);
    const before = mountinfoText();
    const warnings: string[] = [];
    const batch = mountAll([{ type: "bind", source: src, target: "/data", options: ["rbind", "ro"] }], root, { warn: (m) => warnings.push(m) });
    expect(batch.error).toBeUndefined();
    expect(mountsUnder(`${root}/data`).map((m) => m.mountpoint)).toEqual([`${root}/data`, `${root}/data/sub`, `${root}/data/sub/deeper`]);
    batch.release();
    expect(warnings).toEqual([]);
    expect(mountinfoText()).toBe(before);
  });

  test("a copy something holds is still detached, and named", () => {
    const { root, src } = setUp();
    mkdirSync(`${root}/data`);
    const before = mountinfoText();
    const warnings: string[] = [];
    const batch = mountAll([{ type: "bind", source: src, target: "/data", options: ["rbind"] }], root, { warn: (m) => warnings.push(m) });
    expect(batch.error).toBeUndefined();
    const held = openSync(`${root}/data/sub/deeper-file`, "r");
    try {
      batch.release();
    } finally {
      closeSync(held);
    }
    expect(warnings).toEqual([expect.stringContaining(`${root}/data/sub: could not be unmounted (umount2(2): EBUSY), detached lazily`)]);
    expect(mountinfoText()).toBe(before);
  });
});
