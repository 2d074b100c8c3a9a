// A dry run of a loop mount (mount(8)'s -f through a link named mount, mountkit mount --fake and
// -n): a file the attach would refuse (missing, a directory) fails it, as util-linux's mount -f
// fails (exit 32), the error naming the file and the errno; under strace, no loop device is asked
// for, attached or mounted, whatever the outcome.
import { beforeAll, expect, test } from "bun:test";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, type CliResult } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/** bin ARGS under strace: its result, and each call on a loop device, ioctl but a terminal's, mount or umount2 made. */
function traced(bin: string, args: readonly string[]): CliResult & { calls: string[] } {
  const log = ws.dir("trace") + "/strace.log";
  const run = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=openat,ioctl,mount,umount2", "-o", log, bin, ...args], { env: { ...process.env, MOUNTKIT_STRATEGY: "" } });
  const calls = readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => /\/dev\/loop|\bmount\(|\bumount2\(|\bioctl\(/.test(l) && !/ioctl\(\d+, TCGETS/.test(l));
  return { code: run.exitCode!, stdout: run.stdout.toString(), stderr: run.stderr.toString(), calls };
}

/** The three dry runs of `-o loop SOURCE TARGET`: through a link named mount (-f), mountkit mount --fake and -n. */
function dryRuns(mount8: string, source: string, target: string) {
  return [
    traced(mount8, ["-f", "-o", "loop", source, target]),
    traced(BINARY, ["mount", "--fake", "-o", "loop", source, target]),
    traced(BINARY, ["mount", "-n", "-o", "loop", source, target]),
  ];
}

test("a missing image: exit 32, as util-linux's mount -f; the error names it, statx's ENOENT and the mount; no loop device touched", () => {
  const s = ws.fresh("fake-loop-missing");
  const mount8 = join(ws.dir("bin"), "mount");
  symlinkSync(BINARY, mount8);
  const target = ws.dir("mnt");
  const missing = s.path("nonexistent.img");
  expect(Bun.spawnSync(["mount", "-f", "-o", "loop", missing, target]).exitCode).toBe(32);
  for (const run of dryRuns(mount8, missing, target)) {
    expect(run.code).toBe(32);
    expect(run.stderr).toBe(`mountkit: mount ${missing} on ${target}: statx(2): ENOENT (No such file or directory) (${missing} does not exist)\n`);
    expect(run.calls).toEqual([]);
  }
  // offset= asks for a loop device too (and -t a block filesystem's type does not change that)
  const offset = traced(mount8, ["-f", "-t", "ext4", "-o", "offset=0", missing, target]);
  expect([offset.code, offset.calls]).toEqual([32, []]);
  expect(Bun.spawnSync(["mount", "-f", "-t", "ext4", "-o", "offset=0", missing, target]).exitCode).toBe(32);
  // --json: the same error as an object
  const json = traced(BINARY, ["mount", "-n", "--json", "-o", "loop", missing, target]);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 32, error: { kind: "syscall", syscall: "statx(2)", errnoName: "ENOENT", paths: [missing], hint: `${missing} does not exist` } });
  // a missing device with no loop asked for still succeeds through the link, as util-linux's mount -f
  expect(traced(mount8, ["-f", "-t", "ext4", missing, target])).toMatchObject({ code: 0, stderr: "", calls: [] });
  expect(mountsUnder(target)).toEqual([]);
});

test("a directory as the image: exit 32, as util-linux's; an image that exists: exit 0, and no loop device attached for it", () => {
  const s = ws.fresh("fake-loop-dir");
  const mount8 = join(ws.dir("bin"), "mount");
  symlinkSync(BINARY, mount8);
  const target = ws.dir("mnt");
  const directory = ws.dir("not-an-image");
  expect(Bun.spawnSync(["mount", "-f", "-o", "loop", directory, target]).exitCode).toBe(32);
  for (const run of dryRuns(mount8, directory, target)) {
    expect(run.code).toBe(32);
    expect(run.stderr).toBe(`mountkit: mount ${directory} on ${target}: ${directory} is a directory, not a regular file or block device to attach to a loop device\n`);
    expect(run.calls).toEqual([]);
  }
  const image = s.path("empty.img");
  writeFileSync(image, Buffer.alloc(1 << 20));
  const [viaLink, fake, dry] = dryRuns(mount8, image, target);
  expect(viaLink).toMatchObject({ code: 0, stdout: "", stderr: "", calls: [] });
  for (const run of [fake!, dry!]) {
    expect(run).toMatchObject({ code: 0, stderr: "", calls: [] });
    expect(run.stdout).toContain(`backing = open(${JSON.stringify(image)}, O_RDWR|O_CLOEXEC)`);
  }
  expect(Bun.spawnSync(["losetup", "-j", image]).stdout.toString()).toBe("");
  expect(mountsUnder(target)).toEqual([]);
});

test("mount -a's dry run: a line whose image is missing fails alone, named", () => {
  const s = ws.fresh("fake-loop-fstab");
  const mount8 = join(ws.dir("bin"), "mount");
  symlinkSync(BINARY, mount8);
  const target = ws.dir("mnt");
  const fstab = s.path("fstab");
  writeFileSync(fstab, `${s.path("gone.img")} ${target} ext4 loop 0 0\nfaked ${ws.dir("t")} tmpfs defaults 0 0\n`);
  const run = traced(mount8, ["-f", "-a", "-T", fstab]);
  expect(run.calls).toEqual([]);
  expect(run.code).toBe(64);
  expect(run.stderr).toBe(`mountkit: mount -a: line 1 (${target}): mount ${s.path("gone.img")} on ${target}: statx(2): ENOENT (No such file or directory) (${s.path("gone.img")} does not exist)\n`);
});
