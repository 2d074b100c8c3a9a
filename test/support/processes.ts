/**
 * What a test process holds: its child processes (zombies included), so a
 * test can show that an operation left none behind. Only this process's own are looked at:
 * other engineers run tests on this machine at the same time.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Syscalls, ExitingChild } from "../../src/sys/seam.ts";

/**
 * A pid no process can have: above the kernel's PID_MAX_LIMIT (4194304 on 64-bit). 999999 could
 * be a live process where kernel.pid_max is 4194304 (systemd sets it so) and the pids have
 * climbed that far.
 */
export const NO_SUCH_PID = "999999999";

/** Pids whose parent is this process, with their state (Z for a zombie). */
export function children(): { pid: number; state: string }[] {
  const found: { pid: number; state: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ')'
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(ppid) === process.pid) found.push({ pid: Number(name), state: state! });
  }
  return found;
}

/** true when pid is gone or belongs to someone else's process now. */
export function notOurChild(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== process.pid;
  } catch {
    return true;
  }
}

/** A seam that records every namespace child it clones; everything stays real. */
export function recordingChildren(real: Syscalls): Syscalls & { readonly cloned: ExitingChild[] } {
  const cloned: ExitingChild[] = [];
  return {
    ...real,
    cloned,
    cloneExitingChild(flags: number) {
      const child = real.cloneExitingChild(flags);
      cloned.push(child);
      return child;
    },
  };
}
