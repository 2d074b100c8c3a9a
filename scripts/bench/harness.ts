/**
 * What the two developer benchmarks share (scripts/bench.ts, scripts/bench-in-process.ts): the
 * C floor's source and build, the command-line walk, and holding the CPU out of deep idle.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const BUILD = join(ROOT, "scripts/bench/build");
export const MOUNTBENCH_SOURCE = join(ROOT, "scripts/bench/mountbench.c");
/** How mountbench.c is compiled, as a program or (with -shared -fPIC -DMOUNTBENCH_SHARED) a shared object. */
export const MOUNTBENCH_CFLAGS = ["-O2", "-Wall", "-Wextra", "-pthread"] as const;

/** Compile mountbench.c into BUILD with the extra flags (output file included); throws with cc's errors. */
export function compileMountbench(extra: readonly string[]): void {
  mkdirSync(BUILD, { recursive: true });
  const cc = Bun.spawnSync(["cc", ...MOUNTBENCH_CFLAGS, ...extra, MOUNTBENCH_SOURCE], { stdout: "pipe", stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc: exit ${cc.exitCode}: ${cc.stderr.toString().trim()}`);
}

/**
 * Walk a command line: `take(flag, value)` handles one flag, reading its value with value()
 * when it has one, and returns false for a flag it does not know.
 */
export function walkArgs(argv: readonly string[], take: (flag: string, value: () => string) => boolean): void {
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    if (!take(flag, value)) throw new Error(`bench: unknown argument ${flag}`);
  }
}

/**
 * Hold /dev/cpu_dma_latency at 0 (no deep CPU idle states) until the returned release runs:
 * the kernel honours the request while the fd stays open, and closing it restores the default.
 */
export function holdNoIdle(): () => void {
  const fd = openSync("/dev/cpu_dma_latency", "w");
  writeSync(fd, new Int32Array([0]));
  return () => closeSync(fd);
}
