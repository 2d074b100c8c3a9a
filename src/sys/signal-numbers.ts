/**
 * Linux's signal numbers (signal(7)): the one table every module that names a signal takes
 * its number from. The same on x86_64 and arm64; test/integration/process-layout.test.ts
 * compares each with <signal.h>. The real-time signals (SIGRTMIN and up) are numbered by glibc
 * at run time, and are not here.
 */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

export type SignalName = keyof typeof SIGNALS;

/** The named signals as a table of their own: their names, their numbers from SIGNALS. */
export function signalsNamed<N extends SignalName>(...names: N[]): { readonly [K in N]: (typeof SIGNALS)[K] } {
  return Object.fromEntries(names.map((name) => [name, SIGNALS[name]])) as { readonly [K in N]: (typeof SIGNALS)[K] };
}
