// Mount options as util-linux mount(8) 2.38 treats them, through the binary and the library,
// checked in mountinfo: user/users/owner/group imply nosuid,nodev(,noexec); libmount's
// userspace words never reach the kernel. Expected values were taken from util-linux's mount
// on scratch dirs in a private namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import { selinuxEnabled } from "../../src/ops/selinux.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { runCli } from "../support/cli.ts";
import { mountTable, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/** The top mount at path: its per-mount and superblock options. */
function mounted(path: string): { vfs: string[]; sb: string[] } {
  const m = mountTable().findLast((e) => e.mountpoint === path);
  if (m === undefined) throw new Error(`nothing mounted on ${path}`);
  return { vfs: m.options.split(","), sb: m.superOptions.split(",") };
}

/** `mountkit mount ARGS`, which must succeed; the target is unmounted after the test. */
function mountOk(target: string, ...args: string[]): void {
  const r = runCli(["mount", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  ws.unmountAfter(target);
}

const SECURE = ["nosuid", "nodev", "noexec"];

describe("user, users, owner, group imply nosuid,nodev(,noexec), as mount(8) documents", () => {
  const cases: [string, string[], string[]][] = [
    // -o, flags present, flags absent
    ["user", SECURE, []],
    ["users", SECURE, []],
    ["owner", ["nosuid", "nodev"], ["noexec"]],
    ["group", ["nosuid", "nodev"], ["noexec"]],
    ["user,exec", ["nosuid", "nodev"], ["noexec"]],
    ["exec,user", SECURE, []],
    ["users,suid,dev", ["noexec"], ["nosuid", "nodev"]],
    ["user,nouser", SECURE, []],
    ["user=alice", [], SECURE],
  ];
  for (const [opts, present, absent] of cases) {
    test(`mount -t tmpfs -o ${opts}`, () => {
      ws.fresh("implied");
      const target = ws.dir("t");
      mountOk(target, "-t", "tmpfs", "-o", opts, "x", target);
      const { vfs } = mounted(target);
      for (const f of present) expect(vfs).toContain(f);
      for (const f of absent) expect(vfs).not.toContain(f);
    });
  }

  test("a bind with users is nosuid,nodev,noexec (the bind's remount applies them)", () => {
    ws.fresh("implied-bind");
    const [src, target] = [ws.dir("src"), ws.dir("t")];
    mountOk(target, "--bind", "-o", "users", src, target);
    expect(mounted(target).vfs).toEqual(expect.arrayContaining(SECURE));
  });

  test("remount,user sets them; remount,user,exec leaves exec; remount,nouser changes nothing", () => {
    ws.fresh("implied-remount");
    const target = ws.dir("t");
    mountOk(target, "-t", "tmpfs", "x", target);
    expect(runCli(["mount", "-o", "remount,user", target]).code).toBe(0);
    expect(mounted(target).vfs).toEqual(expect.arrayContaining(SECURE));
    expect(runCli(["mount", "-o", "remount,nouser", target]).code).toBe(0);
    expect(mounted(target).vfs).toEqual(expect.arrayContaining(SECURE));
    expect(runCli(["mount", "-o", "remount,exec,suid", target]).code).toBe(0);
    expect(runCli(["mount", "-o", "remount,owner", target]).code).toBe(0);
    const { vfs } = mounted(target);
    expect(vfs).toEqual(expect.arrayContaining(["nosuid", "nodev"]));
    expect(vfs).not.toContain("noexec");
  });

  test("fstab: mount -a and mount DIR give a user line nosuid,nodev,noexec", () => {
    ws.fresh("implied-fstab");
    const [a, b] = [ws.dir("a"), ws.dir("b")];
    const fstab = ws.dir("etc") + "/fstab";
    writeFileSync(fstab, `x ${a} tmpfs user,noauto 0 0\nx ${b} tmpfs users,exec 0 0\n`);
    mountOk(a, "-T", fstab, a);
    expect(mounted(a).vfs).toEqual(expect.arrayContaining(SECURE));
    mountOk(b, "-a", "-T", fstab);
    expect(mounted(b).vfs).toEqual(expect.arrayContaining(["nosuid", "nodev"]));
    expect(mounted(b).vfs).not.toContain("noexec");
  });

  test("a mount.TYPE helper gets the implied words before user, and after it the exec that undid one, as libmount hands them on", () => {
    ws.fresh("implied-helper");
    const [helpers, target] = [ws.dir("helpers"), ws.dir("t")];
    const log = join(helpers, "argv");
    writeFileSync(join(helpers, "mount.mkfake"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${log}\n`);
    chmodSync(join(helpers, "mount.mkfake"), 0o755);
    const r = runCli(["mount", "-t", "mkfake", "-o", "user,exec", "--helper-dir", helpers, "fake-src", target]);
    expect(r.code).toBe(0);
    expect(readFileSync(log, "utf8").split("\n")).toEqual(["fake-src", target, "-o", "rw,nosuid,nodev,user,exec", ""]);
  });
});

describe("libmount's userspace options stay out of the kernel's data", () => {
  test("nousers, noowner, nogroup, user=, uhelper=, helper=, defaults=, comment: a plain tmpfs", () => {
    ws.fresh("userspace");
    const target = ws.dir("t");
    mountOk(target, "-t", "tmpfs", "-o", "nousers,noowner,nogroup,user=alice,uhelper=udisks2,helper=udisks2,defaults=1,comment,size=1m", "x", target);
    const { vfs, sb } = mounted(target);
    expect(vfs).not.toContain("nosuid");
    expect(sb).toContain("size=1024k");
  });

  test("a word given a value goes to the kernel, as util-linux sends it: nofail=1 is EINVAL", () => {
    ws.fresh("userspace-valued");
    const target = ws.dir("t");
    const r = runCli(["mount", "-t", "tmpfs", "-o", "nofail=1", "x", target]);
    expect(r.code).toBe(32);
    expect(r.stderr).toContain("EINVAL");
  });

  test("verity.*, containerd's X-containerd.dmverity.* and encryption= are refused by name before any syscall (exit 1), never dropped", () => {
    ws.fresh("refused");
    const target = ws.dir("t");
    for (const opt of ["verity.roothash=00", "X-containerd.dmverity.roothash=00", "encryption=aes"]) {
      const r = runCli(["mount", "-t", "tmpfs", "-o", opt, "x", target]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(opt);
    }
    expect(mountTable().some((m) => m.mountpoint === target)).toBe(false);
  });
});

describe("-r, -w and -o take effect where they stand on the command line (the last wins)", () => {
  const cases: [string[], "ro" | "rw"][] = [
    [["-w", "-r", "-t", "tmpfs"], "ro"],
    [["-r", "-w", "-t", "tmpfs"], "rw"],
    [["-w", "-t", "tmpfs", "-o", "ro"], "ro"],
    [["-o", "ro", "-w", "-t", "tmpfs"], "rw"],
    [["-r", "-t", "tmpfs", "-o", "rw"], "rw"],
  ];
  for (const [args, mode] of cases) {
    test(`mount ${args.join(" ")} x TARGET: ${mode}`, () => {
      ws.fresh("rw-order");
      const target = ws.dir("t");
      mountOk(target, ...args, "x", target);
      expect(mounted(target).vfs[0]).toBe(mode);
    });
  }

  test("mount -w --bind -r: the bind is read-only; -r --bind -w: read-write", () => {
    ws.fresh("rw-order-bind");
    const [src, ro, rw] = [ws.dir("src"), ws.dir("ro"), ws.dir("rw")];
    mountOk(ro, "-w", "--bind", "-r", src, ro);
    expect(mounted(ro).vfs[0]).toBe("ro");
    mountOk(rw, "-r", "--bind", "-w", src, rw);
    expect(mounted(rw).vfs[0]).toBe("rw");
  });

  test("the fstab form: -w after a line's ro does not beat a later -o ro", () => {
    ws.fresh("rw-order-fstab");
    const target = ws.dir("t");
    const fstab = ws.dir("etc") + "/fstab";
    writeFileSync(fstab, `x ${target} tmpfs ro 0 0\n`);
    mountOk(target, "-T", fstab, "-w", "-o", "ro", target);
    expect(mounted(target).vfs[0]).toBe("ro");
    expect(runCli(["umount", target]).code).toBe(0);
    mountOk(target, "-T", fstab, "-o", "ro", "-w", target);
    expect(mounted(target).vfs[0]).toBe("rw");
  });
});

describe("a remount keeps lazytime, which statfs cannot show, unless it says nolazytime", () => {
  test("tmpfs -o lazytime, then remount,ro and remount,rw: still lazytime; remount,nolazytime: off", () => {
    ws.fresh("lazytime");
    const target = ws.dir("t");
    mountOk(target, "-t", "tmpfs", "-o", "lazytime", "x", target);
    expect(mounted(target).sb).toContain("lazytime");
    for (const opts of ["remount,ro", "remount,rw"]) {
      expect(runCli(["mount", "-o", opts, target]).code).toBe(0);
      expect(mounted(target).sb).toContain("lazytime");
    }
    expect(mounted(target).vfs[0]).toBe("rw");
    expect(runCli(["mount", "-o", "remount,nolazytime", target]).code).toBe(0);
    expect(mounted(target).sb).not.toContain("lazytime");
    expect(runCli(["mount", "-o", "remount,lazytime", target]).code).toBe(0);
    expect(mounted(target).sb).toContain("lazytime");
  });

  test("the library's remount too, and the dry run shows lazytime among the flags kept", () => {
    ws.fresh("lazytime-lib");
    const target = ws.dir("t");
    mountOk(target, "-t", "tmpfs", "-o", "lazytime,size=1m", "x", target);
    mount({ type: "", source: "", options: ["remount", "ro"] }, target);
    expect(mounted(target).sb).toEqual(expect.arrayContaining(["ro", "lazytime"]));
    expect(runCli(["mount", "-n", "-o", "remount,rw", target]).stdout).toContain("MS_LAZYTIME");
  });
});

describe("Mount.options entries as containerd joins them: split on bare commas, quotes passed through once", () => {
  // context="..."'s syntax in an option that is no SELinux one, which this host would drop (selinux-options.ts)
  const CONTEXT_VALUE = "system_u:object_r:container_file_t:s0:c1,c2";
  const CONTEXT = `label="${CONTEXT_VALUE}"`;

  /** The seam, recording what mount(2) and fsconfig(2) are given (everything else untouched). */
  function recording(): { sys: Syscalls; mounts: (string | null)[]; fsconfig: [string | null, string | null][] } {
    const mounts: (string | null)[] = [];
    const fsconfig: [string | null, string | null][] = [];
    const sys: Syscalls = {
      ...libcSyscalls,
      mount(source, target, fstype, flags, data) {
        mounts.push(data);
        return libcSyscalls.mount(source, target, fstype, flags, data);
      },
      fsconfig(fd, cmd, key, value, aux) {
        fsconfig.push([key, value]);
        return libcSyscalls.fsconfig(fd, cmd, key, value, aux);
      },
    };
    return { sys, mounts, fsconfig };
  }

  test("the library: [\"size=1m,mode=700\"] is two options (it was size=\"1m,mode=700\", EINVAL)", () => {
    ws.fresh("entries");
    const target = ws.dir("t");
    mount({ type: "tmpfs", source: "x", options: ["size=1m,mode=700", "nosuid"] }, target);
    ws.unmountAfter(target);
    const { vfs, sb } = mounted(target);
    expect(sb).toEqual(expect.arrayContaining(["size=1024k", "mode=700"]));
    expect(vfs).toContain("nosuid");
  });

  test("a quoted value (context=\"a,b\"'s syntax) reaches mount(2) quoted once, and overlay's fsconfig without the quotes (both refused, nothing left)", () => {
    ws.fresh("entries-context");
    const [lower, target] = [ws.dir("lower"), ws.dir("t")];
    const tmpfs = recording();
    expect(() => mount({ type: "tmpfs", source: "x", options: ["size=1m", CONTEXT] }, target, { sys: tmpfs.sys })).toThrow();
    expect(tmpfs.mounts).toEqual([`size=1m,${CONTEXT}`]);
    const legacy = recording();
    expect(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower}`, CONTEXT] }, target, { sys: legacy.sys, facts: probeKernelFacts("legacy") })).toThrow();
    expect(legacy.mounts).toEqual([`lowerdir=${lower},${CONTEXT}`]);
    const fd = recording();
    expect(() => mount({ type: "overlay", source: "overlay", options: [`lowerdir=${lower},${CONTEXT}`] }, target, { sys: fd.sys, facts: probeKernelFacts("fd") })).toThrow();
    expect(fd.fsconfig).toContainEqual(["label", CONTEXT_VALUE]);
    expect(mountTable().some((m) => m.mountpoint === target)).toBe(false);
  });

  test("mountkit apply: an entry with several options and one with a quoted value", () => {
    ws.fresh("entries-apply");
    const root = ws.dir("root");
    ws.dir("root", "a");
    ws.dir("root", "b");
    const list = ws.dir("etc") + "/mounts.json";
    writeFileSync(list, JSON.stringify([
      { type: "tmpfs", source: "x", target: "/a", options: ["size=1m,mode=700", "ro"] },
      { type: "tmpfs", source: "y", target: "/b", options: ['nosuid,X-mount.auto-fstypes="ext4,btrfs"', "size=2m"] },
    ]));
    const r = runCli(["apply", "--root", root, list]);
    ws.unmountAfter(join(root, "a"));
    ws.unmountAfter(join(root, "b"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mounted(join(root, "a")).sb).toEqual(expect.arrayContaining(["ro", "size=1024k", "mode=700"]));
    expect(mounted(join(root, "b")).vfs).toContain("nosuid");
    expect(mounted(join(root, "b")).sb).toContain("size=2048k");
  });

  test("the CLI's -o 'uidmap=\"0:1000:1,1:2000:1\"' still reads as one idmap option (dry run)", () => {
    ws.fresh("entries-cli");
    const [src, target] = [ws.dir("src"), ws.dir("t")];
    const r = runCli(["mount", "-n", "--bind", "-o", 'uidmap="0:1000:1,1:2000:1",gidmap="0:1000:1,1:2000:1"', src, target]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("MOUNT_ATTR_IDMAP");
  });
});

describe("SELinux options on this host, which runs no SELinux: dropped as util-linux drops them", () => {
  test("the host has no read-write selinuxfs (else this case cannot be shown here)", () => {
    expect(selinuxEnabled()).toBe(false);
  });

  test("mount -t tmpfs -o context=...,size=1m mounts, without the context (the kernel alone would refuse it)", () => {
    ws.fresh("selinux-cli");
    const target = ws.dir("t");
    mountOk(target, "-t", "tmpfs", "-o", 'context="system_u:object_r:tmp_t:s0:c1,c2",size=1m', "x", target);
    expect(mounted(target).sb).toContain("size=1024k");
    expect(mounted(target).sb.join(",")).not.toContain("context");
  });

  test("mount -a: an fstab line written for a SELinux host", () => {
    ws.fresh("selinux-fstab");
    const target = ws.dir("t");
    const fstab = ws.dir("etc") + "/fstab";
    writeFileSync(fstab, `none ${target} tmpfs defcontext=system_u:object_r:tmp_t:s0,rootcontext=system_u:object_r:tmp_t:s0,mode=700 0 0\n`);
    const r = runCli(["mount", "-a", "-T", fstab]);
    ws.unmountAfter(target);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mounted(target).sb).toContain("mode=700");
  });

  test("a remount drops them too, as util-linux's (both strategies): its other options still apply", () => {
    for (const strategy of ["legacy", "fd"]) {
      ws.fresh("selinux-remount");
      const [ours, theirs] = [ws.dir("ours"), ws.dir("theirs")];
      mountOk(ours, "-t", "tmpfs", "-o", "size=1m", "x", ours);
      mountOk(theirs, "-t", "tmpfs", "-o", "size=1m", "x", theirs);
      const util = Bun.spawnSync(["mount", "-o", "remount,context=system_u:object_r:tmp_t:s0,size=2m", theirs]);
      expect([util.exitCode, util.stderr.toString()]).toEqual([0, ""]);
      const r = runCli(["mount", "-o", "remount,context=system_u:object_r:tmp_t:s0,seclabel,size=2m", ours], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
      expect([strategy, r.code, r.stderr]).toEqual([strategy, 0, ""]);
      expect([strategy, mounted(ours).sb]).toEqual([strategy, mounted(theirs).sb]);
      expect(mounted(ours).sb).toContain("size=2048k");
    }
  });

  test("mountkit apply: the batch's check of each filesystem's parameters (fsconfig) is not asked about them either", () => {
    ws.fresh("selinux-apply");
    const root = ws.dir("root");
    ws.dir("root", "a");
    ws.dir("root", "b");
    const list = ws.dir("etc") + "/mounts.json";
    writeFileSync(list, JSON.stringify([
      { type: "tmpfs", source: "x", target: "/a", options: ["context=system_u:object_r:tmp_t:s0", "size=1m"] },
      { type: "none", source: root, target: "/b", options: ["bind", "fscontext=system_u:object_r:tmp_t:s0"] },
    ]));
    const r = runCli(["apply", "--root", root, list]);
    ws.unmountAfter(join(root, "a"));
    ws.unmountAfter(join(root, "b"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(mounted(join(root, "a")).sb).toContain("size=1024k");
    expect(mountTable().some((m) => m.mountpoint === join(root, "b"))).toBe(true);
  });

  test("findmnt --verify finds nothing wrong with them, as util-linux's findmnt (the mount drops them)", () => {
    ws.fresh("selinux-verify");
    const target = ws.dir("t");
    const fstab = ws.dir("etc") + "/fstab";
    writeFileSync(fstab, `none ${target} tmpfs context=system_u:object_r:tmp_t:s0,size=1m 0 0\n`);
    const theirs = Bun.spawnSync(["findmnt", "--verify", "-F", fstab]);
    expect(theirs.exitCode).toBe(0);
    const r = runCli(["findmnt", "--verify", "-F", fstab]);
    expect([r.code, r.stdout]).toEqual([0, theirs.stdout.toString()]);
  });

  test("the library's mount() drops them too", () => {
    ws.fresh("selinux-lib");
    const target = ws.dir("t");
    mount({ type: "tmpfs", source: "x", options: ["fscontext=system_u:object_r:tmp_t:s0", "seclabel", "size=2m"] }, target);
    ws.unmountAfter(target);
    expect(mounted(target).sb).toContain("size=2048k");
  });
});
