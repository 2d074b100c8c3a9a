// X-mount.subdir's plan (plan/subdir.ts): the first mount on a temp dir, the directory cloned
// beneath its root and attached on the target. Pure.
import { expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MOVE_MOUNT } from "../../src/plan/mount-api-flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { formatStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const TEMP = "/run/mountkit-x";
const plan = (type: string, source: string, options: string[]) =>
  planMount({ type, source, options }, "/mnt/t", facts, { tempDir: TEMP, sourceKind: () => "file" });

test("tmpfs: mkdir, the mount on the temp dir, the clone of DIR, the temp unmounted and removed, the clone attached; propagation after", () => {
  const p = plan("tmpfs", "x", ["ro", "X-mount.subdir=/a//b/", "shared"]);
  expect(p.steps.map((s) => s.op)).toEqual(["mkdir", "mount", "open_subdir", "umount2", "rmdir", "move_mount", "close", "mount"]);
  expect(p.steps[0]).toEqual({ op: "mkdir", path: TEMP, mode: 0o700 });
  expect(p.steps[1]).toMatchObject({ op: "mount", role: "mount", source: "x", target: TEMP, fstype: "tmpfs", flags: 1 });
  expect(p.steps[2]).toEqual({ op: "open_subdir", slot: "subdir", root: TEMP, path: "a/b" });
  expect(p.steps[5]).toEqual({ op: "move_mount", slot: "subdir", target: "/mnt/t", flags: MOVE_MOUNT.F_EMPTY_PATH, role: "target" });
  expect(p.steps[7]).toMatchObject({ op: "mount", role: "propagation", target: "/mnt/t" });
  expect(formatStep(p.steps[2]!)).toContain('openat2(open("/run/mountkit-x", O_PATH), "a/b", O_PATH|O_DIRECTORY|O_CLOEXEC');
});

test("a loop mount of an image: the loop-mount step goes to the temp dir", () => {
  const p = plan("ext4", "/img", ["loop", "X-mount.subdir=data"]);
  expect(p.steps[1]).toMatchObject({ op: "loop-mount", target: TEMP });
  expect(p.steps.map((s) => s.op)).toEqual(["mkdir", "loop-mount", "open_subdir", "umount2", "rmdir", "move_mount", "close"]);
});

test("an idmapped filesystem: the user namespace first, its one idmapped mount on the temp dir", () => {
  const p = plan("tmpfs", "x", ["X-mount.subdir=d", "uidmap=0:1:1", "gidmap=0:1:1"]);
  expect(p.steps.map((s) => s.op)).toEqual(["userns", "mkdir", "mount", "open_subdir", "umount2", "rmdir", "move_mount", "close"]);
  expect(p.steps[2]).toMatchObject({ op: "mount", target: TEMP, idmap: "userns" });
  // its stacked form (a flag the fd API cannot say) has no one mount to take the directory from
  expect((caught(() => plan("tmpfs", "x", ["X-mount.subdir=d", "iversion", "uidmap=0:1:1", "gidmap=0:1:1"])) as PlanError).message).toContain(
    "X-mount.subdir goes with a new mount of a filesystem",
  );
});

test("refused before any syscall: with a bind, remount, overlay, an idmapped bind; an empty path, '.' or '..'", () => {
  for (const [type, options] of [
    ["none", ["bind"]],
    ["", ["remount"]],
    ["overlay", ["lowerdir=/l", "upperdir=/u", "workdir=/w"]],
    ["none", ["bind", "uidmap=0:1:1", "gidmap=0:1:1"]],
  ] as const) {
    for (const f of [facts, factsForVersion("6.18.0", { strategy: "legacy" })]) {
      const err = caught(() => planMount({ type, source: "/src", options: [...options, "X-mount.subdir=d"] }, "/mnt/t", f, { tempDir: TEMP })) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.message).toContain("X-mount.subdir goes with a new mount of a filesystem");
    }
  }
  for (const [subdir, detail] of [["", "names no directory"], ["//", "names no directory"], ["a/./b", "not allowed"], ["../x", "not allowed"]] as const) {
    expect((caught(() => plan("tmpfs", "x", [`X-mount.subdir=${subdir}`])) as PlanError).message).toContain(detail);
  }
});
