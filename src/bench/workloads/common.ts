/**
 * Pieces the workload files share: the measured operation (mount then unmount, exactly what a
 * caller writes), kernel facts that force a strategy, and names that mark what a run made.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { OpsOptions } from "../../ops/context.ts";
import { mount, planOnly } from "../../ops/mount.ts";
import { unmount } from "../../ops/unmount.ts";
import type { KernelFacts, Strategy } from "../../plan/facts.ts";
import type { Mount } from "../../plan/mount-request.ts";
import type { CliCommand, PreparedWorkload } from "../workload.ts";

/** mount m on target, then unmount it: one operation. */
export function mountThenUnmount(m: Mount, target: string, options?: OpsOptions): () => void {
  return () => {
    mount(m, target, options);
    if (!unmount(target, options)) throw new Error(`bench: ${target} was not mounted after mount()`);
  };
}

/** The kinds of step mount() plans for m on target, each named once, in order of first use. */
export function plannedSteps(m: Mount, target: string, options?: OpsOptions): string[] {
  return [...new Set(planOnly(m, target, options).steps.map((step) => step.op))];
}

/** The library's operation for m on target (mountThenUnmount), and the steps it plans. */
export function mountOp(m: Mount, target: string, options?: OpsOptions): Pick<PreparedWorkload, "op" | "steps"> {
  return { op: mountThenUnmount(m, target, options), steps: plannedSteps(m, target, options) };
}

/** The same commands for util-linux, busybox and mountkit: they share mount(8)'s syntax. */
export function everyTool(commands: readonly CliCommand[]): PreparedWorkload["cli"] {
  return { "util-linux": commands, busybox: commands, mountkit: commands };
}

/**
 * The host's facts with the strategy forced: what a caller passes as `{ facts }` to choose
 * one. (MOUNTKIT_STRATEGY does the same for a whole process; the bench leaves it alone.)
 */
export function factsWithStrategy(facts: KernelFacts, strategy: Strategy): KernelFacts {
  // As MOUNTKIT_STRATEGY would: a forced legacy strategy also selects the legacy loop ioctls.
  return facts.strategy === strategy && facts.strategySource === "environment" ? facts : { ...facts, strategy, strategySource: "environment" };
}

/**
 * A name no other process uses: in loop image names and FUSE sources, so that what a run left
 * (a loop device, a daemon) can be told apart from other users' on this machine.
 */
export function runMarker(): string {
  return `mountkit-bench-${process.pid}`;
}

/** mkdir -p of dir/parts..., returning the path. */
export function makeDir(dir: string, ...parts: string[]): string {
  const path = join(dir, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}

export const always = (): undefined => undefined;

/**
 * Why the kernel cannot mount fstype, or undefined when it can: listed in /proc/filesystems,
 * or built as a module that a mount would load (named in modules.dep).
 */
export function filesystemMissing(fstype: string, module: string, release: string): string | undefined {
  if (readOr("/proc/filesystems").split("\n").some((line) => line.split("\t")[1] === fstype)) return undefined;
  if (new RegExp(`/${module}\\.ko(\\.\\w+)?:`).test(readOr(`/lib/modules/${release}/modules.dep`))) return undefined;
  return `the kernel has no ${fstype} filesystem (not in /proc/filesystems, no ${module} module)`;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
