// loop attach, loop set-capacity and loop list beside util-linux losetup 2.38 for what losetup
// offers beyond the basics: -b (sector size), --direct-io[=on|off], DEV FILE, -c, -O/-n and a
// DEV to list, and its old -e/-E refused by name; and what the kernel does not do of what was
// asked (direct I/O, a reused device's features), said as a warning. Real devices; root, private mount namespace. Only devices bound to this test's own
// files are looked at, and every one is released in the test's cleanup, whatever it did.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { MountFailedError } from "../../src/errors.ts";
import { setLoopCapacity } from "../../src/ops/loop.ts";
import { AT } from "../../src/plan/mount-api-flags.ts";
import { LOOP_ENCRYPTION_HINT, LOOP_ENCRYPTION_UNSUPPORTED } from "../../src/plan/loop-encryption.ts";
import { O } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { caught } from "../support/caught.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { loopSysfs as sysfs, runLosetup as losetup, zeroFile } from "../support/loop-files.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
/** A file of `bytes` zero bytes in the scratch dir, its devices detached after the test. */
const fileOf = (name: string, bytes: number) => zeroFile(s, cleanups, name, bytes);
const MiB = 1 << 20;
const STRATEGIES = [
  ["LOOP_CONFIGURE", ""],
  ["LOOP_SET_FD", "legacy"],
] as const;
const cli = (args: string[], strategy = "") => runCli(args, { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
/** Attach with mountkit, expecting success; the device. */
const attached = (args: string[], strategy = "") => {
  const run = cli(["loop", "attach", ...args], strategy);
  expect([args, run.code, run.stderr]).toEqual([args, 0, run.stderr]);
  return run.stdout.trim();
};

describe("loop attach -b/--sector-size (losetup -b)", () => {
  for (const [name, strategy] of STRATEGIES) {
    test(`the device's logical sector size, as losetup sets it; refused sizes leave nothing attached (${name})`, async () => {
      fresh("losetup-b");
      const img = fileOf("img", 1 << 20);
      for (const size of ["4096", "4K", "1024", "65536"]) {
        const theirs = losetup(["-f", "--show", "-b", size, img]);
        expect([size, theirs.code]).toEqual([size, 0]);
        const theirSize = sysfs(theirs.stdout.trim(), "queue/logical_block_size");
        losetup(["-d", theirs.stdout.trim()]);
        const device = attached(["--sector-size", size, img], strategy);
        expect([size, sysfs(device, "queue/logical_block_size")]).toEqual([size, theirSize]);
        expect(cli(["loop", "detach", device]).code).toBe(0);
      }
      // no power of two: refused before any syscall (losetup leaves it to the kernel: EINVAL, exit 1)
      expect(losetup(["-f", "--show", "-b", "1000", img]).code).toBe(1);
      const odd = cli(["loop", "attach", "-b", "1000", img], strategy);
      expect(odd).toEqual({ code: 1, stdout: "", stderr: "mountkit: sector-size: 1000 is not a sector size (give a power of two from 512: 512, 1024, 2048, 4096, ...)\n" });
      // past the kernel's largest: its EINVAL, named, with a hint; the device detached again
      expect(losetup(["-f", "--show", "-b", "128K", img]).code).toBe(1);
      const large = cli(["loop", "attach", "-b", "128K", img], strategy);
      expect(large.code).toBe(32);
      expect(large.stderr).toMatch(strategy === "" ? /ioctl\(LOOP_CONFIGURE\): EINVAL/ : /ioctl\(LOOP_SET_BLOCK_SIZE\): EINVAL/);
      expect(large.stderr).toContain("(the kernel refused the sector size 131072: it takes a power of two from 512");
      await expectFreed(img);
    });
  }

  test("the size warning counts in the sector size given: the tail reads stop short of (a 6000-byte file, 4096-byte sectors: 1904 bytes)", async () => {
    fresh("losetup-b-warn");
    const file = fileOf("f6000", 6000);
    const run = cli(["loop", "attach", "-b", "4096", "--json", file]);
    expect(run.code).toBe(0);
    const { device, warnings } = JSON.parse(run.stdout);
    expect(warnings).toEqual([`the last 1904 bytes of ${file} do not fill a 4096-byte sector: the loop device leaves them out`]);
    // what the kernel lets read is the 4096 bytes the warning says
    const read = Bun.spawnSync(["dd", `if=${device}`, "of=/dev/null", "bs=512"]);
    expect(read.stderr.toString()).toContain("4096 bytes");
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(file);
  });
});

describe("loop attach --direct-io[=on|off] (losetup's)", () => {
  test("alone and =on turn it on, =off leaves it off, another value is a usage error; as losetup", async () => {
    fresh("losetup-dio");
    const img = fileOf("img", 1 << 20);
    for (const [flag, dio] of [["--direct-io", "1"], ["--direct-io=on", "1"], ["--direct-io=off", "0"]] as const) {
      const theirs = losetup(["-f", "--show", flag, img]);
      expect(sysfs(theirs.stdout.trim(), "loop/dio")).toBe(dio);
      losetup(["-d", theirs.stdout.trim()]);
      const device = attached([flag, img]);
      expect([flag, sysfs(device, "loop/dio")]).toEqual([flag, dio]);
      expect(cli(["loop", "detach", device]).code).toBe(0);
    }
    expect(cli(["loop", "attach", "--direct-io=yes", img])).toEqual({ code: 1, stdout: "", stderr: "mountkit: loop attach: --direct-io=yes: give on or off\n" });
    await expectFreed(img);
  });

  for (const [name, strategy] of STRATEGIES) {
    test(`direct I/O the kernel turns down (an offset finer than the file's direct I/O alignment): attached without it, as losetup, and said (${name})`, async () => {
      fresh("losetup-dio-refused");
      const img = fileOf("img", 1 << 20);
      // losetup: the kernel drops it and losetup says nothing
      const theirs = losetup(["-f", "--show", "--direct-io=on", "-o", "100", img]);
      expect(theirs.code).toBe(0);
      expect(sysfs(theirs.stdout.trim(), "loop/dio")).toBe("0");
      losetup(["-d", theirs.stdout.trim()]);
      const run = cli(["loop", "attach", "--json", "--direct-io", "--offset", "100", img], strategy);
      expect(run.code).toBe(0);
      const { device, warnings } = JSON.parse(run.stdout);
      expect(sysfs(device, "loop/dio")).toBe("0");
      expect(warnings[0]).toBe(
        `${device}: the kernel did not turn on direct I/O for ${img} (the offset is not a multiple of the file's direct I/O alignment (statx's STATX_DIOALIGN, usually its disk's sector size), or the sector size is below it, or its filesystem has no O_DIRECT): the device goes through the page cache`,
      );
      expect(cli(["loop", "detach", device]).code).toBe(0);
      // aligned: on, and no word
      const aligned = cli(["loop", "attach", "--direct-io", "--offset", "4096", img], strategy);
      expect(aligned.stderr).toBe("");
      expect(sysfs(aligned.stdout.trim(), "loop/dio")).toBe("1");
      expect(cli(["loop", "detach", aligned.stdout.trim()]).code).toBe(0);
      await expectFreed(img);
    });
  }

  test("mount -o loop,direct-io: the warning comes once the mount stands, and never for a mount that failed", async () => {
    fresh("losetup-dio-mount");
    const img = image("img", 8);
    // the filesystem 100 bytes into the file: a loop device at offset=100 mounts it
    const shifted = s.path("shifted");
    writeFileSync(shifted, Buffer.concat([new Uint8Array(100), readFileSync(img)]));
    cleanups.push(() => detachLoopDevicesOf(shifted));
    const t = dir("m");
    unmountAfter(t);
    const run = runCli(["mount", "-t", "ext4", "-o", "loop,direct-io,offset=100", shifted, t]);
    expect(run.code).toBe(0);
    const device = mountsUnder(t).find((m) => m.mountpoint === t)!.source;
    expect(sysfs(device, "loop/dio")).toBe("0");
    expect(run.stderr).toBe(`mountkit: ${device}: the kernel did not turn on direct I/O for ${shifted} (the offset is not a multiple of the file's direct I/O alignment (statx's STATX_DIOALIGN, usually its disk's sector size), or the sector size is below it, or its filesystem has no O_DIRECT): the device goes through the page cache\n`);
    expect(runCli(["umount", t]).code).toBe(0);
    await expectFreed(shifted);
    // the same on the plain image: no ext4 at offset 100, the mount fails; only its error is said
    const failed = runCli(["mount", "-t", "ext4", "-o", "loop,direct-io,offset=100", img, t]);
    expect(failed.code).toBe(32);
    expect(failed.stderr).not.toContain("direct I/O");
    expect(failed.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    await expectFreed(img);
  });
});

describe("loop attach DEV FILE (losetup DEV FILE)", () => {
  test("that device; one attached already: EBUSY, exit 32, it stays as it was; no loop device: exit 1 before any syscall", async () => {
    fresh("losetup-dev-file");
    const img = image();
    const other = fileOf("other", 1 << 20);
    // a free device as losetup -f finds one; another process may take it first: then try again
    let device = "";
    for (let attempt = 0; attempt < 5 && device === ""; attempt++) {
      const free = losetup(["-f"]).stdout.trim();
      const run = cli(["loop", "attach", free, img]);
      if (run.code === 0) {
        expect(run.stdout).toBe(`${free}\n`);
        device = free;
      } else {
        expect(run.stderr).toContain("EBUSY");
      }
    }
    expect(device).not.toBe("");
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    expect(sysfs(device, "loop/autoclear")).toBe("0");
    const busy = cli(["loop", "attach", device, other]);
    expect(busy.code).toBe(32);
    expect(busy.stderr).toBe(
      `mountkit: attach ${other} to ${device}: ioctl(LOOP_CONFIGURE): EBUSY (Device or resource busy): ${device} (${device} is in use, attached to ${img} already: name a free device, or give no DEV for one)\n`,
    );
    expect(losetup(["-l", "-n", "-O", "BACK-FILE", device]).stdout.trim()).toBe(img);
    for (const bad of ["/dev/null", s.path("img"), "/dev/loop"]) {
      const run = cli(["loop", "attach", bad, other]);
      expect([bad, run.code, run.stdout]).toEqual([bad, 1, ""]);
      expect(run.stderr).toContain(`is not a loop device (name one as /dev/loopN, or give no DEV for a free one)`);
    }
    expect(cli(["loop", "attach", "a", "b", "c"])).toMatchObject({ code: 1, stderr: expect.stringContaining("loop attach: give FILE, or DEV FILE") });
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(img);
    await expectFreed(other);
  });
});

describe("a device reused as it is", () => {
  test("attach -L, mount -o loop: a device attached already without direct I/O, partscan or the sector size asked is reused, with a warning naming what it lacks", async () => {
    fresh("losetup-reuse-lacks");
    const img = image();
    const device = attached([img]);
    const again = cli(["loop", "attach", "-L", "--json", "--direct-io", "-P", "-b", "4096", img]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ device, reused: true });
    const lacks = `${device}, attached to ${img} already, is used as it is, without direct I/O, a partition scan, 4096-byte sectors (it has 512): detach it first (mountkit loop detach ${device}) for a device with them`;
    expect(JSON.parse(again.stdout).warnings).toEqual([lacks]);
    expect(again.stderr).toBe(`mountkit: loop attach: warning: ${lacks}\n`);
    // what it has is kept: nothing changed on the device
    expect([sysfs(device, "loop/dio"), sysfs(device, "loop/partscan"), sysfs(device, "queue/logical_block_size")]).toEqual(["0", "0", "512"]);
    // asked for nothing it lacks: no word
    expect(cli(["loop", "attach", "-L", img])).toEqual({ code: 0, stdout: `${device}\n`, stderr: "" });
    const t = dir("m");
    unmountAfter(t);
    const mounted = runCli(["mount", "-o", "loop,direct-io", img, t]);
    expect(mounted).toEqual({
      code: 0,
      stdout: "",
      stderr: `mountkit: ${device}, attached to ${img} already, is used as it is, without direct I/O: detach it first (mountkit loop detach ${device}) for a device with it\n`,
    });
    expect(mountsUnder(t).find((m) => m.mountpoint === t)?.source).toBe(device);
    expect(runCli(["umount", t]).code).toBe(0);
    expect(loopDevicesOf(img).sysfs).toEqual([device]);
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(img);
  });
});

test("attach -L of an image a mount attached (autoclear): the device printed is the caller's to keep, as losetup -L keeps it: its autoclear is cleared, and it stays once the mount goes", async () => {
  fresh("losetup-reuse-keeps");
  const img = image();
  const t = dir("m");
  unmountAfter(t);
  expect(runCli(["mount", "-o", "loop", img, t]).code).toBe(0);
  const device = mountsUnder(t).find((m) => m.mountpoint === t)!.source;
  expect(sysfs(device, "loop/autoclear")).toBe("1");
  // before, the device kept the mount's autoclear and went with the unmount, though -L printed it
  expect(cli(["loop", "attach", "-L", img])).toEqual({ code: 0, stdout: `${device}\n`, stderr: "" });
  expect(sysfs(device, "loop/autoclear")).toBe("0");
  expect(runCli(["umount", t]).code).toBe(0);
  expect(loopDevicesOf(img).sysfs).toEqual([device]);
  expect(cli(["loop", "detach", device]).code).toBe(0);
  await expectFreed(img);
});

describe("loop list -O, -n, DEV, -j (losetup's)", () => {
  const ALL = "NAME,AUTOCLEAR,BACK-FILE,BACK-INO,BACK-MAJ:MIN,MAJ:MIN,OFFSET,PARTSCAN,RO,SIZELIMIT,DIO,LOG-SEC";

  test("the columns chosen, byte for byte as losetup prints them for the same devices; +LIST; -n; --json with -O", async () => {
    fresh("losetup-list-columns");
    const img = image();
    const first = attached(["-P", "-b", "4096", "--offset", "1M", "--sizelimit", "2M", "--direct-io", img]);
    const second = attached(["-r", img]);
    for (const args of [[], ["-O", ALL], ["-O", "name,ro"], ["-O", "OFFSET,NAME,NAME"], ["-O", "+partscan,maj:min"], ["-n"], ["-n", "-O", "NAME"], ["--output=MAJ:MIN,BACK-MAJ:MIN,BACK-INO"]]) {
      const theirs = losetup(["-l", ...args, "-j", img]);
      const ours = cli(["loop", "list", ...args, img]);
      expect([args, ours.code, ours.stderr]).toEqual([args, 0, ""]);
      expect([args, ours.stdout]).toEqual([args, theirs.stdout]);
      expect(ours.stdout.trimEnd().split("\n")).toHaveLength(args.includes("-n") ? 2 : 3);
    }
    // -j FILE is the FILE operand
    expect(cli(["loop", "list", "-j", img]).stdout).toBe(losetup(["-l", "-j", img]).stdout);
    // --json: the columns chosen, losetup's keys and types; device numbers unpadded (2.38 pads them, a bug fixed since)
    const theirs = JSON.parse(losetup(["-l", "-J", "-O", ALL, "-j", img]).stdout).loopdevices;
    const ours = JSON.parse(cli(["loop", "list", "--json", "-O", ALL, img]).stdout).loopdevices;
    const trimmed = (list: Record<string, unknown>[]) =>
      list.map((d) => ({ ...d, "maj:min": String(d["maj:min"]).trim(), "back-maj:min": String(d["back-maj:min"]).trim() }));
    expect(ours).toEqual(trimmed(theirs));
    expect(ours.find((d: { name: string }) => d.name === first)).toMatchObject({ "maj:min": `7:${first.slice("/dev/loop".length)}`, partscan: true, "log-sec": 4096, dio: true });
    // an unknown column: exit 1, as losetup's
    expect(losetup(["-l", "-O", "NAME,FOO", "-j", img]).code).toBe(1);
    expect(cli(["loop", "list", "-O", "NAME,FOO", img])).toMatchObject({ code: 1, stdout: "", stderr: expect.stringContaining("loop list: unknown column: FOO") });
    expect(cli(["loop", "detach", first, second]).code).toBe(0);
    await expectFreed(img);
  });

  test("a backing file named with a newline, an ESC, a tab, \\x or past ASCII: escaped byte for byte as losetup escapes it, in a UTF-8 locale and in C", () => {
    fresh("losetup-list-escapes");
    for (const name of ["a\nb", "e\x1b[1mx", "tab\tx", "b\\x41", "café"]) {
      const file = fileOf(name, MiB);
      const device = attached([file]);
      for (const LANG of ["C.UTF-8", "C"]) {
        const env = { ...process.env, LANG, LC_ALL: "", LC_CTYPE: "" };
        const theirs = Bun.spawnSync(["losetup", "-l", "-O", "NAME,BACK-FILE,RO", "-j", file], { env }).stdout.toString();
        const ours = runCli(["loop", "list", "-O", "NAME,BACK-FILE,RO", file], { env });
        expect([name, LANG, ours.code, ours.stdout]).toEqual([name, LANG, 0, theirs]);
        expect([name, LANG, ours.stdout.split("\n").length]).toEqual([name, LANG, 3]); // the header, one row, the end
      }
      expect(cli(["loop", "detach", device]).code).toBe(0);
    }
  });

  test("loop list DEV shows that device, as losetup --list DEV; -j DEV lists the devices attached to it; a device not attached: exit 1", async () => {
    fresh("losetup-list-dev");
    const img = image();
    const device = attached([img]);
    // a device over the device: its backing file is the first device
    const over = attached([device]);
    cleanups.push(() => detachLoopDevicesOf(device));
    for (const args of [[], ["-O", "NAME,BACK-FILE,BACK-INO"], ["-n"]]) {
      const ours = cli(["loop", "list", ...args, device]);
      expect([args, ours]).toEqual([args, { code: 0, stdout: losetup(["-l", ...args, device]).stdout, stderr: "" }]);
      expect(ours.stdout).toContain(img);
    }
    expect(cli(["loop", "list", "-n", "-O", "NAME", "-j", device]).stdout).toBe(`${over}\n`);
    expect(losetup(["-l", "-n", "-O", "NAME", "-j", device]).stdout).toBe(`${over}\n`);
    expect(cli(["loop", "detach", over, device]).code).toBe(0);
    // not attached (another process may attach the free device meanwhile: then another)
    let result = { code: 0, stdout: "", stderr: "" };
    let free = "";
    for (let attempt = 0; attempt < 5 && result.code !== 1; attempt++) {
      free = losetup(["-f"]).stdout.trim();
      result = cli(["loop", "list", free]);
    }
    expect(result).toEqual({ code: 1, stdout: "", stderr: `mountkit: loop list: ${free} is not attached (to list the devices attached to ${free} as a file, give -j ${free})\n` });
    expect(cli(["loop", "list", "-j", free, img]).code).toBe(1); // -j and an operand
    await expectFreed(img);
  });
});

test("loop attach of a file even reading is refused: EACCES, the hint says it cannot be read (never 'mount it read-only'); nothing attached", async () => {
  fresh("losetup-eacces");
  const file = fileOf("noperm", 1 << 20);
  Bun.spawnSync(["chmod", "000", file]);
  // root without the capabilities that pass over file permissions
  const drop = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"];
  const theirs = Bun.spawnSync([...drop, "losetup", "-f", "--show", file]);
  expect(theirs.stderr.toString()).toContain("Permission denied");
  const ours = Bun.spawnSync([...drop, BINARY, "loop", "attach", file]);
  expect(ours.exitCode).toBe(32);
  expect(ours.stderr.toString()).toBe(`mountkit: attach ${file} to a loop device: open(2): EACCES (Permission denied) (${file} cannot be read: check its permissions)\n`);
  await expectFreed(file);
});

describe("loop set-capacity (losetup -c, --set-capacity)", () => {
  /** The device's size in 512-byte sectors as sysfs shows it, and in bytes as blockdev (util-linux) reads it. */
  const sizeOf = (device: string) => {
    const bytes = Bun.spawnSync(["blockdev", "--getsize64", device]);
    expect([device, bytes.exitCode]).toEqual([device, 0]);
    return { sectors: Number(sysfs(device, "size")), bytes: Number(bytes.stdout.toString().trim()) };
  };
  test("after the file grew or shrank, each device's size is read again, within its --offset and --sizelimit; as losetup -c", async () => {
    fresh("losetup-c");
    const img = fileOf("img", MiB);
    const whole = attached([img]);
    const limited = attached(["--sizelimit", "1M", img]);
    const offset = attached(["--offset", "512K", img]);
    const devices = [whole, limited, offset];
    const ranges = () => losetup(["-l", "-n", "-O", "NAME,OFFSET,SIZELIMIT"]).stdout.split("\n").filter((line) => devices.includes(line.split(/\s+/)[0]!)).sort();
    const rangesBefore = ranges();
    expect(devices.map(sizeOf)).toEqual([{ sectors: 2048, bytes: MiB }, { sectors: 2048, bytes: MiB }, { sectors: 1024, bytes: MiB / 2 }]);

    truncateSync(img, 3 * MiB);
    // the driver does not look by itself: unchanged until asked
    expect(devices.map((d) => sizeOf(d).sectors)).toEqual([2048, 2048, 1024]);
    expect(cli(["loop", "set-capacity", ...devices])).toEqual({ code: 0, stdout: "", stderr: "" });
    // the whole file; no more than the sizelimit; the file from the offset on
    expect(devices.map(sizeOf)).toEqual([{ sectors: 6144, bytes: 3 * MiB }, { sectors: 2048, bytes: MiB }, { sectors: 5120, bytes: 2.5 * MiB }]);
    // the device's range (losetup -l's OFFSET and SIZELIMIT) is not changed by it
    expect(ranges()).toEqual(rangesBefore);

    // losetup -c on its own device over the same file, after it shrank: the same sizes as ours
    const theirs = losetup(["-f", "--show", img]).stdout.trim();
    expect(sizeOf(theirs).sectors).toBe(6144);
    truncateSync(img, 2 * MiB);
    expect(losetup(["-c", theirs])).toEqual({ code: 0, stdout: "", stderr: "" });
    const run = cli(["loop", "set-capacity", "--json", whole]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, exitCode: 0, results: [{ device: whole, ok: true, bytes: 2 * MiB }] });
    expect(sizeOf(whole)).toEqual(sizeOf(theirs));
    expect(sizeOf(whole)).toEqual({ sectors: 4096, bytes: 2 * MiB });

    expect(cli(["loop", "detach", ...devices, theirs]).code).toBe(0);
    await expectFreed(img);
  });

  test("a device in use by a mount is resized under it; its filesystem can then be grown into it (what -c is for)", async () => {
    fresh("losetup-c-mounted");
    const img = image("img", 8);
    const t = dir("m");
    unmountAfter(t);
    const device = attached([img]);
    expect(runCli(["mount", device, t]).code).toBe(0);
    /** the mounted filesystem's size in bytes, as df reads it */
    const fsBytes = () => Number(Bun.spawnSync(["df", "-B1", "--output=size", t]).stdout.toString().trim().split("\n")[1]);
    const fsBefore = fsBytes();
    truncateSync(img, 16 * MiB);
    expect(cli(["loop", "set-capacity", device])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(sizeOf(device)).toEqual({ sectors: 32768, bytes: 16 * MiB });
    expect(mountsUnder(t).find((m) => m.mountpoint === t)?.source).toBe(device);
    // the filesystem keeps its own size until it is grown into the device (offline here: an
    // online resize2fs needs CAP_SYS_RESOURCE, which this sandbox's root lacks)
    expect(fsBytes()).toBe(fsBefore);
    expect(runCli(["umount", t]).code).toBe(0);
    const grow = Bun.spawnSync(["resize2fs", "-f", device]);
    expect([grow.exitCode, grow.stdout.toString()]).toEqual([0, expect.stringContaining(`The filesystem on ${device} is now 4096 (4k) blocks long`)]);
    expect(runCli(["mount", device, t]).code).toBe(0);
    expect(fsBytes()).toBeGreaterThan(fsBefore + 7 * MiB);
    expect(runCli(["umount", t]).code).toBe(0);
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(img);
  });

  test("a read-only device (-r) is resized too, and stays read-only, as losetup -c resizes its own -r device", async () => {
    fresh("losetup-c-ro");
    const img = fileOf("img", MiB);
    const ours = attached(["-r", img]);
    const theirs = losetup(["-f", "--show", "-r", img]).stdout.trim();
    expect([sysfs(ours, "ro"), sysfs(theirs, "ro")]).toEqual(["1", "1"]);
    truncateSync(img, 3 * MiB);
    expect(cli(["loop", "set-capacity", ours])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(losetup(["-c", theirs])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect([sizeOf(ours), sysfs(ours, "ro")]).toEqual([{ sectors: 6144, bytes: 3 * MiB }, "1"]);
    expect(sizeOf(ours)).toEqual(sizeOf(theirs));
    expect(cli(["loop", "detach", ours, theirs]).code).toBe(0);
    await expectFreed(img);
  });

  test("the library: the device checked through an O_PATH handle, then LOOP_SET_CAPACITY and BLKGETSIZE64 on one fd; no fd left", async () => {
    fresh("losetup-c-library");
    const img = fileOf("img", MiB);
    const device = attached([img]);
    truncateSync(img, 2 * MiB);
    const before = openFds();
    const sys = injectFaults(libcSyscalls, {});
    expect(setLoopCapacity(device, { sys })).toEqual({ device, bytes: 2 * MiB });
    const [handle, fd] = [sys.log[1]?.[1], sys.log[3]?.[1]];
    expect(sys.log.filter(([call]) => call !== "readlink")).toEqual([
      ["openPath", device],
      ["statxNode", handle, "", AT.EMPTY_PATH],
      ["open", `/proc/self/fd/${handle}`, O.RDONLY | O.CLOEXEC],
      ["loopSetCapacity", fd],
      ["blockDeviceBytes", fd],
      ["close", fd],
      ["close", handle],
    ]);
    expect(newFds(before)).toEqual([]);
    expect(sizeOf(device).sectors).toBe(4096);
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(img);
  });

  test("what is no loop device (losetup: 'failed to use device'), a device not attached (ENXIO), one missing (ENOENT): named, exit 32; some of several: 64", async () => {
    fresh("losetup-c-errors");
    const file = fileOf("plain", 4096);
    const directory = dir("d");
    const disk = readdirSync("/sys/block").find((name) => !name.startsWith("loop") && existsSync(`/dev/${name}`));
    if (disk === undefined) throw new Error("this test needs a block device that is not a loop device (/sys/block lists none with a /dev node)");
    const diskNumber = readFileSync(`/sys/block/${disk}/dev`, "utf8").trim();
    for (const [path, kind] of [
      ["/dev/null", "a character device"],
      [file, "a regular file"],
      [directory, "a directory"],
      [`/dev/${disk}`, `another block device (${diskNumber}, ${disk})`],
    ] as const) {
      const theirs = losetup(["-c", path]);
      expect([path, theirs.code, theirs.stderr]).toEqual([path, 1, `losetup: ${path}: failed to use device: No such device\n`]);
      expect([path, cli(["loop", "set-capacity", path])]).toEqual([
        path,
        { code: 32, stdout: "", stderr: `mountkit: set the capacity of ${path}: ${path} is ${kind}, not a loop device (name a loop device, /dev/loopN (mountkit loop list shows the attached ones))\n` },
      ]);
      const err = caught(() => setLoopCapacity(path)) as MountFailedError;
      expect(err).toBeInstanceOf(MountFailedError);
    }
    // not attached (another process may attach the free device meanwhile, before either asks: then another)
    let free = "";
    let ours = { code: 0, stdout: "", stderr: "" };
    let theirs = { code: 0, stdout: "", stderr: "" };
    for (let attempt = 0; attempt < 5 && (ours.code !== 32 || theirs.code !== 1); attempt++) {
      free = losetup(["-f"]).stdout.trim();
      ours = cli(["loop", "set-capacity", free]);
      theirs = losetup(["-c", free]);
    }
    expect(ours).toEqual({ code: 32, stdout: "", stderr: `mountkit: set the capacity of ${free}: ioctl(LOOP_SET_CAPACITY): ENXIO (No such device or address) (the device is not attached to a file)\n` });
    expect(theirs).toMatchObject({ code: 1, stderr: `losetup: ${free}: set capacity failed: No such device or address\n` });
    // several, one missing: the others resized, exit 64
    const img = fileOf("img", MiB);
    const device = attached([img]);
    truncateSync(img, 2 * MiB);
    expect(cli(["loop", "set-capacity", "/dev/loop999999", device])).toEqual({
      code: 64,
      stdout: "",
      stderr: "mountkit: set the capacity of /dev/loop999999: open(2): ENOENT (No such file or directory) (there is no /dev/loop999999: mountkit loop list shows the attached loop devices)\n",
    });
    expect(sizeOf(device).sectors).toBe(4096);
    expect(cli(["loop", "set-capacity"])).toMatchObject({ code: 1, stdout: "", stderr: expect.stringContaining("loop set-capacity: missing DEV operand") });
    expect(cli(["loop", "detach", device]).code).toBe(0);
    await expectFreed(img);
    await expectFreed(file);
  });
});

test("loop attach -e/-E/--encryption (losetup's cryptoloop): refused by name, exit 1, nothing attached; mount's encryption= in the same words", async () => {
  fresh("losetup-e");
  const img = fileOf("img", MiB);
  const refusal = `mountkit: loop attach: -e/-E/--encryption: ${LOOP_ENCRYPTION_UNSUPPORTED} (${LOOP_ENCRYPTION_HINT})\n`;
  for (const args of [["-e", "aes", img], ["-E", "1", img], ["--encryption=twofish", img], ["-reaes", img], [img, "-e"], ["--bogus", "-e", "aes", img]]) {
    expect([args, cli(["loop", "attach", ...args])]).toEqual([args, { code: 1, stdout: "", stderr: refusal }]);
    // losetup 2.38 no longer knows them at all
    expect([args, losetup(["-f", "--show", ...args]).code]).toEqual([args, 1]);
  }
  expect(loopDevicesOf(img).sysfs).toEqual([]);
  const t = dir("m");
  const mounted = runCli(["mount", "-o", "loop,encryption=aes", img, t]);
  expect(mounted).toEqual({ code: 1, stdout: "", stderr: `mountkit: parse options: encryption=aes: ${LOOP_ENCRYPTION_UNSUPPORTED} (${LOOP_ENCRYPTION_HINT})\n` });
  expect(mountsUnder(t)).toEqual([]);
  await expectFreed(img);
});
