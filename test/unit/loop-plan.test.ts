// Loop mount plans and util-linux sizes. Pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import type { LoopMountStep } from "../../src/plan/loop-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { SourceKind } from "../../src/plan/mount-request.ts";
import { lookupOption } from "../../src/plan/option-table.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { attachedLoopNames, loopRangeRelation, reuseShortfalls } from "../../src/plan/loop-reuse.ts";
import { checkSectorSize, loopShownBytes, loopSizeProblem } from "../../src/plan/loop-size.ts";
import { formatLoopSetup, type LoopSetup } from "../../src/plan/loop-step.ts";
import { kernelLoopNumber, LOOP_NUMBER_MAX } from "../../src/plan/loop.ts";
import { partitionNames } from "../../src/plan/proc-partitions.ts";
import { parseSize } from "../../src/plan/size.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const fd = factsForVersion("6.18.0");
const legacy = factsForVersion("6.18.0", { strategy: "legacy" });
const plan = (options: string[], facts = fd) => planMount({ type: "ext4", source: "/images/a.img", options }, "/mnt", facts);

describe("sizes, as util-linux's parse_size reads them (each checked against losetup 2.38 here)", () => {
  test.each([
    ["4096", 4096],
    ["0", 0],
    ["0x1000", 4096],
    ["0X10", 16],
    ["010", 8], // a leading 0 is octal, as strtoumax reads it
    ["00", 0],
    ["010K", 8192],
    ["0x1K", 1024],
    [" \t4096", 4096], // leading blanks, and a plus sign, as strtoumax takes them
    ["+4096", 4096],
    ["1K", 1024],
    ["1k", 1024],
    ["1KiB", 1024],
    ["1Kib", 1024],
    ["1MiB", 1 << 20],
    ["1g", 2 ** 30],
    ["2KB", 2000],
    ["1kb", 1000],
    ["1Kb", 1000],
    ["1P", 2 ** 50],
    ["1.5M", 1572864],
    ["1.5m", 1572864],
    ["1.5MiB", 1572864],
    ["1.5KB", 1500],
    ["0.5K", 512],
    ["1.000K", 1024],
    ["1.M", 1 << 20],
  ] as const)("%j is %d bytes", (text, bytes) => {
    expect(parseSize("offset", text)).toBe(bytes);
  });

  test("a fraction is exact (util-linux rounds it digit by digit, and reads 1.10M as 2 MiB)", () => {
    expect(parseSize("offset", "1.25K")).toBe(1280); // losetup: 1279
    expect(parseSize("offset", "1.10M")).toBe(1153433); // losetup: 2097152
  });

  test("anything else is a PlanError naming the option, as losetup refuses it", () => {
    for (const bad of ["", "-1", " -1", "1.5", "1.", "1.0", "08", "0x", "12q", "M", "7B", "1KIB", "1 M B", "4096 ", "1.5.5M", ".5M", "0x1.8K", "010.5K"]) {
      expect(() => parseSize("sizelimit", bad)).toThrow(`sizelimit: ${JSON.stringify(bad)} is not a size in bytes (e.g. 4096, 1MiB, 2KB)`);
    }
    expect(() => parseSize("offset", "9E")).toThrow(/too large/);
    expect(() => parseSize("offset", "1Z")).toThrow(/too large/);
    expect(() => parseSize("offset", "99999999999999999999")).toThrow(/too large/);
  });
});

