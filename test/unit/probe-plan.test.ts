// Mounts with no type (none, or "auto") and image files without -o loop, as mount(8) plans
// them: the planner asks what the source is only when the type leaves it open. Pure.
import { describe, expect, test } from "bun:test";
import { exitCodeFor, PlanError, SourceUnusableError } from "../../src/errors.ts";
import { isAlreadyMounted } from "../../src/plan/already-mounted.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { Mount, SourceKind } from "../../src/plan/mount-request.ts";
import type { ProbedMountStep } from "../../src/plan/probe-step.ts";
import { describeStep, formatStep } from "../../src/plan/steps.ts";
import { PROBE_BYTES } from "../../src/plan/superblock.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const kinds: Record<string, SourceKind> = { "/dev/sdb1": "block", "/img/a.ext4": "file", "/img/small": "small-file", "/srv": "other" };

/** The plan, and the sources the planner asked about. */
function planOf(type: string, source: string, options: string[] = []) {
  const asked: string[] = [];
  const sourceKind = (path: string): SourceKind => {
    asked.push(path);
    return kinds[path] ?? "other";
  };
  const plan = planMount({ type, source, options }, "/mnt", facts, { sourceKind });
  return { steps: plan.steps, asked };
}

describe("no type given", () => {
  test("a block device: its type is read from the superblock, then mount(2)", () => {
    for (const type of ["", "auto"]) {
      const { steps, asked } = planOf(type, "/dev/sdb1", ["ro", "noatime", "errors=remount-ro"]);
      expect(asked).toEqual(["/dev/sdb1"]);
      expect(steps).toEqual([
        { op: "probed-mount", source: "/dev/sdb1", target: "/mnt", flags: MS.RDONLY | MS.NOATIME, data: "errors=remount-ro", undoable: true, readOnlyFallback: false },
      ] satisfies ProbedMountStep[]);
    }
    const [step] = planOf("", "/dev/sdb1").steps;
    expect(formatStep(step!)).toBe(
      `fd = open("/dev/sdb1", O_RDONLY|O_CLOEXEC); pread(fd, buf, ${PROBE_BYTES}, 0); close(fd)\n` +
        `mount("/dev/sdb1", "/mnt", <type from the superblock>, 0, NULL)\n` +
        `  (EACCES or EROFS, or EBUSY while "/dev/sdb1" is mounted read-only: the same call with MS_RDONLY)`,
    );
    expect(describeStep(step!)).toMatchObject({ op: "probed-mount", probe: { device: "/dev/sdb1" }, args: { fstype: null, fstypeFrom: "superblock" } });
  });

  test("a regular file: a loop device (mount(8)'s auto-loop), its type read once attached", () => {
    for (const type of ["", "auto"]) {
      const { steps } = planOf(type, "/img/a.ext4", ["ro"]);
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({ op: "loop-mount", fstype: null, loop: { file: "/img/a.ext4", readOnly: true, autoclear: true } });
    }
    const text = formatStep(planOf("", "/img/a.ext4").steps[0]!);
    expect(text).toContain(`pread(loopfd, buf, ${PROBE_BYTES}, 0)\nmount("/dev/loopN", "/mnt", <type from the superblock>, 0, NULL)`);
  });

  test("-o loop with no type probes the attached device too", () => {
    const { steps, asked } = planOf("", "/img/a.ext4", ["loop"]);
    expect(asked).toEqual([]); // the option says it all
    expect((steps[0] as LoopMountStep).fstype).toBeNull();
  });

  test("anything else cannot be told: a PlanError before any syscall", () => {
    expect(() => planOf("", "/srv")).toThrow(PlanError);
    expect(() => planOf("", "/srv")).toThrow(/^mount \/srv on \/mnt: no filesystem type given, and \/srv is no block device or image file to read it from$/);
    expect(() => planOf("auto", "")).toThrow(/no filesystem type given, and no source to read it from/);
    // without a sourceKind in the env (a caller planning on its own), every source is "other"
    expect(() => planMount({ type: "", source: "/dev/sdb1", options: [] }, "/mnt", facts)).toThrow(/no filesystem type given/);
  });
});

