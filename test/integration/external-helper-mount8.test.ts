// mount.TYPE and umount.TYPE helpers run as util-linux's mount(8) and umount(8) run them: the
// canonical paths they are given, their output reaching the terminal, their exit status as the
// command's, mount(8)'s -n and -c, and a live comparison of what util-linux's mount and umount
// hand a helper with what mountkit's links named mount and umount hand it. Helpers are scripts
// of the test's own in its scratch dir (--helper-dir), or, for util-linux (which looks in /sbin
// only), in an overlay on /sbin made inside a mount namespace of the comparison's own, gone
// with it. Root, private mount namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, runCli } from "../support/cli.ts";
import { scriptHelper } from "../support/helper-script.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

const ws = workspace();
const { dir, unmountAfter } = ws;

/** mount.mkfake: says one line on stdout and one on stderr, then mounts a tmpfs on its TARGET, or, when `fails` names part of it, exits with that status. */
function mountHelper(fails: Readonly<Record<string, number>> = {}) {
  return scriptHelper(dir, "helpers", "mount.mkfake", [
    'echo "mkfake says: mounting $2"',
    'echo "mkfake warns: about $2" >&2',
    ...Object.entries(fails).map(([part, status]) => `case "$2" in *${part}*) exit ${status};; esac`),
    `exec ${BINARY} mount -i -t tmpfs "$1" "$2"`,
  ]);
}

/** umount.tmpfs: says one line on stdout and one on stderr, then unmounts its TARGET, or, when `fails` names its end, exits with that status. */
function umountHelper(fails: Readonly<Record<string, number>> = {}) {
  return scriptHelper(dir, "uhelpers", "umount.tmpfs", [
    'echo "umount.tmpfs says: $1"',
    'echo "umount.tmpfs warns: $1" >&2',
    ...Object.entries(fails).map(([end, status]) => `case "$1" in *${end}) exit ${status};; esac`),
    `exec ${BINARY} umount -i "$1"`,
  ]);
}

describe("the paths a helper gets: canonical, as libmount prepares them", () => {
  test("a relative TARGET (through a symlink) and a relative SOURCE that is a path reach the helper as their realpath; srv:/export as given", () => {
    const s = ws.fresh("ext8-paths");
    const target = realpathSync(dir("t"));
    const source = realpathSync(dir("srcdir"));
    unmountAfter(target);
    symlinkSync("t", s.path("tlink"));
    const { helpers, argv } = mountHelper();
    const r = runCli(["mount", "-t", "mkfake", "--helper-dir", helpers, "srcdir", "tlink/"], { cwd: s.dir });
    expect([r.code, r.stderr]).toEqual([0, `mkfake warns: about ${target}\n`]);
    expect(argv()).toEqual([source, target, "-o", "rw"]);
    expect(mountsAt(target).map((m) => m.source)).toEqual([source]);
    expect(runCli(["umount", "-i", target]).code).toBe(0);

    expect(runCli(["mount", "-t", "mkfake", "--helper-dir", helpers, "srv:/export", "./t"], { cwd: s.dir }).code).toBe(0);
    expect(argv()).toEqual(["srv:/export", target, "-o", "rw"]);
    expect(runCli(["umount", "-i", target]).code).toBe(0);
  });

  test("-c (--no-canonicalize): both as typed, as mount -c hands them", () => {
    const s = ws.fresh("ext8-nocanon");
    const target = realpathSync(dir("t"));
    dir("srcdir");
    unmountAfter(target);
    symlinkSync("t", s.path("tlink"));
    const { helpers, argv } = mountHelper();
    const r = runCli(["mount", "-c", "-t", "mkfake", "--helper-dir", helpers, "srcdir", "tlink"], { cwd: s.dir });
    expect(r.code).toBe(0);
    expect(argv()).toEqual(["srcdir", "tlink", "-o", "rw"]);
    // the helper ran in mountkit's working directory: its relative TARGET is the same mount point
    expect(mountsAt(target).map((m) => m.source)).toEqual(["srcdir"]);
  });
});

