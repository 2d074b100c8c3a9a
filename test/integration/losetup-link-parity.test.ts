// ROOT ONLY. A link named losetup beside util-linux losetup 2.38.1 (/usr/sbin/losetup), on loop
// devices of this test's own: each row runs both on the same command line and compares stdout
// byte for byte, the exit status, and stderr said or not (the words are each tool's own). Loop
// devices are the machine's: every listing is filtered to this test's images (-j IMG, a device
// of its own, or the lines naming its directory), every device a row attaches is detached after
// it, and afterAll detaches whatever is left on the images and checks none is. -D (every device
// of the machine) runs in-process, with the seam listing only this test's devices.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { losetupCommand } from "../../src/cli/commands/losetup.ts";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { VERSION } from "../../src/version.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { loopSysfs } from "../support/loop-files.ts";
import { detachLoopDevicesOf, loopDevicesOf, makeExt4Image, newFds, openFds } from "../support/resources.ts";
import { requireRootNamespace, scratch } from "../support/root.ts";

let s: ReturnType<typeof scratch>;
let link = "";
/** a.img's device: read-only, partscan, offset 512, sizelimit 4096; b.img's: plain */
let A = "";
let B = "";
const IMAGES = ["a.img", "b.img", "c.img", "d.img", "e.img", "small.img"];
const MiB = 1 << 20;
const ENV = { ...process.env, LC_ALL: "C", MOUNTKIT_STRATEGY: "" };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function util(args: readonly string[]): Run {
  const run = Bun.spawnSync(["/usr/sbin/losetup", ...args], { cwd: s.dir, env: ENV });
  return { code: run.exitCode ?? -1, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

function linked(args: readonly string[]): Run {
  return runCli(args, { bin: link, cwd: s.dir, env: ENV });
}

/** util-linux losetup that must succeed (setup); its stdout trimmed */
function must(args: readonly string[]): string {
  const run = util(args);
  if (run.code !== 0) throw new Error(`losetup ${args.join(" ")}: ${run.stderr}`);
  return run.stdout.trim();
}

/** The devices attached to image, as util-linux lists them (no names: another run picks others). */
function attachments(image: string): string[] {
  return must(["-l", "-n", "--raw", "-O", "BACK-FILE,OFFSET,SIZELIMIT,RO,DIO,LOG-SEC,PARTSCAN,AUTOCLEAR", "-j", s.path(image)]).split("\n").filter(Boolean).sort();
}

/** Detach every device on image and check none is left. */
function release(image: string): void {
  detachLoopDevicesOf(s.path(image));
  expect(loopDevicesOf(s.path(image))).toEqual({ sysfs: [], losetup: [] });
}

beforeAll(() => {
  requireRootNamespace();
  s = scratch("losetup");
  writeFileSync(s.path("a.img"), new Uint8Array(MiB));
  writeFileSync(s.path("b.img"), new Uint8Array(MiB));
  writeFileSync(s.path("c.img"), new Uint8Array(MiB));
  writeFileSync(s.path("d.img"), new Uint8Array(2 * MiB));
  writeFileSync(s.path("small.img"), new Uint8Array(1000));
  mkdirSync(s.path("bin"));
  link = s.path("bin/losetup");
  symlinkSync(BINARY, link);
  A = must(["-f", "--show", "-r", "-P", "-o", "512", "--sizelimit", "4096", s.path("a.img")]);
  B = must(["-f", "--show", s.path("b.img")]);
});

afterAll(() => {
  try {
    for (const image of IMAGES) release(image);
  } finally {
    s.dispose();
  }
});

/** args with $A, $B, $D (the scratch dir) and $FREE (a device attached to nothing now) replaced */
function argsOf(args: readonly string[]): string[] {
  const free = args.some((a) => a.includes("$FREE")) ? must(["-f"]) : "";
  return args.map((a) => a.replace("$A", A).replace("$B", B).replace("$D", s.dir).replace("$FREE", free));
}

function expectSame(args: readonly string[], theirs: Run, ours: Run, normalize = (text: string) => text): void {
  expect({ args, stdout: normalize(ours.stdout), code: ours.code }).toEqual({ args, stdout: normalize(theirs.stdout), code: theirs.code });
  expect({ args, said: ours.stderr !== "" }).toEqual({ args, said: theirs.stderr !== "" });
}

/** What one side of a row did: its command line, its run, and the state it left (compared). */
interface Side<S> {
  argv: readonly string[];
  result: Run;
  state: S;
}

/**
 * A row that sets devices up: run by util-linux's losetup, then by the link, each side making and
 * releasing its own devices (side); the same stdout (device names as one: the kernel's pick of
 * a free device at the time), exit, stderr said or not, and state left. says: the link's message.
 */
function compareSides<S>(side: (run: (args: readonly string[]) => Run) => Side<S>, says?: RegExp): void {
  const theirs = side(util);
  const ours = side(linked);
  expectSame(ours.argv, theirs.result, ours.result, (text) => text.replace(/\/dev\/loop\d+/g, "/dev/loopN"));
  expect({ args: ours.argv, state: ours.state }).toEqual({ args: ours.argv, state: theirs.state });
  if (says) expect(ours.result.stderr).toMatch(says);
}

// What is listed, and what is refused before anything is done: the devices of a.img and b.img
// stay as beforeAll attached them. A row's RegExp: what the link's stderr line says.
const LISTS: readonly (readonly [readonly string[], RegExp?])[] = [
  [["-j", "a.img"]],
  [["--associated", "$D/a.img"]],
  [["-j", "a.img", "-o", "512"]],
  [["-j", "a.img", "-o", "0"]],
  [["-J", "-j", "a.img"]], // -J without --list: the old format all the same
  [["-v", "-j", "b.img"]],
  [["-j", "a.img", "b.img"]], // the operand is not read
  [["-l", "-j", "a.img"]],
  [["--list", "--noheadings", "-j", "b.img"]],
  [["-l", "-n", "-O", "NAME,BACK-FILE", "-j", "a.img"]],
  [["-j", "b.img", "-O", "name,ro"]],
  [["-O", "+MAJ:MIN", "-j", "a.img"]],
  [["-J", "-l", "-j", "a.img"]],
  [["--json", "--list", "-j", "b.img"]],
  [["--raw", "-l", "-j", "a.img"]],
  [["--output-all", "-l", "-j", "a.img"]],
  [["--output-all", "-J", "-l", "-j", "b.img"]],
  [["--output-all", "-O", "+NAME", "-j", "a.img"]],
  [["-l", "-O", "MAJ:MIN,NAME,BACK-MAJ:MIN,BACK-INO,PARTSCAN", "-j", "a.img"]],
  [["-J", "-l", "-O", "MAJ:MIN,NAME,BACK-MAJ:MIN,BACK-INO,PARTSCAN", "-j", "a.img"]],
  [["--raw", "-l", "-O", "MAJ:MIN,NAME,BACK-MAJ:MIN,BACK-INO", "-j", "b.img"]],
  [["-l", "-O", Array(24).fill("RO").join(","), "-j", "a.img"]],
  [["-j", "nosuch.img"]],
  [["-l", "-j", "nosuch.img"]],
  [["-J", "-l", "-j", "nosuch.img"]],
  [["$A"]],
  [["$B"]],
  [["-l", "$A"]],
  [["-J", "-l", "$A"]],
  [["--raw", "-l", "$B"]],
  [["-l", "-n", "-O", "NAME,RO,PARTSCAN,OFFSET", "$A"]],
  // a device attached to nothing: no line (exit 1), but a row of what sysfs says (exit 0)
  [["$FREE"], /^mountkit: losetup: \/dev\/loop\d+ is not attached to a file\n$/],
  [["-l", "$FREE"]],
  [["-J", "-l", "-O", "NAME,OFFSET,PARTSCAN,MAJ:MIN,AUTOCLEAR,DIO,LOG-SEC,BACK-INO", "$FREE"]],
  [["-l", "-O", "NAME,SIZELIMIT", "$FREE"]],
  // refused
  [["-l", "a.img"], /^mountkit: losetup: a\.img is not a loop device/],
  [["a.img"], /^mountkit: losetup: a\.img is not a loop device/],
  [["-l", "/dev/null"], /\/dev\/null is not a loop device/],
  [["-c", "a.img"], /a\.img is not a loop device/],
  [["-d", "/dev/null"], /\/dev\/null is not a loop device/],
  [["-n"], /^mountkit: losetup: no loop device specified/],
  [["-r"], /no loop device specified/],
  [["--show"], /no loop device specified/],
  [["-Z"], /^mountkit: losetup: unknown option -Z/],
  [["--bogus"], /unknown option --bogus/],
  [["-d"], /option -d needs a value/],
  [["--det", "x"], /option --det is ambiguous; possibilities: --detach --detach-all/],
  [["-a", "-j", "a.img"], /--all and --associated are mutually exclusive/],
  [["-j", "a.img", "-a"], /--associated and --all are mutually exclusive/],
  [["-J", "--raw", "-l", "-j", "a.img"], /--json and --raw are mutually exclusive/],
  [["-f", "-l"], /--find and --list are mutually exclusive/],
  [["-f", "-j", "a.img"], /--find and --associated are mutually exclusive/],
  [["-c", "$A", "-d", "$A"], /--set-capacity and --detach are mutually exclusive/],
  [["-r", "-j", "a.img"], /are for setting up a device/],
  [["--show", "-j", "a.img"], /are for setting up a device/],
  [["-o", "512", "$A"], /--offset is for setting up a device, or with --associated FILE, only/],
  [["-o", "512", "-l", "$A"], /--offset is for setting up a device/],
  [["-P", "$A"], /are for setting up a device/],
  [["-f", "--show"], /are for setting up a device/],
  [["-f", "x.img", "y.img"], /unexpected arguments: y\.img/],
  [["-l", "-O", "bogus", "-j", "a.img"], /unknown column: bogus/],
  [["-l", "-O", "NAME,", "-j", "a.img"], /unknown column: ""/],
  [["-f", "-o", "abc", "a.img"], /^mountkit: losetup: --offset: "abc" is not a size in bytes/],
  [["-f", "-o", "-5", "a.img"], /--offset: "-5" is not a size/],
  [["--direct-io=maybe", "$A"], /--direct-io=maybe: give on or off/],
  // 2.38 has no -e: an unknown option there, refused by name here
  [["-e", "aes", "-f", "a.img"], /-e\/-E\/--encryption: loop device encryption is not supported/],
  [["-E", "1", "a.img"], /encryption is not supported/],
  // -h after a bad flag: the bad flag ends it, as getopt reads them in order (-h first: below)
  [["-Z", "-h"], /unknown option -Z/],
];

describe("listing and refusals: the link prints what losetup prints", () => {
  test.each(LISTS.map(([args, says]) => [args.join(" "), args, says] as const))("%s", (_name, args, says) => {
    const argv = argsOf(args);
    const ours = linked(argv);
    expectSame(argv, util(argv), ours);
    if (says) expect(ours.stderr).toMatch(says);
  });

  test("the whole machine's list (-a, --raw, -J, no argument): this test's devices alike, in the same order", () => {
    const mine = (text: string) => text.split("\n").filter((line) => line.includes(s.dir));
    for (const args of [["-a"], ["--raw"], ["-l", "--raw", "-O", "NAME,BACK-FILE,MAJ:MIN"], []]) {
      const theirs = util(args);
      const ours = linked(args);
      expect({ args, code: ours.code, stderr: ours.stderr, lines: mine(ours.stdout) }).toEqual({ args, code: 0, stderr: "", lines: mine(theirs.stdout) });
      expect(mine(ours.stdout).length).toBe(2);
    }
    const json = (run: Run) => (JSON.parse(run.stdout).loopdevices as { "back-file": string }[]).filter((d) => d["back-file"].startsWith(s.dir));
    expect(json(linked(["-J"]))).toEqual(json(util(["-J"])));
    // the table: this test's rows, cell for cell (the widths are the whole table's)
    const cells = (text: string) => mine(text).map((line) => line.trim().split(/\s+/));
    expect(cells(linked(["-l"]).stdout)).toEqual(cells(util(["-l"]).stdout));
  });

  test("-f alone: a free device's name, exit 0", () => {
    for (const run of [util(["-f"]), linked(["-f"]), linked(["--find"])]) expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\/dev\/loop\d+\n$/), stderr: "" });
  });

  test("-h prints the link's help (exit 0, its columns losetup's); -V mountkit's version", () => {
    const help = linked(["-h"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith("Usage: losetup [options] [LOOPDEV]\n");
    expect(help.stdout).toContain("BACK-MAJ:MIN  backing file major:minor device number");
    for (const flag of ["-V", "--version"]) expect(linked([flag])).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
    // read in order: -h before a bad flag prints the help, as losetup's getopt loop does
    expect(util(["-h", "--bogus"]).code).toBe(0);
    expect(linked(["-h", "--bogus"])).toEqual(help);
  });

  test("losetup's silent failures (-O with no column, or more than a table has) are said", () => {
    for (const args of [["-l", "-O", "", "-j", "a.img"], ["-l", "-O", Array(25).fill("RO").join(","), "-j", "a.img"]]) {
      expect(util(args)).toEqual({ code: 1, stdout: "", stderr: "" });
      expect(linked(args)).toMatchObject({ code: 1, stdout: "", stderr: expect.stringMatching(/^mountkit: losetup: -O\/--output: /) });
    }
  });
});

interface Attach {
  args: readonly string[];
  /** what the link's stderr line says */
  says?: RegExp;
  /** util-linux losetup's set-up made first (its devices are on the file too) */
  before?: readonly string[];
}

// Set-ups: each run on c.img or small.img, which no device holds before; what each side
// attached is compared (by util-linux's listing) and detached before the other runs.
const ATTACHES: readonly Attach[] = [
  { args: ["-f", "--show", "c.img"] },
  { args: ["-f", "c.img"] },
  { args: ["c.img", "--find"] },
  { args: ["--find", "--show", "-r", "-P", "-o", "512", "--sizelimit", "4096", "c.img"] },
  { args: ["-f", "--show", "--direct-io=on", "c.img"] },
  { args: ["-f", "--show", "--direct-io=off", "c.img"] },
  { args: ["-f", "--show", "-b", "4096", "c.img"] },
  { args: ["-f", "--show", "--sector-size", "1K", "c.img"] },
  { args: ["-f", "--show", "-o", "0x200", "c.img"] },
  { args: ["-f", "--show", "-o", "1KiB", "--sizelimit", "1M", "c.img"] },
  { args: ["-f", "--show", "-v", "$D/c.img"] },
  // what losetup warns of: a size that is no whole number of 512-byte sectors
  { args: ["-f", "--show", "small.img"], says: /^mountkit: losetup: warning: the last 488 bytes of small\.img do not fill a 512-byte sector/ },
  { args: ["-f", "--show", "--sizelimit", "1000", "c.img"], says: /warning: the last 488 bytes/ },
  // a device of the caller's choice
  { args: ["$FREE", "c.img"] },
  { args: ["--show", "$FREE", "c.img"] },
  { args: ["-r", "$FREE", "c.img"] },
  { args: ["$B", "c.img"], says: /^mountkit: attach c\.img to \/dev\/loop\d+: .*EBUSY/ }, // busy
  { args: ["$A", "c.img", "extra"], says: /EBUSY/ }, // busy; the extra operand is not read
  // -L: the device over the same range is used; an overlapping one, or a read-only one for a read-write ask, refused
  { args: ["-f", "--show", "-L", "c.img"], before: ["-f", "c.img"] },
  { args: ["-f", "--show", "-L", "-r", "c.img"], before: ["-f", "-r", "c.img"] },
  { args: ["-f", "--show", "-L", "c.img"], before: ["-f", "-r", "c.img"], says: /^mountkit: losetup: c\.img is attached to \/dev\/loop\d+ already, read-only/ },
  { args: ["-f", "--show", "-L", "-o", "512", "c.img"], before: ["-f", "c.img"], says: /overlapping loop device exists/ },
  { args: ["-f", "--show", "-L", "c.img"], before: ["-f", "-o", "4096", "c.img"], says: /overlapping loop device exists/ },
  // refused
  { args: ["-f", "--show", "nosuch.img"], says: /^mountkit: attach nosuch\.img to a loop device: open\(2\): ENOENT/ },
  { args: ["-f", "--show", "-b", "1000", "c.img"], says: /1000 is not a sector size/ },
  { args: ["-f", "--show", "-b", "128K", "c.img"], says: /EINVAL/ },
  { args: ["-f", "--show", "$D"], says: /EISDIR/ },
];

describe("set-up (-f FILE, DEV FILE): the same device made, the same output", () => {
  test.each(ATTACHES.map((row) => [row.args.join(" "), row] as const))("%s", (_name, row) => {
    const image = row.args.includes("small.img") ? "small.img" : "c.img";
    compareSides((run) => {
      try {
        if (row.before) must(argsOf(row.before));
        const argv = argsOf(row.args);
        return { argv, result: run(argv), state: attachments(image) };
      } finally {
        release(image);
      }
    }, row.says);
  });

  test("a file that refuses writing is attached read-only, silently, as losetup attaches it", () => {
    let attached: string[] = [];
    compareSides((run) => {
      try {
        // root writes through file modes: a read-only bind mount refuses the write
        Bun.spawnSync(["mount", "--bind", "-o", "ro", s.path("c.img"), s.path("c.img")]);
        const argv = ["-f", "--show", "c.img"];
        return { argv, result: run(argv), state: (attached = attachments("c.img")) };
      } finally {
        release("c.img");
        Bun.spawnSync(["umount", s.path("c.img")]);
      }
    });
    expect(attached).toEqual([`${s.path("c.img")} 0 0 1 0 512 0 0`]); // RO
  });
});

describe("-L reusing a mount's device (autoclear): the device is kept, as losetup keeps it", () => {
  test("its autoclear cleared: it stays attached once the mount is gone", () => {
    makeExt4Image(s.path("e.img"));
    mkdirSync(s.path("mnt"), { recursive: true });
    const side = (run: (args: readonly string[]) => Run) => {
      try {
        const mount = Bun.spawnSync(["mount", "-o", "loop", s.path("e.img"), s.path("mnt")]);
        if (mount.exitCode !== 0) throw new Error(`mount -o loop: ${mount.stderr.toString()}`);
        const [device] = loopDevicesOf(s.path("e.img")).sysfs;
        const before = loopSysfs(device!, "loop/autoclear");
        const result = run(["-f", "--show", "-L", "e.img"]);
        const after = loopSysfs(device!, "loop/autoclear");
        Bun.spawnSync(["umount", s.path("mnt")]);
        return { result: { ...result, stdout: result.stdout.replace(device!, "DEVICE") }, before, after, left: attachments("e.img").length };
      } finally {
        Bun.spawnSync(["umount", s.path("mnt")]);
        release("e.img");
      }
    };
    const theirs = side(util);
    const ours = side(linked);
    expect(theirs).toEqual({ result: { code: 0, stdout: "DEVICE\n", stderr: "" }, before: "1", after: "0", left: 1 });
    expect(ours).toEqual(theirs);
  });
});

test("-L whose clearing of the reused device's autoclear fails (LOOP_SET_STATUS64 refused, injected): said, exit 1, nothing printed; the device left as the mount had it, its fd closed", () => {
  makeExt4Image(s.path("e.img"));
  mkdirSync(s.path("mnt"), { recursive: true });
  try {
    const mount = Bun.spawnSync(["mount", "-o", "loop", s.path("e.img"), s.path("mnt")]);
    if (mount.exitCode !== 0) throw new Error(`mount -o loop: ${mount.stderr.toString()}`);
    const [device] = loopDevicesOf(s.path("e.img")).sysfs;
    const sys = injectFaults(libcSyscalls, { loopSetStatus64: { calls: "always", errno: Errno.EPERM, syscall: "ioctl(LOOP_SET_STATUS64)" } });
    const said = { out: "", err: "" };
    const fds = openFds();
    const code = losetupCommand(["-f", "--show", "-L", s.path("e.img")], { out: (text) => void (said.out += text), err: (text) => void (said.err += text) }, { sys });
    expect(newFds(fds)).toEqual([]);
    expect({ code, said }).toEqual({ code: 1, said: { out: "", err: `mountkit: clear the autoclear flag of ${device}: ioctl(LOOP_SET_STATUS64): EPERM (Operation not permitted)\n` } });
    expect(sys.counts.loopSetStatus64).toBe(1);
    expect(loopSysfs(device!, "loop/autoclear")).toBe("1");
    expect(loopDevicesOf(s.path("e.img")).sysfs).toEqual([device!]);
  } finally {
    Bun.spawnSync(["umount", s.path("mnt")]);
    release("e.img");
  }
});

interface Change {
  args: readonly string[];
  /** what the link's stderr line says */
  says?: RegExp;
  /** how d.img's device ($L) is attached first (util-linux), beyond -f */
  setup?: readonly string[];
  /** grow d.img to 3 MiB once attached (for -c) */
  grow?: boolean;
}

// Changes to an attached device (d.img's, attached afresh for each side): the sysfs it leaves compared.
const CHANGES: readonly Change[] = [
  { args: ["-c", "$L"], grow: true },
  { args: ["--set-capacity", "$L"] },
  { args: ["--direct-io", "$L"] },
  { args: ["--direct-io=on", "$L"] },
  { args: ["--direct-io=off", "$L"], setup: ["--direct-io"] },
  { args: ["-b", "4096", "$L"] },
  { args: ["--sector-size", "1024", "$L"] },
  { args: ["-b", "1000", "$L"], says: /1000 is not a sector size/ },
  { args: ["-d", "$L"] },
  { args: ["--detach", "$L", "-b", "2048"] },
  { args: ["-d", "$L", "/dev/null"], says: /^mountkit: detach \/dev\/null: \/dev\/null is a character device, not a loop device/ },
  { args: ["-d", "$L", "$L"], says: /^mountkit: detach \/dev\/loop\d+: ioctl\(LOOP_CLR_FD\): ENXIO/ },
  { args: ["-d", "/dev/null", "$L"], says: /^mountkit: losetup: \/dev\/null is not a loop device/ },
  { args: ["-r", "-b", "1024", "$L"], says: /are for setting up a device/ },
  { args: ["--direct-io", "-r", "$L"], says: /are for setting up a device/ },
];

describe("changes to a device (-c, -d, --direct-io DEV, -b DEV): the same effect, the same exit", () => {
  test.each(CHANGES.map((row) => [row.args.join(" "), row] as const))("%s", (_name, row) => {
    compareSides((run) => {
      try {
        truncateSync(s.path("d.img"), 2 * MiB);
        const device = must(["-f", "--show", ...(row.setup ?? []), s.path("d.img")]);
        if (row.grow) truncateSync(s.path("d.img"), 3 * MiB);
        const argv = argsOf(row.args.map((a) => a.replace("$L", device)));
        const result = run(argv);
        const attached = loopDevicesOf(s.path("d.img")).sysfs.includes(device);
        const state = attached ? { size: loopSysfs(device, "size"), dio: loopSysfs(device, "loop/dio"), sector: loopSysfs(device, "queue/logical_block_size") } : "detached";
        return { argv, result, state };
      } finally {
        release("d.img");
      }
    }, row.says);
  });
});

describe("-D, --detach-all: every device of the machine, so run with a seam that lists this test's own only", () => {
  /** the seam: /sys/block lists only mine, and no device but mine can be opened to be detached */
  const onlyMine = (mine: readonly string[], refuse?: string): Syscalls => ({
    ...libcSyscalls,
    readDirFd: (fd, path) => (path === "/sys/block" ? mine.map((d) => d.slice("/dev/".length)) : libcSyscalls.readDirFd(fd, path)),
    openPath: (path) => {
      if (!mine.includes(path) || path === refuse) throw new SyscallError("open(2)", Errno.EBUSY, [path]);
      return libcSyscalls.openPath(path);
    },
  });
  const io = () => {
    const said = { out: "", err: "" };
    return { said, io: { out: (text: string) => void (said.out += text), err: (text: string) => void (said.err += text) } };
  };

  test("each device listed is detached; nothing printed, exit 0", () => {
    try {
      const mine = [must(["-f", "--show", s.path("c.img")]), must(["-f", "--show", "-r", s.path("c.img")])];
      const { said, io: out } = io();
      expect(losetupCommand(["-D"], out, { sys: onlyMine(mine) })).toBe(0);
      expect(said).toEqual({ out: "", err: "" });
      expect(loopDevicesOf(s.path("c.img"))).toEqual({ sysfs: [], losetup: [] });
      // a.img's and b.img's devices were not listed: they stay
      expect(attachments("a.img")).toHaveLength(1);
      expect(attachments("b.img")).toHaveLength(1);
    } finally {
      release("c.img");
    }
  });

  test("a device that cannot be detached is said, the others detached all the same; exit 1", () => {
    try {
      const mine = [must(["-f", "--show", s.path("c.img")]), must(["-f", "--show", s.path("c.img")])];
      const { said, io: out } = io();
      expect(losetupCommand(["--detach-all"], out, { sys: onlyMine(mine, mine[0]) })).toBe(1);
      expect(said.out).toBe("");
      expect(said.err).toBe(`mountkit: detach ${mine[0]}: open(2): EBUSY (Device or resource busy)\n`);
      expect(loopDevicesOf(s.path("c.img")).sysfs).toEqual([mine[0]!]);
    } finally {
      release("c.img");
    }
  });
});

test("the link's stdout escapes a backing file's control characters, as its other output does", () => {
  // a name with a newline would make a row of its own in the table: libsmartcols' \x0a
  const odd = "odd\nname.img";
  writeFileSync(s.path(odd), new Uint8Array(MiB));
  try {
    must(["-f", s.path(odd)]);
    const args = ["-l", "-n", "-O", "BACK-FILE", "-j", odd];
    expectSame(args, util(args), linked(args));
    expect(linked(args).stdout).toBe(`${s.dir}/odd\\x0aname.img\n`);
  } finally {
    detachLoopDevicesOf(s.path(odd));
    expect(loopDevicesOf(s.path(odd)).sysfs).toEqual([]);
  }
});