describe("the loop planner", () => {
  test("containerd's defaults: autoclear, LOOP_CONFIGURE on 5.8+, the fs data left alone", () => {
    const [step] = plan(["loop", "noatime", "errors=remount-ro"]).steps as [LoopMountStep];
    expect(step).toEqual({
      op: "loop-mount",
      loop: { file: "/images/a.img", readOnly: false, autoclear: true, directIo: false, offset: 0, sizeLimit: 0, method: "configure", readOnlyFallback: true },
      target: "/mnt",
      fstype: "ext4",
      flags: MS.NOATIME,
      data: "errors=remount-ro",
      undoable: true,
    });
  });

  test("ro, direct-io, offset= and sizelimit= are loop options, not fs data", () => {
    const [step] = plan(["loop", "ro", "direct-io", "offset=1MiB", "sizelimit=0x800000", "data=ordered"]).steps as [LoopMountStep];
    expect(step.loop).toMatchObject({ readOnly: true, directIo: true, offset: 1 << 20, sizeLimit: 8 << 20, readOnlyFallback: false });
    expect(step.data).toBe("data=ordered");
    expect(step.flags).toBe(MS.RDONLY);
  });

  test("the legacy ioctls before 5.8, or when MOUNTKIT_STRATEGY=legacy", () => {
    expect((plan(["loop"], legacy).steps[0] as LoopMountStep).loop.method).toBe("set-fd");
    expect((plan(["loop"], factsForVersion("5.4.0")).steps[0] as LoopMountStep).loop.method).toBe("set-fd");
  });

  test("LOOP_CONFIGURE on 5.8-6.7 kernels too, whose overlay strategy is legacy", () => {
    for (const release of ["5.8.0", "5.10.0", "6.1.0", "6.6.0"]) {
      const facts = factsForVersion(release);
      expect(facts.strategy).toBe("legacy");
      expect((plan(["loop"], facts).steps[0] as LoopMountStep).loop.method).toBe("configure");
    }
  });

  test("propagation follows as its own step", () => {
    const steps = plan(["loop", "rprivate"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["loop-mount", "mount"]);
    expect((steps[1] as MountStep).flags).toBe(MS.PRIVATE | MS.REC);
  });

  test("a remount with loop is a plain remount", () => {
    expect(plan(["loop", "remount", "ro"]).steps[0]!.op).toBe("mount");
  });

  test("refusals: no source, with bind (no type is read from the device: probe-plan.test.ts)", () => {
    expect(() => planMount({ type: "", source: "", options: ["loop"] }, "/m", fd)).toThrow(PlanError);
    expect(() => planMount({ type: "ext4", source: "", options: ["loop"] }, "/m", fd)).toThrow(/image file/);
    expect(() => plan(["loop", "bind"])).toThrow(/loop and bind/);
  });

  test("dry run shows each call, flags by name", () => {
    const step = plan(["loop", "ro", "direct-io", "offset=4096"]).steps[0]!;
    expect(formatStep(step).split("\n")).toEqual([
      'control = open("/dev/loop-control", O_RDWR|O_CLOEXEC); flock(control, LOCK_EX)   (one look-and-attach at a time among mountkit processes)',
      '(a loop device attached to "/images/a.img" already, at offset 4096, sizelimit 0, is mounted instead: loopfd = open it; one over an overlapping range is refused)',
      'backing = open("/images/a.img", O_RDONLY|O_CLOEXEC)',
      "N = ioctl(control, LOOP_CTL_GET_FREE)",
      'loopfd = open("/dev/loopN", O_RDONLY|O_CLOEXEC)',
      'ioctl(loopfd, LOOP_CONFIGURE, {fd: backing, block_size: 0, info: {lo_offset: 4096, lo_sizelimit: 0, lo_flags: LO_FLAGS_READ_ONLY|LO_FLAGS_AUTOCLEAR|LO_FLAGS_DIRECT_IO, lo_file_name: "/images/a.img"}})',
      "close(backing)",
      "close(control)   (its lock goes with it)",
      'mount("/dev/loopN", "/mnt", "ext4", MS_RDONLY, NULL)',
      "close(loopfd)",
    ]);
    const legacyLines = formatStep(plan(["loop", "direct-io"], legacy).steps[0]!).split("\n");
    expect(legacyLines.slice(6, 9)).toEqual([
      "ioctl(loopfd, LOOP_SET_FD, backing)",
      'ioctl(loopfd, LOOP_SET_STATUS64, {lo_offset: 0, lo_sizelimit: 0, lo_flags: LO_FLAGS_AUTOCLEAR, lo_file_name: "/images/a.img"})',
      "ioctl(loopfd, LOOP_SET_DIRECT_IO, 1)",
    ]);
    expect(describeStep(step)).toMatchObject({ op: "loop-mount", loop: { flagNames: "LO_FLAGS_READ_ONLY|LO_FLAGS_AUTOCLEAR|LO_FLAGS_DIRECT_IO" } });
  });
});

describe("reusing an attached device (util-linux's overlap test)", () => {
  const MiB = 1 << 20;
  test.each([
    [{ offset: 0, sizeLimit: 0 }, { offset: 0, sizeLimit: 0 }, "same"],
    [{ offset: MiB, sizeLimit: 8 * MiB }, { offset: MiB, sizeLimit: 8 * MiB }, "same"],
    // the same range written another way is not "same": util-linux compares the values given
    [{ offset: 0, sizeLimit: 0 }, { offset: 0, sizeLimit: 16 * MiB }, "overlapping"],
    [{ offset: 0, sizeLimit: 0 }, { offset: 8 * MiB, sizeLimit: 0 }, "overlapping"],
    [{ offset: 0, sizeLimit: 8 * MiB }, { offset: 4 * MiB, sizeLimit: 0 }, "overlapping"],
    [{ offset: 4 * MiB, sizeLimit: 0 }, { offset: 0, sizeLimit: 8 * MiB }, "overlapping"],
    [{ offset: 0, sizeLimit: 8 * MiB }, { offset: 8 * MiB, sizeLimit: 0 }, "apart"],
    [{ offset: 8 * MiB, sizeLimit: 0 }, { offset: 0, sizeLimit: 8 * MiB }, "apart"],
    [{ offset: 8 * MiB, sizeLimit: MiB }, { offset: 0, sizeLimit: 8 * MiB }, "apart"],
    [{ offset: 8 * MiB, sizeLimit: MiB }, { offset: 0, sizeLimit: 8 * MiB + 1 }, "overlapping"],
  ] as const)("attached %o, asked %o: %s", (attached, wanted, relation) => {
    expect(loopRangeRelation(attached, wanted)).toBe(relation);
  });

  test("the attached devices are the loopN lines of /proc/partitions (no partitions, no other disks)", () => {
    const text = [
      "major minor  #blocks  name",
      "",
      " 254        0  268435456 vda",
      "   7        0       8192 loop0",
      " 259        0       4096 loop0p1",
      "   7       12      16384 loop12",
      " 252        0    4021240 zram0",
      "",
    ].join("\n");
    expect(attachedLoopNames(text)).toEqual(["loop0", "loop12"]);
    expect(partitionNames(text)).toEqual(["vda", "loop0", "loop0p1", "loop12", "zram0"]);
    expect(attachedLoopNames("major minor  #blocks  name\n\n")).toEqual([]);
  });
});

describe("loop=/dev/loopN (util-linux)", () => {
  test("the device named is used, no LOOP_CTL_GET_FREE; it makes a loop mount of any type", () => {
    const step = plan(["loop=/dev/loop5", "ro"]).steps[0] as LoopMountStep;
    expect(step.loop.device).toBe("/dev/loop5");
    expect(step.data).toBeNull();
    const lines = formatStep(step).split("\n");
    expect(lines.some((line) => line.includes("LOOP_CTL_GET_FREE"))).toBe(false);
    expect(lines).toContain('loopfd = open("/dev/loop5", O_RDONLY|O_CLOEXEC)');
    expect(lines).toContain('mount("/dev/loop5", "/mnt", "ext4", MS_RDONLY, NULL)');
    expect((plan(["loop"]).steps[0] as LoopMountStep).loop.device).toBeUndefined();
  });

  test("anything but a loop device is refused before any syscall", () => {
    for (const device of ["/dev/sda", "loop5", "/dev/loop", "/dev/loop5p1"]) {
      expect(() => plan([`loop=${device}`])).toThrow(new RegExp(`loop=${device} is not a loop device`));
    }
  });
});

describe("the number LOOP_CTL_ADD may add for a named device (losetup DEV FILE)", () => {
  test("only the kernel's own name: /dev/loopN, no leading zero, N within the minors' 20 bits", () => {
    const cases: [string, number | undefined][] = [
      ["/dev/loop0", 0],
      ["/dev/loop7", 7],
      ["/dev/loop100", 100],
      [`/dev/loop${LOOP_NUMBER_MAX}`, 1048575],
      [`/dev/loop${LOOP_NUMBER_MAX + 1}`, undefined],
      ["/dev/loop4294967301", undefined], // 2^32 + 5: the kernel's int would read 5
      ["/dev/loop07", undefined], // losetup's sscanf adds loop7 for it, a device it does not open
      ["/dev/loop00", undefined],
      ["loop7", undefined],
      ["/dev/loop/7", undefined],
      ["/dev/loop7p1", undefined],
      ["/dev/loop", undefined],
      ["/dev/loop-control", undefined],
    ];
    expect(cases.map(([device]) => [device, kernelLoopNumber(device)])).toEqual(cases);
  });
});

describe("offset= and sizelimit= ask for a loop device without loop (libmount's mnt_context_is_loopdev)", () => {
  const only = (m: { type: string; source: string; options: string[] }, env = {}) => planMount(m, "/mnt", fd, env).steps[0]!;

  test("a typed mount of any source, a file or a block device, becomes a loop mount", () => {
    for (const [source, kind] of [["/images/a.img", "file"], ["/dev/sdb", "block"], ["/images/a.img", "other"]] as const) {
      const step = only({ type: "ext4", source, options: ["offset=1MiB", "errors=remount-ro"] }, { sourceKind: () => kind }) as LoopMountStep;
      expect(step.op).toBe("loop-mount");
      expect(step.loop).toMatchObject({ file: source, offset: 1 << 20, sizeLimit: 0, autoclear: true });
      expect(step.data).toBe("errors=remount-ro"); // never the filesystem's data
    }
    const sized = only({ type: "squashfs", source: "/dev/sdb", options: ["sizelimit=0x800000"] }) as LoopMountStep;
    expect(sized.loop).toMatchObject({ file: "/dev/sdb", offset: 0, sizeLimit: 8 << 20 });
  });

  test("with no type, the type is read from the loop device, as with loop", () => {
    const step = only({ type: "", source: "/dev/sdb", options: ["offset=4096"] }, { sourceKind: () => "block" }) as LoopMountStep;
    expect(step).toMatchObject({ op: "loop-mount", fstype: null, loop: { file: "/dev/sdb", offset: 4096 } });
  });

  test("the last of each wins; an entry packing several options is split (offset=4096,ro is two)", () => {
    const step = only({ type: "ext4", source: "/images/a.img", options: ["offset=4096,ro", "offset=8192", "sizelimit=1M,sizelimit=2M"] }) as LoopMountStep;
    expect(step.loop).toMatchObject({ offset: 8192, sizeLimit: 2 << 20, readOnly: true });
    expect(step.flags).toBe(MS.RDONLY);
    expect(classifyOptions(["loop=/dev/loop5,ro"])).toMatchObject({ loopDevice: "/dev/loop5", flags: MS.RDONLY });
    expect(classifyOptions(["offset=1M", "sizelimit=2M"])).toMatchObject({ loop: true, loopOffset: "1M", loopSizeLimit: "2M", data: [] });
  });

  test("a pseudo or network filesystem is no file to loop: a PlanError naming the option (mount(8) drops it unsaid)", () => {
    for (const [type, options, words] of [
      ["tmpfs", ["offset=1048576"], "offset=1048576"],
      ["tmpfs", ["size=1m", "sizelimit=1M"], "sizelimit=1M"],
      ["overlay", ["loop"], "loop"],
      ["proc", ["offset=0", "sizelimit=4096"], "offset=0,sizelimit=4096"],
      ["nfs4", ["offset=4096"], "offset=4096"],
      ["9p", ["loop=/dev/loop3"], "loop=/dev/loop3"],
    ] as const) {
      const err = caught(() => planMount({ type, source: "x", options: [...options] }, "/mnt", fd)) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.message).toBe(`mount x on /mnt: ${type} is not mounted from a file or block device: no loop device for ${words}`);
      expect(err.hint).toContain(`leave out ${words} (mount(8) ignores ${words.includes(",") ? "them" : "it"} for ${type})`);
    }
  });

  test("an image file under a type list led by a pseudo filesystem (-t tmpfs,ext4): a PlanError naming the types and the file, not a loop option nobody gave", () => {
    const err = caught(() => planMount({ type: "tmpfs,ext4", source: "/images/a.img", options: [] }, "/mnt", fd, { sourceKind: () => "file" })) as PlanError;
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toBe("mount /images/a.img on /mnt: tmpfs is not mounted from a file, and /images/a.img is an image file that ext4 would be mounted from through a loop device");
    expect(err.message).not.toContain("no loop device for loop");
    expect(err.hint).toBe("give the one type meant: -t tmpfs, or -t ext4 for the image");
  });

  test("a remount drops them, as mount(8): no loop device, nothing for the kernel", () => {
    const step = only({ type: "", source: "", options: ["remount", "ro", "offset=4096"] }) as MountStep;
    expect(step).toMatchObject({ op: "mount", data: null });
  });

  test("a FUSE mount refuses them by name, as it refuses loop", () => {
    expect(() => planMount({ type: "fuse.sshfs", source: "h:/", options: ["offset=4096"] }, "/mnt", fd)).toThrow(/offset=4096 cannot be used with a FUSE mount helper/);
  });

  test("features --options lists them", () => {
    expect(lookupOption("offset=1")).toMatchObject({ behaviour: { kind: "feature", feature: "loop-offset" }, origin: "util-linux" });
    expect(lookupOption("sizelimit=1")).toMatchObject({ behaviour: { kind: "feature", feature: "loop-sizelimit" }, origin: "util-linux" });
  });
});

