// uid=NAME and gid=NAME on the real kernel: the name's id reaches the kernel in its place, as
// libmount puts it there (tmpfs takes uid= and gid= for its root's owner); an unknown name is
// refused before any syscall. Each case is also given to util-linux's mount, in this namespace,
// and what it mounts compared. Users and groups are Debian's base ones (daemon 1, nogroup
// 65534), resolved through NSS. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { PlanError } from "../../src/errors.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

const UTIL_LINUX_MOUNT = "/usr/bin/mount";
const DAEMON = 1;
const NOGROUP = 65534;

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
  if (!existsSync(UTIL_LINUX_MOUNT)) throw new Error(`${UTIL_LINUX_MOUNT} (util-linux) is needed to compare with`);
  // the names the tests use must be the ids they expect on this host
  const ids = Bun.spawnSync(["sh", "-c", "id -u daemon; getent group nogroup | cut -d: -f3"]).stdout.toString();
  expect(ids).toBe(`${DAEMON}\n${NOGROUP}\n`);
});

const ws = workspace();
const { dir, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const owner = (path: string) => {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid };
};
/** The tmpfs's superblock options and root owner at target; then unmounted. */
function madeAt(target: string): { superOptions: string | undefined; owner: { uid: number; gid: number } } {
  const made = { superOptions: mountsAt(target)[0]?.superOptions, owner: owner(target) };
  unmountAll(target);
  expect(mountsUnder(target)).toEqual([]);
  return made;
}
/** util-linux mount(8) with these arguments, in this namespace. */
function utilLinux(args: readonly string[]): { code: number; stderr: string } {
  const run = Bun.spawnSync([UTIL_LINUX_MOUNT, ...args]);
  return { code: run.exitCode!, stderr: run.stderr.toString() };
}
/** util-linux 2.39 refuses an unknown name itself (MNT_ERR_MOUNTOPT, exit 1); 2.38 hands it to the kernel (EINVAL, exit 32). */
function utilLinuxUnknownNameCode(): number {
  const [major, minor] = (/util-linux (\d+)\.(\d+)/.exec(Bun.spawnSync([UTIL_LINUX_MOUNT, "--version"]).stdout.toString()) ?? []).slice(1).map(Number);
  return major! > 2 || (major === 2 && minor! >= 39) ? 1 : 32;
}

