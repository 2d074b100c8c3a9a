// mount(8)'s read-only fallback in plans: which new mounts of a device or image get it, how
// --dry-run shows it, and what turns it off (ro, remount, bind, -w). Pure.
import { describe, expect, test } from "bun:test";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv, SourceKind } from "../../src/plan/mount-request.ts";
import type { ProbedMountStep } from "../../src/plan/probe-step.ts";
import { describeStep, formatStep, type MountStep, type Step } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");
const kinds: Record<string, SourceKind> = { "/dev/sdb1": "block", "/img/a.ext4": "file" };
const env: PlanEnv = { sourceKind: (path) => kinds[path] ?? "other" };

function firstStep(type: string, source: string, options: string[] = [], planEnv: PlanEnv = env): Step {
  return planMount({ type, source, options }, "/mnt", facts, planEnv).steps[0]!;
}

function fallbackOf(step: Step): boolean | undefined {
  if (step.op === "loop-mount") return step.loop.readOnlyFallback;
  return (step as MountStep | ProbedMountStep).readOnlyFallback;
}

describe("which mounts fall back to read-only", () => {
  test("a new read-write mount of a device, a probed device and an image", () => {
    expect(fallbackOf(firstStep("ext4", "/dev/sdb1"))).toBe(true);
    expect(fallbackOf(firstStep("", "/dev/sdb1", ["noatime"]))).toBe(true);
    expect(fallbackOf(firstStep("ext4", "/img/a.ext4"))).toBe(true);
    expect(fallbackOf(firstStep("", "/img/a.ext4", ["loop"]))).toBe(true);
  });

  test("never when read-only, a remount, a bind, or read-write was asked explicitly (mount -w)", () => {
    expect(fallbackOf(firstStep("ext4", "/dev/sdb1", ["ro"]))).toBe(false);
    expect(fallbackOf(firstStep("", "/dev/sdb1", ["ro"]))).toBe(false);
    expect(fallbackOf(firstStep("ext4", "/img/a.ext4", ["ro"]))).toBe(false);
    expect(fallbackOf(firstStep("", "/mnt", ["remount", "rw"]))).toBeFalsy();
    expect(fallbackOf(firstStep("", "/dev/sdb1", ["bind"]))).toBeFalsy();
    const readWriteOnly: PlanEnv = { ...env, readWriteOnly: true };
    expect(fallbackOf(firstStep("ext4", "/dev/sdb1", ["rw"], readWriteOnly))).toBe(false);
    expect(fallbackOf(firstStep("", "/dev/sdb1", [], readWriteOnly))).toBe(false);
    expect(fallbackOf(firstStep("ext4", "/img/a.ext4", [], readWriteOnly))).toBe(false);
  });

  test("sources that are no device path (tmpfs, overlay, a server export) keep their plan as it was", () => {
    for (const [type, source] of [["tmpfs", "tmpfs"], ["tmpfs", ""], ["proc", "proc"], ["nfs", "host:/export"]] as const) {
      const step = firstStep(type, source);
      expect(fallbackOf(step)).toBe(false);
      expect(formatStep(step)).not.toContain("MS_RDONLY");
      expect(describeStep(step)).not.toHaveProperty("readOnlyFallback");
    }
  });
});

describe("how --dry-run shows it", () => {
  test("a device mount: the retry under the mount(2) line, and in --json", () => {
    const step = firstStep("ext4", "/dev/sdb1", ["noatime"]);
    expect(formatStep(step)).toBe(
      'mount("/dev/sdb1", "/mnt", "ext4", MS_NOATIME, NULL)\n' +
        '  (EACCES or EROFS, or EBUSY while "/dev/sdb1" is mounted read-only: the same call with MS_RDONLY)',
    );
    expect(describeStep(step)).toMatchObject({ readOnlyFallback: true, args: { flags: MS.NOATIME } });
    expect(formatStep(firstStep("ext4", "/dev/sdb1", ["ro"]))).toBe('mount("/dev/sdb1", "/mnt", "ext4", MS_RDONLY, NULL)');
  });

  test("a probed device: the same line after the probe", () => {
    const step = firstStep("", "/dev/sdb1") as ProbedMountStep;
    expect(formatStep(step).split("\n").at(-1)).toContain("the same call with MS_RDONLY");
    expect(describeStep(step)).toMatchObject({ readOnlyFallback: true });
  });

  test("an image: the read-only open and attach under the backing file's open", () => {
    const step = firstStep("ext4", "/img/a.ext4") as LoopMountStep;
    const lines = formatStep(step).split("\n");
    expect(lines[2]).toBe('backing = open("/img/a.ext4", O_RDWR|O_CLOEXEC)');
    expect(lines[3]).toBe("  (EROFS or EACCES: open O_RDONLY, attach with LO_FLAGS_READ_ONLY, mount with MS_RDONLY)");
    expect(formatStep(firstStep("ext4", "/img/a.ext4", ["ro"]))).not.toContain("EROFS");
  });
});
