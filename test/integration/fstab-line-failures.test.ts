// ROOT ONLY, private mount namespace. mount -a with lines that cannot be resolved or planned (a
// LABEL=/UUID= no device has, a source with no type to read, a type the kernel lacks, an option
// it refuses): each fails alone, in file order, nofail a warning, as util-linux mount -a does.
// Each fstab is given to util-linux mount -a first, in this namespace, and what it mounts and
// its exit code are compared with mountkit's; a line that breaks fstab's syntax still refuses
// the whole file, and -a -o remount is refused.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { BINARY, runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

const UTIL_LINUX_MOUNT = "/usr/bin/mount";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
  if (!existsSync(UTIL_LINUX_MOUNT)) throw new Error(`${UTIL_LINUX_MOUNT} (util-linux) is needed to compare with`);
});

let s: ReturnType<typeof scratch>;
afterEach(() => {
  for (const m of mountsUnder(s.dir).reverse()) runCli(["umount", m.mountpoint]);
  s.dispose();
});

// a tag no device on this host has, whatever its disks are called
const ABSENT = `mk-absent-${process.pid}`;

/** The fstab from lines (each "SOURCE DIR TYPE OPTIONS", DIR under the scratch dir, created). */
function fstab(lines: readonly string[]): string {
  const file = s.path("fstab");
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
  return file;
}

function dirs(...names: string[]): void {
  for (const n of names) mkdirSync(s.path(n));
}

/** What is mounted under the scratch dir: [mount point, source], in table order. */
const mounted = () => mountsUnder(s.dir).map((m) => [m.mountpoint.slice(s.dir.length), m.source]);
/** mounted() for a run of mount -a with or without -F: -F mounts the lines at once, in no set order, so in path order. */
const mountedBy = (fork: readonly string[]) => (fork.length === 0 ? mounted() : mounted().sort(([a], [b]) => a!.localeCompare(b!)));

function unmountAll(): void {
  for (const m of mountsUnder(s.dir).reverse()) expect(runCli(["umount", m.mountpoint]).code).toBe(0);
  expect(mountsUnder(s.dir)).toEqual([]);
}

/** util-linux mount -a -T file: its exit code and what it mounted; then unmounted again. */
function utilLinux(file: string, ...flags: string[]): { code: number; mounts: string[][] } {
  const r = Bun.spawnSync([UTIL_LINUX_MOUNT, "-a", ...flags, "-T", file], { stdout: "pipe", stderr: "pipe" });
  const mounts = mounted();
  unmountAll();
  return { code: r.exitCode!, mounts };
}