describe("names become ids before the mount", () => {
  test("tmpfs uid=daemon,gid=nogroup: its root owned by them, the table shows the ids; util-linux's mount makes the same mount", () => {
    fresh("ids-tmpfs");
    const t = dir("m");
    unmountAfter(t);
    const plan = mount({ type: "tmpfs", source: "tmpfs", options: ["uid=daemon,gid=nogroup", "mode=0750"] }, t);
    expect(plan.steps).toMatchObject([{ op: "mount", data: `uid=${DAEMON},gid=${NOGROUP},mode=0750` }]);
    const library = madeAt(t);
    expect(library).toEqual({ superOptions: `rw,mode=750,uid=${DAEMON},gid=${NOGROUP}`, owner: { uid: DAEMON, gid: NOGROUP } });

    expect(runCli(["mount", "-t", "tmpfs", "-o", "uid=daemon,gid=nogroup,mode=0750", "tmpfs", t])).toMatchObject({ code: 0, stderr: "" });
    expect(madeAt(t)).toEqual(library);
    expect(utilLinux(["-t", "tmpfs", "-o", "uid=daemon,gid=nogroup,mode=0750", "tmpfs", t])).toEqual({ code: 0, stderr: "" });
    expect(madeAt(t)).toEqual(library);
  });

  test("useruid and usergid: the caller's own ids (root's, 0), as util-linux's mount reads them; numbers as given", () => {
    fresh("ids-own");
    const t = dir("m");
    unmountAfter(t);
    for (const options of ["uid=useruid,gid=usergid", `uid=${DAEMON},gid=usergid`]) {
      expect(runCli(["mount", "-t", "tmpfs", "-o", options, "tmpfs", t])).toMatchObject({ code: 0, stderr: "" });
      const ours = madeAt(t);
      expect(utilLinux(["-t", "tmpfs", "-o", options, "tmpfs", t]).code).toBe(0);
      expect({ options, ...ours }).toEqual({ options, ...madeAt(t) });
    }
    expect(runCli(["mount", "-t", "tmpfs", "-o", "uid=useruid,gid=usergid", "tmpfs", t]).code).toBe(0);
    expect(madeAt(t).owner).toEqual({ uid: 0, gid: 0 });
  });

  test("--dry-run shows the ids mount(2) will be given, and mounts nothing", () => {
    fresh("ids-dry");
    const t = dir("m");
    const text = runCli(["mount", "--dry-run", "-t", "tmpfs", "-o", "uid=daemon,gid=nogroup", "tmpfs", t]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`mount("tmpfs", ${JSON.stringify(t)}, "tmpfs", 0, "uid=${DAEMON},gid=${NOGROUP}")`);
    const json = runCli(["mount", "--dry-run", "--json", "-t", "tmpfs", "-o", "uid=daemon,gid=nogroup", "tmpfs", t]);
    expect(JSON.parse(json.stdout).steps[0].args.data).toBe(`uid=${DAEMON},gid=${NOGROUP}`);
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("an unknown name is refused before any syscall", () => {
  test("the library: a PlanError, not one syscall made", () => {
    fresh("ids-unknown-lib");
    const t = dir("m");
    const sys = injectFaults(libcSyscalls, {});
    const err = caught(() => mount({ type: "tmpfs", source: "tmpfs", options: ["size=1m", "uid=no-such-user-here"] }, t, { sys })) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toBe(`mount tmpfs on ${t}: uid=no-such-user-here: no user named "no-such-user-here"`);
    expect(sys.log).toEqual([]);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("the binary: exit 1 and why, nothing mounted; util-linux's mount mounts nothing either", () => {
    fresh("ids-unknown-cli");
    const t = dir("m");
    unmountAfter(t);
    const user = runCli(["mount", "-t", "tmpfs", "-o", "uid=no-such-user-here", "tmpfs", t]);
    expect(user.code).toBe(1);
    expect(user.stderr).toBe(`mountkit: mount tmpfs on ${t}: uid=no-such-user-here: no user named "no-such-user-here" (give a uid instead, or a name getent passwd knows)\n`);
    const group = runCli(["mount", "-t", "tmpfs", "-o", "uid=daemon,gid=no-such-group-here", "tmpfs", t]);
    expect(group.code).toBe(1);
    expect(group.stderr).toContain('gid=no-such-group-here: no group named "no-such-group-here"');
    expect(mountsUnder(t)).toEqual([]);
    expect(utilLinux(["-t", "tmpfs", "-o", "uid=no-such-user-here", "tmpfs", t]).code).toBe(utilLinuxUnknownNameCode());
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("lists: fstab, mount -a, containerd mounts", () => {
  test("an fstab line with names through mount -a; a line with an unknown name fails alone (exit 64); util-linux's mount -a mounts the same", () => {
    fresh("ids-fstab");
    const [good, bad] = [dir("good"), dir("bad")];
    unmountAfter(good);
    unmountAfter(bad);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `tmpfs ${good} tmpfs uid=daemon,gid=nogroup,size=1m 0 0\ntmpfs ${bad} tmpfs gid=no-such-group-here 0 0\n`);
    const ours = runCli(["mount", "-a", "-T", fstab]);
    expect(ours.code).toBe(64);
    expect(ours.stderr).toContain(`mount -a: line 2 (${bad}): mount tmpfs on ${bad}: gid=no-such-group-here: no group named "no-such-group-here"`);
    expect(mountsUnder(bad)).toEqual([]);
    const made = madeAt(good);
    expect(made.owner).toEqual({ uid: DAEMON, gid: NOGROUP });
    expect(made.superOptions).toContain(`uid=${DAEMON},gid=${NOGROUP}`);

    // the dry run shows the line's ids, and refuses the other line as the mount does
    const dry = runCli(["mount", "-a", "--dry-run", "-T", fstab]);
    expect(dry.stdout).toContain(`"uid=${DAEMON},gid=${NOGROUP},size=1m")`);
    expect(dry.code).toBe(64);
    expect(mountsUnder(s.dir)).toEqual([]);

    expect(Bun.spawnSync([UTIL_LINUX_MOUNT, "-a", "-T", fstab]).exitCode).toBe(64);
    expect(mountsUnder(bad)).toEqual([]);
    expect(madeAt(good)).toEqual(made);
  });

  test("apply and mountAll: a containerd list's uid=/gid= names, resolved on the host; the kernel's refusal check sees the ids", () => {
    fresh("ids-apply");
    const root = dir("root");
    const list = s.path("mounts.json");
    writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "tmpfs", target: "/a", options: ["uid=daemon", "gid=nogroup", "size=1m"] }]));
    const applied = runCli(["apply", "--mkdir", "--root", root, list]);
    expect([applied.code, applied.stderr]).toEqual([0, ""]);
    expect(madeAt(`${root}/a`).owner).toEqual({ uid: DAEMON, gid: NOGROUP });

    const outcome = mountAll([{ type: "tmpfs", source: "tmpfs", target: "/b", options: ["uid=daemon,gid=nogroup"] }], root, { mkdir: true });
    expect(outcome.error).toBeUndefined();
    expect(madeAt(`${root}/b`).owner).toEqual({ uid: DAEMON, gid: NOGROUP });
  });
});
