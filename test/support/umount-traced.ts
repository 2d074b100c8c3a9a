/**
 * The binary's umount (or another command) under strace: what it said, and how often it opened a
 * mountinfo table and looked for an umount.TYPE helper, so that a test counts the reads a change
 * saves, never times them.
 */
import { readFileSync } from "node:fs";
import { BINARY } from "./cli.ts";

export interface TracedUmount {
  code: number | null;
  stderr: string;
  tableReads: number;
  helperLookups: number;
}

/** `mountkit umount ARGS` under strace, its trace written to log. */
export function umountTraced(log: string, args: readonly string[]): TracedUmount {
  return commandTraced(log, ["umount", ...args]);
}

/** `mountkit ARGV` under strace (with env, when given), its trace written to log. */
export function commandTraced(log: string, argv: readonly string[], env?: Record<string, string | undefined>): TracedUmount {
  const run = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=open,openat,statx,newfstatat,access", "-o", log, BINARY, ...argv], env === undefined ? {} : { env });
  const calls = readFileSync(log, "utf8").split("\n");
  return {
    code: run.exitCode,
    stderr: run.stderr.toString(),
    tableReads: calls.filter((line) => /\/mountinfo"/.test(line)).length,
    helperLookups: calls.filter((line) => /\/umount\.[^/"]+"/.test(line)).length,
  };
}
