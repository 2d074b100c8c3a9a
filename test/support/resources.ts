/**
 * What a test checks was not left behind: open file descriptors and Worker threads of this
 * process. Loop devices are checked per device in loop tests (others use loop devices too).
 */
import { readdirSync, readFileSync } from "node:fs";

/** This process's open fds, sorted. Take it around synchronous code only. */
export function openFds(): number[] {
  return readdirSync("/proc/self/fd")
    .map(Number)
    .sort((a, b) => a - b);
}

/** Threads of this process named "Worker" (Bun names its Worker threads so). */
export function workerThreads(): number {
  let count = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === "Worker") count++;
    } catch {
      // the thread exited while we looked
    }
  }
  return count;
}

/**
 * Wait until cond() holds, for things the kernel finishes shortly after a call returns (a
 * terminated thread exiting). Fails the test, naming what, if it never holds; not a timing check.
 */
export async function eventually(what: string, cond: () => boolean, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`never happened: ${what}`);
    await Bun.sleep(5);
  }
}
