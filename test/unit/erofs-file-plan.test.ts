// containerd's erofs mount handler, planned: an erofs temp mount of a list tries the image file
// itself (Linux 6.12+), its loop mount the fallback on ENOTBLK; where the try cannot work the loop
// mount stays as planned. Pure.
import { describe, expect, test } from "bun:test";
import { planActivation } from "../../src/plan/activation.ts";
import { entriesFromMounts } from "../../src/plan/batch-entry.ts";
import type { ErofsFileMountStep } from "../../src/plan/erofs-file-step.ts";
import { withErofsFileBacked } from "../../src/plan/erofs-file.ts";
import { factsForVersion, type KernelFacts } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { Mount, SourceKind } from "../../src/plan/mount-request.ts";
import { describeStep, formatStep, type Plan } from "../../src/plan/steps.ts";
import { snapshotList } from "../support/snapshot-list.ts";

const facts = factsForVersion("6.18.0");
const kinds: Record<string, SourceKind> = { "/s/layer.erofs": "file", "/s/fsmeta.erofs": "file", "/s/1.erofs": "file", "/s/2.erofs": "small-file", "/dev/vdb": "block", "/s/dir": "other" };
const env = { sourceKind: (path: string) => kinds[path] ?? "missing" };
const layer = (options: string[] = ["ro", "loop"], source = "/s/layer.erofs"): Mount => ({ type: "erofs", source, options });

/** The temp mount's plan as planned (loop devices), and as the erofs handler makes it. */
function handled(m: Mount, at: KernelFacts = facts, refused = false): { planned: Plan; plan: Plan } {
  const planned = planMount(m, "/t/1", at, env);
  return { planned, plan: withErofsFileBacked(planned, at, env, refused) };
}

describe("planActivation: containerd's erofs handler takes the erofs temp mounts", () => {
  test("the erofs snapshotter's list: the erofs layer is the handler's, the writable ext4 image and the overlay are not", () => {
    const a = planActivation(entriesFromMounts(snapshotList("/s/rw.img", "/s/layer.erofs")), "/t")!;
    expect(a.temp.map((t) => [t.mount.type, t.erofs])).toEqual([
      ["ext4", false],
      ["erofs", true],
    ]);
    // under a transform prefix too: the handler is looked up by the type the transforms leave
    const formatted = planActivation(entriesFromMounts([{ type: "tmpfs", source: "t", options: [] }, { type: "format/erofs", source: "/s/layer.erofs", options: ["ro"] }, { type: "format/bind", source: "{{ mount 1 }}", options: ["rbind"] }]), "/t")!;
    expect(formatted.temp.map((t) => t.erofs)).toEqual([false, true]);
  });
});

