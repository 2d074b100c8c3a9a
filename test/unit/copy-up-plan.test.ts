// tmpcopyup planned: the directory opened before the tmpfs is mounted, copied after it, closed;
// ro made after the copy; refused on anything but a new tmpfs. Pure.
import { describe, expect, test } from "bun:test";
import { NotSupportedError, PlanError } from "../../src/errors.ts";
import { planEntry } from "../../src/plan/batch-plan.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const tmpfs = (options: string[]) => planMount({ type: "tmpfs", source: "tmpfs", options }, "/r/etc", facts);

describe("classification", () => {
  test("tmpcopyup is a feature, never fs data or a flag", () => {
    const c = classifyOptions(["nosuid", "tmpcopyup", "size=1m"]);
    expect(c.copyUp).toBe(true);
    expect(c.data).toEqual(["size=1m"]);
    expect(c.flags).toBe(MS.NOSUID);
    expect(classifyOptions(["nosuid"]).copyUp).toBe(false);
  });
});

describe("the plan", () => {
  test("open before the mount, copy after it, then close", () => {
    const plan = tmpfs(["nosuid", "nodev", "tmpcopyup"]);
    expect(plan.steps).toEqual([
      { op: "copy-up-source", slot: "copyup", target: "/r/etc" },
      expect.objectContaining({ op: "mount", role: "mount", fstype: "tmpfs", target: "/r/etc", flags: MS.NOSUID | MS.NODEV, data: null, undoable: true }),
      { op: "copy-up", slot: "copyup", target: "/r/etc", rootMode: true, rootUid: true, rootGid: true },
      { op: "close", slot: "copyup" },
    ]);
  });

  test("propagation changes come with the mount, before the copy", () => {
    expect(tmpfs(["tmpcopyup", "rprivate"]).steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "mount", "copy-up", "close"]);
  });

  test("mode=, uid=, gid= keep the tmpfs root's own; the directory's are not copied over them", () => {
    const copy = tmpfs(["mode=1777", "uid=5", "tmpcopyup"]).steps.find((s) => s.op === "copy-up");
    expect(copy).toMatchObject({ rootMode: false, rootUid: false, rootGid: true });
  });

  test("ro: mounted read-write, filled, then remounted read-only with its per-mount flags", () => {
    const steps = tmpfs(["ro", "nosuid", "noexec", "tmpcopyup"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "copy-up", "close", "mount"]);
    expect((steps[1] as MountStep).flags).toBe(MS.NOSUID | MS.NOEXEC);
    expect(steps[4]).toEqual({
      op: "mount",
      role: "bind-remount",
      source: null,
      target: "/r/etc",
      fstype: null,
      flags: MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NOEXEC,
      data: null,
      inheritFlags: 0,
      undoable: false,
    });
  });

  test("before X-mount.owner's chown and rro's mount_setattr, which change what the copy made", () => {
    const ops = tmpfs(["tmpcopyup", "rro", "X-mount.owner=7"]).steps.map((s) => s.op);
    expect(ops).toEqual(["copy-up-source", "mount", "copy-up", "close", "set-tree-attrs", "set-owner"]);
  });

  test("an idmapped tmpfs is copied into too", () => {
    const ops = planMount({ type: "tmpfs", source: "tmpfs", options: ["uidmap=0:1000:1", "gidmap=0:1000:1", "tmpcopyup"] }, "/r/etc", facts).steps.map((s) => s.op);
    expect(ops[0]).toBe("copy-up-source");
    expect(ops.slice(-2)).toEqual(["copy-up", "close"]);
  });
});

describe("refused before any syscall", () => {
  test.each([
    [{ type: "bind", source: "/src", options: ["rbind", "tmpcopyup"] }, "a bind mount"],
    [{ type: "", source: "/src", options: ["bind", "tmpcopyup"] }, "a bind mount"],
    [{ type: "tmpfs", source: "tmpfs", options: ["remount", "tmpcopyup"] }, "a remount"],
    [{ type: "overlay", source: "overlay", options: ["lowerdir=/a:/b", "tmpcopyup"] }, 'a filesystem of type "overlay"'],
    [{ type: "ramfs", source: "ramfs", options: ["tmpcopyup"] }, 'a filesystem of type "ramfs"'],
    [{ type: "tmpfs,ramfs", source: "none", options: ["tmpcopyup"] }, 'a filesystem of type "tmpfs,ramfs"'],
  ])("%p: %s", (mount, what) => {
    const err = caught(() => planMount(mount, "/r/etc", facts));
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toEndWith(`tmpcopyup fills a new tmpfs with a copy of the directory it is mounted over, not ${what}`);
  });

  test("a batch entry is named", () => {
    const entry = { index: 2, where: "entry 2 (/etc)", mount: { type: "bind", source: "/src", target: "/etc", options: ["bind", "tmpcopyup"] }, createTarget: undefined, nofail: false };
    expect(() => planEntry(entry, "/r/etc", facts)).toThrow(/^entry 2 \(\/etc\): mount \/src on \/r\/etc: tmpcopyup fills a new tmpfs/);
  });

  test("a kernel without openat2 (before 5.6)", () => {
    const err = caught(() => planMount({ type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }, "/r/etc", factsForVersion("5.4.0")));
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toContain("openat2(2) (Linux 5.6); this kernel is 5.4.0");
  });
});

describe("printing", () => {
  test("dry-run lines and --json", () => {
    const [source, , copy, close] = tmpfs(["mode=755", "tmpcopyup"]).steps;
    expect(formatStep(source!)).toBe(`$copyup = open("/r/etc", O_RDONLY|O_DIRECTORY|O_CLOEXEC)  [tmpcopyup: the directory, before the tmpfs covers it]`);
    expect(formatStep(copy!)).toStartWith(`copy $copyup into open("/r/etc", O_RDONLY|O_DIRECTORY|O_CLOEXEC)  [tmpcopyup: each entry by openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)`);
    expect(formatStep(copy!)).toEndWith("the tmpfs root takes the directory's owner, group, xattrs, timestamps]");
    expect(formatStep(close!)).toBe("close($copyup)");
    expect(describeStep(source!)).toEqual({ op: "copy-up-source", syscall: "open", args: { path: "/r/etc", flags: "O_RDONLY|O_DIRECTORY|O_CLOEXEC" }, result: "$copyup" });
    expect(describeStep(copy!)).toMatchObject({ op: "copy-up", args: { from: "$copyup", to: "/r/etc" }, root: { mode: false, uid: true, gid: true } });
  });
});
