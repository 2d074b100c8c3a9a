// X-mount.owner=, X-mount.group= and X-mount.mode= on the real kernel: the mount's root gets
// them; a failure unmounts and puts back what was changed. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, statSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, SyscallError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const ownership = (path: string) => {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
};
// Debian's users and groups, resolved through NSS as util-linux resolves them
const NOBODY = 65534;
const DAEMON_GID = 1;

describe("the library", () => {
  test("a tmpfs's root gets the owner, group and mode, names resolved through NSS", () => {
    fresh("owner-tmpfs");
    const t = dir("m");
    unmountAfter(t);
    const plan = mount({ type: "tmpfs", source: "tmpfs", options: ["X-mount.owner=nobody", "X-mount.group=daemon", "X-mount.mode=0750"] }, t);
    expect(plan.steps.map((step) => step.op)).toEqual(["mount", "set-owner"]);
    expect(ownership(t)).toEqual({ uid: NOBODY, gid: DAEMON_GID, mode: 0o750 });
    expect(mountsUnder(t)[0]?.fstype).toBe("tmpfs");
  });

  test("chmod refused after the lchown: the owner is put back, the bind undone; the source as it was", () => {
    fresh("owner-rollback");
    const src = dir("src");
    chmodSync(src, 0o755);
    const before = ownership(src);
    const t = dir("m");
    const sys = injectFaults(libcSyscalls, { chmod: { calls: [1], errno: Errno.EPERM } });
    const err = caught(() => mount({ type: "", source: src, options: ["bind", "X-mount.owner=1234", "X-mount.mode=0700"] }, t, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("chmod(2)");
    expect(err.errnoName).toBe("EPERM");
    expect(err.message).toContain(`mount ${src} on ${t}: chmod(2): EPERM`);
    expect(exitCodeFor(err)).toBe(32);
    expect(sys.counts.lchown).toBe(2); // the change, then putting it back
    expect(mountsUnder(t)).toEqual([]);
    expect(ownership(src)).toEqual(before);
  });

  test("putting the owner back fails too: the chmod error stands, the restore's failure rides along, the bind is still undone", () => {
    fresh("owner-restore-fails");
    const src = dir("src");
    const t = dir("m");
    const sys = injectFaults(libcSyscalls, { chmod: { calls: [1], errno: Errno.EPERM }, lchown: { calls: [2], errno: Errno.EIO } });
    const err = caught(() => mount({ type: "", source: src, options: ["bind", "X-mount.owner=1234", "X-mount.mode=0700"] }, t, { sys })) as SyscallError;
    expect(err).toBeInstanceOf(SyscallError);
    expect(err.syscall).toBe("chmod(2)");
    expect(err.cleanupErrors.map((e) => (e as SyscallError).message)).toEqual([expect.stringContaining("lchown(2): EIO")]);
    expect(mountsUnder(t)).toEqual([]);
    chownSync(src, 0, 0); // the restore was refused by the injected fault: put it back for the scratch's removal
  });

  test("a batch entry after it fails: the batch is rolled back, the bind's source owned as before", () => {
    fresh("owner-batch");
    const root = dir("root");
    const src = dir("src");
    chmodSync(src, 0o755);
    const before = ownership(src);
    const err = caught(() =>
      mountAll(
        [
          { type: "", source: src, target: "/a", options: ["bind", "X-mount.owner=1234", "X-mount.group=4321", "X-mount.mode=0711"] },
          { type: "tmpfs", source: "tmpfs", target: "/b", options: [] },
        ],
        root,
        { mkdir: true, sys: injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.ENOSPC } }) },
      ),
    );
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toContain("mount(2): ENOSPC");
    expect(mountsUnder(root)).toEqual([]);
    expect(ownership(src)).toEqual(before);
  });
});

describe("the binary", () => {
  test("mount -o X-mount.owner=nobody,X-mount.mode=1777; --dry-run shows the calls; an unknown user is refused, nothing mounted", () => {
    fresh("owner-cli");
    const t = dir("m");
    unmountAfter(t);
    const options = "X-mount.owner=nobody,X-mount.mode=1777";
    const dry = runCli(["mount", "--dry-run", "-t", "tmpfs", "-o", options, "tmpfs", t]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`lchown(${JSON.stringify(t)}, ${NOBODY}, -1)\nchmod(${JSON.stringify(t)}, 01777)`);
    expect(mountsUnder(t)).toEqual([]);
    expect(runCli(["mount", "-t", "tmpfs", "-o", options, "tmpfs", t])).toMatchObject({ code: 0, stderr: "" });
    expect(ownership(t)).toEqual({ uid: NOBODY, gid: 0, mode: 0o1777 });
    unmountAll(t);
    const bad = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.owner=no-such-user-here", "tmpfs", t]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('X-mount.owner=no-such-user-here: no user named "no-such-user-here"');
    expect(mountsUnder(t)).toEqual([]);
  });

  test("an fstab line's X-mount.mode and X-mount.group, with mount -a", () => {
    fresh("owner-fstab");
    const t = dir("m");
    unmountAfter(t);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `tmpfs ${t} tmpfs size=1m,X-mount.group=daemon,X-mount.mode=0770 0 0\n`);
    expect(runCli(["mount", "-a", "-T", fstab])).toMatchObject({ code: 0, stderr: "" });
    expect(ownership(t)).toEqual({ uid: 0, gid: DAEMON_GID, mode: 0o770 });
  });
});
