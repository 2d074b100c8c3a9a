/**
 * The stop signals a wrapping command (with-mounts) holds from its first mount to its last
 * unmount, and bench for its whole run, so that none ends mountkit half way with mounts left
 * behind: each is recorded, and passed on to with-mounts' command while one runs, as timeout(1)
 * and `unshare --fork` pass theirs.
 * A signal mountkit's caller ignores (nohup's SIGHUP; SIGINT and SIGQUIT of a script's
 * background job) is not held: it stays ignored, here and in the command.
 */
import { ignoredSignals } from "../sys/ignored-signals.ts";
import { signalsNamed } from "../sys/signal-numbers.ts";

export const STOP_SIGNALS = signalsNamed("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM");
export type StopSignal = keyof typeof STOP_SIGNALS;

export interface SignalHold {
  /** the first signal received, if one was */
  readonly received: StopSignal | undefined;
  /** the stop signals ignored when mountkit started, which the command must inherit ignored */
  readonly ignoredByCaller: readonly number[];
  /** pass every signal received from now on to send (undefined: to no one) */
  passTo(send: ((signal: StopSignal) => void) | undefined): void;
  /** the handlers removed */
  release(): void;
}

export function holdStopSignals(): SignalHold {
  const ignored = new Set(ignoredSignals());
  const held = (Object.keys(STOP_SIGNALS) as StopSignal[]).filter((s) => !ignored.has(STOP_SIGNALS[s]));
  let received: StopSignal | undefined;
  let send: ((signal: StopSignal) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal as StopSignal;
    send?.(signal as StopSignal);
  };
  for (const s of held) process.on(s, onSignal);
  return {
    get received() {
      return received;
    },
    ignoredByCaller: Object.values(STOP_SIGNALS).filter((n) => ignored.has(n)),
    passTo(to) {
      send = to;
    },
    release() {
      for (const s of held) process.off(s, onSignal);
    },
  };
}
