/**
 * Idmapped mounts through mount() with uidmap=/gidmap= options, and the user namespace they
 * need. The namespace fd is cached per mapping pair by the library, so a mount measures the
 * mount; userns-create measures making one (what each CLI invocation pays once).
 *   idmap-bind               open_tree(CLONE), mount_setattr(IDMAP), move_mount; unmount
 *   idmap-overlay-{10,50}-fd      each layer a detached idmapped tree given to overlay by fd
 *   idmap-overlay-{10,50}-legacy  the layers' parent idmapped into a temp dir once, a symlink
 *                                 per layer into it, overlay mount(2) (50 layers: compacted, made
 *                                 by the dir thread, which the workload holds for its run), the
 *                                 links and the temp mount removed
 * The overlay strategies are forced through the kernel facts passed to mount(): the workload
 * measures whatever mount() does for those facts (`steps` says which path that was).
 * The legacy strategy's temp dirs go to the workload's own tmpfs (the temp mount location is
 * set for the workload and reset after it).
 */
import { join } from "node:path";
import { Errno } from "../../errno.ts";
import { SyscallError } from "../../errors.ts";
import { closeUsernsFds, usernsFd } from "../../ops/idmap.ts";
import { libcSyscalls } from "../../sys/seam.ts";
import { resetTempMountLocation, setTempMountLocation } from "../../ops/temp-location.ts";
import type { Strategy } from "../../plan/facts.ts";
import { withDirThread } from "../../sys/dir-thread.ts";
import type { BenchHost, CliCommand, PreparedWorkload, Workload } from "../workload.ts";
import { factsWithStrategy, makeDir, mountOp } from "./common.ts";
import { containerdLayers, overlayUnavailable } from "./overlay.ts";

/** Container ids 0-65535 as host ids 100000-165535, for users and groups. */
export const BENCH_ID_MAP = "0:100000:65536";
const IDMAP_OPTIONS = [`uidmap=${BENCH_ID_MAP}`, `gidmap=${BENCH_ID_MAP}`];
const OVERLAY_LAYERS = [10, 50] as const;

function idmapUnavailable(host: BenchHost): string | undefined {
  if (!host.facts.mountSetattr) return `idmapped mounts need mount_setattr (Linux 5.12); this kernel is ${host.facts.release}`;
  return usernsRefusal();
}

/** The probe's answer, once per run: undefined when a user namespace can be made. */
let usernsProbe: { refusal: string | undefined } | undefined;

/**
 * Why the kernel makes this process no user namespace (clone(2) refused: a chroot, a seccomp
 * filter, user.max_user_namespaces=0), or one without the bench's ids (writing the map refused
 * with EPERM: a container whose own user namespace does not map 100000-165535, or a process
 * without CAP_SETUID over them), found by making one: each idmap workload is then skipped with
 * that reason, not failed. Any other failure is left to the workload to report.
 */
function usernsRefusal(): string | undefined {
  if (usernsProbe === undefined) {
    let refusal: string | undefined;
    try {
      libcSyscalls.close(usernsFd(BENCH_ID_MAP, BENCH_ID_MAP));
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      if (err.syscall === "clone(2)") {
        refusal = `no user namespace can be made here (clone(2): ${err.errnoName}${err.hint === undefined ? "" : `: ${err.hint}`})`;
      } else if (err.syscall === "write(2)" && err.errno === Errno.EPERM) {
        refusal = `no user namespace mapping ${BENCH_ID_MAP} can be made here (write(2) of its id map: EPERM: this process's own user namespace does not map those ids, or it lacks CAP_SETUID/CAP_SETGID over them)`;
      } else {
        throw err;
      }
    } finally {
      closeUsernsFds();
    }
    usernsProbe = { refusal };
  }
  return usernsProbe.refusal;
}

