// A link named losetup: util-linux 2.38.1 losetup(8)'s command line read into a request
// (losetup-args.ts), and its output (losetup-output.ts). What the real binary does with each
// command line was read off /usr/sbin/losetup 2.38.1; the integration parity test runs both.
import { describe, expect, test } from "bun:test";
import { parseArgsInOrder } from "../../src/cli/args.ts";
import { LOSETUP_FLAGS, losetupRequest, type LosetupRequest } from "../../src/cli/commands/losetup-args.ts";
import { losetupLine, losetupList } from "../../src/cli/losetup-output.ts";
import { DEFAULT_LOOP_COLUMNS } from "../../src/cli/loop-list-output.ts";
import { losetupCommand } from "../../src/cli/commands/losetup.ts";
import { Errno } from "../../src/errno.ts";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { LOOP_CONTROL_PATH } from "../../src/sys/loop.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { loopDevice as device } from "../support/loop-device.ts";

/** the request, with /dev/loopN the only loop devices there are */
const request = (...argv: string[]): LosetupRequest => losetupRequest(argv, (path) => /^\/dev\/loop\d+$/.test(path));
const refusal = (...argv: string[]) => caught(() => request(...argv));

const SETUP = { readOnly: false, partscan: false, directIo: false, noOverlap: false, offset: 0, sizeLimit: 0, sectorSize: 0 };
const TABLE = { columns: DEFAULT_LOOP_COLUMNS, json: false, raw: false, headings: true };

describe("which action a command line asks, as losetup 2.38 chooses it", () => {
  test.each([
    // no argument, or only -J or --raw: the table of every device
    [[], { kind: "list", file: undefined, offset: undefined, format: TABLE }],
    [["-J"], { kind: "list", file: undefined, offset: undefined, format: { ...TABLE, json: true } }],
    [["--raw"], { kind: "list", file: undefined, offset: undefined, format: { ...TABLE, raw: true } }],
    [["-l", "-n"], { kind: "list", file: undefined, offset: undefined, format: { ...TABLE, headings: false } }],
    // -a and -j: the old one-line format, -J or not, unless --list (or -O) asks for the table
    [["-a"], { kind: "list", file: undefined, offset: undefined, format: undefined }],
    [["-J", "-a"], { kind: "list", file: undefined, offset: undefined, format: undefined }],
    [["-a", "-l", "-J"], { kind: "list", file: undefined, offset: undefined, format: { ...TABLE, json: true } }],
    [["-j", "x.img", "-o", "1K"], { kind: "list", file: "x.img", offset: 1024, format: undefined }],
    [["-j", "x.img", "-n", "-O", "NAME,back-file"], { kind: "list", file: "x.img", offset: undefined, format: { ...TABLE, columns: ["NAME", "BACK-FILE"], headings: false } }],
    [["-O", "+MAJ:MIN", "-a"], { kind: "list", file: undefined, offset: undefined, format: { ...TABLE, columns: [...DEFAULT_LOOP_COLUMNS, "MAJ:MIN"] } }],
    // extra operands of -a and -j are not read
    [["-a", "foo"], { kind: "list", file: undefined, offset: undefined, format: undefined }],
    // one operand: that device, or a change to it
    [["/dev/loop3"], { kind: "show", device: "/dev/loop3", format: undefined }],
    [["-l", "/dev/loop3"], { kind: "show", device: "/dev/loop3", format: TABLE }],
    [["--direct-io", "/dev/loop3"], { kind: "set-direct-io", device: "/dev/loop3", on: true }],
    [["--direct-io=off", "/dev/loop3"], { kind: "set-direct-io", device: "/dev/loop3", on: false }],
    [["-b", "4096", "/dev/loop3"], { kind: "set-sector-size", device: "/dev/loop3", bytes: 4096 }],
    [["-d", "/dev/loop3", "/dev/loop4"], { kind: "detach", devices: ["/dev/loop3", "/dev/loop4"] }],
    // an earlier -d's device is forgotten, as losetup forgets it
    [["-d", "/dev/loop3", "-d", "/dev/loop5"], { kind: "detach", devices: ["/dev/loop5"] }],
    // -b is no set-up flag: ignored by -d
    [["-b", "2048", "-d", "/dev/loop3"], { kind: "detach", devices: ["/dev/loop3"] }],
    [["-D", "foo"], { kind: "detach-all" }],
    [["-c", "/dev/loop3"], { kind: "set-capacity", device: "/dev/loop3" }],
    [["-f"], { kind: "find" }],
    // -O is in losetup's exclusion table with -f, out of the order its check walks: never refused
    [["-f", "-O", "NAME"], { kind: "find" }],
    // set-up
    [["-f", "--show", "x.img"], { kind: "attach", file: "x.img", device: undefined, setup: SETUP, show: true }],
    [["x.img", "-f"], { kind: "attach", file: "x.img", device: undefined, setup: SETUP, show: false }],
    [
      ["-P", "-r", "-o", "0x200", "--sizelimit", "1MiB", "-b", "4K", "--direct-io=on", "-L", "/dev/loop9", "x.img"],
      { kind: "attach", file: "x.img", device: "/dev/loop9", setup: { readOnly: true, partscan: true, directIo: true, noOverlap: true, offset: 512, sizeLimit: 1048576, sectorSize: 4096 }, show: false },
    ],
    // DEV FILE: DEV is not checked (losetup adds a device it does not have); more operands are not read
    [["/dev/loop200", "x.img", "more"], { kind: "attach", file: "x.img", device: "/dev/loop200", setup: SETUP, show: false }],
    [["-h", "--bogus"], { kind: "help" }],
    [["-a", "-V", "-j", "x"], { kind: "version" }],
  ] as [string[], LosetupRequest][])("%j", (argv, expected) => {
    expect(request(...argv)).toEqual(expected);
  });
});