describe("withErofsFileBacked", () => {
  test("the image file itself with the loop option dropped; the loop mount as planned is the fallback on ENOTBLK", () => {
    const { planned, plan } = handled(layer());
    expect(plan.action).toBe(planned.action);
    expect(plan.steps).toHaveLength(1);
    const step = plan.steps[0] as ErofsFileMountStep;
    expect(step).toMatchObject({ op: "erofs-file-mount", source: "/s/layer.erofs", target: "/t/1", fstype: "erofs", flags: MS.RDONLY, data: null, undoable: true });
    expect(step.fallback).toBe(planned.steps[0] as LoopMountStep);
    expect(formatStep(step).split("\n").slice(0, 2)).toEqual([
      'mount("/s/layer.erofs", "/t/1", "erofs", MS_RDONLY, NULL)   (erofs from the image file itself, Linux 6.12+: no loop device)',
      "on ENOTBLK (this kernel mounts erofs from block devices only; remembered for the process), loop devices instead:",
    ]);
    expect(formatStep(step)).toContain('\n  mount("/dev/loopN", "/t/1", "erofs", MS_RDONLY, NULL)');
    expect(describeStep(step)).toMatchObject({
      op: "erofs-file-mount",
      syscall: "mount",
      args: { source: "/s/layer.erofs", fstype: "erofs", flagNames: "MS_RDONLY", data: null },
      fallbackOn: "ENOTBLK",
      fallback: { op: "loop-mount", loop: { file: "/s/layer.erofs", readOnly: true, autoclear: true }, args: { source: "/dev/loopN" } },
    });
  });

  test("device= files are given to the file-backed mount as they are, in their order; the fallback puts loop devices there", () => {
    const { plan } = handled(layer(["ro", "loop", "device=/s/1.erofs", "cache_strategy=readaround", "device=/s/2.erofs"], "/s/fsmeta.erofs"));
    const step = plan.steps[0] as ErofsFileMountStep;
    expect(step.data).toBe("cache_strategy=readaround,device=/s/1.erofs,device=/s/2.erofs");
    expect((describeStep(step) as { fallback: { args: { data: string } } }).fallback.args.data).toBe("cache_strategy=readaround,device=/dev/loopD1,device=/dev/loopD2");
  });

  test("other options reach the try as the loop mount has them, and so do the steps after the mount", () => {
    const { plan } = handled(layer(["ro", "loop", "nosuid", "cache_strategy=disabled", "rprivate"]));
    expect(plan.steps.map((s) => s.op)).toEqual(["erofs-file-mount", "mount"]);
    expect(plan.steps[0]).toMatchObject({ flags: MS.RDONLY | MS.NOSUID, data: "cache_strategy=disabled" });
  });

  test.each([
    ["a kernel before 6.12", layer(), factsForVersion("6.11.9"), false],
    ["a kernel that said ENOTBLK already", layer(), facts, true],
    ["a block device as the source", layer(["ro", "loop"], "/dev/vdb"), facts, false],
    ["a source that is no file (a directory)", layer(["ro", "loop"], "/s/dir"), facts, false],
    ["a missing source", layer(["ro", "loop"], "/s/missing.erofs"), facts, false],
    ["a block device in device= (a file-backed erofs refuses it: EINVAL)", layer(["ro", "loop", "device=/s/1.erofs", "device=/dev/vdb"]), facts, false],
    ["a device= that names no file", layer(["ro", "loop", "device=/s/missing"]), facts, false],
    ["offset= (only a loop device shows part of a file)", layer(["ro", "loop", "offset=4096"]), facts, false],
    ["sizelimit=", layer(["ro", "sizelimit=8192"]), facts, false],
    ["direct-io", layer(["ro", "loop", "direct-io"]), facts, false],
    ["loop=/dev/loopN", layer(["ro", "loop=/dev/loop7"]), facts, false],
  ] as const)("the loop mount stays as planned, no try: %s", (_, m, at, refused) => {
    const { planned, plan } = handled(m, at, refused);
    expect(plan).toBe(planned);
    expect(plan.steps[0]!.op).toBe("loop-mount");
  });

  test("device= paths past a page stay on loop devices, whose names fit", () => {
    const paths = Array.from({ length: 60 }, (_, i) => `/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/${String(i).padStart(5, "0")}/layer.erofs`);
    const anyFile = { sourceKind: () => "file" as SourceKind };
    const planned = planMount(layer(["ro", "loop", ...paths.map((p) => `device=${p}`)]), "/t/1", facts, anyFile);
    expect(withErofsFileBacked(planned, facts, anyFile, false)).toBe(planned);
    const fits = planMount(layer(["ro", "loop", ...paths.slice(0, 10).map((p) => `device=${p}`)]), "/t/1", facts, anyFile);
    expect(withErofsFileBacked(fits, facts, anyFile, false).steps[0]!.op).toBe("erofs-file-mount");
  });

  test("not erofs, or no loop mount: the plan as it is", () => {
    const ext4 = planMount({ type: "ext4", source: "/s/layer.erofs", options: ["ro", "loop"] }, "/t/1", facts, env);
    expect(withErofsFileBacked(ext4, facts, env, false)).toBe(ext4);
    const tmpfs = planMount({ type: "tmpfs", source: "t", options: [] }, "/t/1", facts, env);
    expect(withErofsFileBacked(tmpfs, facts, env, false)).toBe(tmpfs);
  });

  test("the kernel fact: erofs backed by a file from Linux 6.12", () => {
    expect(factsForVersion("6.12.0").erofsFileBacked).toBe(true);
    expect(factsForVersion("6.11.11").erofsFileBacked).toBe(false);
    expect(factsForVersion("7.0").erofsFileBacked).toBe(true);
  });
});

test("each device= file is asked what it is once: the handler reads the loop mount's devices, not the files again", () => {
  const asked: string[] = [];
  const counting = { sourceKind: (path: string) => (asked.push(path), env.sourceKind(path)) };
  const planned = planMount(layer(["ro", "loop", "device=/s/1.erofs", "device=/s/2.erofs"], "/s/fsmeta.erofs"), "/t/1", facts, counting);
  const plan = withErofsFileBacked(planned, facts, counting, false);
  expect(plan.steps[0]!.op).toBe("erofs-file-mount");
  expect(asked.filter((path) => path.startsWith("/s/") && path !== "/s/fsmeta.erofs")).toEqual(["/s/1.erofs", "/s/2.erofs"]);
});