describe("mount -a: a line that cannot be resolved or planned fails alone", () => {
  test("nofail lines whose device does not exist (LABEL=, UUID=, a device path with type auto): warnings in file order, the others mounted, exit 0, as util-linux", () => {
    s = scratch("fstab-nofail");
    dirs("a", "b", "c", "d", "g");
    const d = s.dir;
    const file = fstab([
      `first ${d}/a tmpfs size=1m 0 0`,
      `LABEL=${ABSENT} ${d}/b ext4 defaults,nofail 0 2`,
      `UUID=${ABSENT} ${d}/c ext4 nofail`,
      `${d}/nosuchdev ${d}/d auto defaults,nofail`,
      `last ${d}/g tmpfs size=1m`,
    ]);
    const want = [["/a", "first"], ["/g", "last"]];
    expect(utilLinux(file)).toEqual({ code: 0, mounts: want });

    for (const fork of [[], ["-F"]]) {
      const r = runCli(["mount", "-a", ...fork, "-T", file]);
      expect([r.code, mountedBy(fork)]).toEqual([0, want]);
      expect(r.stderr.split("\n")).toEqual([
        `mountkit: warning: mount -a: line 2 (${d}/b): mount /dev/disk/by-label/${ABSENT} on ${d}/b: no block device has LABEL "${ABSENT}" (looked for /dev/disk/by-label/${ABSENT}, then read the superblock of each device in /proc/partitions)`,
        `mountkit: warning: mount -a: line 3 (${d}/c): mount /dev/disk/by-uuid/${ABSENT} on ${d}/c: no block device has UUID "${ABSENT}" (looked for /dev/disk/by-uuid/${ABSENT}, then read the superblock of each device in /proc/partitions)`,
        `mountkit: warning: mount -a: line 4 (${d}/d): mount ${d}/nosuchdev on ${d}/d: special device ${d}/nosuchdev does not exist (with no type given, the source is a block device or image file whose superblock names its type: check the name, or give the type with -t TYPE (tmpfs, proc: filesystems with no device))`,
        "",
      ]);
      unmountAll();
    }

    const json = runCli(["mount", "-a", "-T", file, "--json"]);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, mounted: 2, failed: 0, warnings: 3 });
    expect(doc.entries.map((e: { line: number; status: string }) => [e.line, e.status])).toEqual([
      [1, "mounted"],
      [2, "warning"],
      [3, "warning"],
      [4, "warning"],
      [5, "mounted"],
    ]);
  });

  test("the same lines without nofail: each a failure naming its line, in file order; exit 64, or 32 when none mounts, as util-linux", () => {
    s = scratch("fstab-unresolved");
    dirs("a", "b", "d");
    const d = s.dir;
    const lines = [`LABEL=${ABSENT} ${d}/b ext4 defaults 0 2`, `${d}/nosuchdev ${d}/d auto defaults`];
    const some = fstab([`first ${d}/a tmpfs size=1m`, ...lines]);
    expect(utilLinux(some)).toEqual({ code: 64, mounts: [["/a", "first"]] });
    for (const fork of [[], ["-F"]]) {
      const r = runCli(["mount", "-a", ...fork, "-T", some]);
      expect([r.code, mounted()]).toEqual([64, [["/a", "first"]]]);
      const errors = r.stderr.split("\n").filter(Boolean);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toStartWith(`mountkit: mount -a: line 2 (${d}/b): mount /dev/disk/by-label/${ABSENT} on ${d}/b: no block device has LABEL`);
      expect(errors[1]).toStartWith(`mountkit: mount -a: line 3 (${d}/d): mount ${d}/nosuchdev on ${d}/d: special device ${d}/nosuchdev does not exist`);
      unmountAll();
    }

    const none = fstab(lines);
    expect(utilLinux(none)).toEqual({ code: 32, mounts: [] });
    for (const fork of [[], ["-F"]]) expect([runCli(["mount", "-a", ...fork, "-T", none]).code, mounted()]).toEqual([32, []]);
  });

  test("a mount point that cannot be resolved (a name past NAME_MAX: readlink(2) ENAMETOOLONG) fails alone, in its turn; the others mounted, exit 64, as util-linux", () => {
    s = scratch("fstab-name-max");
    dirs("a", "g");
    const d = s.dir;
    const long = `${d}/${"n".repeat(300)}`;
    const file = fstab([`first ${d}/a tmpfs size=1m`, `x2 ${long} tmpfs size=1m`, `last ${d}/g tmpfs size=1m`]);
    const want = [["/a", "first"], ["/g", "last"]];
    expect(utilLinux(file)).toEqual({ code: 64, mounts: want });
    for (const fork of [[], ["-F"]]) {
      // the whole of mount -a stopped at line 2 (exit 32, nothing mounted): its pre-flight let the resolve error through
      const r = runCli(["mount", "-a", ...fork, "-T", file]);
      expect([r.code, mountedBy(fork)]).toEqual([64, want]);
      const errors = r.stderr.split("\n").filter(Boolean);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toStartWith(`mountkit: mount -a: line 2 (${long}): `);
      expect(errors[0]).toContain(": ENAMETOOLONG (File name too long)");
      unmountAll();
    }
  });

  test("a type the kernel lacks, an option it refuses: mount(2)'s errno, the path and the kernel's words; the others mounted, exit 64, as util-linux", () => {
    s = scratch("fstab-refused");
    dirs("a", "e", "f", "g");
    const d = s.dir;
    const file = fstab([`first ${d}/a tmpfs size=1m`, `x5 ${d}/e nosuchfs defaults`, `x2 ${d}/f tmpfs mode=zzz`, `last ${d}/g tmpfs size=1m`]);
    const want = [["/a", "first"], ["/g", "last"]];
    expect(utilLinux(file)).toEqual({ code: 64, mounts: want });

    const r = runCli(["mount", "-a", "-T", file]);
    expect([r.code, mounted()]).toEqual([64, want]);
    expect(r.stderr.split("\n")).toEqual([
      `mountkit: mount -a: line 2 (${d}/e): mount x5 on ${d}/e: mount(2): ENODEV (No such device) (filesystem type "nosuchfs" refused by the kernel: unknown filesystem type (not in /proc/filesystems))`,
      `mountkit: mount -a: line 3 (${d}/f): mount x2 on ${d}/f: mount(2): EINVAL (Invalid argument) (option "mode=zzz" refused by the kernel: tmpfs: Bad value for 'mode')`,
      "",
    ]);
    unmountAll();

    const forked = runCli(["mount", "-a", "-F", "-T", file]);
    expect([forked.code, mountedBy(["-F"])]).toEqual([64, want]);
    expect(forked.stderr).toContain(`mountkit: mount -a: line 2 (${d}/e): mount x5 on ${d}/e: mount(2): ENODEV (No such device)`);
    expect(forked.stderr).toContain(`mountkit: mount -a: line 3 (${d}/f): mount x2 on ${d}/f: mount(2): EINVAL (Invalid argument)`);
  });

  test("with nofail those are warnings and exit 0 (util-linux still counts them: 64); a failed nofail line counts as done: 64, not 32", () => {
    s = scratch("fstab-refused-nofail");
    dirs("a", "b", "e", "f");
    const d = s.dir;
    const file = fstab([`first ${d}/a tmpfs size=1m`, `x5 ${d}/e nosuchfs nofail`, `x2 ${d}/f tmpfs mode=zzz,nofail`]);
    // util-linux's nofail ignores only a device that does not exist (docs/apply.md)
    expect(utilLinux(file)).toEqual({ code: 64, mounts: [["/a", "first"]] });
    for (const fork of [[], ["-F"]]) {
      const r = runCli(["mount", "-a", ...fork, "-T", file]);
      expect([r.code, mounted()]).toEqual([0, [["/a", "first"]]]);
      const warnings = r.stderr.split("\n").filter(Boolean);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toStartWith(`mountkit: warning: mount -a: line 2 (${d}/e): mount x5 on ${d}/e: mount(2): ENODEV`);
      expect(warnings[1]).toStartWith(`mountkit: warning: mount -a: line 3 (${d}/f): mount x2 on ${d}/f: mount(2): EINVAL`);
      unmountAll();
    }

    // a failure, and a nofail line whose device does not exist: nothing mounted, yet 64
    const counted = fstab([`x5 ${d}/e nosuchfs defaults`, `LABEL=${ABSENT} ${d}/b ext4 nofail`]);
    expect(utilLinux(counted)).toEqual({ code: 64, mounts: [] });
    for (const fork of [[], ["-F"]]) expect([runCli(["mount", "-a", ...fork, "-T", counted]).code, mounted()]).toEqual([64, []]);
  });

  test("--dry-run plans each line on its own: a line that cannot be planned is that line's failure (nofail a warning), exit 0/32/64", () => {
    s = scratch("fstab-dry");
    dirs("a", "b", "e");
    const d = s.dir;
    const file = fstab([`first ${d}/a tmpfs size=1m`, `LABEL=${ABSENT} ${d}/b ext4 nofail`, `x5 ${d}/e nosuchfs defaults`]);
    const r = runCli(["mount", "-a", "-n", "-T", file]);
    expect(r.code).toBe(64);
    expect(r.stdout).toBe(`# line 1 (${d}/a)\nmount("first", "${d}/a", "tmpfs", 0, "size=1m")\n`);
    const said = r.stderr.split("\n").filter(Boolean);
    expect(said).toHaveLength(2);
    expect(said[0]).toStartWith(`mountkit: warning: mount -a: line 2 (${d}/b): mount /dev/disk/by-label/${ABSENT} on ${d}/b: no block device has LABEL`);
    expect(said[1]).toBe(`mountkit: mount -a: line 3 (${d}/e): nosuchfs on ${d}/e: filesystem type "nosuchfs" refused by the kernel: unknown filesystem type (not in /proc/filesystems)`);
    const doc = JSON.parse(runCli(["mount", "-a", "-n", "--json", "-T", file]).stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 64, dryRun: true, fstab: file }); // the fstab read, as mount -a's result names it
    expect(doc.entries.map((e: { line: number; status?: string }) => [e.line, e.status ?? "planned"])).toEqual([
      [1, "planned"],
      [2, "warning"],
      [3, "failed"],
    ]);
    expect(mounted()).toEqual([]);
  });
});

