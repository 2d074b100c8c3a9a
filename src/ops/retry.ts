/**
 * Retries are named policies, never inline loops. Each cites the bug it exists for.
 * Errors are matched by errno code, never by message text.
 */
import { Errno } from "../errno.ts";
import { PlanError, shownValue, SyscallError } from "../errors.ts";
import { requireFunction } from "../plan/caller-input.ts";

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

/** The longest pause between tries a policy may ask for: an hour, far past any busy mount. */
const MAX_DELAY_MS = 3_600_000;

/** The most tries a policy may make: at its shortest pause, 0 ms, still a bound. */
const MAX_ATTEMPTS = 1_000_000;

/**
 * Policies checked once and frozen (mountkit's own, made by definePolicy): retrySync and
 * retryAsync check only the others, a caller's, which may change between calls.
 */
const checkedPolicies = new WeakSet<RetryPolicy>();

/** A policy of mountkit's own: checked now (a PlanError if it cannot be run), then frozen. */
export function definePolicy(policy: RetryPolicy): RetryPolicy {
  checkRetryPolicy(policy, `retry policy ${policy.name}`);
  Object.freeze(policy.errnos);
  checkedPolicies.add(Object.freeze(policy));
  return policy;
}

/** containerd mount_linux.go unmount(): EBUSY 50 times, 50 ms apart. */
export const UNMOUNT_BUSY: RetryPolicy = definePolicy({
  name: "unmount-busy",
  attempts: 50,
  delayMs: 50,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EBUSY],
  reason: "a mount stays busy for a moment after its last user exits (containerd unmount retries)",
});

/**
 * containerd mountWithHelper: `retriesOnECHILD = 10`, no pause. mountkit's umount.TYPE helpers
 * get the same.
 */
export const HELPER_ECHILD: RetryPolicy = definePolicy({
  name: "helper-echild",
  attempts: 10,
  delayMs: 0,
  jitterPerAttemptMs: 0,
  errnos: [Errno.ECHILD],
  reason:
    "the wait for a mount helper can fail with ECHILD when something else in the process reaps the child (containerd#4387)",
});

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
  if (!checkedPolicies.has(policy)) checkRetryPolicy(policy, "retry");
  if (typeof fn !== "function") requireFunction(fn, "fn", "retry");
  if (!Number.isInteger(firstAttempt) || firstAttempt < 1) throw new PlanError(`retry: firstAttempt must be a whole number from 1, got ${shownValue(firstAttempt)}`);
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
  if (!checkedPolicies.has(policy)) checkRetryPolicy(policy, "retry");
  if (typeof fn !== "function") requireFunction(fn, "fn", "retry");
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!shouldRetry(policy, err, attempt)) throw err;
      await Bun.sleep(pauseMs(policy, attempt));
    }
  }
}

/** A copy of a policy with some fields changed (tests use short delays); a PlanError when the result cannot be run. */
export function withPolicy(policy: RetryPolicy, change: Partial<RetryPolicy>): RetryPolicy {
  checkRetryPolicy(policy, "retry policy");
  if (typeof change !== "object" || change === null) throw new PlanError(`retry policy: the change must be an object, got ${shownValue(change)}`);
  const changed = { ...policy, ...change };
  checkRetryPolicy(changed, "retry policy");
  return changed;
}

/**
 * A caller's policy, checked before the first try: attempts a whole number from 1, pauses finite
 * and not negative, errnos a list of errno codes. Otherwise a policy with NaN tries fails at its
 * first retry (Bun.sleepSync refuses a negative pause), and Infinity retries forever.
 */
export function checkRetryPolicy(policy: unknown, action: string): asserts policy is RetryPolicy {
  if (typeof policy !== "object" || policy === null) throw new PlanError(`${action}: expected a retry policy {attempts, delayMs, jitterPerAttemptMs, errnos}, got ${shownValue(policy)}`);
  const { attempts, delayMs, jitterPerAttemptMs, errnos } = policy as { [K in keyof RetryPolicy]: unknown };
  if (!Number.isInteger(attempts) || (attempts as number) < 1 || (attempts as number) > MAX_ATTEMPTS) {
    throw new PlanError(`${action}: attempts must be a whole number from 1 to ${MAX_ATTEMPTS}, got ${shownValue(attempts)}`);
  }
  checkPause(delayMs, "delayMs", action);
  checkPause(jitterPerAttemptMs, "jitterPerAttemptMs", action);
  if (!Array.isArray(errnos)) throw new PlanError(`${action}: errnos must be a list of errno codes, got ${shownValue(errnos)}`);
  for (const errno of errnos) {
    if (!Number.isInteger(errno) || errno <= 0) throw new PlanError(`${action}: errnos must be a list of errno codes (positive whole numbers), got ${shownValue(errno)} in it`);
  }
}

function checkPause(value: unknown, field: string, action: string): void {
  if (typeof value !== "number" || !(value >= 0 && value <= MAX_DELAY_MS)) {
    throw new PlanError(`${action}: ${field} must be a number of milliseconds from 0 to ${MAX_DELAY_MS}, got ${shownValue(value)}`);
  }
}
