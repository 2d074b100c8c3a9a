// mount(8)'s type lists (-t udf,iso9660, or an fstab type field) in plans: the first type in
// the mount(2) call, the others tried after it, and what a list cannot go with. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { isAlreadyMounted } from "../../src/plan/already-mounted.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv, SourceKind } from "../../src/plan/mount-request.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const kinds: Record<string, SourceKind> = { "/dev/sr0": "block", "/img/cd.iso": "file" };
const env: PlanEnv = { sourceKind: (path) => kinds[path] ?? "other" };
const plan = (type: string, source: string, options: string[] = []) => planMount({ type, source, options }, "/media/cdrom", facts, env);

describe("a type list", () => {
  test("on a device: mount(2) with the first type, the others after it on EINVAL or ENODEV", () => {
    const [step] = plan("udf,iso9660", "/dev/sr0", ["ro"]).steps as [MountStep];
    expect(step).toMatchObject({ op: "mount", role: "mount", source: "/dev/sr0", fstype: "udf", otherTypes: ["iso9660"] });
    expect(formatStep(step)).toBe('mount("/dev/sr0", "/media/cdrom", "udf", MS_RDONLY, NULL)\n  (if it fails: the same call with "iso9660")');
    expect(describeStep(step)).toMatchObject({ otherTypes: ["iso9660"], args: { fstype: "udf" } });
  });

  test("with three types, each in turn; read-write adds the read-only fallback after them", () => {
    const [step] = plan("ext4,xfs,btrfs", "/dev/sr0").steps as [MountStep];
    expect(formatStep(step).split("\n")).toEqual([
      'mount("/dev/sr0", "/media/cdrom", "ext4", 0, NULL)',
      '  (if it fails: the same call with "xfs", then "btrfs")',
      '  (EACCES or EROFS, or EBUSY while "/dev/sr0" is mounted read-only: the same call with MS_RDONLY)',
    ]);
  });

  test("on an image: a loop device, mounted with each type in turn (any block filesystem in the list makes it an image)", () => {
    for (const type of ["iso9660,udf", "mountkitfs,iso9660"]) {
      const [step] = plan(type, "/img/cd.iso").steps as [LoopMountStep];
      const [first, ...rest] = type.split(",");
      expect(step).toMatchObject({ op: "loop-mount", fstype: first, otherTypes: rest });
      expect(formatStep(step)).toContain(`  (if it fails: the same call with ${JSON.stringify(rest[0])})`);
    }
  });

  test("a single type plans as before: no otherTypes", () => {
    expect(plan("iso9660", "/dev/sr0").steps[0]).not.toHaveProperty("otherTypes");
    expect(plan("iso9660", "/img/cd.iso").steps[0]).not.toHaveProperty("otherTypes");
  });

  test("is refused before any syscall where one type is meant, naming the list", () => {
    const refused: [string, string[], RegExp][] = [
      ["ext4,,xfs", [], /empty type in the type list "ext4,,xfs"/],
      ["ext4,auto", [], /"auto" cannot be one of a type list/],
      ["overlay,tmpfs", [], /"overlay" cannot be one of a type list/],
      ["fuse.sshfs,ext4", [], /"fuse.sshfs" cannot be one of a type list/],
      ["ext4,none", [], /"none" cannot be one of a type list/],
      ["ext4,xfs", ["bind"], /does not go with bind, remount and move/],
      ["ext4,xfs", ["remount", "ro"], /does not go with bind, remount and move/],
      ["ext4,xfs,ext4", [], /a type is repeated/],
    ];
    for (const [type, options, message] of refused) {
      const err = caught(() => plan(type, "/dev/sr0", options));
      expect(err).toBeInstanceOf(PlanError);
      expect((err as PlanError).message).toMatch(message);
    }
  });
});

describe("an idmapped mount with a type list", () => {
  test("each type is tried the idmapped way: one mount step carrying the list and the user namespace's slot", () => {
    const steps = plan("ext4,xfs", "/dev/sr0", ["uidmap=0:1000:1", "gidmap=0:1000:1"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["userns", "mount"]);
    expect(steps[1]).toMatchObject({ fstype: "ext4", otherTypes: ["xfs"], idmap: "userns" });
    expect(formatStep(steps[1]!)).toContain('fsfd = fsopen("ext4", FSOPEN_CLOEXEC)');
    expect(formatStep(steps[1]!)).toContain('(if it fails: the same call with "xfs")');
  });
});

describe("mount -a: a type list's line is mounted when any of its types is", () => {
  const table = parseMountInfo("30 1 11:0 / /media/cdrom ro,relatime - iso9660 /dev/sr0 ro\n");
  test("the type that mounted it, whichever it is; another type is not it", () => {
    const mounted = (type: string) => isAlreadyMounted(table, "/media/cdrom", { type, source: "/dev/sr0", options: [] }, "/dev/sr0");
    expect(mounted("udf,iso9660")).toBe(true);
    expect(mounted("iso9660")).toBe(true);
    expect(mounted("udf,ext4")).toBe(false);
  });
});
