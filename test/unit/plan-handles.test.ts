// The plan's fd handles: owned fds close exactly once (at their close step or at the plan's
// end), lent ones never. No kernel needed: close() is recorded.
import { expect, test } from "bun:test";
import { closeHandle, handleFd, lendHandle, ownHandle } from "../../src/ops/plan-handles.ts";
import type { PlanRun } from "../../src/ops/run-plan.ts";
import type { Syscalls } from "../../src/sys/seam.ts";

function recording(): { sys: Syscalls; closed: number[] } {
  const closed: number[] = [];
  return { sys: { close: (fd: number) => void closed.push(fd) } as unknown as Syscalls, closed };
}
const newRun = (): PlanRun => ({ rollback: [], handles: new Map(), release: [], undoWanted: true });
const endPlan = (run: PlanRun) => {
  for (const release of run.release.splice(0).reverse()) release();
};

test("an owned fd is closed at the plan's end when no step closed it; a lent one never is", () => {
  const { sys, closed } = recording();
  const run = newRun();
  lendHandle(run, "userns", 3);
  ownHandle(run, "layer0", 10, sys);
  ownHandle(run, "layer1", 11, sys);
  expect(handleFd(run, "layer1")).toBe(11);
  endPlan(run);
  expect(closed.sort()).toEqual([10, 11]);
  expect(run.handles).toEqual(new Map([["userns", 3]]));
});

test("a close step closes the fd once: the plan's end does not close it again", () => {
  const { sys, closed } = recording();
  const run = newRun();
  ownHandle(run, "tree", 10, sys);
  closeHandle(run, "tree", sys);
  expect(closed).toEqual([10]);
  expect(() => handleFd(run, "tree")).toThrow(/plan handle \$tree is empty/);
  // the fd number is reused by a later owner of the same name: each is closed once
  ownHandle(run, "tree", 10, sys);
  endPlan(run);
  expect(closed).toEqual([10, 10]);
});

test("a handle is taken once; an empty one is a planning error", () => {
  const { sys } = recording();
  const run = newRun();
  ownHandle(run, "layer0", 10, sys);
  expect(() => lendHandle(run, "layer0", 4)).toThrow(/already taken/);
  expect(() => handleFd(run, "nothing")).toThrow(/no earlier step produced it/);
});
