// The plan's fd handles: owned fds close exactly once (at their close step or at the plan's
// end), lent ones never. No kernel needed: close() is recorded.
import { expect, test } from "bun:test";
import { closeHandle, handleFd, lendHandle, ownHandle, releaseHandles } from "../../src/ops/plan-handles.ts";
import type { PlanRun } from "../../src/ops/run-plan.ts";
import type { Syscalls } from "../../src/sys/seam.ts";

function recording(): { sys: Syscalls; closed: number[] } {
  const closed: number[] = [];
  return { sys: { close: (fd: number) => void closed.push(fd) } as unknown as Syscalls, closed };
}
const newRun = (): PlanRun => ({ rollback: [], handles: [], undoWanted: true });

test("an owned fd is closed at the plan's end when no step closed it; a lent one never is", () => {
  const { sys, closed } = recording();
  const run = newRun();
  lendHandle(run, "userns", 3);
  ownHandle(run, "layer0", 10);
  ownHandle(run, "layer1", 11);
  expect(handleFd(run, "layer1")).toBe(11);
  releaseHandles(run, sys);
  expect(closed).toEqual([11, 10]); // newest first
  expect(run.handles).toEqual([]);
});

test("a close step closes the fd once: the plan's end does not close it again", () => {
  const { sys, closed } = recording();
  const run = newRun();
  ownHandle(run, "tree", 10);
  closeHandle(run, "tree", sys);
  expect(closed).toEqual([10]);
  expect(() => handleFd(run, "tree")).toThrow(/plan handle \$tree is empty/);
  // the fd number is reused by a later owner of the same name: each is closed once
  ownHandle(run, "tree", 10);
  releaseHandles(run, sys);
  expect(closed).toEqual([10, 10]);
});

test("an empty handle is a planning error", () => {
  const run = newRun();
  expect(() => handleFd(run, "nothing")).toThrow(/no earlier step produced it/);
  ownHandle(run, "layer0", 10);
  expect(() => handleFd(run, "nothing")).toThrow(/no earlier step produced it/);
});

test("handles are found in any order, though the search starts after the last one found", () => {
  const { sys, closed } = recording();
  const run = newRun();
  lendHandle(run, "userns", 3);
  for (let i = 0; i < 50; i++) ownHandle(run, `layer${i}`, 100 + i);
  // in order (an overlay's fsconfig calls), backwards, and scattered
  for (let i = 0; i < 50; i++) expect(handleFd(run, `layer${i}`)).toBe(100 + i);
  for (let i = 49; i >= 0; i--) expect(handleFd(run, `layer${i}`)).toBe(100 + i);
  for (const i of [7, 3, 49, 0, 25]) expect(handleFd(run, `layer${i}`)).toBe(100 + i);
  expect(handleFd(run, "userns")).toBe(3);
  // closed in order (closeAfterCreate), every other one, then the rest at the plan's end
  for (let i = 0; i < 50; i += 2) closeHandle(run, `layer${i}`, sys);
  expect(closed).toEqual(Array.from({ length: 25 }, (_, k) => 100 + 2 * k));
  for (let i = 1; i < 50; i += 2) expect(handleFd(run, `layer${i}`)).toBe(100 + i);
  expect(() => handleFd(run, "layer48")).toThrow(/is empty/);
  releaseHandles(run, sys);
  expect(closed.slice(25)).toEqual(Array.from({ length: 25 }, (_, k) => 100 + 49 - 2 * k)); // newest first, userns lent
  expect(run.handles).toEqual([]);
});

test("closing a handle in the middle keeps the others, in order: the plan's end closes them newest first", () => {
  const { sys, closed } = recording();
  const run = newRun();
  lendHandle(run, "userns", 3);
  ownHandle(run, "layer0", 10);
  ownHandle(run, "layer1", 11);
  ownHandle(run, "layer2", 12);
  closeHandle(run, "layer1", sys);
  expect(run.handles.map((h) => h.name)).toEqual(["userns", "layer0", "layer2"]);
  expect(handleFd(run, "layer2")).toBe(12);
  releaseHandles(run, sys);
  expect(closed).toEqual([11, 12, 10]);
});