describe("X-mount.auto-fstypes (util-linux 2.39): the types the superblock may name", () => {
  test("carried by the probe steps, block device and image alike (the last one given), shown by the dry run", () => {
    const [probed] = planOf("", "/dev/sdb1", ["X-mount.auto-fstypes=vfat", "X-mount.auto-fstypes=ext4,btrfs"]).steps;
    expect(probed).toMatchObject({ op: "probed-mount", allowedTypes: "ext4,btrfs", data: null });
    expect(formatStep(probed!)).toContain(`pread(fd, buf, ${PROBE_BYTES}, 0); close(fd)\n# the type read must match X-mount.auto-fstypes=ext4,btrfs\nmount(`);
    expect(describeStep(probed!)).toMatchObject({ probe: { device: "/dev/sdb1", allowedTypes: "ext4,btrfs" } });
    const [looped] = planOf("", "/img/a.ext4", ["X-mount.auto-fstypes=novfat"]).steps;
    expect(looped).toMatchObject({ op: "loop-mount", fstype: null, allowedTypes: "novfat" });
    expect(formatStep(looped!)).toContain("# the type read must match X-mount.auto-fstypes=novfat");
  });

  test("a type given: nothing is read, so the list plays no part; an empty type in it is refused", () => {
    expect(planOf("ext4", "/img/a.ext4", ["X-mount.auto-fstypes=xfs"]).steps[0]).not.toHaveProperty("allowedTypes");
    for (const list of ["", "ext4,", ",xfs"]) {
      expect(() => planOf("", "/dev/sdb1", [`X-mount.auto-fstypes=${list}`])).toThrow(`X-mount.auto-fstypes=${list}: an empty type in the list`);
    }
  });
});

describe("a caller that runs mount.TYPE helpers (mount(8)): the type read may have one", () => {
  const externalHelpers = { find: () => undefined, flags: ["-s"], canonicalPath: (path: string) => path };
  const plan = (options: string[], idmap = false) =>
    planMount({ type: "", source: "/dev/sdb1", options: idmap ? [...options, "X-mount.idmap=b:0:1000:1"] : options }, "/mnt", facts, { sourceKind: () => "block", externalHelpers }).steps.find(
      (s): s is ProbedMountStep => s.op === "probed-mount",
    )!;

  test("the probe step carries the helper's arguments, libmount's -o string; the dry run shows the helper's argv", () => {
    const step = plan(["ro", "uid=1000", "noauto", "X-mount.mkdir", "shared"]);
    expect(step).toMatchObject({ op: "probed-mount", helper: { flags: ["-s"], options: "ro,uid=1000" }, action: "mount /dev/sdb1 on /mnt" });
    expect(formatStep(step)).toContain(`# when the type has a mount.TYPE helper: execve("mount.TYPE", ["mount.TYPE", "/dev/sdb1", "/mnt", "-s", "-o", "ro,uid=1000"]); else:\nmount("/dev/sdb1"`);
    expect(describeStep(step)).toMatchObject({ helper: { flags: ["-s"], options: "ro,uid=1000" } });
  });

  test("none for an idmapped mount (mountkit makes those), nor for a caller that runs no helpers", () => {
    expect(plan([], true)).toMatchObject({ op: "probed-mount", idmap: "userns" });
    expect(plan([], true).helper).toBeUndefined();
    expect((planOf("", "/dev/sdb1").steps[0] as ProbedMountStep).helper).toBeUndefined();
  });
});

describe("an image file given a block filesystem's type", () => {
  test("gets a loop device, with that type", () => {
    const { steps } = planOf("ext4", "/img/a.ext4", ["nodev"]);
    expect(steps[0]).toMatchObject({ op: "loop-mount", fstype: "ext4", flags: MS.NODEV });
  });

  test("the same type on a block device is a plain mount(2)", () => {
    const { steps } = planOf("ext4", "/dev/sdb1");
    expect(steps[0]).toMatchObject({ op: "mount", source: "/dev/sdb1", fstype: "ext4" });
  });
});

