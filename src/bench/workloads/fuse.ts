/**
 * fuse-overlayfs through its mount helper: mount() runs mount.fuse3 (which starts the
 * fuse-overlayfs daemon through /bin/sh and a PATH of the helper dirs), unmount() runs
 * fusermount3 -u. The C
 * contender runs the same two helpers directly (posix_spawn + waitpid), the floor for a
 * helper-made mount. Each daemon exits once its mount is gone; teardown waits for this run's
 * daemons (their argv carries the run's marker as the source) and kills any that stay.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { locateHelper } from "../../ops/helpers.ts";
import { HELPER_SEARCH_DIRS } from "../../plan/fuse.ts";
import type { PreparedWorkload, Workload } from "../workload.ts";
import { filesystemMissing, makeDir, mountOp, runMarker } from "./common.ts";

const DAEMON = "fuse-overlayfs";
const DAEMON_EXIT_WAIT_MS = 5000;

function fuseUnavailable(release: string): string | undefined {
  if (!existsSync("/dev/fuse")) return "no /dev/fuse";
  for (const helper of ["mount.fuse3", "fusermount3"]) {
    if (locateHelper(helper, HELPER_SEARCH_DIRS) === undefined) return `${helper} not found in ${HELPER_SEARCH_DIRS.join(":")} (Debian: fuse3)`;
  }
  // mount.fuse3 starts the daemon through PATH, which the library sets to the helper dirs.
  if (locateHelper(DAEMON, HELPER_SEARCH_DIRS) === undefined) {
    return `${DAEMON} not found in ${HELPER_SEARCH_DIRS.join(":")} (Debian: fuse-overlayfs)`;
  }
  return filesystemMissing("fuse", "fuse", release);
}

/** Pids of live processes whose argv holds marker (a zombie's argv is empty). */
function processesMarked(marker: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").includes(marker)) found.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Wait for this run's daemons to exit after their unmounts; kill what stays. */
function awaitDaemons(marker: string): void {
  const deadline = Date.now() + DAEMON_EXIT_WAIT_MS;
  let left = processesMarked(marker);
  while (left.length > 0 && Date.now() < deadline) {
    Bun.sleepSync(10);
    left = processesMarked(marker);
  }
  for (const pid of left) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  if (left.length > 0) throw new Error(`bench: ${left.length} ${DAEMON} daemon(s) outlived their unmount by ${DAEMON_EXIT_WAIT_MS} ms; killed`);
}

const fuseOverlayfs: Workload = {
  name: "fuse-overlayfs",
  group: "fuse",
  summary: "mount fuse-overlayfs through mount.fuse3 (one lower layer), unmount it through fusermount3",
  unavailable: (host) => fuseUnavailable(host.facts.release),
  setup(dir): PreparedWorkload {
    const source = `${runMarker()}-fuse`;
    const lower = makeDir(dir, "lower");
    const merged = makeDir(dir, "merged");
    const options = [`lowerdir=${lower}`, `upperdir=${makeDir(dir, "upper")}`, `workdir=${makeDir(dir, "work")}`];
    const mountHelper = locateHelper("mount.fuse3", HELPER_SEARCH_DIRS)!;
    const unmountHelper = locateHelper("fusermount3", HELPER_SEARCH_DIRS)!;
    return {
      ...mountOp({ type: `fuse3.${DAEMON}`, source, options }, merged),
      teardown: () => awaitDaemons(source),
      c: {
        mode: "exec",
        args: [mountHelper, source, merged, ...options.flatMap((o) => ["-o", o]), "-t", DAEMON, ";", unmountHelper, "-u", merged],
      },
      cli: {
        mountkit: [["mount", "-t", `fuse3.${DAEMON}`, "-o", options.join(","), source, merged], ["umount", merged]],
        // util-linux 2.38 hands a fuse3.* type whole to mount.fuse3, which then looks for a
        // program named "fuse3.fuse-overlayfs": fuse.* runs the same helper and daemon.
        "util-linux": [["mount", "-t", `fuse.${DAEMON}`, "-o", options.join(","), source, merged], ["umount", merged]],
      },
    };
  },
};

export const fuseWorkloads: readonly Workload[] = [fuseOverlayfs];
