/**
 * A command's end by a signal: with-mounts' command died of one, or one stopped mountkit while
 * it mounted. main.ts then ends mountkit by the same signal, once everything is cleaned up, as
 * timeout(1) and `unshare --fork` do, so the caller sees WIFSIGNALED; where that cannot be
 * done, it exits as a shell reports such a death, 128+N.
 */
export class SignalExit {
  constructor(readonly signal: number) {}

  /** the exit status when dying of the signal is impossible */
  get status(): number {
    return 128 + this.signal;
  }
}

/** The command's end: by signal, when one stopped it (the watch saw one), else with code. */
export function endedBy<T extends number>(code: T, signal: number | undefined): T | SignalExit {
  return signal === undefined ? code : new SignalExit(signal);
}
