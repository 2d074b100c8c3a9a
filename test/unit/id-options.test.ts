// uid=NAME and gid=NAME in plans: the name's id in its place before the mount, as libmount's
// fix_optstr does, for every type, helpers and remounts too; unknown names refused. Pure: the
// look-ups are injected.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import type { ExternalHelpers } from "../../src/plan/external-helper.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { withNumericIds } from "../../src/plan/id-options.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { PlanEnv } from "../../src/plan/mount-request.ts";
import { formatStep, type HelperStep, type MountStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const users: Record<string, number> = { alice: 1001, daemon: 1, "4u": 4004 };
const groups: Record<string, number> = { users: 100, nogroup: 65534 };
const asked: string[] = [];
const env: PlanEnv = {
  userId: (name) => (asked.push(`user ${name}`), users[name]),
  groupId: (name) => (asked.push(`group ${name}`), groups[name]),
  realUserId: () => 1234,
  realGroupId: () => 5678,
};
const plan = (type: string, options: string[], planEnv: PlanEnv = env) => planMount({ type, source: "/dev/sdb1", options }, "/media/usb", facts, planEnv);
const data = (type: string, options: string[], planEnv?: PlanEnv) => (plan(type, options, planEnv).steps[0] as MountStep).data;

describe("names become ids", () => {
  test("an fstab vfat line: uid=alice,gid=users reaches mount(2) as numbers, the other options as they were", () => {
    expect(data("vfat", ["uid=alice,gid=users,umask=022"])).toBe("uid=1001,gid=100,umask=022");
    expect(data("vfat", ["ro", "uid=alice", "gid=users", "utf8"])).toBe("uid=1001,gid=100,utf8");
    expect(formatStep(plan("vfat", ["uid=alice", "gid=users"]).steps[0]!)).toStartWith('mount("/dev/sdb1", "/media/usb", "vfat", 0, "uid=1001,gid=100")');
  });

  test("every filesystem type, as libmount: tmpfs, iso9660, ntfs3, a type list", () => {
    for (const type of ["tmpfs", "iso9660", "ntfs3", "exfat"]) expect(data(type, ["uid=daemon", "gid=nogroup"])).toBe("uid=1,gid=65534");
    const list = plan("vfat,exfat", ["uid=alice"]).steps[0] as MountStep;
    expect(list).toMatchObject({ fstype: "vfat", otherTypes: ["exfat"], data: "uid=1001" });
  });

  test("numbers are left as they are, and nothing is looked up", () => {
    asked.length = 0;
    expect(data("tmpfs", ["uid=0", "gid=100", "mode=700"])).toBe("uid=0,gid=100,mode=700");
    expect(data("vfat", ["uid=4294967295"])).toBe("uid=4294967295"); // the kernel's to judge
    expect(asked).toEqual([]);
  });

  test("a name that starts with a digit is a name (libmount tests the whole value)", () => {
    expect(data("vfat", ["uid=4u"])).toBe("uid=4004");
  });

  test("every uid= and gid= is converted, not the first only; the kernel's last one wins", () => {
    expect(data("tmpfs", ["uid=alice,uid=daemon", "gid=users", "gid=nogroup"])).toBe("uid=1001,uid=1,gid=100,gid=65534");
  });

  test("useruid and usergid are the caller's real uid and gid; not the other way round", () => {
    expect(data("vfat", ["uid=useruid,gid=usergid"])).toBe("uid=1234,gid=5678");
    const err = caught(() => data("vfat", ["gid=useruid"])) as PlanError;
    expect(err.message).toContain('gid=useruid: no group named "useruid"');
  });

  test("only options named exactly uid and gid: others that end so, or hold id=, stay", () => {
    asked.length = 0;
    const options = ["user_id=alice", "forceuid", "setuid=alice", "Uid=alice", "uid", "uid=", "x-gvfs-uid=alice", "X-mount.owner=0"];
    expect(data("vfat", options)).toBe("user_id=alice,forceuid,setuid=alice,Uid=alice,uid,uid=");
    expect(asked).toEqual([]);
  });

  test("a quoted value is looked up without its quotes", () => {
    expect(data("vfat", ['uid="alice"'])).toBe("uid=1001");
  });

  test("the caller's options are not changed", () => {
    const options = Object.freeze(["uid=alice,size=1m", "gid=users"]);
    plan("tmpfs", [...options]);
    expect(withNumericIds(options, env, () => "x")).toEqual(["uid=1001,size=1m", "gid=100"]);
    expect(options).toEqual(["uid=alice,size=1m", "gid=users"]);
    const none = ["size=1m", "uid=0"];
    expect(withNumericIds(none, env, () => "x")).toBe(none);
  });
});

describe("converted before what reads the options", () => {
  test("a mount.TYPE helper is given the ids (libmount converts before it runs one)", () => {
    const externalHelpers: ExternalHelpers = { flags: [], canonicalPath: (p) => p, find: (names) => (names.includes("mount.ntfs-3g") ? { name: "mount.ntfs-3g", path: "/sbin/mount.ntfs-3g" } : undefined) };
    const step = plan("ntfs-3g", ["uid=alice,gid=users", "umask=022"], { ...env, externalHelpers }).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.ntfs-3g", "/dev/sdb1", "/media/usb", "-o", "rw,uid=1001,gid=100,umask=022"]);
  });

  test("a FUSE helper too", () => {
    const step = planMount({ type: "fuse.sshfs", source: "u@h:/", options: ["uid=alice", "gid=users"] }, "/media/usb", facts, env).steps[0] as HelperStep;
    expect(step.argv).toEqual(["mount.fuse", "u@h:/", "/media/usb", "-o", "uid=1001", "-o", "gid=100", "-t", "sshfs"]);
  });

  test("a remount", () => {
    const step = plan("tmpfs", ["remount", "uid=alice"]).steps[0] as MountStep;
    expect(step).toMatchObject({ role: "remount", data: "uid=1001" });
  });

  test("the fd API's fsconfig gets the id too", () => {
    const { steps } = planMount({ type: "tmpfs", source: "tmpfs", options: ["uid=alice", "uidmap=0:1000:1", "gidmap=0:1000:1"] }, "/media/usb", facts, env);
    expect(JSON.stringify(steps)).toContain("uid=1001");
    expect(JSON.stringify(steps)).not.toContain("alice");
  });
});

describe("refused before any syscall", () => {
  test.each([
    [["uid=nosuchuser"], 'uid=nosuchuser: no user named "nosuchuser"', /getent passwd/],
    [["size=1m,gid=nosuchgroup"], 'gid=nosuchgroup: no group named "nosuchgroup"', /getent group/],
    [["uid=-1"], 'uid=-1: no user named "-1"', /give a uid/],
  ])("%p", (options, message, hint) => {
    const err = caught(() => plan("vfat", options)) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toBe(`mount /dev/sdb1 on /media/usb: ${message}`);
    expect(err.hint).toMatch(hint);
  });

  test("a remount's error names the remount", () => {
    const err = caught(() => plan("tmpfs", ["remount,uid=ghost"])) as PlanError;
    expect(err.message).toBe('remount /media/usb: uid=ghost: no user named "ghost"');
  });

  test("a plan made alone (no look-ups): names and useruid refused with a hint, numbers still work", () => {
    for (const option of ["uid=alice", "uid=useruid"]) {
      const err = caught(() => data("vfat", [option], {})) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.hint).toMatch(/numeric ids/);
    }
    expect(data("vfat", ["uid=1001,gid=100"], {})).toBe("uid=1001,gid=100");
  });
});
