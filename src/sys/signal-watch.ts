/**
 * Signals noticed by synchronous code, with no JavaScript run when they come. A mount is one
 * synchronous run of syscalls: a process.on() listener runs only once the event loop turns,
 * after the steps it should have stopped, and without any handler the signal ends the process
 * between two of them (a bind made, its read-only remount not).
 *
 * While a signal is watched its action is glibc's sigignore(3) itself, called as the handler:
 *   sigaction(sig, NULL, &old)                 the caller's action, kept to restore; a signal
 *                                               the caller ignores (nohup) is left ignored
 *   sigaction(sig, {sigignore, SA_RESTART}, NULL)
 * Its first arrival runs sigignore(sig) (on whichever thread takes it: one sigaction(2) call,
 * async-signal-safe), which sets the action to SIG_IGN; any later one is ignored. pending()
 * reads the actions back (one sigaction(2) each, about 0.2 us), release() restores them, each
 * by the call that returns the action it replaced: a signal right before its restore is seen.
 * SA_RESTART: a call the signal interrupts (a helper's waitpid) goes on as it would have.
 *
 * A libc without sigignore (glibc deprecates it; dlsym finds none): the handler is getpid(2),
 * which does nothing (async-signal-safe, in every libc), with SA_RESETHAND, so that the kernel
 * itself resets the action to SIG_DFL as the signal comes; pending() and release() take SIG_DFL
 * as the sign, and pending() turns it to SIG_IGN once seen. The one difference: a second
 * signal before that look (the step under way) meets SIG_DFL and ends the process, as both
 * would without the watch.
 */
import { bindLibc } from "./libc.ts";

const libc = bindLibc({
  sigaction: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  // the address of sigignore, as the handler (a pointer as an integer)
  dlsym: { args: ["ptr", "cstring"], returns: "u64" },
});

/** glibc's struct sigaction (x86_64 and arm64): test/integration/process-layout.test.ts compares it with the headers. */
export const SIGACTION_LAYOUT = {
  "sizeof.struct_sigaction": 152,
  "offsetof.sa_handler": 0,
  "offsetof.sa_flags": 136,
  SA_RESTART: 0x10000000,
  SA_RESETHAND: 0x80000000,
  SIG_DFL: 0,
  SIG_IGN: 1,
} as const;

export interface SignalWatch {
  /** Watch the signals from now on (each the caller does not ignore); a second call does nothing. */
  arm(): void;
  /** The first of the signals (in the order given) that came since arm(); undefined when none did, or before arm(). */
  pending(): number | undefined;
  /** The callers' actions back; returns the first of the signals that came before its action was restored. Nothing to do before arm(). */
  release(): number | undefined;
}

/** The address of a libc function by name (dlsym(RTLD_DEFAULT, name)); 0n when there is none. */
export type SymbolLookup = (name: string) => bigint;

export const libcSymbol: SymbolLookup = (name) => BigInt(libc().dlsym(null, name));

/**
 * A watch of signals (numbers); nothing is bound or changed until arm(). lookup finds the
 * handler's function: a test passes one that finds no sigignore, as a libc without it would.
 */
export function watchSignals(signals: readonly number[], lookup: SymbolLookup = libcSymbol): SignalWatch {
  /** the signals watched, and the action each had before */
  let watched: { signal: number; old: Uint8Array }[] | undefined;
  /** the handler is getpid with SA_RESETHAND (no sigignore): SIG_DFL, not only SIG_IGN, says a signal came */
  let oneShot = false;
  const now = new Uint8Array(SIGACTION_LAYOUT["sizeof.struct_sigaction"]);
  const ignore = new Uint8Array(SIGACTION_LAYOUT["sizeof.struct_sigaction"]);
  new DataView(ignore.buffer).setBigUint64(SIGACTION_LAYOUT["offsetof.sa_handler"], BigInt(SIGACTION_LAYOUT.SIG_IGN), true);
  /** whether an action read back says the signal came */
  const came = (action: Uint8Array): boolean => {
    const handler = handlerOf(action);
    return handler === BigInt(SIGACTION_LAYOUT.SIG_IGN) || (oneShot && handler === BigInt(SIGACTION_LAYOUT.SIG_DFL));
  };
  const pending = (): number | undefined => {
    if (watched === undefined) return undefined;
    const c = libc();
    for (const w of watched) {
      if (c.sigaction(w.signal, null, now) !== 0 || !came(now)) continue;
      // reset by the kernel to SIG_DFL: a second one is ignored from now on, as with sigignore
      if (handlerOf(now) === BigInt(SIGACTION_LAYOUT.SIG_DFL)) c.sigaction(w.signal, ignore, null);
      return w.signal;
    }
    return undefined;
  };
  return {
    arm() {
      if (watched !== undefined) return;
      const c = libc();
      let handler = lookup("sigignore");
      let flags = SIGACTION_LAYOUT.SA_RESTART;
      if (handler === 0n) {
        handler = lookup("getpid");
        flags |= SIGACTION_LAYOUT.SA_RESETHAND;
        oneShot = true;
      }
      watched = [];
      // neither found: nothing watched, the signals keep their actions and end the process as
      // they did before this watch; the mount itself must not fail for it
      if (handler === 0n) return;
      const act = new Uint8Array(SIGACTION_LAYOUT["sizeof.struct_sigaction"]);
      const view = new DataView(act.buffer);
      view.setBigUint64(SIGACTION_LAYOUT["offsetof.sa_handler"], handler, true);
      // >>> 0: SA_RESETHAND is the sign bit of the C int
      view.setUint32(SIGACTION_LAYOUT["offsetof.sa_flags"], flags >>> 0, true);
      for (const signal of signals) {
        const old = new Uint8Array(SIGACTION_LAYOUT["sizeof.struct_sigaction"]);
        if (c.sigaction(signal, null, old) !== 0) continue;
        if (handlerOf(old) === BigInt(SIGACTION_LAYOUT.SIG_IGN)) continue; // the caller's ignore stands
        if (c.sigaction(signal, act, null) === 0) watched.push({ signal, old });
      }
    },
    pending,
    release() {
      if (watched === undefined) return undefined;
      // each action restored by the call that reads the one it replaces: a signal that comes
      // between a read and a restore of its own would change it, which the restore wipes
      const c = libc();
      let first: number | undefined;
      for (const w of watched) {
        if (c.sigaction(w.signal, w.old, now) === 0 && came(now)) first ??= w.signal;
      }
      watched = undefined;
      return first;
    },
  };
}

/** sa_handler of a struct sigaction, as an integer (SIG_DFL 0, SIG_IGN 1, else an address). */
function handlerOf(action: Uint8Array): bigint {
  return new DataView(action.buffer, action.byteOffset).getBigUint64(SIGACTION_LAYOUT["offsetof.sa_handler"], true);
}
