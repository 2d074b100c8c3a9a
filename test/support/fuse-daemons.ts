/**
 * The fuse-overlayfs daemons a test started: each serves one mount and exits on its own once
 * that mount is gone. Found by their command line, which names the test's scratch dir, so other
 * users' daemons on this machine are never counted.
 */
import { expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";

/** fuse-overlayfs daemons (not zombies: their cmdline is empty) serving a mount under dir. */
export function daemonsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("fuse-overlayfs") && argv.some((a) => a.startsWith(dir))) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Wait (bounded) for the daemons under dir to exit, then check that they did. */
export function waitForDaemonsGone(dir: string): void {
  for (let i = 0; i < 100 && daemonsUnder(dir).length > 0; i++) Bun.sleepSync(50);
  expect(daemonsUnder(dir)).toEqual([]);
}
