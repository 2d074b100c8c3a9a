// isBind: the one test of "is this a bind mount" every planner uses.
import { expect, test } from "bun:test";
import { isBind } from "../../src/plan/mount-request.ts";
import { classifyOptions } from "../../src/plan/options.ts";

test.each([
  [{ type: "bind", source: "/a", options: [] }, true], // containerd#12549: the type alone
  [{ type: "", source: "/a", options: ["rbind", "ro"] }, true],
  [{ type: "none", source: "/a", options: ["bind"] }, true],
  [{ type: "tmpfs", source: "t", options: ["size=1m"] }, false],
  [{ type: "", source: "", options: ["private"] }, false],
])("%j -> %p", (mount, expected) => {
  expect(isBind({ mount })).toBe(expected);
  expect(isBind({ mount, options: classifyOptions(mount.options) })).toBe(expected);
});
