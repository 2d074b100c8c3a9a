/**
 * Mount-table lookups with many mounts present: the cost of reading and parsing mountinfo
 * grows with the table, statx(STATX_MNT_ID) does not. The extra mounts are binds of one
 * directory, made on the workload's own tmpfs, so the runner removes them all at once.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { lookupMount } from "../../mountinfo/lookup.ts";
import { readMountInfo } from "../../mountinfo/read.ts";
import { opsContext } from "../../ops/context.ts";
import { mount } from "../../ops/mount.ts";
import type { Workload } from "../workload.ts";

/** count bind mounts on dir/m0 .. dir/m<count-1>; returns the last one's path. */
function addMounts(dir: string, count: number): string {
  const seed = join(dir, "seed");
  mkdirSync(seed);
  let last = dir;
  for (let i = 0; i < count; i++) {
    last = join(dir, `m${i}`);
    mkdirSync(last);
    mount({ type: "", source: seed, options: ["bind"] }, last);
  }
  return last;
}

/** The mount at path, from the whole table: what op() must find. */
function mountAt(path: string): number {
  const found = lookupMount(readMountInfo(), path);
  if (found === undefined || found.mountpoint !== path) throw new Error(`bench: no mount at ${path} after setup`);
  return found.id;
}

function lookupWorkload(count: number): Workload {
  return {
    name: `mountinfo-lookup-${count}`,
    group: "mountinfo",
    summary: `read and parse mountinfo, find the mount holding a path (${count} extra mounts)`,
    unavailable: () => undefined,
    setup(dir) {
      const target = addMounts(dir, count);
      const id = mountAt(target);
      return {
        op() {
          if (lookupMount(readMountInfo(), target)?.id !== id) throw new Error(`bench: lookup of ${target} lost its mount`);
        },
        c: { mode: "mountinfo", args: [target] },
        cli: {
          "util-linux": [["findmnt", "-n", "-o", "TARGET", "-T", target]],
          mountkit: [["findmnt", target]],
        },
      };
    },
  };
}

function statxWorkload(count: number): Workload {
  return {
    name: `mount-id-statx-${count}`,
    group: "mountinfo",
    summary: `statx(STATX_MNT_ID) of a path: its mount id without reading the table (${count} extra mounts)`,
    unavailable: (host) => (host.facts.statxMountId ? undefined : "the kernel has no STATX_MNT_ID (Linux 5.8)"),
    setup(dir) {
      const target = addMounts(dir, count);
      const id = mountAt(target);
      const sys = opsContext().sys;
      if (sys.statxMountId(target) !== id) throw new Error(`bench: statx mount id of ${target} differs from mountinfo's ${id}`);
      return {
        op() {
          if (sys.statxMountId(target) !== id) throw new Error(`bench: statx mount id of ${target} changed`);
        },
        c: { mode: "statx", args: [target] },
      };
    },
  };
}

export const mountinfoWorkloads: readonly Workload[] = [
  lookupWorkload(10),
  lookupWorkload(1000),
  lookupWorkload(5000),
  statxWorkload(5000),
];