describe("what losetup refuses (exit 1)", () => {
  test.each([
    [["--bogus", "-h"], /unknown option --bogus/],
    [["-Z"], /unknown option -Z/],
    [["-d"], /option -d needs a value/],
    [["--det", "/dev/loop0"], /option --det is ambiguous/],
    [["-n"], /no loop device specified/],
    [["/dev/loop0", "-r"], /--read-only.* are for setting up a device/],
    [["-r"], /no loop device specified/],
    [["-f", "--show"], /are for setting up a device/],
    [["-f", "x", "y"], /unexpected arguments: y/],
    [["-a", "-j", "x"], /--all and --associated are mutually exclusive/],
    [["-d", "/dev/loop0", "-c", "/dev/loop0"], /--detach and --set-capacity are mutually exclusive/],
    [["-f", "-l"], /--find and --list are mutually exclusive/],
    [["-J", "--raw", "-l"], /--json and --raw are mutually exclusive/],
    [["-o", "512", "/dev/loop0"], /--offset is for setting up a device/],
    [["-a", "-o", "512"], /--offset is for setting up a device/],
    [["-r", "-b", "1024", "/dev/loop0"], /are for setting up a device/],
    [["-f", "-o", "abc", "x"], /offset: "abc" is not a size/],
    [["--direct-io=maybe", "/dev/loop0"], /--direct-io=maybe: give on or off/],
    [["-l", "-O", "bogus"], /losetup: unknown column: bogus/],
    [["-l", "-O", ""], /no column named/],
    [["-l", "-O", "+"], /unknown column/],
    [["-l", "-O", Array(25).fill("NAME").join(",")], /25 columns, more than the 24/],
    [["-e", "aes", "-f", "x"], /encryption is not supported/],
  ])("%j", (argv, message) => {
    const err = refusal(...argv);
    expect(err).toBeInstanceOf(PlanError);
    expect((err as Error).message).toMatch(message);
  });

  test("a DEV that is no loop device, for -d, -c and DEV alone, is refused as the flag is read: before -h after it", () => {
    for (const argv of [["-d", "/dev/null", "-h"], ["-c", "x.img"], ["x.img"], ["-l", "/dev/sda"], ["--direct-io", "/dev/null"]]) {
      const err = refusal(...argv);
      expect(err).toBeInstanceOf(PlanError);
      expect((err as Error).message).toMatch(/is not a loop device/);
    }
    expect(request("-h", "-d", "/dev/null")).toEqual({ kind: "help" });
  });

  test("the parser tells where its first problem came: the flags before it are acted on (getopt's order)", () => {
    const { args, error, errorAt } = parseArgsInOrder("losetup", ["-a", "--bogus", "-h"], LOSETUP_FLAGS);
    expect(error?.message).toBe("losetup: unknown option --bogus");
    expect(args.sequence.slice(0, errorAt)).toEqual([["all", ""]]);
    expect(parseArgsInOrder("losetup", ["-a", "-h"], LOSETUP_FLAGS).errorAt).toBe(2);
  });
});

