// The binary run as an unprivileged user (nobody, through setpriv): each refusal names the
// syscall and errno, and its hint says what is missing: privilege, not a kernel module. Nothing
// is mounted or attached. Root (to drop it), private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch> | undefined;
afterEach(() => {
  s?.dispose();
  s = undefined;
});

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const asNobody = (args: readonly string[]) => {
  const proc = Bun.spawnSync([...NOBODY, BINARY, ...args], { stdin: "ignore" });
  return { code: proc.exitCode, stderr: proc.stderr.toString() };
};
const attachedLoops = () => Bun.spawnSync(["losetup", "-a"]).stdout.toString();

test("mount, a loop image and umount as nobody: EPERM or EACCES, with a hint that asks for root", () => {
  s = scratch("unprivileged");
  chmodSync(s.dir, 0o755);
  const target = s.path("t");
  mkdirSync(target);
  const image = s.path("image");
  writeFileSync(image, Buffer.alloc(1024 * 1024));
  chmodSync(image, 0o644);
  const loopsBefore = attachedLoops();

  const mounted = asNobody(["mount", "-t", "tmpfs", "x", target]);
  expect(mounted).toEqual({ code: 32, stderr: `mountkit: mount x on ${target}: mount(2): EPERM (Operation not permitted) (mounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root))\n` });

  // /dev/loop-control exists but is root's: not "load the loop module"
  const loop = asNobody(["mount", "-o", "loop", image, target]);
  expect(loop.code).toBe(32);
  expect(loop.stderr).toContain("/dev/loop-control");
  expect(loop.stderr).toContain("EACCES");
  expect(loop.stderr).toContain("(attaching a loop device needs root (/dev/loop-control is not open to this user))");
  expect(loop.stderr).not.toContain("modprobe");

  const unmounted = asNobody(["umount", target]);
  expect(unmounted).toEqual({ code: 32, stderr: `mountkit: unmount ${target}: umount2(2): EPERM (Operation not permitted) (unmounting needs CAP_SYS_ADMIN in the mount namespace's user namespace (run as root))\n` });

  expect(mountsUnder(s.dir)).toEqual([]);
  expect(attachedLoops()).toBe(loopsBefore);
});

test("bench as nobody: unshare's EPERM before any workload, a system error (exit 2), no report", () => {
  const proc = Bun.spawnSync([...NOBODY, BINARY, "bench", "--json", "--workload", "tmpfs", "--duration", "0.05"], { stdin: "ignore" });
  const stderr = proc.stderr.toString();
  expect(proc.exitCode).toBe(2);
  expect(stderr).toMatch(/^mountkit: .*unshare\(2\): EPERM \(Operation not permitted\)/);
  expect(stderr.split("\n").filter((l) => l !== "")).toHaveLength(1);
  expect(JSON.parse(proc.stdout.toString())).toMatchObject({ ok: false, exitCode: 2, error: { kind: "syscall", errnoName: "EPERM", syscall: "unshare(2)" } });
});
