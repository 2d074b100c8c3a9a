/**
 * Integration tests run as root inside the private mount namespace that `npm test` sets up.
 * requireRootNamespace() fails the test loudly when that is not so; it never skips.
 */
import { readlinkSync, readFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";

export function requireRootNamespace(): void {
  if (process.getuid?.() !== 0) throw new Error("integration tests must run as root (npm test)");
  // npm test execs `unshare -m` which execs the runner: our parent lives in the host namespace.
  const own = readlinkSync("/proc/self/ns/mnt");
  const parent = readlinkSync(`/proc/${process.ppid}/ns/mnt`);
  if (own === parent) {
    throw new Error("integration tests must run in a private mount namespace: use npm test (unshare -m --propagation private)");
  }
}

export function mountTable(): MountInfo[] {
  return parseMountInfo(readFileSync("/proc/self/mountinfo", "utf8"));
}

/** Mounts at or under dir, as (mountpoint, fstype) pairs in table order. */
export function mountsUnder(dir: string): MountInfo[] {
  return mountTable().filter((m) => m.mountpoint === dir || m.mountpoint.startsWith(`${dir}/`));
}

/** The mounts stacked at exactly target, bottom first. */
export function mountsAt(target: string): MountInfo[] {
  return mountsUnder(target).filter((m) => m.mountpoint === target);
}

/**
 * A scratch directory for one test. dispose() checks that the test left no mount under it,
 * unmounts (detaching) anything left so later tests start clean, removes it, and throws
 * if anything had leaked.
 */
export function scratch(label = "t"): { dir: string; path(...parts: string[]): string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), `mountkit-test-${label}-`));
  return {
    dir,
    path: (...parts) => join(dir, ...parts),
    dispose() {
      const leaked = mountsUnder(dir);
      for (const m of [...leaked].reverse()) {
        Bun.spawnSync(["umount", "-l", m.mountpoint]);
      }
      if (mountsUnder(dir).length === 0 && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      if (leaked.length) throw new Error(`test leaked mounts: ${leaked.map((m) => m.mountpoint).join(", ")}`);
    },
  };
}
