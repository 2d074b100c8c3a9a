/**
 * The FUSE daemons a test started (fuse-overlayfs, bindfs): each serves one mount and exits on
 * its own once that mount is gone. Found by their command line, which names the test's scratch
 * dir, so other users' daemons on this machine are never counted.
 */
import { expect } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";

/** Daemons named program (not zombies: their cmdline is empty) serving a mount under dir. */
export function daemonsUnder(dir: string, program = "fuse-overlayfs"): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith(program) && argv.some((a) => a.startsWith(dir))) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Wait (bounded) for the daemons under dir to exit, then check that they did. */
export function waitForDaemonsGone(dir: string, program = "fuse-overlayfs"): void {
  for (let i = 0; i < 100 && daemonsUnder(dir, program).length > 0; i++) Bun.sleepSync(50);
  expect(daemonsUnder(dir, program)).toEqual([]);
}

/**
 * Stop a daemon (SIGSTOP) and wait until every thread of it is stopped: a request one thread
 * read before it stopped would be waited for without end (uninterruptibly), SIGKILL or not.
 */
export function stopDaemon(pid: number): void {
  process.kill(pid, "SIGSTOP");
  while (!allThreadsStopped(pid)) Bun.sleepSync(10);
}

/** Whether every thread of pid is in state T (stopped). */
function allThreadsStopped(pid: number): boolean {
  return readdirSync(`/proc/${pid}/task`).every((tid) => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
}
