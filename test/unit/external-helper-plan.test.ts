// util-linux's mount.TYPE helpers, planned: which mounts go to one, and libmount's argv shape. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { externalHelperArgv, helperNamesFor, helperPaths, umountHelperArgv, type ExternalHelpers } from "../../src/plan/external-helper.ts";
import { helperOptionString } from "../../src/plan/helper-options.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv } from "../../src/plan/mount-request.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import type { HelperStep, MountStep } from "../../src/plan/steps.ts";

const facts = factsForVersion("6.18.0");

/** realpath(3) in /work, where /link is a symlink to /real: the paths that exist, resolved; the rest as given. */
const REALPATHS = new Map([
  ["/mnt/x", "/mnt/x"],
  ["disk.img", "/work/disk.img"],
  ["t", "/work/t"],
  ["./t", "/work/t"],
  ["/link/dev", "/real/dev"],
  ["/link/t/", "/real/t"],
  ["none", "/work/none"], // a file named none in the working directory: an empty source is still none
]);
const canonicalPath = (path: string) => REALPATHS.get(path) ?? path;

/** Helpers "installed" under /sbin by name; records every look-up. */
function helpersOf(installed: readonly string[], flags: readonly string[] = []): ExternalHelpers & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    flags,
    canonicalPath,
    find(names) {
      asked.push([...names]);
      const name = names.find((n) => installed.includes(n));
      return name === undefined ? undefined : { name, path: `/sbin/${name}` };
    },
  };
}

const plan = (type: string, source: string, options: string[], externalHelpers?: ExternalHelpers, env: PlanEnv = {}) =>
  planMount({ type, source, options }, "/mnt/x", facts, externalHelpers === undefined ? env : { ...env, externalHelpers });

describe("which helper names a type gives", () => {
  test("mount.TYPE; for TYPE.SUBTYPE that name, then the one without its last .SUBTYPE", () => {
    expect(helperNamesFor("nfs")).toEqual(["mount.nfs"]);
    expect(helperNamesFor("ntfs-3g")).toEqual(["mount.ntfs-3g"]);
    expect(helperNamesFor("nfs4.x.y")).toEqual(["mount.nfs4.x.y", "mount.nfs4.x"]);
  });

  test("none for types that name no filesystem, and never a path", () => {
    for (const type of ["", "auto", "none", "bind", "../../tmp/evil", "a/b", ".hidden", "a b", "x\n"]) expect(helperNamesFor(type)).toEqual([]);
  });
});