describe("a regular file of 1024 bytes or less is no image (mount(8) sets up no loop device for it)", () => {
  test("a block filesystem's type: mount(2) of the file as given, for the kernel's ENOTBLK", () => {
    const { steps, asked } = planOf("ext4", "/img/small");
    expect(asked).toEqual(["/img/small"]);
    expect(steps).toEqual([expect.objectContaining({ op: "mount", source: "/img/small", fstype: "ext4" })]);
  });

  test("no type: refused as no block device, exit 32, -o loop named", () => {
    for (const type of ["", "auto"]) {
      const err = caught(() => planOf(type, "/img/small")) as SourceUnusableError;
      expect(err).toBeInstanceOf(SourceUnusableError);
      expect(exitCodeFor(err)).toBe(32);
      expect(err.message).toBe("mount /img/small on /mnt: /img/small is not a block device, and a regular file of 1024 bytes or less is no image file");
      expect(err.hint).toContain("give -o loop");
    }
  });

  test("-o loop (or offset=) asks for the device all the same", () => {
    for (const options of [["loop"], ["offset=0"]]) expect(planOf("", "/img/small", options).steps[0]).toMatchObject({ op: "loop-mount", loop: { file: "/img/small" } });
  });
});

describe("the source is looked at only when the type leaves it open", () => {
  test("tmpfs, overlay, binds, remounts and propagation changes never ask", () => {
    const cases: [string, string, string[]][] = [
      ["tmpfs", "/img/a.ext4", []],
      ["overlay", "overlay", ["lowerdir=/a:/b"]],
      ["", "/img/a.ext4", ["bind"]],
      ["bind", "/img/a.ext4", []],
      ["", "", ["remount", "ro"]],
      ["", "", ["private"]],
    ];
    for (const [type, source, options] of cases) {
      const { asked, steps } = planOf(type, source, options);
      expect(asked).toEqual([]);
      expect(steps.every((s) => s.op !== "loop-mount" && s.op !== "probed-mount")).toBe(true);
    }
  });
});

describe("already mounted (mount -a)", () => {
  const row = (mountpoint: string, source: string, fstype: string): MountInfo =>
    ({ id: 1, parent: 0, major: 7, minor: 0, root: "/", mountpoint, options: "rw", optional: [], fstype, source, superOptions: "rw" }) as unknown as MountInfo;
  const table = [row("/mnt", "/dev/loop3", "ext4"), row("/data", "/dev/sdb1", "xfs")];
  const m = (type: string, source: string, options: string[] = []): Mount => ({ type, source, options });
  /** the kernel's answer for /dev/loop3 attached to /img/a.ext4 at offset */
  const attachedAt = (offset: number) => (device: string, file: string, at: number) =>
    device === "/dev/loop3" && file === "/img/a.ext4" && at === offset;
  const backing = attachedAt(0);

  test("auto matches whatever type the mount has; a given type must match", () => {
    expect(isAlreadyMounted(table, "/data", m("auto", "/dev/sdb1"), "/dev/sdb1")).toBe(true);
    expect(isAlreadyMounted(table, "/data", m("", "/dev/sdb1"), "/dev/sdb1")).toBe(true);
    expect(isAlreadyMounted(table, "/data", m("ext4", "/dev/sdb1"), "/dev/sdb1")).toBe(false);
  });

  test("an image is mounted when a loop device attached to it is mounted there", () => {
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/a.ext4", ["loop"]), "/img/a.ext4", backing)).toBe(true);
    expect(isAlreadyMounted(table, "/mnt", m("auto", "/img/a.ext4"), "/img/a.ext4", backing)).toBe(true);
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/b.ext4", ["loop"]), "/img/b.ext4", backing)).toBe(false);
    // another offset of the same file is another filesystem (util-linux compares offset= too)
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/a.ext4", ["loop", "offset=1M"]), "/img/a.ext4", backing)).toBe(false);
    const atOffset = attachedAt(1 << 20);
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/a.ext4", ["loop", "offset=1M"]), "/img/a.ext4", atOffset)).toBe(true);
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/a.ext4", ["loop", "offset=x"]), "/img/a.ext4", atOffset)).toBe(false);
    // without the kernel's answer, a loop device is only its own name
    expect(isAlreadyMounted(table, "/mnt", m("ext4", "/img/a.ext4", ["loop"]), "/img/a.ext4")).toBe(false);
  });
});
