// mount -N / umount -N (and findmnt -N): mounting in another process's mount namespace, as
// mount(8) -N does. The other namespace is a `sleep` started by unshare(1), killed in cleanup;
// the namespace goes with it. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { BINARY, runCli } from "../support/cli.ts";
import { mountsOf, namespaceHolder, namespaceOf } from "../support/namespace-holder.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();
const { cleanups, dir } = ws;

describe("-N NS", () => {
  test("mount -N PID mounts in that namespace only; findmnt -N and mount -N list it there; umount -N removes it", async () => {
    ws.fresh("ns-flag");
    const t = dir("m");
    const pid = await namespaceHolder(cleanups);
    for (const ns of [String(pid), `/proc/${pid}/ns/mnt`]) {
      const mounted = runCli(["mount", "-N", ns, "-v", "-t", "tmpfs", "-o", "size=1m", "tmpfs-in-ns", t]);
      expect(mounted.code).toBe(0);
      expect(mounted.stderr).toContain(`in mount namespace ${namespaceOf(pid)} (was ${namespaceOf(process.pid)})`);
      expect(mountsOf(pid, t).map((m) => [m.fstype, m.source])).toEqual([["tmpfs", "tmpfs-in-ns"]]);
      expect(mountsUnder(t)).toEqual([]); // never here
      const found = runCli(["findmnt", "-N", String(pid), "--json", t]);
      expect(found.code).toBe(0);
      expect(JSON.parse(found.stdout)).toMatchObject({ filesystems: [{ target: t, source: "tmpfs-in-ns", fstype: "tmpfs" }] });
      expect(runCli(["mount", "-N", ns, "-t", "tmpfs"]).stdout).toContain(`tmpfs-in-ns on ${t} type tmpfs`);
      expect(runCli(["umount", "-N", ns, t])).toMatchObject({ code: 0, stderr: "" });
      expect(mountsOf(pid, t)).toEqual([]);
    }
  });

  test("mount -a -F -N PID: each line's process is born in that namespace and mounts there", async () => {
    const sc = ws.fresh("ns-flag-fork");
    const a = dir("a");
    const b = dir("b");
    const pid = await namespaceHolder(cleanups);
    const fstab = sc.path("fstab");
    writeFileSync(fstab, `ns-a ${a} tmpfs size=1m\nns-b ${b} tmpfs size=1m\n`);
    const r = runCli(["mount", "-a", "-F", "-N", String(pid), "-T", fstab]);
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect([...mountsOf(pid, a), ...mountsOf(pid, b)].map((m) => m.source)).toEqual(["ns-a", "ns-b"]);
    expect(mountsUnder(sc.dir)).toEqual([]); // never here
  });

  test("bad namespaces: no such process, a file that is no namespace; each names the call, errno and path, nothing mounted", async () => {
    ws.fresh("ns-flag-bad");
    const t = dir("m");
    const none = runCli(["mount", "-N", "999999999", "-t", "tmpfs", "tmpfs", t]);
    expect(none.code).toBe(32);
    expect(none.stderr).toContain("enter the mount namespace of 999999999: open(2): ENOENT");
    expect(none.stderr).toContain("no process 999999999");
    const notNs = runCli(["umount", "-N", "/etc/hostname", t]);
    expect(notNs.code).toBe(32);
    expect(notNs.stderr).toContain("setns(2): EINVAL");
    expect(notNs.stderr).toContain("/etc/hostname is not a mount namespace file");
    expect(runCli(["findmnt", "-N", "x"]).code).toBe(1);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("without CAP_SYS_ADMIN (root, the capability dropped by setpriv): setns's EPERM, with the capabilities it needs named", () => {
    ws.fresh("ns-flag-eperm");
    const t = dir("m");
    // its own namespace file opens fine; entering any namespace takes CAP_SYS_ADMIN
    const proc = Bun.spawnSync(["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", BINARY, "mount", "-N", "/proc/self/ns/mnt", "-t", "tmpfs", "tmpfs", t]);
    expect(proc.exitCode).toBe(32);
    const stderr = proc.stderr.toString();
    expect(stderr).toContain("enter the mount namespace of /proc/self/ns/mnt: setns(2): EPERM");
    expect(stderr).toContain("needs CAP_SYS_ADMIN and CAP_SYS_CHROOT");
    expect(mountsUnder(t)).toEqual([]);
  });
});