describe("losetup's output", () => {
  test("the old format: the backing device as new_encode_dev makes it, %04d; offset and sizelimit where not 0; [] without the identity", () => {
    expect(losetupLine(device({ backingDevice: "254:0", backingInode: 12 }))).toBe("/dev/loop0: [65024]:12 (/x.img)\n");
    expect(losetupLine(device({ backingDevice: "0:45", backingInode: 7, offset: 512, sizeLimit: 4096 }))).toBe("/dev/loop0: [0045]:7 (/x.img), offset 512, sizelimit 4096\n");
    // a minor past 255: its high bits above the major's
    expect(losetupLine(device({ backingDevice: "259:300", backingInode: 1 }))).toBe(`/dev/loop0: [${44 | (259 << 8) | (256 << 12)}]:1 (/x.img)\n`);
    expect(losetupLine(device({ sizeLimit: 1000 }))).toBe("/dev/loop0: []: (/x.img), sizelimit 1000\n");
  });

  test("--json as 2.38 writes it: libsmartcols' layout, booleans, the device numbers padded; no device an empty array", () => {
    const json = { columns: ["NAME", "MAJ:MIN", "RO", "BACK-INO"], json: true, raw: false, headings: true };
    expect(losetupList([device({ readOnly: true })], json, false)).toBe(
      '{\n   "loopdevices": [\n      {\n         "name": "/dev/loop0",\n         "maj:min": "  7:0  ",\n         "ro": true,\n         "back-ino": null\n      }\n   ]\n}\n',
    );
    expect(losetupList([], json, false)).toBe('{\n   "loopdevices": [\n\n   ]\n}\n');
    expect(losetupList([], TABLE, false)).toBe("");
  });

  test("--raw: cells one space apart, escaped, MAJ:MIN padded as 2.38 pads it; an empty last cell is not padded in a table", () => {
    const raw = { columns: ["MAJ:MIN", "BACK-FILE"], json: false, raw: true, headings: true };
    expect(losetupList([device({ backingFile: "/a b.img" })], raw, false)).toBe("MAJ:MIN BACK-FILE\n\\x20\\x207:0\\x20\\x20 /a\\x20b.img\n");
    const table = { ...TABLE, columns: ["NAME", "SIZELIMIT"] };
    const unattached = { device: "/dev/loop5", majorMinor: "7:5", readOnly: false, sectorSize: 512 };
    expect(losetupList([unattached], table, false)).toBe("NAME       SIZELIMIT\n/dev/loop5 \n");
  });

  test("a device not attached (losetup -l DEV): its name, number, RO and LOG-SEC; AUTOCLEAR and DIO 0, PARTSCAN 1, the rest empty", () => {
    const unattached = { device: "/dev/loop5", majorMinor: "7:5", readOnly: true, sectorSize: 4096 };
    expect(losetupList([unattached], TABLE, false)).toBe("NAME       SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE DIO LOG-SEC\n/dev/loop5                          0  1             0    4096\n");
    const all = { columns: ["OFFSET", "PARTSCAN", "MAJ:MIN", "BACK-MAJ:MIN"], json: true, raw: false, headings: true };
    expect(JSON.parse(losetupList([unattached], all, false))).toEqual({ loopdevices: [{ offset: null, partscan: true, "maj:min": "  7:5  ", "back-maj:min": null }] });
  });
});

describe("-f alone, when no free device can be named: said (losetup's exit 1), /dev/loop-control closed again", () => {
  const run = (sys: Syscalls) => {
    const said = { out: "", err: "" };
    const code = losetupCommand(["-f"], { out: (text) => void (said.out += text), err: (text) => void (said.err += text) }, { sys });
    return { code, said };
  };

  test("LOOP_CTL_GET_FREE refused (a fake seam): the action, the ioctl, its errno", () => {
    const closed: number[] = [];
    const sys: Syscalls = {
      ...libcSyscalls,
      open: (path) => {
        if (path !== LOOP_CONTROL_PATH) throw new Error(`open ${path}: not this test's`);
        return 1000;
      },
      loopCtlGetFree: () => {
        throw new SyscallError("ioctl(LOOP_CTL_GET_FREE)", Errno.ENOSPC, [LOOP_CONTROL_PATH]);
      },
      close: (fd) => void closed.push(fd),
    };
    expect(run(sys)).toEqual({ code: 1, said: { out: "", err: `mountkit: find a free loop device: ioctl(LOOP_CTL_GET_FREE): ENOSPC (No space left on device)\n` } });
    expect(closed).toEqual([1000]);
  });

  test("/dev/loop-control not opened (a fake seam: not root): the action, the open's errno, the file", () => {
    const sys: Syscalls = {
      ...libcSyscalls,
      open: (path) => {
        throw new SyscallError("open(2)", Errno.EACCES, [path]);
      },
    };
    // before, the action took the place of the path: "open(2): EACCES", of no file said
    expect(run(sys)).toEqual({ code: 1, said: { out: "", err: `mountkit: find a free loop device: open(2): EACCES (Permission denied): ${LOOP_CONTROL_PATH}\n` } });
  });
});
