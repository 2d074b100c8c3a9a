// OCI's recursive mount attributes (rro, rnosuid...) and util-linux's NAME=recursive: classified,
// then planned as one mount_setattr(AT_RECURSIVE) after the mount. Pure.
import { describe, expect, test } from "bun:test";
import { NotSupportedError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK } from "../../src/plan/mount-api-flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { describeStep, formatStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const attrs = (options: string[]) => classifyOptions(options).recursiveAttrs;

describe("classification", () => {
  test.each([
    [["rro"], { set: MOUNT_ATTR.RDONLY, clr: 0 }],
    [["ro=recursive"], { set: MOUNT_ATTR.RDONLY, clr: 0 }],
    [["rrw"], { set: 0, clr: MOUNT_ATTR.RDONLY }],
    [["rro", "rrw"], { set: 0, clr: MOUNT_ATTR.RDONLY }],
    [["rrw", "rro"], { set: MOUNT_ATTR.RDONLY, clr: 0 }],
    [["nosuid=recursive", "rnodev", "noexec=recursive", "rnosymfollow", "rnodiratime"], { set: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW | MOUNT_ATTR.NODIRATIME, clr: 0 }],
    [["rsuid", "dev=recursive", "rexec", "symfollow=recursive", "rdiratime"], { set: 0, clr: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW | MOUNT_ATTR.NODIRATIME }],
    // an atime mode clears the whole field (the kernel refuses part of it); the last mode wins
    [["rnoatime"], { set: MOUNT_ATTR.NOATIME, clr: MOUNT_ATTR_ATIME_MASK }],
    [["rnoatime", "strictatime=recursive"], { set: MOUNT_ATTR.STRICTATIME, clr: MOUNT_ATTR_ATIME_MASK }],
    [["rstrictatime", "rro", "rrelatime"], { set: MOUNT_ATTR.RDONLY, clr: MOUNT_ATTR_ATIME_MASK }],
    [["rnoatime", "ratime"], { set: 0, clr: MOUNT_ATTR_ATIME_MASK }],
  ] as const)("%p", (options, expected) => {
    expect(attrs([...options])).toEqual(expected);
  });

  test("none: undefined; NAME=recursive of a word with no recursive form, or another value, is fs data", () => {
    expect(attrs(["ro", "nosuid", "size=1m"])).toBeUndefined();
    for (const item of ["size=recursive", "bind=recursive", "ro=nonrecursive", "rro=recursive"]) {
      const classified = classifyOptions([item]);
      expect(classified.recursiveAttrs).toBeUndefined();
      expect(classified.data).toEqual([item]);
    }
  });

  test("mount(2)'s own flags are not touched", () => {
    expect(classifyOptions(["rro", "rnosuid"]).flags).toBe(0);
    expect(classifyOptions(["ro", "rro"]).flags).toBe(MS.RDONLY);
  });
});

describe("plans", () => {
  const plan = (options: string[], f = facts) => planMount({ type: "", source: "/src", options }, "/dst", f);

  test("rbind,rro: the recursive bind, then mount_setattr(AT_RECURSIVE) on the target", () => {
    const steps = plan(["rbind", "rro"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["mount", "set-tree-attrs"]);
    expect(steps[0]).toMatchObject({ flags: MS.BIND | MS.REC, data: null });
    expect(steps[1]).toEqual({ op: "set-tree-attrs", target: "/dst", attrSet: MOUNT_ATTR.RDONLY, attrClr: 0 });
    expect(formatStep(steps[1]!)).toBe('mount_setattr(AT_FDCWD, "/dst", AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0})');
    expect(describeStep(steps[1]!)).toEqual({
      op: "set-tree-attrs",
      syscall: "mount_setattr",
      args: { target: "/dst", flags: "AT_RECURSIVE", attrSet: 1, attrSetNames: "MOUNT_ATTR_RDONLY", attrClr: 0, attrClrNames: "0" },
    });
  });

  test("after the propagation change; an atime mode prints its field by name", () => {
    const steps = plan(["bind", "rnoatime", "rprivate"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["mount", "mount", "set-tree-attrs"]);
    expect(formatStep(steps[2]!)).toBe('mount_setattr(AT_FDCWD, "/dst", AT_RECURSIVE, {attr_set: MOUNT_ATTR_NOATIME, attr_clr: MOUNT_ATTR__ATIME})');
  });

  test("a new filesystem and a remount take them too", () => {
    expect(planMount({ type: "tmpfs", source: "t", options: ["rro"] }, "/dst", facts).steps.map((s) => s.op)).toEqual(["mount", "set-tree-attrs"]);
    expect(plan(["remount", "bind", "rnosuid"]).steps.map((s) => s.op)).toEqual(["mount", "set-tree-attrs"]);
  });

  test("a FUSE helper is not given them: mountkit sets them on its mount afterwards", () => {
    const p = planMount({ type: "fuse3.sshfs", source: "host:/", options: ["rro", "allow_other"] }, "/dst", facts);
    const helper = p.steps[0]!;
    expect(helper.op === "helper" && helper.argv).toEqual(["mount.fuse3", "host:/", "/dst", "-o", "allow_other", "-t", "sshfs"]);
    expect(p.steps.at(-1)).toMatchObject({ op: "set-tree-attrs", attrSet: MOUNT_ATTR.RDONLY });
  });

  test("refused before any syscall on a kernel without mount_setattr (5.12), never silently dropped", () => {
    const err = caught(() => plan(["rbind", "rro"], factsForVersion("5.10.0")));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toContain("recursive mount attributes (rro, ro=recursive...) need mount_setattr (Linux 5.12)");
  });
});
