// enterPrivateMountNamespace: the calling thread gets a private mount namespace inside the
// multi-threaded Bun process; nothing it mounts reaches the namespace it left, even under a
// shared mount. Each case runs in a child process, so this test runner keeps its namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

const CHILD = join(import.meta.dir, "../support/fixtures/private-namespace-child.ts");
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

test("mounts made after entering stay in the new namespace, even under a shared mount", () => {
  const s = scratch("privns");
  cleanups.push(() => s.dispose());
  // A shared mount: without the rprivate step, the child's mount below it would propagate here.
  const shared = s.path("shared");
  mkdirSync(shared);
  mount({ type: "tmpfs", source: "mk-shared", options: ["shared"] }, shared);
  cleanups.push(() => unmountAll(shared));
  const target = join(shared, "t");
  mkdirSync(target);

  const run = Bun.spawnSync([process.execPath, CHILD, target], { stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  const report = JSON.parse(run.stdout.toString());
  const ours = readlinkSync("/proc/thread-self/ns/mnt");
  expect(report.previous).toBe(ours);
  expect(report.current).not.toBe(ours);
  expect(report.thread).toBe(report.current);
  expect(report.spawned).toBe(report.current); // processes spawned afterwards are born inside
  expect(report.sawOwnMount).toBe(true);
  expect(mountsUnder(shared).map((m) => m.source)).toEqual(["mk-shared"]);
});
