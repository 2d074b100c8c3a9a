// util-linux's X-mount.idmap= (plan/x-mount-idmap.ts): parsed, checked, and planned as the
// same steps as containerd's uidmap=/gidmap=, or with an existing namespace's file. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { isUserspaceExtension } from "../../src/plan/option-table.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { describeStep, formatStep } from "../../src/plan/steps.ts";
import { parseXMountIdmap } from "../../src/plan/x-mount-idmap.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const TEMP = "/run/user/0/mountkit-idmap-1-1-abc";
const plan = (type: string, source: string, options: string[]) =>
  planMount({ type, source, options }, "/mnt/t", facts, { tempDir: TEMP });
const planError = (type: string, options: string[]) => caught(() => plan(type, "/src", options)) as PlanError;

describe("parseXMountIdmap", () => {
  test("mappings separated by blanks; u: the uid map, g: the gid map, b: or no prefix both", () => {
    expect(parseXMountIdmap("0:100000:65536")).toEqual({ kind: "maps", uidmap: "0:100000:65536", gidmap: "0:100000:65536" });
    expect(parseXMountIdmap(" u:0:1000:1  g:0:2000:1\tb:5:7:2 ")).toEqual({ kind: "maps", uidmap: "0:1000:1,5:7:2", gidmap: "0:2000:1,5:7:2" });
  });

  test("a path is a user namespace file, used as it is", () => {
    expect(parseXMountIdmap("/proc/1234/ns/user")).toEqual({ kind: "file", path: "/proc/1234/ns/user" });
  });

  test("refused: empty, a malformed entry, one map alone", () => {
    for (const [value, message] of [
      ["", "empty"],
      ["  ", "empty"],
      ["x:0:1:1", '"x:0:1:1" is no [u:|g:|b:]id-mount:id-host:id-range'],
      ["0:1", '"0:1" is no [u:|g:|b:]id-mount:id-host:id-range'],
      ["0:1:1:1:1", '"0:1:1:1:1" is no'],
      ["0:1:1,2:3:1", '"0:1:1,2:3:1" is no'], // containerd's comma is not util-linux's separator
      ["u:0:1000:1", "only u: mappings: an idmapped mount needs both a uid and a gid map"],
      ["g:0:1000:1 g:1:1001:1", "only g: mappings"],
    ] as const) {
      const err = caught(() => parseXMountIdmap(value)) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.message).toStartWith(`X-mount.idmap=${JSON.stringify(value)}: `);
      expect(err.message).toContain(message);
    }
  });
});

describe("planned", () => {
  test("classified as a feature, never fs data nor a helper's option", () => {
    const c = classifyOptions(["X-mount.idmap=b:0:1:1", "nosuid"]);
    expect(c.idmap).toBe("b:0:1:1");
    expect(c.data).toEqual([]);
    expect(c.userspace).toEqual([]);
    expect(isUserspaceExtension("X-mount.idmap=b:0:1:1")).toBe(true);
  });

  test("the same steps as uidmap=/gidmap= with the same maps, for a bind, a filesystem and an overlay; but a bind's clone keeps the source's propagation, as mount(8)'s", () => {
    const overlay = ["lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w"];
    for (const [type, source, options] of [
      ["none", "/src", ["bind", "ro"]],
      ["tmpfs", "tmpfs", ["size=1m"]],
      ["overlay", "overlay", overlay],
    ] as const) {
      const containerd = plan(type, source, [...options, "uidmap=0:100000:65536,65536:0:1", "gidmap=0:200000:65536"]);
      const utilLinux = plan(type, source, [...options, "X-mount.idmap=u:0:100000:65536 u:65536:0:1 g:0:200000:65536"]);
      // containerd's clone is made private in its mount_setattr; mount(8)'s keeps its propagation
      const asUtilLinux = containerd.steps.map((step) => (step.op === "mount_setattr" ? { ...step, propagation: undefined } : step));
      expect(utilLinux.steps.map(describeStep)).toEqual(asUtilLinux.map(describeStep));
      expect(containerd.steps.some((step) => step.op === "mount_setattr" && step.propagation === MS.PRIVATE)).toBe(type === "none");
    }
  });

  test("a namespace file: opened (and checked) in place of a new namespace", () => {
    const p = plan("none", "/src", ["bind", "X-mount.idmap=/proc/42/ns/user"]);
    expect(p.steps[0]).toEqual({ op: "open_userns", slot: "userns", path: "/proc/42/ns/user" });
    expect(formatStep(p.steps[0]!)).toBe('$userns = open("/proc/42/ns/user", O_RDONLY|O_CLOEXEC)  [ioctl(NS_GET_NSTYPE) must say CLONE_NEWUSER]');
    expect(p.steps.slice(1).map((s) => s.op)).toEqual(["open_tree", "mount_setattr", "move_mount", "close"]);
  });

  test("refused before any syscall: with uidmap=/gidmap=, a bad map (named with the option), with a FUSE helper", () => {
    expect(planError("none", ["bind", "X-mount.idmap=0:1:1", "uidmap=0:1:1"]).message).toContain("X-mount.idmap= and uidmap=/gidmap= both name the mount's user namespace");
    const overlap = planError("none", ["bind", "X-mount.idmap=0:1:10 5:100:10"]);
    expect(overlap.message).toMatch(/^mount \/src on \/mnt\/t: X-mount\.idmap="0:1:10 5:100:10": uidmap: invalid mapping .*container id ranges overlap$/);
    expect(planError("fuse.sshfs", ["X-mount.idmap=0:1:1"]).message).toContain("uidmap/gidmap/X-mount.idmap cannot be used with a FUSE mount helper");
  });
});
