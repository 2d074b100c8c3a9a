// umount of a FUSE mount whose daemon hangs (here: stopped with SIGSTOP), for real. A stat or
// statfs of its mount point waits for the daemon; umount2 does not. util-linux's umount -l, -f
// and -c unmount it (they look the mount up in mountinfo); so must mountkit's, and its plain
// umount too where statmount(2) names the filesystem without asking it.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import { kernelFacts } from "../../src/ops/features.ts";
import { BINARY } from "../support/cli.ts";
import { daemonsUnder, stopDaemon, waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  // npm test installs these (scripts/test-deps.sh); without them this file must fail, not skip.
  for (const name of ["mount.fuse3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
  if (!existsSync("/dev/fuse")) throw new Error("/dev/fuse is missing: the kernel has no FUSE");
});

const ws = workspace();
const { cleanups, dir } = ws;

/** A fuse-overlayfs mount at merged/ whose daemon is stopped until the test's cleanup. */
function hungFuseMount(label: string): string {
  const s = ws.fresh(label);
  cleanups.push(() => waitForDaemonsGone(s.dir));
  const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((d) => dir(d));
  cleanups.push(() => unmountAll(merged!));
  mount({ type: "fuse3.fuse-overlayfs", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }, merged!);
  const [daemon] = daemonsUnder(s.dir);
  expect(daemon).toBeNumber();
  // every thread stopped before anything asks (stopDaemon)
  stopDaemon(daemon!);
  cleanups.push(() => process.kill(daemon!, "SIGCONT"));
  // the daemon does hang: statfs waits for it
  expect(Bun.spawnSync(["stat", "-f", merged!], { timeout: 1000, killSignal: "SIGKILL" }).signalCode).toBe("SIGKILL");
  return merged!;
}

/** How long a umount may take before it counts as hung: far more than one ever needs. */
const HUNG = 10_000;
/** bun:test's bound for each test: above HUNG, so that a hang is reported as the umount's */
const TEST_BOUND = 3 * HUNG;

/** mountkit umount ARGS, killed if it hangs (a bound on a hang, not a measure of speed). */
function umount(args: readonly string[], env: Record<string, string> = {}) {
  const proc = Bun.spawnSync([BINARY, "umount", ...args], { env: { ...process.env, MOUNTKIT_STRATEGY: "", ...env }, timeout: HUNG, killSignal: "SIGKILL" });
  return { code: proc.exitCode, signal: proc.signalCode ?? null, stderr: proc.stderr.toString() };
}

const fuseMountsAt = (path: string) => mountsUnder(path).filter((m) => m.mountpoint === path);

describe("umount of a FUSE mount whose daemon hangs", () => {
  for (const flags of [["-l"], ["-f"], ["-c"]]) {
    test(`${flags.join(" ")}: no stat or statfs of the mount point; it is unmounted`, () => {
      const merged = hungFuseMount(`hung${flags.join("")}`);
      expect(umount([...flags, merged])).toEqual({ code: 0, signal: null, stderr: "" });
      expect(fuseMountsAt(merged)).toEqual([]);
    }, TEST_BOUND);
  }

  for (const flags of [["-l"], ["-f"], ["-c"]]) {
    test(`${flags.join(" ")} where statmount(2) is not used (MOUNTKIT_STRATEGY=legacy, as before Linux 6.8): mountinfo names the type`, () => {
      const merged = hungFuseMount(`hunglegacy${flags.join("")}`);
      expect(umount([...flags, merged], { MOUNTKIT_STRATEGY: "legacy" })).toEqual({ code: 0, signal: null, stderr: "" });
      expect(fuseMountsAt(merged)).toEqual([]);
    }, TEST_BOUND);
  }

  for (const flags of [[], ["-i"]]) {
    test(`${flags.length ? flags.join(" ") : "plain umount"}: statmount(2) names the filesystem, where util-linux's statfs waits`, () => {
      expect(kernelFacts().statmount).toBe(true); // the kernels this suite runs on (6.8 and later)
      const merged = hungFuseMount(`hungplain${flags.join("")}`);
      expect(umount([...flags, merged])).toEqual({ code: 0, signal: null, stderr: "" });
      expect(fuseMountsAt(merged)).toEqual([]);
    }, TEST_BOUND);
  }
});