describe("which mounts go to a helper", () => {
  test("a new mount of a type with a helper: the helper's argv, then the propagation calls", () => {
    const helpers = helpersOf(["mount.nfs"]);
    const p = plan("nfs", "srv:/export", ["vers=4.2", "ro", "rshared"], helpers);
    expect(p.steps[0]).toEqual({
      op: "helper",
      role: "mount",
      helper: "mount.nfs",
      path: "/sbin/mount.nfs",
      argv: ["mount.nfs", "srv:/export", "/mnt/x", "-o", "ro,vers=4.2"],
      target: "/mnt/x",
      action: "mount srv:/export on /mnt/x",
      undoable: true,
      helperKind: "external",
    } satisfies HelperStep);
    expect(p.steps.slice(1).map((s) => [(s as MountStep).role, (s as MountStep).flags])).toEqual([["propagation", MS.SHARED | MS.REC]]);
  });

  test("user, users, owner, group go with the nosuid, nodev, noexec they imply, as libmount hands them on", () => {
    const argvOf = (options: string[]) => (plan("nfs", "srv:/e", options, helpersOf(["mount.nfs"])).steps[0] as HelperStep).argv;
    expect(argvOf(["user"])).toEqual(["mount.nfs", "srv:/e", "/mnt/x", "-o", "rw,noexec,nosuid,nodev,user"]);
    expect(argvOf(["user", "exec"])).toEqual(["mount.nfs", "srv:/e", "/mnt/x", "-o", "rw,nosuid,nodev,user,exec"]);
    expect(argvOf(["owner", "vers=4"])).toEqual(["mount.nfs", "srv:/e", "/mnt/x", "-o", "rw,nosuid,nodev,vers=4"]);
    expect(argvOf(["user=alice", "helper=x"])).toEqual(["mount.nfs", "srv:/e", "/mnt/x", "-o", "rw,user=alice,helper=x,exec,suid,dev"]);
  });

  test("without the caller asking (the library's default, containerd's), no helper is looked up", () => {
    expect(plan("nfs", "srv:/export", []).steps[0]!.op).toBe("mount");
  });

  test("a type with no helper installed is the kernel's", () => {
    const helpers = helpersOf(["mount.nfs"]);
    expect(plan("tmpfs", "tmpfs", ["size=1m"], helpers).steps[0]!.op).toBe("mount");
    expect(helpers.asked).toEqual([["mount.tmpfs"]]);
  });

  test("bind, move, remount, loop, idmapped mounts and type lists stay mountkit's, the helper not even looked up", () => {
    const helpers = helpersOf(["mount.nfs", "mount.ext4", "mount.tmpfs"]);
    const cases: [string, string[]][] = [
      ["nfs", ["bind"]],
      ["nfs", ["rbind"]],
      ["nfs", ["remount", "ro"]],
      ["", ["move"]],
      ["ext4", ["loop"]],
      ["tmpfs", ["uidmap=0:1000:1", "gidmap=0:1000:1"]],
      ["tmpfs", ["X-mount.idmap=0:1000:1"]],
      ["ext4,nfs", []],
    ];
    for (const [type, options] of cases) {
      const steps = plan(type, type === "ext4" ? "/img" : "/src", options, helpers).steps;
      expect(steps.some((s) => s.op === "helper")).toBe(false);
    }
    expect(helpers.asked).toEqual([]);
  });

  test("FUSE types keep containerd's helper shape (mount.fuse3 -o OPT ... -t SUBTYPE)", () => {
    const helpers = helpersOf(["mount.fuse3", "mount.fuse3.sshfs"]);
    const step = plan("fuse3.sshfs", "me@host:/", ["ro"], helpers).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse3", "me@host:/", "/mnt/x", "-o", "ro", "-t", "sshfs"]);
    expect(helpers.asked).toEqual([]);
  });

  test("the type fuse alone (no subtype) goes to mount.fuse, as mount(8) hands it", () => {
    const step = plan("fuse", "sshfs#me@host:/", ["allow_other"], helpersOf(["mount.fuse"])).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse", "sshfs#me@host:/", "/mnt/x", "-o", "rw,allow_other"]);
  });

  test("X-mount.subdir is refused with a helper, before anything runs", () => {
    expect(() => plan("nfs", "srv:/", ["X-mount.subdir=a"], helpersOf(["mount.nfs"]))).toThrow(PlanError);
    expect(() => plan("nfs", "srv:/", ["X-mount.subdir=a"], helpersOf(["mount.nfs"]))).toThrow(/X-mount.subdir cannot be used with the mount helper mount.nfs/);
  });

  test("X-mount.owner/mode are carried out by mountkit after the helper's mount", () => {
    const p = plan("nfs", "srv:/", ["X-mount.mode=0700"], helpersOf(["mount.nfs"]));
    expect(p.steps.map((s) => s.op)).toEqual(["helper", "set-owner"]);
    expect((p.steps[0] as HelperStep).argv).toEqual(["mount.nfs", "srv:/", "/mnt/x", "-o", "rw"]);
  });
});

