// tmpcopyup planned: the directory opened before the tmpfs is made; detached (fsmount, filled
// through its fd, ro, then move_mount) or mounted (mount(2), filled, closed, ro remount);
// refused on anything but a new tmpfs. Pure.
import { describe, expect, test } from "bun:test";
import { NotSupportedError, PlanError } from "../../src/errors.ts";
import { planEntry } from "../../src/plan/batch-plan.ts";
import { copyUpStrategy } from "../../src/plan/copy-up.ts";
import { factsForVersion, type KernelFacts } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { AT, MOUNT_ATTR, MOVE_MOUNT } from "../../src/plan/mount-api-flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const legacy = factsForVersion("6.18.0", { strategy: "legacy" });
const tmpfs = (options: string[], f: KernelFacts = facts) => planMount({ type: "tmpfs", source: "tmpfs", options }, "/r/etc", f);

describe("classification", () => {
  test("tmpcopyup is a feature, never fs data or a flag", () => {
    const c = classifyOptions(["nosuid", "tmpcopyup", "size=1m"]);
    expect(c.copyUp).toBe(true);
    expect(c.data).toEqual(["size=1m"]);
    expect(c.flags).toBe(MS.NOSUID);
    expect(classifyOptions(["nosuid"]).copyUp).toBe(false);
  });
});

