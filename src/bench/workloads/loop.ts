/**
 * An ext4 image on a loop device: attach, mount read-only, unmount (autoclear frees the device),
 * through mount({type: "ext4", options: ["loop", "ro"]}). Two attach methods, forced through the
 * kernel facts: LOOP_CONFIGURE (fd strategy, Linux 5.8+) and LOOP_SET_FD + LOOP_SET_STATUS64
 * (legacy). The image is made at setup by mkfs.ext4, found on PATH or in /usr/local/sbin,
 * /usr/sbin, /sbin; its name carries the run's marker, so teardown detaches exactly the
 * devices this run left bound to it (a CLI contender that failed half-way, say).
 */
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detachLoop } from "../../ops/loop.ts";
import type { Strategy } from "../../plan/facts.ts";
import type { BenchHost, CliCommand, PreparedWorkload, Workload } from "../workload.ts";
import { factsWithStrategy, filesystemMissing, makeDir, mountOp, runMarker } from "./common.ts";

const IMAGE_MIB = 16;

function loopUnavailable(host: BenchHost, strategy: Strategy): string | undefined {
  if (strategy === "fd" && !host.facts.loopConfigure) return `LOOP_CONFIGURE needs Linux 5.8; this kernel is ${host.facts.release}`;
  if (host.which("mkfs.ext4") === undefined) return "mkfs.ext4 not found on PATH or in /usr/local/sbin, /usr/sbin, /sbin (Debian: e2fsprogs)";
  if (!existsSync("/dev/loop-control")) return "no /dev/loop-control (the loop driver is not loaded)";
  return filesystemMissing("ext4", "ext4", host.facts.release);
}

/** A fresh ext4 image (4 KiB blocks: a loop device's default block size mounts it) at path. */
export function makeExt4Image(mkfs: string, path: string): void {
  writeFileSync(path, "");
  truncateSync(path, IMAGE_MIB * 1024 * 1024);
  const run = Bun.spawnSync([mkfs, "-q", "-F", "-b", "4096", path], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) {
    const status = run.signalCode ? `killed by ${run.signalCode}` : `exit ${run.exitCode}`;
    throw new Error(`bench: ${mkfs} ${path}: ${status}: ${run.stderr.toString().trim()}`);
  }
}

/** Loop devices bound to image now, from sysfs. */
export function loopDevicesOf(image: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/sys/block")) {
    if (!name.startsWith("loop")) continue;
    try {
      if (readFileSync(`/sys/block/${name}/loop/backing_file`, "utf8").trim() === image) found.push(`/dev/${name}`);
    } catch {
      // not bound, or unbound while we looked
    }
  }
  return found;
}

function loopWorkload(strategy: Strategy): Workload {
  const name = strategy === "fd" ? "loop-ext4" : "loop-ext4-legacy";
  const how = strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD + LOOP_SET_STATUS64";
  return {
    name,
    group: "loop",
    summary: `attach an ext4 image to a loop device (${how}), mount it read-only, unmount it (autoclear detaches)`,
    unavailable: (host) => loopUnavailable(host, strategy),
    setup(dir, host): PreparedWorkload {
      const image = join(dir, `${runMarker()}-${name}.ext4`);
      makeExt4Image(host.which("mkfs.ext4")!, image);
      const target = makeDir(dir, "target");
      const facts = factsWithStrategy(host.facts, strategy);
      const commands: CliCommand[] = [["mount", "-t", "ext4", "-o", "loop,ro", image, target], ["umount", target]];
      const mountkit: CliCommand[] = [[`MOUNTKIT_STRATEGY=${strategy}`, ...commands[0]!], commands[1]!];
      const m = { type: "ext4", source: image, options: ["loop", "ro"] };
      return {
        ...mountOp(m, target, { facts }),
        teardown() {
          for (const device of loopDevicesOf(image)) detachLoop(device);
        },
        c: { mode: strategy === "fd" ? "loop" : "loop-legacy", args: [image, target, "ext4", "ro"] },
        // util-linux 2.38 attaches with LOOP_CONFIGURE, busybox 1.35 with LOOP_SET_FD +
        // LOOP_SET_STATUS64: each is a contender where it does the same work.
        cli: strategy === "fd" ? { "util-linux": commands, mountkit } : { busybox: commands, mountkit },
      };
    },
  };
}

export const loopWorkloads: readonly Workload[] = [loopWorkload("fd"), loopWorkload("legacy")];
