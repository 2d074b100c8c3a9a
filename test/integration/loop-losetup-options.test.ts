// loop attach and loop list beside util-linux losetup 2.38 for what losetup offers beyond the
// basics: -b (sector size), --direct-io[=on|off], DEV FILE, -O/-n and a DEV to list; and what
// the kernel does not do of what was asked (direct I/O, a reused device's features), said as a
// warning. Real devices; root, private mount namespace. Only devices bound to this test's own
// files are looked at, and every one is released in the test's cleanup, whatever it did.
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { BINARY, runCli } from "../support/cli.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
let s: Scratch;
const fresh = (label: string) => (s = ws.fresh(label));
const sysfs = (device: string, name: string) => readFileSync(`/sys/block/${device.slice("/dev/".length)}/${name}`, "utf8").trim();
const losetup = (args: string[]) => {
  const run = Bun.spawnSync(["losetup", ...args]);
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
};
/** A file of `bytes` zero bytes in the scratch dir, its devices detached after the test. */
const fileOf = (name: string, bytes: number) => {
  const path = s.path(name);
  writeFileSync(path, new Uint8Array(bytes));
  cleanups.push(() => detachLoopDevicesOf(path));
  return path;
};
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
    test(`direct I/O the kernel turns down (an offset finer than the file's blocks): attached without it, as losetup, and said (${name})`, async () => {
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
        `${device}: the kernel did not turn on direct I/O for ${img} (the offset or sector size is not aligned to its filesystem's blocks, or that filesystem has no O_DIRECT): the device goes through the page cache`,
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
    expect(run.stderr).toBe(`mountkit: ${device}: the kernel did not turn on direct I/O for ${shifted} (the offset or sector size is not aligned to its filesystem's blocks, or that filesystem has no O_DIRECT): the device goes through the page cache\n`);
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
      `mountkit: attach ${other} to ${device}: ioctl(LOOP_CONFIGURE): EBUSY (Device or resource busy): ${device} (${device} is attached to another file: name a free device, or give no DEV for one)\n`,
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