describe("the strategy", () => {
  test("detached with fsmount and mount_setattr (5.12), mounted before or under MOUNTKIT_STRATEGY=legacy", () => {
    expect(copyUpStrategy(facts)).toBe("detached");
    expect(copyUpStrategy(factsForVersion("5.12.0"))).toBe("detached"); // the kernel's default strategy (legacy before 6.8) does not decide it
    expect(copyUpStrategy(factsForVersion("5.11.0"))).toBe("mounted");
    expect(copyUpStrategy(legacy)).toBe("mounted");
    expect(copyUpStrategy(factsForVersion("6.18.0", { strategy: "fd" }))).toBe("detached");
  });

  test("a plain tmpfs without tmpcopyup stays one mount(2) call either way", () => {
    for (const f of [facts, legacy]) {
      expect(planMount({ type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=1m"] }, "/r/etc", f).steps.map((s) => s.op)).toEqual(["mount"]);
    }
  });
});

describe("the plan, detached", () => {
  test("open first, the tmpfs made detached, filled through its fd, attached, closed", () => {
    const plan = tmpfs(["nosuid", "nodev", "size=1m", "tmpcopyup"]);
    expect(plan.steps).toEqual([
      { op: "copy-up-source", slot: "copyup", target: "/r/etc" },
      {
        op: "fs-context",
        fstype: "tmpfs",
        params: [
          { kind: "string", key: "source", value: "tmpfs" },
          { kind: "string", key: "size", value: "1m" },
        ],
        attrFlags: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV,
        target: "/r/etc",
        undoable: false,
        detachInto: "tmpfs",
      },
      { op: "copy-up", slot: "copyup", target: "/r/etc", into: "tmpfs", rootMode: true, rootUid: true, rootGid: true },
      { op: "close", slot: "copyup" },
      { op: "move_mount", slot: "tmpfs", target: "/r/etc", flags: MOVE_MOUNT.F_EMPTY_PATH, role: "target" },
      { op: "close", slot: "tmpfs" },
    ]);
  });

  test("ro: the detached mount made read-only after the copy, before the attach; the superblock stays read-write", () => {
    const steps = tmpfs(["ro", "nosuid", "noexec", "tmpcopyup"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["copy-up-source", "fs-context", "copy-up", "close", "mount_setattr", "move_mount", "close"]);
    expect(steps[1]).toMatchObject({ attrFlags: MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC, params: [{ kind: "string", key: "source", value: "tmpfs" }] });
    expect(steps[4]).toEqual({ op: "mount_setattr", slot: "tmpfs", tree: "/r/etc", flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.RDONLY, attrClr: 0, usernsSlot: null });
  });

  test("propagation changes, rro's mount_setattr and X-mount.owner's chown come after the attach", () => {
    expect(tmpfs(["tmpcopyup", "rprivate"]).steps.map((s) => s.op)).toEqual(["copy-up-source", "fs-context", "copy-up", "close", "move_mount", "close", "mount"]);
    const ops = tmpfs(["tmpcopyup", "rro", "X-mount.owner=7"]).steps.map((s) => s.op);
    expect(ops).toEqual(["copy-up-source", "fs-context", "copy-up", "close", "move_mount", "close", "set-tree-attrs", "set-owner"]);
  });

  test("an idmapped tmpfs: idmapped while detached, then filled through the idmapped mount", () => {
    const steps = planMount({ type: "tmpfs", source: "tmpfs", options: ["uidmap=0:1000:1", "gidmap=0:1000:1", "tmpcopyup"] }, "/r/etc", facts).steps;
    expect(steps.map((s) => s.op)).toEqual(["copy-up-source", "userns", "fs-context", "copy-up", "close", "move_mount", "close"]);
    expect(steps[2]).toMatchObject({ idmap: "userns", detachInto: "tmpfs" });
  });

  test("what the fd API cannot say, and X-mount.subdir's temp mount, are copied into mounted", () => {
    expect(tmpfs(["iversion", "tmpcopyup"]).steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "copy-up", "close"]);
    expect(tmpfs([`mpol=${"x".repeat(300)}`, "tmpcopyup"]).steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "copy-up", "close"]);
    const subdir = planMount({ type: "tmpfs", source: "tmpfs", options: ["X-mount.subdir=x", "tmpcopyup"] }, "/r/etc", facts, { tempDir: "/tmp/t" }).steps;
    expect(subdir.map((s) => s.op)).not.toContain("fs-context");
    expect(subdir.find((s) => s.op === "copy-up")).not.toHaveProperty("into");
  });
});

describe("the plan, mounted (MOUNTKIT_STRATEGY=legacy, or a kernel before 5.12)", () => {
  test("open before the mount, copy after it, then close", () => {
    const plan = tmpfs(["nosuid", "nodev", "tmpcopyup"], legacy);
    expect(plan.steps).toEqual([
      { op: "copy-up-source", slot: "copyup", target: "/r/etc" },
      expect.objectContaining({ op: "mount", role: "mount", fstype: "tmpfs", target: "/r/etc", flags: MS.NOSUID | MS.NODEV, data: null, undoable: true }),
      { op: "copy-up", slot: "copyup", target: "/r/etc", rootMode: true, rootUid: true, rootGid: true },
      { op: "close", slot: "copyup" },
    ]);
    expect(tmpfs(["nosuid", "tmpcopyup"], factsForVersion("5.11.0")).steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "copy-up", "close"]);
  });

  test("propagation changes come with the mount, before the copy", () => {
    expect(tmpfs(["tmpcopyup", "rprivate"], legacy).steps.map((s) => s.op)).toEqual(["copy-up-source", "mount", "mount", "copy-up", "close"]);
  });

  test("mode=, uid=, gid= keep the tmpfs root's own; the directory's are not copied over them", () => {
    for (const f of [facts, legacy]) {
      const copy = tmpfs(["mode=1777", "uid=5", "tmpcopyup"], f).steps.find((s) => s.op === "copy-up");
      expect(copy).toMatchObject({ rootMode: false, rootUid: false, rootGid: true });
    }
  });

  test("ro: mounted read-write, filled, then remounted read-only with its per-mount flags", () => {
    const steps = tmpfs(["ro", "nosuid", "noexec", "tmpcopyup"], legacy).steps;
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
    const ops = tmpfs(["tmpcopyup", "rro", "X-mount.owner=7"], legacy).steps.map((s) => s.op);
    expect(ops).toEqual(["copy-up-source", "mount", "copy-up", "close", "set-tree-attrs", "set-owner"]);
  });

  test("an idmapped tmpfs is copied into too", () => {
    const ops = planMount({ type: "tmpfs", source: "tmpfs", options: ["uidmap=0:1000:1", "gidmap=0:1000:1", "tmpcopyup"] }, "/r/etc", legacy).steps.map((s) => s.op);
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
  test("dry-run lines and --json, mounted", () => {
    const [source, , copy, close] = tmpfs(["mode=755", "tmpcopyup"], legacy).steps;
    expect(formatStep(source!)).toBe(`$copyup = open("/r/etc", O_RDONLY|O_DIRECTORY|O_CLOEXEC)  [tmpcopyup: the directory, before the tmpfs covers it]`);
    expect(formatStep(copy!)).toStartWith(`copy $copyup into open("/r/etc", O_RDONLY|O_DIRECTORY|O_CLOEXEC)  [tmpcopyup: each entry by openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV)`);
    expect(formatStep(copy!)).toEndWith("the tmpfs root takes the directory's owner, group, xattrs, timestamps]");
    expect(formatStep(close!)).toBe("close($copyup)");
    expect(describeStep(source!)).toEqual({ op: "copy-up-source", syscall: "open", args: { path: "/r/etc", flags: "O_RDONLY|O_DIRECTORY|O_CLOEXEC" }, result: "$copyup" });
    expect(describeStep(copy!)).toMatchObject({ op: "copy-up", args: { from: "$copyup", to: "/r/etc" }, root: { mode: false, uid: true, gid: true } });
  });

  test("dry-run lines and --json, detached: the calls in order, the target touched only by move_mount", () => {
    const steps = tmpfs(["ro", "nosuid", "size=1m", "tmpcopyup"]).steps;
    const lines = steps.map(formatStep).join("\n").split("\n");
    expect(lines.map((l) => l.replace(/  \[tmpcopyup: each entry.*\]$/, ""))).toEqual([
      `$copyup = open("/r/etc", O_RDONLY|O_DIRECTORY|O_CLOEXEC)  [tmpcopyup: the directory, before the tmpfs covers it]`,
      `fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC)`,
      `fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "tmpfs", 0)`,
      `fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "1m", 0)`,
      `fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)`,
      `$tmpfs = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID)  [detached: "/r/etc" is not touched yet]`,
      `copy $copyup into $tmpfs`,
      `close($copyup)`,
      `mount_setattr($tmpfs, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY, attr_clr: 0, userns_fd: 0})`,
      `move_mount($tmpfs, "", AT_FDCWD, "/r/etc", MOVE_MOUNT_F_EMPTY_PATH)`,
      `close($tmpfs)`,
    ]);
    expect(describeStep(steps[1]!)).toMatchObject({ op: "fs-context", syscalls: ["fsopen", "fsconfig", "fsmount"], result: "$tmpfs" });
    expect(describeStep(steps[2]!)).toMatchObject({ op: "copy-up", args: { from: "$copyup", to: "$tmpfs", target: "/r/etc" } });
    expect(describeStep(steps[4]!)).toMatchObject({ op: "mount_setattr", args: { dfd: "$tmpfs", attrSetNames: "MOUNT_ATTR_RDONLY" } });
  });
});
