/**
 * What the loop tests that run beside util-linux losetup share: a device's sysfs attribute,
 * losetup's answer, and a file of zeros whose devices are detached after the test.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { detachLoopDevicesOf } from "./resources.ts";
import type { Scratch } from "./workspace.ts";

/** /sys/block/loopN/NAME of device (/dev/loopN), trimmed. */
export function loopSysfs(device: string, name: string): string {
  return readFileSync(`/sys/block/${device.slice("/dev/".length)}/${name}`, "utf8").trim();
}

/** util-linux `losetup ARGS`: its exit code and output. */
export function runLosetup(args: string[]): { code: number; stdout: string; stderr: string } {
  const run = Bun.spawnSync(["losetup", ...args]);
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

/** A file of `bytes` zero bytes in s, its loop devices detached by cleanups after the test. */
export function zeroFile(s: Scratch, cleanups: (() => void)[], name: string, bytes: number): string {
  const path = s.path(name);
  writeFileSync(path, new Uint8Array(bytes));
  cleanups.push(() => detachLoopDevicesOf(path));
  return path;
}
