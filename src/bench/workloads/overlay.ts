/**
 * Overlays of 1, 10, 100 and 500 lower layers (plus an upper and a work dir), mounted and
 * unmounted, with each strategy forced through the kernel facts passed to mount():
 *   fd      fsopen + one fsconfig per layer (lowerdir+), fsmount, move_mount
 *   legacy  one mount(2); from pagesize-512 bytes of options on (100 and 500 layers here),
 *           containerd's compaction, the mount made by a dir thread. The workload holds one dir
 *           thread for its whole run (withDirThread), as a caller making many such mounts does;
 *           a single compacted mount starts a thread of its own (docs/overlay-loop.md).
 * The layers use containerd's snapshotter layout under a long root, so every path is over
 * 80 bytes and 100 layers are far past one page joined.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Strategy } from "../../plan/facts.ts";
import { withDirThread } from "../../sys/dir-thread.ts";
import type { BenchHost, CliCommand, PreparedWorkload, Workload } from "../workload.ts";
import { factsWithStrategy, filesystemMissing, makeDir, mountOp } from "./common.ts";

export const OVERLAY_LAYERS = [1, 10, 100, 500] as const;
const STRATEGIES: readonly Strategy[] = ["fd", "legacy"];

/** count layers (snapshots/1/fs ...), each holding one file, and an upper and work dir beside them. */
export function containerdLayers(dir: string, count: number): { lowers: string[]; upper: string; work: string } {
  const snapshots = makeDir(dir, `containerd-root-${"r".repeat(24)}`, "io.containerd.snapshotter.v1.overlayfs", "snapshots");
  const lowers = Array.from({ length: count }, (_, i) => {
    const layer = makeDir(snapshots, String(i + 1), "fs");
    writeFileSync(join(layer, `f${i + 1}`), "");
    return layer;
  });
  const top = String(count + 1);
  return { lowers: lowers.reverse(), upper: makeDir(snapshots, top, "fs"), work: makeDir(snapshots, top, "work") };
}

/** Why an overlay with this strategy cannot be mounted here, or undefined. */
export function overlayUnavailable(host: BenchHost, strategy: Strategy): string | undefined {
  if (strategy === "fd" && !host.facts.overlayLowerdirAppend) {
    return `the fd strategy needs overlay's lowerdir+ (Linux 6.8); this kernel is ${host.facts.release}`;
  }
  return filesystemMissing("overlay", "overlay", host.facts.release);
}

function overlayWorkload(layers: number, strategy: Strategy): Workload {
  return {
    name: `overlay-${layers}-${strategy}`,
    group: "overlay",
    summary: `mount an overlay of ${layers} lower layer${layers === 1 ? "" : "s"} (${strategy} strategy), unmount it`,
    unavailable: (host) => overlayUnavailable(host, strategy),
    setup(dir, host): PreparedWorkload {
      const { lowers, upper, work } = containerdLayers(dir, layers);
      const target = makeDir(dir, "merged");
      const options = [`lowerdir=${lowers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`];
      const facts = factsWithStrategy(host.facts, strategy);
      // One dir thread for the whole run (started on the first compacted mount, if any),
      // ended at teardown: withDirThread keeps it while the promise is pending.
      let endThreadSession = () => {};
      if (strategy === "legacy") void withDirThread(() => new Promise<void>((resolve) => (endThreadSession = resolve)));
      const mountkit: CliCommand[] = [
        [`MOUNTKIT_STRATEGY=${strategy}`, "mount", "-t", "overlay", "-o", options.join(","), "overlay", target],
        ["umount", target],
      ];
      // util-linux and busybox make one mount(2), the legacy strategy's call; past a page of
      // options they mount a wrong overlay and report success, so they only run where it fits.
      const plain: CliCommand[] = [["mount", "-t", "overlay", "-o", options.join(","), "overlay", target], ["umount", target]];
      const fits = Buffer.byteLength(options.join(",")) + 1 <= host.facts.pageSize;
      const m = { type: "overlay", source: "overlay", options };
      return {
        ...mountOp(m, target, { facts }),
        teardown: () => endThreadSession(),
        c: { mode: `overlay-${strategy}`, args: [target, ...options] },
        cli: strategy === "legacy" && fits ? { mountkit, "util-linux": plain, busybox: plain } : { mountkit },
      };
    },
  };
}

export const overlayWorkloads: readonly Workload[] = STRATEGIES.flatMap((strategy) =>
  OVERLAY_LAYERS.map((layers) => overlayWorkload(layers, strategy)),
);
