// umount --fake: each case runs on the same mounts, each run in a private mount namespace of its
// own (unshare -m inside this test's): the fake under strace, which must leave every mount and
// make no umount2, mount or helper execve; the same command for real, whose exit code and stderr
// the fake must predict; and, where they agree, util-linux's umount --fake.
import { beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../support/cli.ts";
import { scriptHelper } from "../support/helper-script.ts";
import { expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsAt, requireRootNamespace } from "../support/root.ts";
import { runInOwnNamespace, takeFile, type NamespaceOutcome } from "../support/mounts-left.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

interface Outcome extends NamespaceOutcome {
  /** with trace: the umount2, mount and execve calls made (the traced command's own execve left out) */
  calls: string[];
}

/** setup then `TOOL args` (in $D, $MK the binary) in a private namespace of its own; what it left, said and called. */
function runIn(dir: string, setup: string, tool: string, args: readonly string[], trace = false): Outcome {
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const traced = trace ? `strace -f -qq -e trace=umount2,mount,execve -o "$D/.trace" ` : "";
  const outcome = runInOwnNamespace(dir, setup, `${traced}${tool} ${quoted}`, { MOUNTKIT_STRATEGY: "" });
  const calls = takeFile(dir, ".trace")
    .split("\n")
    .filter((line) => /\b(umount2|mount|execve)\(/.test(line));
  if (trace) expect(calls.shift()).toMatch(/^\d+\s+execve\(/);
  return { ...outcome, calls };
}

/**
 * `umount --fake ARGS` and `umount ARGS` (mountkit's) on what setup mounts: the fake left every
 * mount and made no call, and said what the real one said, with its exit code.
 */
function fakeAndReal(setup: string, args: readonly string[]): { fake: Outcome; real: Outcome } {
  const d = ws.dir("d");
  const before = runIn(d, setup, "true", []).left;
  const fake = runIn(d, setup, '"$MK" umount', ["--fake", ...args], true);
  const real = runIn(d, setup, '"$MK" umount', args);
  const what = args.join(" ");
  expect([what, fake.left]).toEqual([what, before]);
  expect([what, fake.calls]).toEqual([what, []]);
  expect([what, fake.code, fake.stderr]).toEqual([what, real.code, real.stderr]);
  if (fake.code === 0) expect([what, real.left]).not.toEqual([what, before]); // the real one did unmount
  return { fake, real };
}

/** util-linux's `umount --fake ARGS` on what setup mounts: its exit code, having left every mount. */
function utilFake(setup: string, args: readonly string[]): number {
  const d = ws.dir("d");
  const before = runIn(d, setup, "true", []).left;
  const util = runIn(d, setup, "umount", ["--fake", ...args]);
  expect(util.left).toEqual(before);
  return util.code;
}

// w/a and w/b mounts, w/c a directory; p a mount with p/q on it; s a stack (low, then high);
// e a tmpfs bound on f too
const TREE = [
  "mkdir -p w/a w/b w/c p s e f",
  "mount -t tmpfs t1 w/a; mount -t tmpfs t2 w/b",
  "mount -t tmpfs tp p; mkdir p/q; mount -t tmpfs tq p/q",
  "mount -t tmpfs low s; mount -t tmpfs high s",
  "mount -t tmpfs te e; mount --bind e f",
].join("\n");

test("mount points, one or several, a stack: nothing unmounted, no umount2 made; -v prints the calls the unmount makes; exit 0, as util-linux's", () => {
  ws.fresh("umount-fake-ok");
  for (const args of [["-v", "w/a"], ["-v", "w/a", "w/b"], ["-v", "p/q", "p"], ["-v", "s", "s"], ["-v", "--all-stacked", "s"]]) {
    const { fake } = fakeAndReal(TREE, args);
    expect([args.join(" "), fake.code]).toEqual([args.join(" "), 0]);
    if (!args.includes("--all-stacked")) expect(utilFake(TREE, args)).toBe(0);
  }
  const { fake } = fakeAndReal(TREE, ["-v", "p/q", "p"]);
  expect(fake.stderr).toBe('mountkit: umount2("p/q", 0)\nmountkit: umount2("p", 0)\n');
  // the stack's two mounts, one after the other, as --all-stacked peels them, until umount2 says EINVAL (said too)
  expect(fakeAndReal(TREE, ["-v", "--all-stacked", "s"]).fake.stderr).toBe('mountkit: umount2("s", 0)\n'.repeat(3) + 'mountkit: EINVAL: nothing more to unmount at "s"\n');
});

test("what the unmount refuses, the fake refuses: not mounted and no such path (exit 32), a mount with one on it (EBUSY), each of several", () => {
  ws.fresh("umount-fake-refused");
  const cases = [
    [["w/c"], 32, "mountkit: unmount w/c: umount2(2): EINVAL (Invalid argument) (not mounted)\n"],
    [["zz"], 32, "mountkit: unmount zz: umount2(2): ENOENT (No such file or directory)\n"],
    [["w/a", "w/c"], 64, undefined],
    [["s", "s", "s"], 64, "mountkit: unmount s: umount2(2): EINVAL (Invalid argument) (not mounted)\n"],
    [["-q", "w/c"], 32, ""],
  ] as const;
  for (const [args, code, stderr] of cases) {
    const { fake } = fakeAndReal(TREE, args);
    expect([args.join(" "), fake.code]).toEqual([args.join(" "), code]);
    if (stderr !== undefined) expect(fake.stderr).toBe(stderr);
  }
  // util-linux's fake makes no call, and so no check: "unmounted", exit 0, where its umount says 32
  expect(utilFake(TREE, ["w/c"])).toBe(0);
  expect(runIn(ws.dir("d"), TREE, "umount", ["w/c"]).code).toBe(32);
  // busy: the real one retries EBUSY for 2.5 s first
  const busy = fakeAndReal(TREE, ["p"]);
  expect(busy.fake.code).toBe(32);
  expect(busy.fake.stderr).toStartWith("mountkit: unmount p: umount2(2): EBUSY (Device or resource busy)");
});

test("-R and -A: the mounts they take down, children first; what is no mount point is 'not mounted', exit 1, as util-linux's fake", () => {
  ws.fresh("umount-fake-r");
  const r = fakeAndReal(TREE, ["-v", "-R", "p"]);
  expect(r.fake.code).toBe(0);
  expect(r.fake.stderr).toMatch(/^mountkit: umount2\(".*\/d\/p\/q", 0\)\nmountkit: umount2\(".*\/d\/p", 0\)\n$/);
  expect(utilFake(TREE, ["-R", "p"])).toBe(0);
  // every mount of e's filesystem, latest first: the bind on f, then e
  const a = fakeAndReal(TREE, ["-v", "-A", "e"]);
  expect(a.fake.code).toBe(0);
  expect(a.fake.stderr).toMatch(/^mountkit: umount2\(".*\/d\/f", 0\)\nmountkit: umount2\(".*\/d\/e", 0\)\n$/);
  expect(utilFake(TREE, ["-A", "e"])).toBe(0);
  expect(fakeAndReal(TREE, ["-A", "-R", "p"]).fake.code).toBe(0);
  for (const args of [["-R", "w/c"], ["-A", "w/c"], ["-A", "-R", "w/c"]]) {
    const { fake } = fakeAndReal(TREE, args);
    expect([args.join(" "), fake.code, fake.stderr]).toEqual([args.join(" "), 1, "mountkit: unmount w/c: not mounted\n"]);
    expect(utilFake(TREE, args)).toBe(1);
  }
  // the second operand finds nothing left: its mounts went with the first, in the fake as for real
  const twice = fakeAndReal(TREE, ["-R", "p", "p"]);
  expect([twice.fake.code, twice.fake.stderr]).toEqual([64, "mountkit: unmount p: not mounted\n"]);
});

test("-a with an fstab: each line's mount point as umount takes it, reported; --json says fake", () => {
  const s = ws.fresh("umount-fake-a");
  const fstab = s.path("fstab");
  writeFileSync(fstab, ["t1 /PLACE/w/a tmpfs defaults 0 0", "none /PLACE/w/c tmpfs defaults 0 0", "tq /PLACE/p/q tmpfs defaults 0 0", ""].join("\n").replaceAll("/PLACE", `${s.dir}/d`));
  const { fake } = fakeAndReal(TREE, ["-v", "-a", "-T", fstab]);
  expect(fake.code).toBe(0);
  expect(fake.stdout.split("\n")).toEqual([
    `umount -a: line 3: ${s.dir}/d/p/q: unmounted`,
    `umount -a: line 2: ${s.dir}/d/w/c: not mounted`,
    `umount -a: line 1: ${s.dir}/d/w/a: unmounted`,
    "",
  ]);
  const json = runIn(ws.dir("d"), TREE, '"$MK" umount', ["--fake", "--json", "-a", "-T", fstab], true);
  expect(json.calls).toEqual([]);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fake: true, results: [{ line: 3, status: "unmounted" }, { line: 2, status: "not-mounted" }, { line: 1, status: "unmounted" }] });
  // and one operand's --json
  const one = runIn(ws.dir("d"), TREE, '"$MK" umount', ["--fake", "--json", "w/a"], true);
  expect(JSON.parse(one.stdout)).toEqual({ ok: true, exitCode: 0, fake: true, results: [{ target: "w/a", ok: true, unmounted: 1 }] });
});

test("through a link named umount, -a takes the mount table: its fake lists what it would unmount, children first, and leaves it", () => {
  ws.fresh("umount-fake-table");
  // -O keeps to this test's mounts: the table's other tmpfs mounts are the host's
  const setup = ["mkdir -p m b", "mount -t tmpfs -o size=4000k tm m; mkdir m/c; mount -t tmpfs -o size=4000k tc m/c", "mount -t tmpfs -o size=8000k other b", `ln -sf "$MK" umount`].join("\n");
  const d = ws.dir("d");
  const before = runIn(d, setup, "true", []).left;
  const fake = runIn(d, setup, "./umount", ["--fake", "-v", "-a", "-t", "tmpfs", "-O", "size=4000k"], true);
  expect(fake.code).toBe(0);
  expect(fake.calls).toEqual([]);
  expect(fake.left).toEqual(before);
  expect(fake.stdout).toBe(`umount -a: ${d}/m/c: unmounted\numount -a: ${d}/m: unmounted\n`);
  expect(fake.stderr).toBe(`mountkit: umount2(${JSON.stringify(`${d}/m/c`)}, 0)\nmountkit: umount2(${JSON.stringify(`${d}/m`)}, 0)\n`);
  rmSync(join(d, "umount"));
});

test("an umount.TYPE helper is not run: -v prints its execve, the mount is taken as unmounted by it", () => {
  ws.fresh("umount-fake-helper");
  const { helpers, argv } = scriptHelper(ws.dir, "uhelpers", "umount.tmpfs", ['umount -i "$1"']);
  const fake = runIn(ws.dir("d"), TREE, '"$MK" umount', ["--fake", "-v", "--helper-dir", helpers, "w/a", "w/a"], true);
  expect(argv()).toBeUndefined();
  expect(fake.calls).toEqual([]);
  expect(fake.code).toBe(64); // the helper took the one mount there: the second operand finds none
  const lines = fake.stderr.split("\n");
  expect(lines[0]).toMatch(new RegExp(`^mountkit: execve\\("${helpers}/umount.tmpfs", \\["umount.tmpfs", ".*/d/w/a", "-v"\\]\\)$`));
  expect(lines.slice(1)).toEqual(['mountkit: umount2("w/a", 0)', "mountkit: unmount w/a: umount2(2): EINVAL (Invalid argument) (not mounted)", ""]);
  // for real, the helper runs (and unmounts)
  const real = runIn(ws.dir("d"), TREE, '"$MK" umount', ["--helper-dir", helpers, "w/a"]);
  expect(real.code).toBe(0);
  expect(argv()).toEqual([`${ws.dir("d")}/w/a`]);
});

test("-d: the loop device stays attached and its mount stays, by mount point, by image and with -A; the real -d detaches it", async () => {
  ws.fresh("umount-fake-loop");
  const img = ws.image("img");
  const m = ws.dir("m");
  ws.unmountAfter(m);
  const mounted = runCli(["mount", "-o", "loop", img, m]);
  expect([mounted.code, mounted.stderr]).toEqual([0, ""]);
  const device = mountsAt(m).at(-1)?.source ?? "";
  expect(device).toMatch(/^\/dev\/loop\d+$/);
  for (const args of [["-d", m], ["-d", img], ["-d", "-A", m]]) {
    const fake = runCli(["umount", "--fake", "--json", ...args]);
    expect([args, fake.code, fake.stderr]).toEqual([args, 0, ""]);
    expect(JSON.parse(fake.stdout)).toMatchObject({ ok: true, fake: true, results: [{ ok: true, unmounted: 1 }] });
    expect([args, mountsAt(m).map((e) => e.source)]).toEqual([args, [device]]);
    expect([args, loopDevicesOf(img).sysfs]).toEqual([args, [device]]);
  }
  expect(runCli(["umount", "-d", m])).toEqual({ code: 0, stdout: "", stderr: "" });
  await expectFreed(img);
});

test("--help names --fake", () => {
  ws.fresh("umount-fake-help");
  const help = runIn(ws.dir("d"), "true", '"$MK" umount', ["--help"]);
  expect(help.stdout).toContain("--fake");
  expect(help.stdout).toContain("[--fake]");
});
