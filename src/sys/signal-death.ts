/**
 * Ending this process by a signal, as timeout(1) and `unshare --fork` end after their command
 * died of one: the caller's wait status then says WIFSIGNALED, which a shell needs to stop a
 * loop on Ctrl-C (bash's "wait and cooperative exit": it stops only when its child died of
 * SIGINT itself). The calls, in order:
 *   prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)     no core file, even through a core_pattern pipe
 *                                           (RLIMIT_CORE 0 does not stop a pipe; timeout(1)
 *                                           uses this prctl on Linux too)
 *   signal(sig, SIG_DFL)                   Bun catches SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT
 *                                           and SIGTRAP for its crash report, and may hold others
 *   sigemptyset(&set); sigaddset(&set, sig);
 *   pthread_sigmask(SIG_UNBLOCK, &set, NULL)
 *   raise(sig)                              delivered to this thread before raise returns
 */
import { bindLibc } from "./libc.ts";
import { SIGNALS, signalsNamed } from "./signal-numbers.ts";
import { SIGSET_BYTES } from "./sigset.ts";

const libc = bindLibc({
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  // the handler argument and the result are pointers; as integers SIG_DFL is 0 and SIG_ERR -1
  signal: { args: ["i32", "u64"], returns: "i64" },
  sigemptyset: { args: ["ptr"], returns: "i32" },
  sigaddset: { args: ["ptr", "i32"], returns: "i32" },
  pthread_sigmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  raise: { args: ["i32"], returns: "i32" },
});

export const SIGNAL_DEATH_LAYOUT = {
  PR_SET_DUMPABLE: 4,
  SIG_UNBLOCK: 1,
  SIG_DFL: 0,
  sigsetBytes: SIGSET_BYTES,
} as const;

/** The signals whose default action does not end a process (signal(7)): raising one would leave this process running. */
const NOT_FATAL = new Set<number>(Object.values(signalsNamed("SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGWINCH")));

/** The signals whose default action also writes a core (signal(7)): raised only once none can be written. */
const DUMPS_CORE = new Set<number>(
  Object.values(signalsNamed("SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGXCPU", "SIGXFSZ", "SIGSYS")),
);

/**
 * End this process by `signal`, its default action restored and no core written. Returns only
 * when that could not be done (a signal that does not end a process, glibc's own real-time
 * signals, a failed call): the caller then exits as a shell reports such a death, 128+N.
 */
export function dieOfSignal(signal: number): void {
  if (!Number.isInteger(signal) || signal < 1 || signal > 64 || NOT_FATAL.has(signal)) return;
  const c = libc();
  const { PR_SET_DUMPABLE, SIG_UNBLOCK, SIG_DFL, sigsetBytes } = SIGNAL_DEATH_LAYOUT;
  // A core of mountkit would be the wrong process's, and may be large: timeout(1) gives up
  // raising when it cannot prevent one, and so does this.
  if (c.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) !== 0 && DUMPS_CORE.has(signal)) return;
  if (signal !== SIGNALS.SIGKILL) {
    // SIGKILL's action cannot be changed, nor can it be blocked: raise() is enough.
    if (Number(c.signal(signal, SIG_DFL)) === -1) return;
    const set = new Uint8Array(sigsetBytes);
    if (c.sigemptyset(set) !== 0 || c.sigaddset(set, signal) !== 0) return;
    if (c.pthread_sigmask(SIG_UNBLOCK, set, null) !== 0) return;
  }
  c.raise(signal);
}