describe("what a device shows of its file (losetup's size warnings)", () => {
  const MiB = 1 << 20;
  test.each([
    [8 * MiB, 0, 0, 8 * MiB, undefined],
    [8 * MiB, MiB, 0, 7 * MiB, undefined],
    [8 * MiB, 0, 4 * MiB, 4 * MiB, undefined],
    [8 * MiB, 7 * MiB, 4 * MiB, MiB, undefined], // a size limit past the end shows the rest, as the kernel's get_size
    [8 * MiB, 16, 0, 8 * MiB - 16, "the last 496 bytes of /i do not fill a 512-byte sector: the loop device leaves them out"],
    [8 * MiB, 0, 1000, 1000, "the last 488 bytes of /i do not fill a 512-byte sector: the loop device leaves them out"],
    [1000, 0, 0, 1000, "the last 488 bytes of /i do not fill a 512-byte sector: the loop device leaves them out"],
    [100, 0, 0, 100, "the loop device shows 100 bytes of /i, less than one 512-byte sector: it is empty"],
    [0, 0, 0, 0, "the loop device shows 0 bytes of /i, less than one 512-byte sector: it is empty"],
    [8 * MiB, 8 * MiB, 0, 0, "offset=8388608 is at or past the end of /i (8388608 bytes): the loop device is empty"],
    [8 * MiB, 100_000_000, 0, 0, "offset=100000000 is at or past the end of /i (8388608 bytes): the loop device is empty"],
  ] as const)("a %d-byte file at offset %d, sizelimit %d: %d bytes", (fileSize, offset, sizeLimit, shown, problem) => {
    expect(loopShownBytes(fileSize, { offset, sizeLimit })).toBe(shown);
    expect(loopSizeProblem("/i", fileSize, { offset, sizeLimit })).toBe(problem);
  });
});

