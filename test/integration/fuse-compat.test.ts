// FUSE mounts as users of util-linux's mount(8) make them, compared with it on this machine.
// The daemon is bindfs, a libfuse daemon: unlike fuse-overlayfs it refuses an option it does not
// know, so a word that only mount(8) reads and reaches it fails the mount. A daemon that died
// (ENOTCONN) or hangs is made for real (SIGKILL, SIGSTOP), as root and as nobody.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { locateHelper } from "../../src/ops/helpers.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmount, unmountAll } from "../../src/ops/unmount.ts";
import { HELPER_SEARCH_DIRS, isFuseMountType } from "../../src/plan/fuse.ts";
import { BINARY } from "../support/cli.ts";
import { daemonsUnder, stopDaemon, waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { mountsAt, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

/** uid and gid of Debian's nobody/nogroup: a user unmounting their own FUSE mount */
const NOBODY = 65534;
/** How long a command may take before it counts as hung: far more than one ever needs. */
const HUNG = 10_000;
/** bun:test's bound for a test that runs several commands bounded by HUNG */
const TEST_BOUND = 6 * HUNG;
let UTIL_LINUX_MOUNT = "";
let UTIL_LINUX_UMOUNT = "";

beforeAll(() => {
  requireRootNamespace();
  // npm test installs these (scripts/test-deps.sh); without them this file must fail, not skip.
  for (const name of ["mount.fuse", "mount.fuse3", "fusermount3", "bindfs", "setpriv", "stat"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 bindfs util-linux coreutils`);
  }
  UTIL_LINUX_MOUNT = locateHelper("mount", HELPER_SEARCH_DIRS) ?? "";
  UTIL_LINUX_UMOUNT = locateHelper("umount", HELPER_SEARCH_DIRS) ?? "";
  if (!UTIL_LINUX_MOUNT || !UTIL_LINUX_UMOUNT) throw new Error("util-linux's mount and umount are missing: apt-get install mount");
  if (!existsSync("/dev/fuse")) throw new Error("/dev/fuse is missing: the kernel has no FUSE");
});

const ws = workspace();
const { cleanups, dir } = ws;
let scratchDir = "";

function fresh(label: string) {
  const s = ws.fresh(label);
  scratchDir = s.dir;
  // after the test its daemons must be gone: each exits once its mount is
  cleanups.push(() => waitForDaemonsGone(s.dir, "bindfs"));
  return s;
}

/** src/ holding a file, as bindfs's source */
function source(): string {
  const src = dir("src");
  writeFileSync(join(src, "file"), "from src\n");
  return src;
}

/** A directory to mount on, unmounted (every mount stacked there) after the test. */
function target(name: string): string {
  const path = dir(name);
  cleanups.push(() => unmountAll(path));
  return path;
}

interface Ran {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Run argv, killed if it hangs (a bound on a hang, not a measure of speed). */
function run(argv: readonly string[], env: Record<string, string> = {}): Ran {
  const proc = Bun.spawnSync([...argv], { env: { ...process.env, MOUNTKIT_STRATEGY: "", ...env }, timeout: HUNG, killSignal: "SIGKILL" });
  return { code: proc.exitCode, signal: proc.signalCode === undefined ? null : String(proc.signalCode), stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}
const mountkit = (args: readonly string[], env?: Record<string, string>) => run([BINARY, ...args], env);
const asNobody = (argv: readonly string[], env?: Record<string, string>) =>
  run(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", ...argv], env);

const fuseAt = (path: string) => mountsAt(path).filter((m) => isFuseMountType(m.fstype));

/** The argv of mountkit -v's execve line for a helper, parsed: `mountkit: execve("PATH", [ARGV])`. */
function execveArgv(stderr: string, helper: string): string[] {
  const line = stderr.split("\n").find((l) => l.startsWith("mountkit: execve(") && l.includes(`["${helper}"`));
  if (line === undefined) throw new Error(`no execve of ${helper} in: ${stderr}`);
  return JSON.parse(line.slice(line.indexOf("["), line.lastIndexOf("]") + 1)) as string[];
}

/** The daemon serving the one bindfs mount of this test's scratch dir. */
function theDaemon(): number {
  const daemons = daemonsUnder(scratchDir, "bindfs");
  expect(daemons).toHaveLength(1);
  return daemons[0]!;
}

/**
 * Kill the daemon (SIGKILL) and wait until its mount answers ENOTCONN, as a crashed daemon's
 * does; asked by `as` (a mount without allow_other answers its owner alone: EACCES to root).
 */
function killDaemon(pid: number, mountPoint: string, as: (argv: readonly string[]) => Ran = run): void {
  process.kill(pid, "SIGKILL");
  let stat = as(["stat", mountPoint]);
  for (let i = 0; i < 100 && !stat.stderr.includes("Transport endpoint is not connected"); i++) {
    Bun.sleepSync(20);
    stat = as(["stat", mountPoint]);
  }
  expect(stat.stderr).toContain("Transport endpoint is not connected");
}

describe("the words only mount(8) reads never reach the daemon (a libfuse daemon refuses them)", () => {
  const WORDS = "defaults,nofail,_netdev,noauto,x-systemd.automount,X-mine=1,comment=backup,nouser";

  test(`-o ${WORDS}: util-linux mounts, and so does mountkit; mount.fuse is given nofail and _netdev alone, which it drops itself`, () => {
    fresh("fuseopts");
    const src = source();
    const mnt = target("mnt");
    const util = run([UTIL_LINUX_MOUNT, "-t", "fuse.bindfs", "-o", WORDS, src, mnt]);
    expect(util).toEqual({ code: 0, signal: null, stdout: "", stderr: "" });
    expect(readFileSync(join(mnt, "file"), "utf8")).toBe("from src\n");
    expect(mountkit(["umount", mnt]).code).toBe(0);

    const ours = mountkit(["mount", "-v", "-t", "fuse.bindfs", "-o", WORDS, src, mnt]);
    expect(ours.code).toBe(0);
    expect(execveArgv(ours.stderr, "mount.fuse")).toEqual(["mount.fuse", src, mnt, "-o", "nofail", "-o", "_netdev", "-t", "bindfs"]);
    expect(ours.stderr).not.toContain("unknown option");
    expect(readFileSync(join(mnt, "file"), "utf8")).toBe("from src\n");
    expect(fuseAt(mnt)).toHaveLength(1);
    expect(mountkit(["umount", mnt]).code).toBe(0);
    expect(fuseAt(mnt)).toEqual([]);
  });

  test("the library (containerd's Mount) leaves them out too: defaults and an x- option with a filesystem option", () => {
    fresh("fuseoptslib");
    const src = source();
    const mnt = target("mnt");
    mount({ type: "fuse3.bindfs", source: src, options: ["defaults", "x-gvfs-hide", "ro"] }, mnt);
    expect(readFileSync(join(mnt, "file"), "utf8")).toBe("from src\n");
    expect(fuseAt(mnt).map((m) => m.options.split(",")[0])).toEqual(["ro"]);
    expect(unmount(mnt)).toBe(true);
  });

  test("fstab lines through mount -a and mount DIR, beside util-linux: fuse.TYPE, fuse with TYPE#SOURCE, noauto", () => {
    fresh("fusefstab");
    const src = source();
    const [a, b, c] = [target("a"), target("b"), target("c")];
    const fstab = join(scratchDir, "fstab");
    writeFileSync(
      fstab,
      [
        `${src} ${a} fuse.bindfs defaults,nofail,x-systemd.automount 0 0`,
        `bindfs#${src} ${b} fuse defaults,_netdev 0 0`,
        `${src} ${c} fuse3.bindfs noauto,ro 0 0`,
        "",
      ].join("\n"),
    );
    const mountedByA = () => [a, b, c].map((t) => fuseAt(t).map((m) => `${m.fstype} ${m.options.split(",")[0]}`));
    const both: Record<string, string[][]> = {};
    for (const [who, argv] of [
      ["util-linux", [UTIL_LINUX_MOUNT, "-a", "-T", fstab]],
      ["mountkit", [BINARY, "mount", "-a", "-T", fstab]],
    ] as const) {
      const r = run(argv);
      expect({ who, code: r.code, stderr: r.stderr }).toEqual({ who, code: 0, stderr: "" });
      both[who] = mountedByA();
      for (const t of [a, b]) expect(readFileSync(join(t, "file"), "utf8")).toBe("from src\n");
      for (const t of [a, b]) expect(unmount(t)).toBe(true);
    }
    expect(both["mountkit"]).toEqual([["fuse rw"], ["fuse rw"], []]);
    expect(both["mountkit"]).toEqual(both["util-linux"]!);

    // mount DIR of the noauto line: util-linux 2.38.1 hands mount.fuse3 "-t fuse3.bindfs", which
    // it reads as a program to run (exit 127); mountkit passes the subtype, as containerd does
    const util = run([UTIL_LINUX_MOUNT, "-T", fstab, c]);
    expect(util.code).toBe(127);
    expect(util.stderr).toContain("fuse3.bindfs: not found");
    const ours = mountkit(["mount", "-T", fstab, c]);
    expect({ code: ours.code, stderr: ours.stderr }).toEqual({ code: 0, stderr: "" });
    expect(mountedByA()).toEqual([[], [], ["fuse ro"]]);
  });
});

describe("exit codes: the helper's status is the command's, as util-linux's", () => {
  test("a source bindfs cannot resolve, and a daemon that is not installed (127): the same code from both; nothing mounted", () => {
    fresh("fuseexit");
    const mnt = target("mnt");
    for (const [type, src] of [
      ["fuse.bindfs", join(scratchDir, "no-such-src")],
      ["fuse.mountkit-test-no-such-daemon", "src"],
    ] as const) {
      const util = run([UTIL_LINUX_MOUNT, "-t", type, src, mnt]);
      const ours = mountkit(["mount", "-t", type, src, mnt]);
      expect(util.code).not.toBe(0);
      expect(ours.code).toBe(util.code);
      expect(ours.stderr).toContain(`mount helper ${locateHelper("mount.fuse", HELPER_SEARCH_DIRS)} [mount.fuse `);
      expect(fuseAt(mnt)).toEqual([]);
    }
    const missing = mountkit(["mount", "-t", "fuse.mountkit-test-no-such-daemon", "src", mnt]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("mountkit-test-no-such-daemon: not found");
  });
});

describe("a FUSE mount whose daemon died (ENOTCONN), as root: listed, nothing hangs or crashes, unmounted", () => {
  test("findmnt lists it; a mount under it fails with ENOTCONN (32) as util-linux's; a mount on top of it stacks; umount and umount -l remove it", () => {
    fresh("fusedead");
    const src = source();
    const mnt = target("mnt");
    for (const flags of [[], ["-l"]]) {
      expect(mountkit(["mount", "-t", "fuse.bindfs", src, mnt]).code).toBe(0);
      killDaemon(theDaemon(), mnt);

      const found = mountkit(["findmnt", "-n", "-o", "TARGET,FSTYPE", mnt]);
      expect({ code: found.code, stdout: found.stdout.trim().split(/\s+/) }).toEqual({ code: 0, stdout: [mnt, "fuse"] });
      const listed = mountkit(["mount", "-t", "fuse"]);
      expect(listed.stdout).toContain(` on ${mnt} type fuse (`);

      const under = join(mnt, "sub");
      const util = run([UTIL_LINUX_MOUNT, "-t", "tmpfs", "under", under]);
      const ours = mountkit(["mount", "-t", "tmpfs", "under", under]);
      expect([util.code, ours.code]).toEqual([32, 32]);
      expect(ours.stderr).toBe(`mountkit: mount under on ${under}: mount(2): ENOTCONN (Transport endpoint is not connected)\n`);

      expect(mountkit(["mount", "-t", "tmpfs", "ontop", mnt]).code).toBe(0);
      expect(mountsAt(mnt).map((m) => m.fstype)).toEqual(["fuse", "tmpfs"]);
      expect(mountkit(["umount", mnt]).code).toBe(0);

      const gone = mountkit(["umount", "-v", ...flags, mnt]);
      expect({ code: gone.code, signal: gone.signal }).toEqual({ code: 0, signal: null });
      expect(gone.stderr).toBe(`mountkit: umount2(${JSON.stringify(mnt)}, ${flags.length ? "MNT_DETACH" : "0"})\n`);
      expect(mountsAt(mnt)).toEqual([]);
    }
  }, TEST_BOUND);
});

describe("a user's own FUSE mount whose daemon died or hangs: unmounted through fusermount3, as util-linux's umount does", () => {
  /**
   * src/ and mnt/ owned by nobody, /dev/fuse open to nobody in this mount namespace, and a bindfs
   * mount nobody made with mountkit (mount.fuse, bindfs, the setuid fusermount3).
   */
  function nobodysMount(): { src: string; mnt: string } {
    chmodSync(scratchDir, 0o755);
    const src = source();
    const mnt = target("mnt");
    for (const p of [src, join(src, "file"), mnt]) chownSync(p, NOBODY, NOBODY);
    // libfuse opens /dev/fuse as the user: a 0666 node bound over it, in this mount namespace only
    const devDir = target("dev");
    mount({ type: "tmpfs", source: "fuse-dev", options: ["mode=755"] }, devDir);
    expect(run(["mknod", "-m", "666", join(devDir, "fuse"), "c", "10", "229"]).code).toBe(0);
    mount({ type: "", source: join(devDir, "fuse"), options: ["bind"] }, "/dev/fuse");
    cleanups.push(() => unmountAll("/dev/fuse"));
    // before that: the daemon holds /dev/fuse open until its mount is gone
    cleanups.push(() => {
      unmountAll(mnt);
      waitForDaemonsGone(scratchDir, "bindfs");
    });
    return { src, mnt };
  }

  function mountAsNobody(src: string, mnt: string): void {
    // without allow_other: only root may give it (user_allow_other is not in /etc/fuse.conf)
    const made = asNobody([BINARY, "mount", "-t", "fuse.bindfs", "-o", "no-allow-other", src, mnt]);
    expect({ code: made.code, stderr: made.stderr }).toEqual({ code: 0, stderr: "" });
    const mounted = fuseAt(mnt);
    expect(mounted).toHaveLength(1);
    expect(mounted[0]!.superOptions).toContain(`user_id=${NOBODY}`);
  }

  /** umount2's EPERM, then fusermount3 -u [-z] TARGET, which succeeds */
  function expectFusermount(ran: Ran, mnt: string, lazy: boolean): void {
    expect({ code: ran.code, signal: ran.signal }).toEqual({ code: 0, signal: null });
    const lines = ran.stderr.split("\n");
    expect(lines[0]).toBe(`mountkit: umount2(${JSON.stringify(mnt)}, ${lazy ? "MNT_DETACH" : "0"})`);
    expect(execveArgv(ran.stderr, "fusermount3")).toEqual(["fusermount3", "-u", ...(lazy ? ["-z"] : []), mnt]);
    expect(lines).toContain("mountkit: fusermount3: exited 0");
    expect(fuseAt(mnt)).toEqual([]);
  }

  for (const [label, flags, env] of [
    ["umount", [], {}],
    ["umount -l", ["-l"], {}],
    ["umount where statmount(2) is not used (MOUNTKIT_STRATEGY=legacy, as before Linux 6.8): mountinfo tells FUSE", [], { MOUNTKIT_STRATEGY: "legacy" }],
  ] as const) {
    test(`died (SIGKILL): ${label}. Before, statfs's ENOTCONN made it "not FUSE" and the EPERM stood`, () => {
      fresh("fuseuserdead");
      const { src, mnt } = nobodysMount();
      mountAsNobody(src, mnt);
      killDaemon(theDaemon(), mnt, asNobody);
      expectFusermount(asNobody([BINARY, "umount", "-v", ...flags, mnt], env), mnt, flags.length > 0);
    }, TEST_BOUND);
  }

  test("util-linux's umount, as nobody, unmounts such a mount too (the reference)", () => {
    fresh("fuseuserdeadul");
    const { src, mnt } = nobodysMount();
    mountAsNobody(src, mnt);
    killDaemon(theDaemon(), mnt, asNobody);
    expect(asNobody([UTIL_LINUX_UMOUNT, mnt])).toEqual({ code: 0, signal: null, stdout: "", stderr: "" });
    expect(fuseAt(mnt)).toEqual([]);
  }, TEST_BOUND);

  for (const [label, flags, env] of [
    ["umount", [], {}],
    ["umount -l where statmount(2) is not used (MOUNTKIT_STRATEGY=legacy): mountinfo tells FUSE", ["-l"], { MOUNTKIT_STRATEGY: "legacy" }],
  ] as const) {
    test(`hangs (SIGSTOP): ${label}, without waiting for the daemon. Before, statfs waited for good`, () => {
      fresh("fuseuserhung");
      const { src, mnt } = nobodysMount();
      mountAsNobody(src, mnt);
      const daemon = theDaemon();
      stopDaemon(daemon);
      cleanups.push(() => process.kill(daemon, "SIGCONT"));
      // the daemon does hang: statfs waits for it (asked by its owner: root is refused at once)
      const statfs = Bun.spawnSync(["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "stat", "-f", mnt], { timeout: 1000, killSignal: "SIGKILL" });
      expect(statfs.signalCode).toBe("SIGKILL");
      expectFusermount(asNobody([BINARY, "umount", "-v", ...flags, mnt], env), mnt, flags.length > 0);
    }, TEST_BOUND);
  }
});