describe("libmount's argv shape (util-linux 2.38.1's, seen with a helper logging its argv)", () => {
  const argvOf = (type: string, source: string, options: string[], installed: string[], flags: string[] = [], target = "/mnt/x") =>
    (planMount({ type, source, options }, target, facts, { externalHelpers: helpersOf(installed, flags) }).steps[0] as HelperStep).argv;

  test("SOURCE TARGET, then the flags (-s, -n, -v, in that order), then -o OPTIONS as one string", () => {
    expect(argvOf("cifs", "//srv/share", ["user=me", "vers=3.0"], ["mount.cifs"], ["-s", "-n", "-v"])).toEqual([
      "mount.cifs",
      "//srv/share",
      "/mnt/x",
      "-s",
      "-n",
      "-v",
      "-o",
      "rw,vers=3.0,user=me,exec,suid,dev",
    ]);
  });

  test("-o always, rw or ro first: a mount with no options gives -o rw, as mount(8) does", () => {
    expect(argvOf("nfs", "srv:/export", [], ["mount.nfs"])).toEqual(["mount.nfs", "srv:/export", "/mnt/x", "-o", "rw"]);
    expect(argvOf("nfs", "srv:/export", ["defaults"], ["mount.nfs"])).toEqual(["mount.nfs", "srv:/export", "/mnt/x", "-o", "rw"]);
    expect(argvOf("nfs", "srv:/export", ["vers=4", "ro"], ["mount.nfs"])).toEqual(["mount.nfs", "srv:/export", "/mnt/x", "-o", "ro,vers=4"]);
  });

  test("TYPE.SUBTYPE run by mount.TYPE gets -t TYPE.SUBTYPE, after -o; run by its own helper, no -t", () => {
    expect(argvOf("nfs.x", "s:/", [], ["mount.nfs"])).toEqual(["mount.nfs", "s:/", "/mnt/x", "-o", "rw", "-t", "nfs.x"]);
    expect(argvOf("nfs.x", "s:/", [], ["mount.nfs", "mount.nfs.x"])).toEqual(["mount.nfs.x", "s:/", "/mnt/x", "-o", "rw"]);
  });

  test("no source: none, as mount(8) names it", () => {
    expect(argvOf("ramfs", "", [], ["mount.ramfs"])).toEqual(["mount.ramfs", "none", "/mnt/x", "-o", "rw"]);
  });

  test("TARGET and a SOURCE that is a path canonical (relative made absolute, symlinks followed); what resolves to nothing as given", () => {
    expect(argvOf("ext4", "disk.img", [], ["mount.ext4"], [], "t")).toEqual(["mount.ext4", "/work/disk.img", "/work/t", "-o", "rw"]);
    expect(argvOf("ext4", "/link/dev", [], ["mount.ext4"], [], "/link/t/")).toEqual(["mount.ext4", "/real/dev", "/real/t", "-o", "rw"]);
    expect(argvOf("mkfake", "srv:/export", [], ["mount.mkfake"], [], "./t")).toEqual(["mount.mkfake", "srv:/export", "/work/t", "-o", "rw"]);
  });

  test("a network or pseudo filesystem's source is never canonicalized (libmount's mnt_fstype_is_netfs, _is_pseudofs), its target is", () => {
    const helpers = { canonicalPath: (path: string) => `/canonical/${path}` };
    for (const type of ["nfs", "nfs4", "cifs", "smb3", "smbfs", "afs", "ncpfs", "glusterfs", "fuse.sshfs", "9p", "tmpfs", "proc", "fuse.lxcfs"]) expect(helperPaths(type, "srv", "t", helpers)).toEqual({ source: "srv", target: "/canonical/t" });
    expect(helperPaths("ext4", "srv", "t", helpers)).toEqual({ source: "/canonical/srv", target: "/canonical/t" });
    expect(helperPaths("nfs", "", "t", helpers)).toEqual({ source: "none", target: "/canonical/t" });
  });

  test("externalHelperArgv puts the parts in libmount's order", () => {
    expect(externalHelperArgv("mount.fuse", "fuse.sshfs", "me@h:/", "/mnt", { flags: ["-s", "-n", "-v"], options: "ro,allow_other" })).toEqual([
      "mount.fuse",
      "me@h:/",
      "/mnt",
      "-s",
      "-n",
      "-v",
      "-o",
      "ro,allow_other",
      "-t",
      "fuse.sshfs",
    ]);
  });

  test("the options libmount keeps from helpers are left out, the rest in libmount's order", () => {
    expect(
      helperOptionString(["defaults", "auto", "noauto", "comment=x", "x-systemd.automount", "X-mount.mkdir", "offset=4096", "sizelimit=1", "nofail", "_netdev", "ro", "vers=4"]),
    ).toBe("ro,vers=4,nofail,_netdev");
  });

  test("propagation words and recursive attributes are applied afterwards, not handed on", () => {
    expect(helperOptionString(["rshared", "private", "rro", "ro=recursive", "nosuid"])).toBe("rw,nosuid");
  });

  test("quotes stay as given, never doubled; an entry with a bare comma is several options (containerd joins them)", () => {
    expect(helperOptionString(['context="system_u:object_r:tmp_t:s0:c1,c2"', "a,b"])).toBe('rw,context="system_u:object_r:tmp_t:s0:c1,c2",a,b');
    expect(helperOptionString(["size=1m,noauto,x-a", "nosuid"])).toBe("rw,nosuid,size=1m");
  });
});