describe("sector sizes (losetup -b)", () => {
  test("0 (the kernel's default) and powers of two from 512 pass; the largest is the kernel's to refuse", () => {
    for (const bytes of [0, 512, 1024, 4096, 65536, 1 << 20]) expect(checkSectorSize(bytes, String(bytes))).toBe(bytes);
    for (const bytes of [1, 256, 1000, 3072, 4095]) {
      const err = caught(() => checkSectorSize(bytes, String(bytes))) as PlanError;
      expect(err).toBeInstanceOf(PlanError);
      expect(err.message).toBe(`sector-size: ${bytes} is not a sector size`);
    }
  });

  test("the size warnings count in the sector size given: reads stop at the last whole one", () => {
    expect(loopSizeProblem("/i", 6000, { offset: 0, sizeLimit: 0 }, 4096)).toBe("the last 1904 bytes of /i do not fill a 4096-byte sector: the loop device leaves them out");
    expect(loopSizeProblem("/i", 3000, { offset: 0, sizeLimit: 0 }, 4096)).toBe("the loop device shows 3000 bytes of /i, less than one 4096-byte sector: it is empty");
    expect(loopSizeProblem("/i", 8192, { offset: 0, sizeLimit: 0 }, 4096)).toBeUndefined();
    expect(loopSizeProblem("/i", 6000, { offset: 0, sizeLimit: 0 }, 0)).toBe("the last 368 bytes of /i do not fill a 512-byte sector: the loop device leaves them out");
  });

  test("the calls shown: LOOP_CONFIGURE's block_size, or LOOP_SET_BLOCK_SIZE after the status and before direct I/O", () => {
    const setup: LoopSetup = { file: "/i", readOnly: false, autoclear: false, directIo: true, offset: 0, sizeLimit: 0, sectorSize: 4096, method: "configure", readOnlyFallback: false };
    expect(formatLoopSetup(setup)).toContain(
      'ioctl(loopfd, LOOP_CONFIGURE, {fd: backing, block_size: 4096, info: {lo_offset: 0, lo_sizelimit: 0, lo_flags: LO_FLAGS_DIRECT_IO, lo_file_name: "/i"}})',
    );
    const legacyLines = formatLoopSetup({ ...setup, method: "set-fd" });
    expect(legacyLines.slice(legacyLines.indexOf("ioctl(loopfd, LOOP_SET_FD, backing)") + 2, -2)).toEqual(["ioctl(loopfd, LOOP_SET_BLOCK_SIZE, 4096)", "ioctl(loopfd, LOOP_SET_DIRECT_IO, 1)"]);
    expect(formatLoopSetup({ ...setup, sectorSize: undefined, method: "set-fd" }).some((line) => line.includes("LOOP_SET_BLOCK_SIZE"))).toBe(false);
  });
});