const usernsCreate: Workload = {
  name: "userns-create",
  group: "idmap",
  summary: "create a user namespace fd for a mapping (a CLONE_VM child that exits at once, maps written, child reaped), close it",
  unavailable: idmapUnavailable,
  setup(): PreparedWorkload {
    closeUsernsFds();
    return {
      op() {
        libcSyscalls.close(usernsFd(BENCH_ID_MAP, BENCH_ID_MAP)); // the caller's copy
        if (closeUsernsFds() !== 1) throw new Error("bench: the user namespace was not cached");
      },
      teardown: () => void closeUsernsFds(),
      c: { mode: "userns", args: [BENCH_ID_MAP, BENCH_ID_MAP] },
    };
  },
};

const idmapBind: Workload = {
  name: "idmap-bind",
  group: "idmap",
  summary: "idmapped bind mount of a directory (uidmap/gidmap), unmount it",
  unavailable: idmapUnavailable,
  setup(dir): PreparedWorkload {
    const source = makeDir(dir, "source");
    const target = makeDir(dir, "target");
    libcSyscalls.close(usernsFd(BENCH_ID_MAP, BENCH_ID_MAP)); // made once and cached for every later mount
    const m = { type: "bind", source, options: ["bind", ...IDMAP_OPTIONS] };
    return {
      ...mountOp(m, target),
      teardown: () => void closeUsernsFds(),
      c: { mode: "idmap-bind", args: [source, target, BENCH_ID_MAP, BENCH_ID_MAP] },
      cli: { mountkit: [["mount", "--bind", "-o", IDMAP_OPTIONS.join(","), source, target], ["umount", target]] },
    };
  },
};

function idmapOverlay(layers: number, strategy: Strategy): Workload {
  return {
    name: `idmap-overlay-${layers}-${strategy}`,
    group: "idmap",
    summary: `overlay of ${layers} idmapped lower layers (${strategy} strategy), unmount it`,
    unavailable: (host) => idmapUnavailable(host) ?? overlayUnavailable(host, strategy),
    setup(dir, host): PreparedWorkload {
      const { lowers, upper, work } = containerdLayers(dir, layers);
      const target = makeDir(dir, "merged");
      // made 0700 by setTempMountLocation: a mkdir of the caller's umask (002) leaves it group-writable, which it refuses
      const temp = setTempMountLocation(join(dir, "tmp"));
      const options = [`lowerdir=${lowers.join(":")}`, `upperdir=${upper}`, `workdir=${work}`, ...IDMAP_OPTIONS];
      libcSyscalls.close(usernsFd(BENCH_ID_MAP, BENCH_ID_MAP)); // made once and cached
      const cArgs = [target, upper, work, BENCH_ID_MAP, BENCH_ID_MAP, ...(strategy === "legacy" ? [temp] : []), ...lowers];
      const mountkit: CliCommand[] = [
        [`MOUNTKIT_STRATEGY=${strategy}`, `MOUNTKIT_TMPDIR=${temp}`, "mount", "-t", "overlay", "-o", options.join(","), "overlay", target],
        ["umount", target],
      ];
      const m = { type: "overlay", source: "overlay", options };
      const facts = factsWithStrategy(host.facts, strategy);
      // As for plain overlays: one dir thread for the run, should the options need compaction.
      let endThreadSession = () => {};
      if (strategy === "legacy") void withDirThread(() => new Promise<void>((resolve) => (endThreadSession = resolve)));
      return {
        ...mountOp(m, target, { facts }),
        teardown() {
          endThreadSession();
          closeUsernsFds();
          resetTempMountLocation();
        },
        c: { mode: `idmap-overlay-${strategy}`, args: cArgs },
        cli: { mountkit },
      };
    },
  };
}

export const idmapWorkloads: readonly Workload[] = [
  usernsCreate,
  idmapBind,
  ...OVERLAY_LAYERS.flatMap((layers) => [idmapOverlay(layers, "fd"), idmapOverlay(layers, "legacy")]),
];