describe("the helper's output is the command's, on success too, as mount(8)'s helpers write to its terminal", () => {
  test("mount: its stdout on stdout, its stderr on stderr; umount.TYPE's likewise", () => {
    ws.fresh("ext8-output");
    const target = dir("t");
    unmountAfter(target);
    const { helpers } = mountHelper();
    const mounted = runCli(["mount", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
    expect(mounted).toEqual({ code: 0, stdout: `mkfake says: mounting ${target}\n`, stderr: `mkfake warns: about ${target}\n` });
    const { helpers: uhelpers } = umountHelper();
    const unmounted = runCli(["umount", "--helper-dir", uhelpers, target]);
    expect(unmounted).toEqual({ code: 0, stdout: `umount.tmpfs says: ${target}\n`, stderr: `umount.tmpfs warns: ${target}\n` });
    expect(mountsAt(target)).toEqual([]);
  });

  test("--json: stdout is the JSON result alone; the helper's stdout goes to stderr with its stderr", () => {
    ws.fresh("ext8-output-json");
    const target = dir("t");
    unmountAfter(target);
    const { helpers } = mountHelper();
    const mounted = runCli(["mount", "--json", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
    expect(mounted.code).toBe(0);
    expect(JSON.parse(mounted.stdout)).toMatchObject({ ok: true, target });
    expect(mounted.stderr).toBe(`mkfake says: mounting ${target}\nmkfake warns: about ${target}\n`);
    const { helpers: uhelpers } = umountHelper();
    const unmounted = runCli(["umount", "--json", "--helper-dir", uhelpers, target]);
    expect(unmounted.code).toBe(0);
    expect(JSON.parse(unmounted.stdout)).toMatchObject({ ok: true, results: [{ target, ok: true, unmounted: 1 }] });
    expect(unmounted.stderr).toBe(`umount.tmpfs says: ${target}\numount.tmpfs warns: ${target}\n`);
  });
});

describe("exit codes: a single mount or unmount exits with its helper's status, as mount(8) and umount(8) do", () => {
  test("mount: 1, 2, 32, 64 from the helper are the exit code (in --json too); nothing is left mounted", () => {
    ws.fresh("ext8-status");
    const target = dir("t");
    unmountAfter(target);
    for (const status of [1, 2, 32, 64]) {
      const { helpers, argv } = mountHelper({ "/t": status });
      const r = runCli(["mount", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
      expect([r.code, r.stdout]).toEqual([status, `mkfake says: mounting ${target}\n`]);
      expect(r.stderr).toContain(`exited with status ${status}\n`);
      expect(argv()).toEqual(["fake-src", target, "-o", "rw"]);
      const json = runCli(["mount", "--json", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]);
      expect(json.code).toBe(status);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: status, error: { kind: "helper", exitStatus: status } });
      expect(mountsAt(target)).toEqual([]);
    }
  });

  test("mount -a keeps its own codes whatever the helper's status: 64 when some lines mounted, 32 when none did", () => {
    const s = ws.fresh("ext8-status-all");
    const [good, bad] = [dir("good"), dir("bad")];
    unmountAfter(good);
    const { helpers } = mountHelper({ "/bad": 2 });
    const fstab = s.path("fstab");
    writeFileSync(fstab, `a ${good} mkfake defaults 0 0\nb ${bad} mkfake defaults 0 0\n`);
    const some = runCli(["mount", "-a", "-T", fstab, "--helper-dir", helpers]);
    expect(some.code).toBe(64);
    expect(mountsAt(good).map((m) => m.source)).toEqual(["a"]);
    expect(runCli(["umount", "-i", good]).code).toBe(0);
    writeFileSync(fstab, `b ${bad} mkfake defaults 0 0\n`);
    const none = runCli(["mount", "-a", "-T", fstab, "--helper-dir", helpers]);
    expect(none.code).toBe(32);
    expect(mountsAt(bad)).toEqual([]);
  });

  test("umount: one operand exits with its helper's status; several failed operands' codes are ORed (1|2 = 3); some unmounted: 64", () => {
    ws.fresh("ext8-ustatus");
    const [one, two, fine] = [dir("one"), dir("two"), dir("fine")];
    for (const target of [one, two, fine]) {
      unmountAfter(target);
      expect(runCli(["mount", "-t", "tmpfs", "u", target]).code).toBe(0);
    }
    const { helpers, argv } = umountHelper({ "/one": 1, "/two": 2, "/fine64": 64 });
    const first = runCli(["umount", "--helper-dir", helpers, one]);
    expect([first.code, first.stdout]).toEqual([1, `umount.tmpfs says: ${one}\n`]);
    expect(first.stderr).toContain(`exited 1 (-i unmounts it without the helper)\n`);
    expect(argv()).toEqual([one]);
    expect(runCli(["umount", "--helper-dir", helpers, two]).code).toBe(2);
    expect(runCli(["umount", "--helper-dir", helpers, one, two]).code).toBe(3);
    expect(runCli(["umount", "--helper-dir", helpers, one, fine]).code).toBe(64);
    expect([one, two, fine].map((t) => mountsAt(t).length)).toEqual([1, 1, 0]);
    const json = runCli(["umount", "--json", "--helper-dir", helpers, two]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    expect(runCli(["umount", "-i", one, two]).code).toBe(0);
  });
});

test("links named mount and umount: -n (--no-mtab) goes to the helper as -n, as util-linux passes it; mountkit mount --no-mtab too", () => {
  ws.fresh("ext8-nomtab");
  const target = dir("t");
  unmountAfter(target);
  const bin = dir("bin");
  symlinkSync(BINARY, join(bin, "mount"));
  symlinkSync(BINARY, join(bin, "umount"));
  const { helpers, argv } = mountHelper();
  expect(runCli(["-n", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target], { bin: join(bin, "mount") }).code).toBe(0);
  expect(argv()).toEqual(["fake-src", target, "-n", "-o", "rw"]);
  const { helpers: uhelpers, argv: uargv } = umountHelper();
  expect(runCli(["-n", "--helper-dir", uhelpers, target], { bin: join(bin, "umount") }).code).toBe(0);
  expect(uargv()).toEqual([target, "-n"]);
  expect(mountsAt(target)).toEqual([]);
  expect(runCli(["mount", "--no-mtab", "-s", "-v", "-t", "mkfake", "--helper-dir", helpers, "fake-src", target]).code).toBe(0);
  expect(argv()).toEqual(["fake-src", target, "-s", "-n", "-v", "-o", "rw"]);
  expect(runCli(["umount", "-i", target]).code).toBe(0);
});

/**
 * One command line given to util-linux's mount (or umount) and to mountkit's link of that name.
 * status: the helper's exit status; argvOnly: only the helper's argv compared (-v makes each
 * command say more of its own).
 */
interface Comparison {
  readonly command: "mount" | "umount";
  readonly args: readonly string[];
  readonly status?: number;
  readonly argvOnly?: boolean;
}

const mountWith = (...args: string[]): Comparison => ({ command: "mount", args: [...args, "src", "t"] });

const COMPARISONS: readonly Comparison[] = [
  mountWith("-t", "mkcmp"),
  { command: "mount", args: ["-t", "mkcmp", "srcdir", "tlink"] },
  { command: "mount", args: ["-t", "mkcmp", "srv:/export", "./t/"] },
  { command: "mount", args: ["-c", "-t", "mkcmp", "srcdir", "tlink"] },
  mountWith("-t", "mkcmp.sub"),
  mountWith("-t", "mkcmp", "-r"),
  mountWith("-t", "mkcmp", "-w"),
  mountWith("-t", "mkcmp", "-o", "ro", "-w"),
  mountWith("-t", "mkcmp", "-w", "-o", "ro"),
  mountWith("-t", "mkcmp", "-n"),
  mountWith("-t", "mkcmp", "-s"),
  { ...mountWith("-t", "mkcmp", "-v", "-n", "-s"), argvOnly: true },
  mountWith("-t", "mkcmp", "-o", "size=1m,ro"),
  mountWith("-t", "mkcmp", "-o", "defaults,noauto,nofail,_netdev,x-systemd.automount,X-mount.mkdir,comment=c"),
  mountWith("-t", "mkcmp", "-o", "user"),
  mountWith("-t", "mkcmp", "-o", "user,exec,nofail"),
  mountWith("-t", "mkcmp", "-o", "users,suid,dev,exec"),
  mountWith("-t", "mkcmp", "-o", "nodev,user"),
  mountWith("-t", "mkcmp", "-o", "owner,size=1m", "-o", "group,dev"),
  mountWith("-t", "mkcmp", "-o", "user=bob,nosuid"),
  mountWith("-t", "mkcmp", "-o", "noatime,nosuid,exec"),
  mountWith("-t", "mkcmp", "-o", "size=1m,nodev,sync,a=b,suid,async,relatime,dirsync"),
  mountWith("-t", "mkcmp", "-o", "strictatime,lazytime,nosymfollow,mand,iversion,silent"),
  mountWith("-t", "mkcmp", "-o", 'foo="a,b",bar', "-o", "helper=x,uhelper=y"),
  mountWith("-t", "mkcmp", "-o", "shared,size=1m"),
  // uid=NAME and gid=NAME: libmount puts the ids in their place before it runs the helper
  mountWith("-t", "mkcmp", "-o", "uid=daemon,gid=nogroup,size=1m"),
  mountWith("-t", "mkcmp", "-o", "uid=useruid", "-o", "gid=usergid,uid=0"),
  ...[1, 2, 32, 64].map((status) => ({ ...mountWith("-t", "mkcmp"), status })),
  { command: "umount", args: ["t"] },
  { command: "umount", args: ["tlink"] },
  { command: "umount", args: ["-l", "t"] },
  { command: "umount", args: ["-f", "-r", "t"] },
  { command: "umount", args: ["-n", "t"] },
  { command: "umount", args: ["-v", "t"], argvOnly: true },
  ...[1, 2, 32, 64].map((status): Comparison => ({ command: "umount", args: ["t"], status })),
];

/** What a run showed: its exit code, the helper's argv (one line each), stdout, stderr. */
interface Seen {
  readonly rc: number;
  readonly argv: string;
  readonly stdout: string;
  readonly stderr: string;
}

/** The util-linux program of that name on PATH; fails the test when there is none, or it is not util-linux's. */
function utilLinux(command: "mount" | "umount"): string {
  const path = Bun.which(command, { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" });
  const version = path === null ? "" : Bun.spawnSync([path, "--version"]).stdout.toString();
  if (path === null || !version.includes("util-linux")) throw new Error(`util-linux's ${command} is needed to compare with (apt-get install mount): found ${path ?? "none"} ${version}`);
  return path;
}

const shellWord = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

test("what util-linux's mount and umount hand a helper, mountkit's links hand it: argv, output, exit status", () => {
  const s = ws.fresh("ext8-compare");
  const [ulMount, ulUmount] = [utilLinux("mount"), utilLinux("umount")];
  const work = realpathSync(s.dir);
  mkdirSync(join(work, "t"));
  mkdirSync(join(work, "srcdir"));
  mkdirSync(join(work, "results"));
  symlinkSync("t", join(work, "tlink"));
  const links = dir("bin");
  symlinkSync(BINARY, join(links, "mount"));
  symlinkSync(BINARY, join(links, "umount"));
  // the helpers: log the argv, say a line on each stream, exit with the status asked; mount.mkcmp
  // mounts a tmpfs on its TARGET when it succeeds (the mount's propagation words are applied to
  // it afterwards), umount.tmpfs unmounts nothing
  const sbin = dir("sbin");
  const helper = (onSuccess: string) =>
    ["#!/bin/sh", `printf '%s\\n' "$@" > ${work}/argv.log`, 'echo "helper says hi"', 'echo "helper warns" >&2', `status=$(cat ${work}/status)`, `[ "$status" = 0 ] && ${onSuccess}`, 'exit "$status"', ""].join("\n");
  for (const [name, onSuccess] of [["mount.mkcmp", `${ulMount} -i -t tmpfs cmp-helper "$2"`], ["umount.tmpfs", "true"]]) {
    writeFileSync(join(sbin, name!), helper(onSuccess!));
    chmodSync(join(sbin, name!), 0o755);
  }
  const script = [
    "set -u",
    // util-linux looks in /sbin only: an overlay there, in this namespace alone, adds the helpers
    'real=$(realpath /sbin)',
    `mount -t overlay -o "lowerdir=${sbin}:$real" mkcmp-helpers "$real" || exit 90`,
    `cd ${shellWord(work)}`,
  ];
  COMPARISONS.forEach((c, i) => {
    const programs = [["util-linux", c.command === "mount" ? ulMount : ulUmount], ["mountkit", join(links, c.command)]] as const;
    for (const [who, program] of programs) {
      const out = `results/${i}.${who}`;
      if (c.command === "umount") script.push(`${ulMount} -i -t tmpfs cmp-src t || exit 91`);
      script.push(`echo ${c.status ?? 0} > status; : > argv.log`);
      script.push(`${program} ${c.args.map(shellWord).join(" ")} > ${out}.stdout 2> ${out}.stderr; echo $? > ${out}.rc; cp argv.log ${out}.argv`);
      script.push(`while mountpoint -q t; do ${ulUmount} -i t || exit 92; done`);
    }
  });
  const run = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script.join("\n")], { cwd: work });
  expect([run.exitCode, run.stderr.toString()]).toEqual([0, ""]);
  const seen = (i: number, who: string): Seen => {
    const read = (what: string) => readFileSync(join(work, "results", `${i}.${who}.${what}`), "utf8");
    return { rc: Number(read("rc")), argv: read("argv"), stdout: read("stdout"), stderr: read("stderr") };
  };
  COMPARISONS.forEach((c, i) => {
    const [expected, actual] = [seen(i, "util-linux"), seen(i, "mountkit")];
    const label = `${c.command} ${c.args.join(" ")} (helper exits ${c.status ?? 0})`;
    expect({ label, argv: actual.argv }).toEqual({ label, argv: expected.argv });
    expect(expected.argv).not.toBe(""); // the helper ran
    if (c.argvOnly) return;
    expect({ label, rc: actual.rc, stdout: actual.stdout }).toEqual({ label, rc: expected.rc, stdout: expected.stdout });
    // a failure: mountkit says which helper failed, after what the helper said
    if (expected.rc === 0) expect({ label, stderr: actual.stderr }).toEqual({ label, stderr: expected.stderr });
    else expect(actual.stderr.startsWith(expected.stderr) && actual.stderr.length > expected.stderr.length).toBe(true);
  });
  expect(mountsUnder(work)).toEqual([]);
});