describe("a device reused as it is: what it lacks of the request", () => {
  const none = { directIo: false, partscan: false, sectorSize: 0 };
  test.each([
    [none, { directIo: false, partscan: false, sectorSize: 512 }, []],
    [{ ...none, directIo: true }, { directIo: false, partscan: true, sectorSize: 512 }, ["direct I/O"]],
    [{ directIo: true, partscan: true, sectorSize: 4096 }, { directIo: false, partscan: false, sectorSize: 512 }, ["direct I/O", "a partition scan", "4096-byte sectors (it has 512)"]],
    // what it has beyond the request is no shortfall
    [none, { directIo: true, partscan: true, sectorSize: 4096 }, []],
    [{ ...none, sectorSize: 4096 }, { directIo: false, partscan: false, sectorSize: 4096 }, []],
  ] as const)("asked %o, found %o: %o", (asked, found, missing) => {
    expect(reuseShortfalls(asked, found)).toEqual([...missing]);
  });
});

describe("erofs's device= files: a loop device each, beside the image's (containerd's erofs mount handler)", () => {
  const kinds: Record<string, SourceKind> = { "/s/fsmeta.erofs": "file", "/s/1.erofs": "file", "/s/2.erofs": "small-file", "/dev/vdb": "block" };
  const env = { sourceKind: (path: string) => kinds[path] ?? "missing" };
  const erofs = (options: string[], type = "erofs") => planMount({ type, source: "/s/fsmeta.erofs", options }, "/mnt", fd, env).steps[0] as LoopMountStep;

  test("the files get read-only autoclear loop devices; every device= goes back at the end in its order, a block device as given", () => {
    const step = erofs(["ro", "loop", "device=/s/1.erofs", "cache_strategy=readaround", "device=/dev/vdb", "device=/s/2.erofs"]);
    expect(step.data).toBe("cache_strategy=readaround");
    expect(step.devices!.map((d) => [d.path, d.loop?.readOnly, d.loop?.autoclear])).toEqual([
      ["/s/1.erofs", true, true],
      ["/dev/vdb", undefined, undefined],
      ["/s/2.erofs", true, true],
    ]);
    const shown = formatStep(step);
    expect(shown).toContain('mount("/dev/loopN", "/mnt", "erofs", MS_RDONLY, "cache_strategy=readaround,device=/dev/loopD1,device=/dev/vdb,device=/dev/loopD2")');
    expect(shown).toContain('devfd2 = /dev/loopD2: "/s/2.erofs" attached as the image is, O_RDONLY, LO_FLAGS_READ_ONLY|LO_FLAGS_AUTOCLEAR');
    // attached under the image's lock: before close(control); closed once the mount holds them
    const lines = shown.split("\n");
    expect(lines.findIndex((l) => l.startsWith("devfd2 ="))).toBeLessThan(lines.findIndex((l) => l.startsWith("close(control)")));
    expect(lines.slice(-2)).toEqual(["close(devfd1)", "close(devfd2)"]);
    expect((describeStep(step) as { args: { data: string } }).args.data).toBe("cache_strategy=readaround,device=/dev/loopD1,device=/dev/vdb,device=/dev/loopD2");
  });

  test("no device= file, or not erofs: the data as given, no devices", () => {
    expect(erofs(["ro", "loop", "device=/dev/vdb"])).not.toHaveProperty("devices");
    expect(erofs(["ro", "loop", "device=/s/missing"]).data).toBe("device=/s/missing");
    const ext4 = erofs(["ro", "loop", "device=/s/1.erofs"], "ext4");
    expect(ext4).not.toHaveProperty("devices");
    expect(ext4.data).toBe("device=/s/1.erofs");
  });

  test("the page-size check counts the loop devices' names, not the files' paths", () => {
    // 100 layers of 90-byte paths are 9.7 KB of device=PATH, far over a page; as /dev/loopN names they fit
    const paths = Array.from({ length: 100 }, (_, i) => `/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/${String(i).padStart(5, "0")}/layer.erofs`);
    const many = { sourceKind: () => "file" as SourceKind };
    const step = planMount({ type: "erofs", source: "/s/fsmeta.erofs", options: ["ro", "loop", ...paths.map((p) => `device=${p}`)] }, "/mnt", fd, many).steps[0] as LoopMountStep;
    expect(step.devices).toHaveLength(100);
  });
});
