// ROOT ONLY. `mountkit mountpoint` and a link named mountpoint beside util-linux mountpoint(1)
// (2.38.1 here) on the same paths and flags, in this test's private mount namespace: stdout
// byte for byte, the exit status (0 a mount point, 32 not, 1 bad usage or a path that cannot be
// stat()ed), and stderr said or not alike (mountkit's line names the syscall and errno where one
// failed: `says`). A row with `differs` is a difference kept on purpose (README, mountpoint).
// Then the same answers from a kernel without STATX_ATTR_MOUNT_ROOT (the mount table's), --json,
// and a link named findmnt. Everything mounted and the loop device are released in afterAll.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mountPointAt, mountOfMountPoint } from "../../src/ops/mount-point.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { VERSION } from "../../src/version.ts";
import { BINARY, runCli, type CliResult } from "../support/cli.ts";
import { detachLoopDevicesOf, loopDevicesOf, makeExt4Image } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

let s: ReturnType<typeof scratch>;
/** the loop device attached to the test's image, mounted on loopmnt */
let device = "";
let image = "";

/** run a command that must succeed (setup) */
function sh(...argv: string[]): string {
  const run = Bun.spawnSync(argv);
  if (run.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${run.stderr.toString()}`);
  return run.stdout.toString().trim();
}

beforeAll(() => {
  requireRootNamespace();
  s = scratch("mountpoint");
  const p = (name: string) => s.path(name);
  try {
    // m: a tmpfs; in it a plain dir, a dir bound onto itself, a file bound onto another
    mkdirSync(p("m"));
    sh("mount", "-t", "tmpfs", "mp-tmpfs", p("m"));
    for (const d of ["m/plain", "m/self", "m/h/inner"]) mkdirSync(p(d), { recursive: true });
    sh("mount", "--bind", p("m/self"), p("m/self"));
    writeFileSync(p("m/file"), "");
    writeFileSync(p("m/filesrc"), "");
    sh("mount", "--bind", p("m/filesrc"), p("m/file"));
    // m/h/inner mounted, then hidden by a tmpfs on m/h that has a dir of that name
    sh("mount", "-t", "tmpfs", "mp-inner", p("m/h/inner"));
    sh("mount", "-t", "tmpfs", "mp-cover", p("m/h"));
    mkdirSync(p("m/h/inner"));
    symlinkSync("m", p("lnk"));
    symlinkSync("nowhere", p("dangling"));
    mkdirSync(p("bin"));
    symlinkSync(BINARY, p("bin/mountpoint"));
    symlinkSync(BINARY, p("bin/findmnt"));
    // an ext4 image on a loop device of its own, mounted on loopmnt
    image = makeExt4Image(p("img"));
    device = sh("losetup", "-f", "--show", image);
    mkdirSync(p("loopmnt"));
    sh("mount", device, p("loopmnt"));
  } catch (err) {
    release();
    throw err;
  }
});

/** Unmount what the setup mounted (deepest first) and detach the image's loop device. */
function release(): void {
  try {
    for (const m of mountsUnder(s.dir).reverse()) sh("umount", m.mountpoint);
  } finally {
    if (image !== "") detachLoopDevicesOf(image);
  }
}

afterAll(() => {
  try {
    release();
    expect(loopDevicesOf(image)).toEqual({ sysfs: [], losetup: [] });
  } finally {
    s.dispose(); // and it fails the run when a mount was left
  }
});

interface Row {
  name: string;
  /** the arguments; $L is the loop device */
  args: readonly string[];
  /** what mountkit's stderr line must say (it names the syscall and errno where one failed) */
  says?: RegExp;
  /** a difference kept on purpose: util-linux's stdout and status, where mountkit's are the row's own */
  differs?: { util: { stdout: string; code: number }; link: { stdout: string; code: number } };
}

const ROWS: readonly Row[] = [
  { name: "a tmpfs mount point", args: ["m"] },
  { name: "a trailing slash", args: ["m/"] },
  { name: "an absolute path", args: ["$D/m"] },
  { name: "a plain directory under it", args: ["m/plain"] },
  { name: "a directory bound onto itself", args: ["m/self"] },
  { name: "a file bind mount", args: ["m/file"] },
  { name: "a file that is no mount point", args: ["m/filesrc"] },
  { name: "/", args: ["/"] },
  { name: "/proc", args: ["/proc"] },
  { name: "a missing path", args: ["nosuch"], says: /^mountkit: mountpoint: nosuch: statx\(2\): ENOENT \(No such file or directory\)\n$/ },
  { name: "an empty path", args: [""], says: /statx\(2\): ENOENT/ },
  { name: "a path through a file", args: ["m/file/x"], says: /m\/file\/x: statx\(2\): ENOTDIR/ },
  { name: "a symlink to a mount point", args: ["lnk"] },
  { name: "a symlink to a mount point, --nofollow", args: ["--nofollow", "lnk"] },
  { name: "a mount point, --nofollow", args: ["--nofollow", "m"] },
  { name: "a dangling symlink", args: ["dangling"], says: /dangling: statx\(2\): ENOENT/ },
  { name: "a dangling symlink, --nofollow", args: ["--nofollow", "dangling"] },
  { name: "a loop device's mount point", args: ["loopmnt"] },
  { name: "-d on a tmpfs mount point", args: ["-d", "m"] },
  { name: "-d on a dir bound onto itself", args: ["-d", "m/self"] },
  { name: "-d on a file bind mount", args: ["-d", "m/file"] },
  { name: "-d on a loop device's mount point", args: ["-d", "loopmnt"] },
  { name: "-d on /", args: ["-d", "/"] },
  { name: "-d on /proc", args: ["--fs-devno", "/proc"] },
  { name: "-d on no mount point", args: ["-d", "m/plain"] },
  { name: "-qd on a mount point: -d prints all the same", args: ["-qd", "m"] },
  { name: "-x on the loop device", args: ["-x", "$L"] },
  { name: "--devno on the loop device", args: ["--devno", "$L"] },
  { name: "-x on a mount point (no block device)", args: ["-x", "m"], says: /^mountkit: mountpoint: m: not a block device\n$/ },
  { name: "-x on a character device", args: ["-x", "/dev/null"], says: /not a block device/ },
  { name: "-x on a missing path", args: ["-x", "nosuch"], says: /statx\(2\): ENOENT/ },
  { name: "-x -q on no block device", args: ["-x", "-q", "m"] },
  { name: "-x and -d: -x answers", args: ["-d", "-x", "$L"] },
  { name: "-x with --nofollow", args: ["--nofollow", "-x", "$L"], says: /--devno and --nofollow are mutually exclusive/ },
  { name: "-q on a mount point", args: ["-q", "m"] },
  { name: "-q on no mount point", args: ["-q", "m/plain"] },
  { name: "-q on a missing path: nothing said", args: ["-q", "nosuch"] },
  { name: "--quiet after the operand", args: ["m/plain", "--quiet"] },
  { name: "an abbreviated --nofollow", args: ["--nof", "lnk"] },
  { name: "no operand", args: [], says: /bad usage: expected one PATH, got none/ },
  { name: "two operands", args: ["m", "m"], says: /bad usage: expected one PATH, got 2/ },
  { name: "an unknown option", args: ["--bogus", "m"], says: /unknown option --bogus/ },
  { name: "an unknown letter", args: ["-z", "m"], says: /unknown option -z/ },
  { name: "--quiet given a value", args: ["--quiet=1", "m"], says: /--quiet takes no value/ },
  {
    // mountkit answers for the path as the kernel reaches it (README, mountpoint)
    name: "a mount hidden under a later mount on its parent",
    args: ["m/h/inner"],
    differs: { util: { stdout: "m/h/inner is a mountpoint\n", code: 0 }, link: { stdout: "m/h/inner is not a mountpoint\n", code: 32 } },
  },
];

/** args with $D and $L replaced */
function argsOf(row: Row): string[] {
  return row.args.map((a) => a.replace("$D", s.dir).replace("$L", device));
}

function utilMountpoint(args: readonly string[]): CliResult {
  const run = Bun.spawnSync(["/usr/bin/mountpoint", ...args], { cwd: s.dir, env: { ...process.env, LC_ALL: "C" } });
  return { code: run.exitCode ?? -1, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

describe("mountkit mountpoint and a link named mountpoint beside util-linux mountpoint", () => {
  test.each(ROWS.map((r) => [r.name, r] as const))("%s", (_name, row) => {
    const args = argsOf(row);
    const util = utilMountpoint(args);
    const command = runCli(["mountpoint", ...args], { cwd: s.dir });
    const link = runCli(args, { bin: s.path("bin/mountpoint"), cwd: s.dir });
    const expected = row.differs?.link ?? { stdout: util.stdout, code: util.code };
    if (row.differs) expect({ stdout: util.stdout, code: util.code }).toEqual(row.differs.util);
    for (const ours of [command, link]) {
      expect({ stdout: ours.stdout, code: ours.code }).toEqual(expected);
      // said on stderr where util-linux says something, and only there
      expect({ args, said: ours.stderr !== "" }).toEqual({ args, said: util.stderr !== "" });
      if (row.says) expect(ours.stderr).toMatch(row.says);
    }
  });

  test("the link's --help names it mountpoint; -V prints mountkit's version", () => {
    const help = runCli(["--help"], { bin: s.path("bin/mountpoint") });
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith("Usage: mountpoint [-q] [--nofollow] [-d] [--json] PATH\n       mountpoint -x ");
    expect(runCli(["mountpoint", "--help"]).stdout).toStartWith("Usage: mountkit mountpoint [-q]");
    for (const flag of ["-V", "--version"]) expect(runCli([flag], { bin: s.path("bin/mountpoint") })).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
  });
});

describe("a kernel without STATX_ATTR_MOUNT_ROOT (before Linux 5.8): the mount table answers the same", () => {
  /** the seam as such a kernel answers: no mount-root attribute, no mount ID */
  const oldKernel: Syscalls = { ...libcSyscalls, statxMountRoot: (path, follow) => ({ ...libcSyscalls.statxMountRoot(path, follow), mountRoot: undefined, mountId: undefined }) };
  const PATHS = ["m", "m/", "m/plain", "m/self", "m/file", "m/filesrc", "/", "/proc", "lnk", "loopmnt", "m/h/inner"];

  test.each(PATHS)("%s", (path) => {
    const at = path.startsWith("/") ? path : join(s.dir, path);
    const kernel = mountPointAt(at);
    expect(kernel.status.mountRoot).toBeBoolean(); // this kernel reports it
    const table = mountPointAt(at, { sys: oldKernel });
    expect(table.mountPoint).toBe(kernel.mountPoint);
    // -d's MAJ:MIN: the same mount, by the mount ID or by the table's lookup
    expect(table.mountPoint ? mountOfMountPoint(table) : undefined).toEqual(kernel.mountPoint ? mountOfMountPoint(kernel) : undefined);
  });

  test("--nofollow: a symlink is none, whatever the kernel says", () => {
    expect(mountPointAt(s.path("lnk"), { follow: false, sys: oldKernel }).mountPoint).toBe(false);
    expect(mountPointAt(s.path("m"), { follow: false, sys: oldKernel }).mountPoint).toBe(true);
  });
});

describe("--json", () => {
  const json = (args: string[]) => {
    const r = runCli(["mountpoint", "--json", ...args], { cwd: s.dir });
    return { code: r.code, stderr: r.stderr, doc: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  test("the answer, with -d's and -x's MAJ:MIN; not a mount point is ok: false, exit 32, and no error", () => {
    const loopDevno = utilMountpoint(["-x", device]).stdout.trim();
    expect(json(["m"])).toEqual({ code: 0, stderr: "", doc: { ok: true, exitCode: 0, path: "m", mountpoint: true } });
    expect(json(["m/plain"])).toEqual({ code: 32, stderr: "", doc: { ok: false, exitCode: 32, path: "m/plain", mountpoint: false } });
    expect(json(["-d", "loopmnt"])).toEqual({ code: 0, stderr: "", doc: { ok: true, exitCode: 0, path: "loopmnt", mountpoint: true, fsDevno: utilMountpoint(["-d", "loopmnt"]).stdout.trim() } });
    expect(json(["-x", device])).toEqual({ code: 0, stderr: "", doc: { ok: true, exitCode: 0, path: device, blockDevice: true, devno: loopDevno } });
    expect(json(["-x", "-q", "m"])).toEqual({ code: 32, stderr: "", doc: { ok: false, exitCode: 32, path: "m", blockDevice: false } });
  });

  test("a path that cannot be stat()ed: exit 1, the error object; -q keeps stderr quiet, not the document", () => {
    const error = { kind: "syscall", message: "mountpoint: nosuch: statx(2): ENOENT (No such file or directory)", syscall: "statx(2)", errno: 2, errnoName: "ENOENT", paths: ["nosuch"] };
    expect(json(["nosuch"])).toEqual({ code: 1, stderr: `mountkit: ${error.message}\n`, doc: { ok: false, exitCode: 1, error } });
    expect(json(["-q", "nosuch"])).toEqual({ code: 1, stderr: "", doc: { ok: false, exitCode: 1, error } });
    const usage = json([]);
    expect(usage).toMatchObject({ code: 1, doc: { ok: false, exitCode: 1, error: { kind: "plan" } } });
  });
});

// the link's own defaults (a tree, -J's four columns, findmnt's match) are findmnt-link-parity.test.ts's
describe("a link named findmnt prints what mountkit findmnt prints where they agree (-M, -T, -o)", () => {
  const FORMS: readonly (readonly string[])[] = [["-M", "m"], ["-n", "-o", "TARGET,SOURCE,FSTYPE", "-M", "m/self"], ["-J", "-o", "TARGET,SOURCE", "-T", "m/plain"], ["-rn", "-o", "SOURCE", "-M", "loopmnt"], ["-M", "m/plain"], ["-t", "tmpfs", "-O", "ro", "-l"]];

  test.each(FORMS.map((args) => [args.join(" "), args] as const))("%s", (_name, args) => {
    const link = runCli(args, { bin: s.path("bin/findmnt"), cwd: s.dir });
    expect(link).toEqual(runCli(["findmnt", ...args], { cwd: s.dir }));
  });

  test("what scripts ask of it reads as util-linux findmnt's", () => {
    for (const args of [["-n", "-o", "SOURCE,FSTYPE", "-M", "m"], ["-rn", "-o", "TARGET,SOURCE", "-M", "loopmnt"], ["-M", "m/plain"]]) {
      const util = Bun.spawnSync(["findmnt", ...args], { cwd: s.dir });
      const link = runCli(args, { bin: s.path("bin/findmnt"), cwd: s.dir });
      expect({ args, stdout: link.stdout, code: link.code }).toEqual({ args, stdout: util.stdout.toString(), code: util.exitCode });
    }
  });
});
