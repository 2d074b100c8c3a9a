// The FUSE planner: containerd's helper argv shape, pure (no helper is located or run here).
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { FUSE_SUPER_MAGIC, fuseHelperFor, HELPER_SEARCH_DIRS, isFuseMountType } from "../../src/plan/fuse.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { describeStep, formatStep, type HelperStep, type MountStep } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");
const plan = (type: string, source: string, options: string[], target = "/x/merged") =>
  planMount({ type, source, options }, target, facts);

describe("helper choice", () => {
  test("fuse3.SUBTYPE runs mount.fuse3, fuse.SUBTYPE runs mount.fuse, the subtype goes to -t", () => {
    expect(fuseHelperFor("fuse3.fuse-overlayfs")).toEqual({ helper: "mount.fuse3", subtype: "fuse-overlayfs" });
    expect(fuseHelperFor("fuse.sshfs")).toEqual({ helper: "mount.fuse", subtype: "sshfs" });
  });

  test("other types are not FUSE: fuse, fuseblk, fuse3 alone, fusex.y, overlay", () => {
    for (const type of ["fuse", "fuse3", "fuseblk", "fusex.y", "overlay", "tmpfs", ""]) {
      expect(fuseHelperFor(type)).toBeUndefined();
      expect(plan(type || "tmpfs", "s", []).steps[0]!.op as string).not.toBe("helper");
    }
  });

  test("a FUSE type with no subtype is refused before anything runs", () => {
    expect(() => plan("fuse3.", "overlay", [])).toThrow(PlanError);
    expect(() => plan("fuse.", "overlay", [])).toThrow(/has no subtype/);
  });

  test("helpers are looked up in fixed system dirs, never PATH, in this order", () => {
    expect(HELPER_SEARCH_DIRS).toEqual(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]);
    expect(FUSE_SUPER_MAGIC).toBe(0x65735546);
  });
});

