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