describe("umount.TYPE helpers", () => {
  test("umount.TYPE, then for TYPE.SUBTYPE umount.TYPE; libmount's argv TARGET [-n] [-l] [-f] [-v] [-r] [-t TYPE.SUBTYPE]", () => {
    expect(helperNamesFor("nfs4", "umount")).toEqual(["umount.nfs4"]);
    expect(helperNamesFor("fuse.sshfs", "umount")).toEqual(["umount.fuse.sshfs", "umount.fuse"]);
    expect(umountHelperArgv("umount.nfs", "/mnt/x", "nfs", {})).toEqual(["umount.nfs", "/mnt/x"]);
    expect(umountHelperArgv("umount.nfs", "/mnt/x", "nfs", { lazy: true, force: true, verbose: true, readOnly: true, noMtab: true })).toEqual([
      "umount.nfs",
      "/mnt/x",
      "-n",
      "-l",
      "-f",
      "-v",
      "-r",
    ]);
    expect(umountHelperArgv("umount.fuse", "/mnt/x", "fuse.sshfs", { force: true })).toEqual(["umount.fuse", "/mnt/x", "-f", "-t", "fuse.sshfs"]);
  });
});

describe("an image with no type (a loop device, its type read once attached)", () => {
  const image: PlanEnv = { sourceKind: () => "file" };
  const loopStep = (p: ReturnType<typeof plan>) => p.steps.find((s) => s.op === "loop-mount") as LoopMountStep;

  test("the helper of the type read gets the device with the options but the loop ones; none looked up before the type is known", () => {
    const helpers = helpersOf(["mount.ext4"], ["-s"]);
    const step = loopStep(plan("", "/img", ["loop", "loop=/dev/loop7", "direct-io", "offset=4096", "noatime", "user_xattr", "X-mount.mkdir"], helpers, image));
    expect(step.fstype).toBeNull();
    expect(step.helper).toEqual({ flags: ["-s"], options: "rw,noatime,user_xattr" });
    expect(step.loop).toMatchObject({ device: "/dev/loop7", directIo: true, offset: 4096 });
    expect(helpers.asked).toEqual([]);
  });

  test("no helper when the caller runs none, the type is given, or the mount is idmapped", () => {
    expect(loopStep(plan("", "/img", ["noatime"], undefined, image)).helper).toBeUndefined();
    // a type given: its own helper, if any, gets the image file itself (the planner above), else the kernel mounts the device
    expect(loopStep(plan("ext4", "/img", ["noatime"], helpersOf(["mount.xfs"]), image)).helper).toBeUndefined();
    expect(loopStep(plan("", "/img", ["uidmap=0:1000:1", "gidmap=0:1000:1"], helpersOf(["mount.ext4"]), image)).helper).toBeUndefined();
  });
});
