// Undoing an rbind whose source holds mounts (an OCI config's /sys, /dev or a volume with
// submounts): its copies are unmounted children first, so the undo needs no lazy detach and
// says nothing; a copy that really is busy is still detached and named in a warning.
import { beforeAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mountAll, runBatch, type BatchOutcome } from "../../src/ops/batch.ts";
import { mount } from "../../src/ops/mount.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const { cleanups, dir, fresh, unmountAfter } = workspace();
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");

/** root/ with an empty data/, and src/ holding two nested tmpfs mounts (src/sub, src/sub/deeper). */
function setUp() {
  fresh("rbind-undo");
  const root = dir("root");
  dir("root/data");
  const src = dir("src");
  const sub = dir("src/sub");
  mount({ type: "tmpfs", source: "rbind-undo-sub", options: [] }, sub);
  unmountAfter(sub);
  const deeper = dir("src/sub/deeper");
  writeFileSync(`${sub}/deeper-file`, "x");
  mount({ type: "tmpfs", source: "rbind-undo-deeper", options: [] }, deeper);
  unmountAfter(deeper);
  return { root, src };
}

/** The batch, released after the test whatever happens; warnings collected. */
function batchOf(run: (warn: (m: string) => void) => BatchOutcome): { batch: BatchOutcome; warnings: string[] } {
  const warnings: string[] = [];
  const batch = run((m) => warnings.push(m));
  cleanups.push(() => batch.release());
  return { batch, warnings };
}

describe("undo of an rbind with submounts", () => {
  test("a rollback unmounts the copies children first: no lazy detach, no warning", () => {
    const { root, src } = setUp();
    const before = mountinfoText();
    const entries = entriesFromMounts([
      { type: "bind", source: src, target: "/data", options: ["rbind"] },
      { type: "tmpfs", source: "t", target: "/missing/x", options: [] },
    ]);
    const { batch, warnings } = batchOf((warn) => runBatch(entries, root, { warn }));
    expect(batch.error).toBeDefined();
    expect(batch.results.map((r) => r.status)).toEqual(["rolled-back", "failed"]);
    expect(warnings).toEqual([]);
    expect(mountinfoText()).toBe(before);
  });

  test("release() does the same", () => {
    const { root, src } = setUp();
    const before = mountinfoText();
    const { batch, warnings } = batchOf((warn) => mountAll([{ type: "bind", source: src, target: "/data", options: ["rbind", "ro"] }], root, { warn }));
    expect(mountsUnder(`${root}/data`).map((m) => m.mountpoint)).toEqual([`${root}/data`, `${root}/data/sub`, `${root}/data/sub/deeper`]);
    batch.release();
    expect(warnings).toEqual([]);
    expect(mountinfoText()).toBe(before);
  });

  test("a copy something holds is still detached, and named", () => {
    const { root, src } = setUp();
    const before = mountinfoText();
    const { batch, warnings } = batchOf((warn) => mountAll([{ type: "bind", source: src, target: "/data", options: ["rbind"] }], root, { warn }));
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
