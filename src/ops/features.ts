/**
 * Kernel facts, probed once per process and cached: the planner's view of this kernel.
 */
import { optionalString } from "../plan/caller-input.ts";
import { factsForVersion, parseStrategy, type KernelFacts } from "../plan/facts.ts";
import { readTextFile } from "../sys/file.ts";
import { pageSize } from "../sys/system.ts";
import { whiteSpaceFields } from "../white-space.ts";

let cached: KernelFacts | undefined;

/** The facts for this process; MOUNTKIT_STRATEGY (fd|legacy) forces the strategy. */
export function kernelFacts(): KernelFacts {
  return (cached ??= probeKernelFacts(process.env.MOUNTKIT_STRATEGY));
}

/** Forget the cached facts (after MOUNTKIT_STRATEGY changes, in tests). */
export function resetKernelFacts(): void {
  cached = undefined;
}

export function probeKernelFacts(strategyEnv: string | undefined): KernelFacts {
  const facts = factsForVersion(kernelRelease(), { strategy: parseStrategy(strategyEnv) });
  // Asked of the system when a plan first reads them: most mounts' options fit the smallest page
  // and only a remount or a bind's read-only remount needs the user namespace, so a plain mount
  // or an unmount binds no getpagesize and reads no /proc/self/uid_map (docs/bench.md).
  let size: number | undefined;
  let inUserNamespace: boolean | undefined;
  return Object.defineProperties(facts, {
    pageSize: { get: () => (size ??= pageSize()), enumerable: true },
    inUserNamespace: { get: () => (inUserNamespace ??= runningInUserNamespace()), enumerable: true },
  });
}

/**
 * uname's release, as /proc/sys/kernel/osrelease holds it: a read through the file binding every
 * command has, where node:os (loaded for it alone) cost about 0.3 ms of each start; node:os's
 * uname(2) when /proc is not there.
 */
function kernelRelease(): string {
  try {
    return readTextFile("/proc/sys/kernel/osrelease").trimEnd();
  } catch {
    return (require("node:os") as typeof import("node:os")).release();
  }
}

/**
 * Like moby/sys/userns: the initial user namespace maps the whole id range onto itself,
 * "0 0 4294967295"; any other map means a child namespace.
 */
export function runningInUserNamespace(uidMap?: string): boolean {
  optionalString(uidMap, "uidMap", "running in a user namespace");
  let text = uidMap;
  if (text === undefined) {
    try {
      text = readTextFile("/proc/self/uid_map");
    } catch {
      return false; // no /proc or no user namespaces: the initial namespace
    }
  }
  const fields = whiteSpaceFields(text);
  return !(fields.length === 3 && fields[0] === "0" && fields[1] === "0" && fields[2] === "4294967295");
}