describe("argv shape (containerd mountWithHelper)", () => {
  test("user and users reach mount.fuse with the nosuid, nodev, noexec they imply, before them", () => {
    const p = plan("fuse.sshfs", "me@host:/", ["users", "exec"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.fuse", "me@host:/", "/x/merged", "-o", "noexec", "-o", "nosuid", "-o", "nodev", "-o", "users", "-o", "exec", "-t", "sshfs"]);
  });

  test("X-mount.mkdir/owner/group/mode are mountkit's to carry out, not the helper's; other x- and X- options are for other tools", () => {
    const p = plan("fuse3.fuse-overlayfs", "overlay", ["lowerdir=/l", "X-mount.mkdir", "X-mount.owner=0", "x-mount.mode=0755", "x-systemd.automount", "X-foo=1"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.fuse3", "overlay", "/x/merged", "-o", "lowerdir=/l", "-t", "fuse-overlayfs"]);
    expect(p.steps.map((s) => s.op)).toEqual(["helper", "set-owner"]);
  });

  test("the words mount(8) alone reads are not given to the helper, as libmount leaves them out; nofail, _netdev, user=NAME are", () => {
    // a libfuse daemon (bindfs, sshfs) refuses a word it does not know: "fuse: unknown option `defaults'"
    const p = plan("fuse.bindfs", "/src", ["defaults", "auto", "noauto", "comment=systemd.x", "comment", "nofail", "_netdev", "nouser", "nousers", "noowner", "nogroup", "defaults=1", "user=alice", "allow_other"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.fuse", "/src", "/x/merged", "-o", "nofail", "-o", "_netdev", "-o", "user=alice", "-o", "allow_other", "-t", "bindfs"]);
  });

  test("owner and group are left out, the nosuid and nodev they imply are not", () => {
    const p = plan("fuse.bindfs", "/src", ["owner", "ro"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.fuse", "/src", "/x/merged", "-o", "nosuid", "-o", "nodev", "-o", "ro", "-t", "bindfs"]);
    expect((plan("fuse.bindfs", "/src", ["group"]).steps[0] as HelperStep).argv).toEqual(["mount.fuse", "/src", "/x/merged", "-o", "nosuid", "-o", "nodev", "-t", "bindfs"]);
  });

  test("only the words mount(8) reads: no -o at all", () => {
    const step = plan("fuse.sshfs", "me@host:/", ["defaults", "noauto", "x-systemd.automount"]).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse", "me@host:/", "/x/merged", "-t", "sshfs"]);
  });

  test("a mount's FUSE types as mountinfo names them: fuse, fuseblk, with or without a subtype", () => {
    for (const type of ["fuse", "fuseblk", "fuse.sshfs", "fuse.fuse-overlayfs", "fuseblk.ntfs-3g"]) expect(isFuseMountType(type)).toBe(true);
    for (const type of ["fusectl", "fuse3.x", "fuse3", "tmpfs", "overlay", ""]) expect(isFuseMountType(type)).toBe(false);
  });

  test("SOURCE TARGET -o OPT1 -o OPT2 ... -t SUBTYPE, one -o per option, in order", () => {
    const p = plan("fuse3.fuse-overlayfs", "overlay", ["lowerdir=/l2:/l1", "upperdir=/u", "workdir=/w"]);
    expect(p.steps).toHaveLength(1);
    const step = p.steps[0] as HelperStep;
    expect(step).toEqual({
      op: "helper",
      role: "mount",
      helper: "mount.fuse3",
      path: null,
      argv: ["mount.fuse3", "overlay", "/x/merged", "-o", "lowerdir=/l2:/l1", "-o", "upperdir=/u", "-o", "workdir=/w", "-t", "fuse-overlayfs"],
      target: "/x/merged",
      action: "mount overlay on /x/merged",
      undoable: true,
      helperKind: "fuse",
    } satisfies HelperStep);
  });

  test("no options: no -o at all", () => {
    const step = plan("fuse.sshfs", "me@host:/", []).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse", "me@host:/", "/x/merged", "-t", "sshfs"]);
  });

  test("arguments are passed verbatim as argv items: nothing a shell would read is special", () => {
    const step = plan("fuse3.x", "a b;$(touch /p)", ["o=`x` y"]).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse3", "a b;$(touch /p)", "/x/merged", "-o", "o=`x` y", "-t", "x"]);
  });

  test("flags go to the helper as options (mount.fuse3 understands ro, nosuid, ...)", () => {
    const step = plan("fuse3.x", "s", ["ro", "nosuid", "allow_other"]).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse3", "s", "/x/merged", "-o", "ro", "-o", "nosuid", "-o", "allow_other", "-t", "x"]);
  });

  test("propagation words are not given to the helper; each is its own mount(2) after it", () => {
    const p = plan("fuse3.x", "s", ["rshared", "ro", "private"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.fuse3", "s", "/x/merged", "-o", "ro", "-t", "x"]);
    const rest = p.steps.slice(1) as MountStep[];
    expect(rest.map((s) => [s.op, s.role, s.flags, s.undoable])).toEqual([
      ["mount", "propagation", MS.SHARED | MS.REC, false],
      ["mount", "propagation", MS.PRIVATE, false],
    ]);
  });

  test("remount, bind, loop and idmap options are refused: a helper cannot do them", () => {
    for (const options of [["remount"], ["bind"], ["rbind"], ["loop"], ["uidmap=0:1:1", "gidmap=0:1:1"]]) {
      expect(() => plan("fuse3.x", "s", options)).toThrow(/cannot be used with a FUSE mount helper/);
    }
  });

  test("the caller's options are not mutated", () => {
    const options = ["rprivate", "ro"];
    plan("fuse3.x", "s", options);
    expect(options).toEqual(["rprivate", "ro"]);
  });
});

describe("printing a helper step", () => {
  test("formatStep reads like an execve; an unlocated helper says so", () => {
    const step = plan("fuse3.fuse-overlayfs", "overlay", ["lowerdir=/l"]).steps[0] as HelperStep;
    expect(formatStep(step)).toBe(
      'execve(<mount.fuse3 not located>, ["mount.fuse3", "overlay", "/x/merged", "-o", "lowerdir=/l", "-t", "fuse-overlayfs"])',
    );
    expect(formatStep({ ...step, path: "/usr/sbin/mount.fuse3" })).toStartWith('execve("/usr/sbin/mount.fuse3", ["mount.fuse3", ');
  });

  test("describeStep gives helper, path and argv for --dry-run --json", () => {
    const step = { ...(plan("fuse3.x", "s", []).steps[0] as HelperStep), path: "/usr/sbin/mount.fuse3" };
    expect(describeStep(step)).toEqual({
      op: "helper",
      role: "mount",
      syscall: "execve",
      args: { helper: "mount.fuse3", path: "/usr/sbin/mount.fuse3", argv: ["mount.fuse3", "s", "/x/merged", "-t", "x"], target: "/x/merged" },
      undoable: true,
    });
  });
});
