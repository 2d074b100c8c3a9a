// umount -r: a mount that stays busy is remounted read-only instead, as umount(8) and busybox
// do at shutdown. Busy for real: this process holds a file open inside the mount. Root,
// private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { mount } from "../../src/ops/mount.ts";
import { UNMOUNT_BUSY, withPolicy } from "../../src/ops/retry.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { unmountOrRemountReadOnly } from "../../src/ops/unmount-readonly.ts";
import { umountOperand } from "../../src/ops/umount-operand.ts";
import { attachLoop } from "../../src/ops/loop.ts";
import { detachLoopDevicesOf, loopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
const held: number[] = [];
afterEach(() => {
  for (const fd of held.splice(0)) closeSync(fd);
  unmountAll(s.path("t"));
  s.dispose();
});
const quick = withPolicy(UNMOUNT_BUSY, { attempts: 2, delayMs: 1 });

/** A tmpfs at <scratch>/t, kept busy by a file this process holds open in it when busy is set. */
function mounted(label: string, busy: boolean): string {
  s = scratch(label);
  const t = s.path("t");
  mkdirSync(t);
  mount({ type: "tmpfs", source: "mk-busy", options: [] }, t);
  if (busy) {
    writeFileSync(join(t, "open"), "x");
    held.push(openSync(join(t, "open"), "r"));
  }
  return t;
}
const superOptions = (t: string) => mountsUnder(t).find((m) => m.mountpoint === t)!.superOptions.split(",");

describe("unmountOrRemountReadOnly", () => {
  test("busy: remounted read-only, with umount(8)'s warning; the mount stays", () => {
    const t = mounted("umro", true);
    const warnings: string[] = [];
    expect(unmountOrRemountReadOnly(t, { retry: quick, warn: (w) => warnings.push(w) })).toBe("remounted-read-only");
    expect(superOptions(t)).toContain("ro");
    expect(warnings).toEqual([`${t}: busy - remounted read-only`]);
  });

  test("not busy: unmounted; nothing there: not mounted", () => {
    const t = mounted("umro-free", false);
    expect(unmountOrRemountReadOnly(t, { retry: quick })).toBe("unmounted");
    expect(mountsUnder(t)).toEqual([]);
    expect(unmountOrRemountReadOnly(t, { retry: quick })).toBe("not-mounted");
  });

  test("named by its device, and with -d: a busy loop mount is remounted read-only and its device stays attached", () => {
    s = scratch("umro-device");
    const image = makeExt4Image(s.path("a.img"));
    const loop = attachLoop(image);
    try {
      const t = s.path("t");
      mkdirSync(t);
      mount({ type: "ext4", source: loop.device, options: [] }, t);
      loop.close(); // the mount holds the device now; an open fd would defer its detach
      held.push(openSync(join(t, "lost+found"), "r"));
      const warnings: string[] = [];
      expect(umountOperand(loop.device, { retry: quick, readOnlyWhenBusy: true, detachLoop: true, warn: (w) => warnings.push(w) })).toBe("remounted-read-only");
      expect(superOptions(t)).toContain("ro");
      expect(warnings).toEqual([`${t}: busy - remounted read-only`]);
      expect(loopDevicesOf(image).sysfs).toEqual([loop.device]);
      closeSync(held.pop()!);
      expect(umountOperand(loop.device, { retry: quick, detachLoop: true })).toBe("unmounted");
      expect(loopDevicesOf(image).sysfs).toEqual([]);
    } finally {
      loop.close();
      detachLoopDevicesOf(image);
    }
  });

  test("the read-only remount refused as well (EACCES injected): the EBUSY error, naming both", () => {
    const t = mounted("umro-fails", true);
    const sys = injectFaults(libcSyscalls, { mount: { calls: "always", errno: Errno.EACCES } });
    const err = caught(() => unmountOrRemountReadOnly(t, { retry: quick, sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.errno).toBe(Errno.EBUSY);
    expect(err.hint).toBe("remounting it read-only failed too: EACCES");
    expect(superOptions(t)).toContain("rw");
  });
});

describe("the CLI", () => {
  test("umount -r TARGET and umount -a -r: exit 0, the warning on stderr, --json says so", () => {
    const t = mounted("umro-cli", true);
    // the binary runs the default policy: 50 tries 50 ms apart, then the remount
    const one = runCli(["umount", "-r", "--json", t]);
    expect(one.code).toBe(0);
    expect(one.stderr).toBe(`mountkit: ${t}: busy - remounted read-only\n`);
    expect(JSON.parse(one.stdout).results).toEqual([{ target: t, ok: true, unmounted: 0, remountedReadOnly: true }]);
    expect(superOptions(t)).toContain("ro");

    const fstab = s.path("fstab");
    writeFileSync(fstab, `mk-busy ${t} tmpfs defaults 0 0\n`);
    const all = runCli(["umount", "-a", "-r", "-v", "-T", fstab]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe(`umount -a: line 1: ${t}: remounted-read-only\n`);
    const refused = runCli(["umount", "-r", "-R", t]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("-r goes with a plain unmount or -a");
    // two runs of the whole EBUSY policy (2.5 s each) back to back: more than bun's 5 s default
  }, 15_000);
});