describe("mount -a: what still refuses the whole file", () => {
  // fstab(5)'s syntax, and what no mount of the line could ever mean: the line named, exit 1
  // (nofail, where the line has room for it, changes nothing)
  const broken: [string, (d: string) => string, string][] = [
    ["too few fields", (d) => `x ${d}/b`, "2 fields, expected at least 3 (source, target, type)"],
    ["a pass number that is not a number", (d) => `x ${d}/b tmpfs nofail 0 x`, 'pass number "x" is not a number'],
    ["a relative mount point", () => "x b tmpfs nofail", "mount point b is not an absolute path"],
    ["the mount point none", () => "x none tmpfs nofail", "mount point none is not an absolute path"],
  ];
  for (const [what, line, message] of broken) {
    test(`${what}: nothing mounted, even the lines before it (-F too)`, () => {
      s = scratch("fstab-syntax");
      dirs("a", "b");
      const file = fstab([`first ${s.dir}/a tmpfs size=1m`, line(s.dir)]);
      for (const fork of [[], ["-F"]]) {
        const r = runCli(["mount", "-a", ...fork, "-T", file]);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`line 2: ${message}`);
        expect(r.stderr).toContain("(nothing was mounted)");
        expect(mounted()).toEqual([]);
      }
    });
  }
});

describe("mount -a -o remount", () => {
  test("is refused (exit 1) and changes nothing: mount(8) would remount every line's mount point", () => {
    s = scratch("fstab-remount");
    dirs("a");
    const file = fstab([`first ${s.dir}/a tmpfs size=1m`]);
    expect(runCli(["mount", "-a", "-T", file]).code).toBe(0);
    for (const flags of [["-o", "remount,ro"], ["-o", "ro", "-o", "remount"]]) {
      const r = runCli(["mount", "-a", ...flags, "-T", file]);
      expect([r.code, r.stdout]).toEqual([1, ""]);
      expect(r.stderr).toBe("mountkit: mount -a: -o remount changes one mount that exists, not every fstab line (remount each mount point: mount -o remount,OPTS TARGET)\n");
      expect(mountsUnder(s.dir).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([[`${s.dir}/a`, "rw"]]);
    }
  });
});
