/**
 * Retries are named policies, never inline loops. Each cites the bug it exists for.
 * Errors are matched by errno code, never by message text.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";

export interface RetryPolicy {
  readonly name: string;
  /** total tries, the first included */
  readonly attempts: number;
  /** fixed pause between tries, in ms */
  readonly delayMs: number;
  /** extra random pause: up to attempt * jitterPerAttemptMs, in ms */
  readonly jitterPerAttemptMs: number;
  /** errno codes worth another try */
  readonly errnos: readonly number[];
  /** why it exists */
  readonly reason: string;
}

/** containerd mount_linux.go unmount(): EBUSY 50 times, 50 ms apart. */
export const UNMOUNT_BUSY: RetryPolicy = {
  name: "unmount-busy",
  attempts: 50,
  delayMs: 50,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EBUSY],
  reason: "a mount stays busy for a moment after its last user exits (containerd unmount retries)",
};

/**
 * containerd mountWithHelper: `retriesOnECHILD = 10`, no pause. mountkit's umount.TYPE helpers
 * get the same.
 */
export const HELPER_ECHILD: RetryPolicy = {
  name: "helper-echild",
  attempts: 10,
  delayMs: 0,
  jitterPerAttemptMs: 0,
  errnos: [Errno.ECHILD],
  reason:
    "the wait for a mount helper can fail with ECHILD when something else in the process reaps the child (containerd#4387)",
};

/** true when err should be retried under policy after `attempt` tries (1-based). */
export function shouldRetry(policy: RetryPolicy, err: unknown, attempt: number): boolean {
  return attempt < policy.attempts && err instanceof SyscallError && policy.errnos.includes(err.errno);
}

export function pauseMs(policy: RetryPolicy, attempt: number): number {
  return policy.delayMs + (policy.jitterPerAttemptMs ? Math.random() * attempt * policy.jitterPerAttemptMs : 0);
}

/**
 * Run fn under policy, blocking the thread between tries. A caller that made the first try
 * itself (without a closure, on a hot path) passes the number of the next one.
 */
export function retrySync<T>(policy: RetryPolicy, fn: (attempt: number) => T, firstAttempt = 1): T {
  for (let attempt = firstAttempt; ; attempt++) {
    try {
      return fn(attempt);
    } catch (err) {
      if (!shouldRetry(policy, err, attempt)) throw err;
      Bun.sleepSync(pauseMs(policy, attempt));
    }
  }
}

/** Run fn under policy, awaiting between tries. */
export async function retryAsync<T>(policy: RetryPolicy, fn: (attempt: number) => T | Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!shouldRetry(policy, err, attempt)) throw err;
      await Bun.sleep(pauseMs(policy, attempt));
    }
  }
}

/** A copy of a policy with some fields changed (tests use short delays). */
export function withPolicy(policy: RetryPolicy, change: Partial<RetryPolicy>): RetryPolicy {
  return { ...policy, ...change };
}
