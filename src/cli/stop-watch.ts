/**
 * The stop signals (SIGHUP, SIGINT, SIGQUIT, SIGTERM) for the commands that mount or unmount
 * in several syscalls: ops/ arms this before work that must not be cut in two (a plan of more
 * than one step, a batch: ops/stop.ts) and asks it between the parts, so that a signal undoes
 * the part-made work and then ends mountkit by that signal (main.ts), where its default action
 * ended mountkit half way (a bind made, its read-only remount not). Until the first arm()
 * nothing is bound or installed: a one-step mount starts and runs as before. The signals are
 * noticed with no JavaScript run (sys/signal-watch.ts), since the mounts are synchronous.
 */
import { messageLine, type Io } from "./output.ts";
import { SignalExit } from "./signal-exit.ts";
import type { RunStopped, StopRequests } from "../ops/stop.ts";
import type { SignalWatch } from "../sys/signal-watch.ts";
import { signalsNamed } from "../sys/signal-numbers.ts";

export interface StopWatch extends StopRequests {
  /** The callers' actions back; the signal that came (its number) if one did. */
  release(): number | undefined;
}

let watchedSignals: Readonly<Record<"SIGHUP" | "SIGINT" | "SIGQUIT" | "SIGTERM", number>> | undefined;

/**
 * The signals watched (with-mounts holds the same: signal-hold.ts), in the order pending() looks
 * at them; made on first use, as a one-step mount never asks.
 */
function watched(): Readonly<Record<"SIGHUP" | "SIGINT" | "SIGQUIT" | "SIGTERM", number>> {
  return (watchedSignals ??= signalsNamed("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM"));
}

export function stopWatch(): StopWatch {
  let watch: SignalWatch | undefined;
  return {
    arm() {
      watch ??= (require("../sys/signal-watch.ts") as typeof import("../sys/signal-watch.ts")).watchSignals(Object.values(watched()));
      watch.arm();
    },
    requested() {
      const signal = watch?.pending();
      return signal === undefined ? undefined : signalName(signal);
    },
    release() {
      return watch?.release();
    },
  };
}

/** "SIGINT" for 2; a number not watched as "signal N". */
export function signalName(signal: number): string {
  return Object.entries(watched()).find(([, n]) => n === signal)?.[0] ?? `signal ${signal}`;
}

/** The number of a signal stopRequests named (RunStopped.reason). */
export function signalNumber(name: string): number | undefined {
  return (watched() as Record<string, number>)[name];
}

/**
 * A command stopped by a signal: one line ("mount -a: stopped by SIGINT: WHAT"), with what its
 * undo could not do, then its end by that signal.
 */
export function stoppedBy(io: Io, signal: number, label: string, what: string, stopped?: RunStopped): SignalExit {
  const cleanups = (stopped?.cleanupErrors ?? []).map((c) => `; while cleaning up: ${c instanceof Error ? c.message : String(c)}`);
  io.err(messageLine(`${label}: stopped by ${signalName(signal)}: ${what}${cleanups.join("")}`));
  return new SignalExit(signal);
}
