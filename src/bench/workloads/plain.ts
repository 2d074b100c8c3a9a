/**
 * Plain mounts: one mount(2) (tmpfs, bind) or two (bind then read-only remount), then umount2.
 * The library's path is mount() then unmount(), exactly what a caller writes.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { CliCommand, Workload } from "../workload.ts";
import { always, everyTool, mountOp } from "./common.ts";

export const tmpfs: Workload = {
  name: "tmpfs",
  group: "plain",
  summary: "mount a tmpfs, unmount it",
  unavailable: always,
  setup(dir) {
    const target = join(dir, "target");
    mkdirSync(target);
    return {
      ...mountOp({ type: "tmpfs", source: "none", options: [] }, target),
      c: { mode: "tmpfs", args: [target] },
      cli: everyTool([["mount", "-t", "tmpfs", "none", target], ["umount", target]]),
    };
  },
};

export const bind: Workload = {
  name: "bind",
  group: "plain",
  summary: "bind-mount a directory, unmount it",
  unavailable: always,
  setup(dir) {
    const { source, target } = bindDirs(dir);
    return {
      ...mountOp({ type: "", source, options: ["bind"] }, target),
      c: { mode: "bind", args: [source, target] },
      cli: everyTool([["mount", "-o", "bind", source, target], ["umount", target]]),
    };
  },
};

export const bindReadOnly: Workload = {
  name: "bind+ro",
  group: "plain",
  summary: "bind-mount a directory read-only (bind, then remount ro), unmount it",
  unavailable: always,
  setup(dir) {
    const { source, target } = bindDirs(dir);
    const commands: CliCommand[] = [["mount", "-o", "bind,ro", source, target], ["umount", target]];
    return {
      ...mountOp({ type: "", source, options: ["bind", "ro"] }, target),
      c: { mode: "bind-ro", args: [source, target] },
      // busybox 1.35 makes `-o bind,ro` one mount(2) call, which leaves the bind writable:
      // it does not do the same work, so it is not a contender here.
      cli: { "util-linux": commands, mountkit: commands },
    };
  },
};

function bindDirs(dir: string): { source: string; target: string } {
  const source = join(dir, "source");
  const target = join(dir, "target");
  mkdirSync(source);
  mkdirSync(target);
  return { source, target };
}

export const plainWorkloads: readonly Workload[] = [tmpfs, bind, bindReadOnly];
