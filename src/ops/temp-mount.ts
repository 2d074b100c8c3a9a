/**
 * Temp mounts, as containerd's mount.WithTempMount: mount a list into a fresh directory of the
 * temp location, run a function on it, then unmount and rmdir (never a recursive delete: if
 * the unmount failed, a recursive delete would go through the mount into its data).
 * cleanupTempMounts() (temp-cleanup.ts) takes down what a crashed run left in the temp location.
 */
import { MountkitError, PlanError, quotePath, shownValue } from "../errors.ts";
import type { Mount } from "../plan/mount-request.ts";
import { DEFAULT_TARGET_MODE, entriesFromMounts, type BatchEntry } from "../plan/batch-entry.ts";
import { checkMountList, requireFunction, requireOptionsObject } from "../plan/caller-input.ts";
import { readonlyMounts, removeVolatileOption } from "../plan/mount-helpers.ts";
import { batchOwnWarnings, runEntries, type MountAllOptions, type MountedBatch } from "./batch.ts";
import { opsContext } from "./context.ts";
import { RunStopped } from "./stop.ts";
import { cleanupFailure } from "./temp-cleanup.ts";
import { makeTempDir } from "./temp-location.ts";
import type { Syscalls } from "../sys/seam.ts";


export type TempMountOptions = Omit<MountAllOptions, "keepGoing" | "action" | "releaseStacks"> & {
  /** called with each of the batch's own warnings once it has mounted, before fn (no outcome is returned to show them); one that throws is released as fn would be */
  onBatchWarning?: (warning: MountkitError) => void;
};

/**
 * Mount mounts into a new temp dir, call fn(dir), then unmount and remove the dir whatever fn
 * did. Errors, joined as containerd joins them:
 *   the mounts fail     that error (nothing left mounted, the dir removed)
 *   fn fails            fn's error, unchanged
 *   the cleanup fails   its error (a BatchError naming each mount left)
 *   fn and cleanup fail the cleanup's error, its message followed by fn's, and fn's error as
 *                       its cause (containerd: "failed to unmount <dir>: <uerr>: <err>")
 * Overlay mounts lose `volatile` first: overlayfs refuses to mount a volatile upperdir again.
 */
export async function withTempMount<T>(mounts: readonly Mount[], fn: (dir: string) => T | Promise<T>, options: TempMountOptions = {}): Promise<T> {
  requireOptionsObject(options, "temp mount");
  return withTempEntries(entriesFromMounts(mounts, options.mkdir ? { mode: DEFAULT_TARGET_MODE } : undefined, "temp mount"), fn, options);
}

/**
 * withTempMount for entries as apply reads them (with-mounts without a root): each keeps its
 * name, its nofail (a failure is a warning, in the batch's results) and its target creation.
 */
export async function withTempEntries<T>(entries: readonly BatchEntry[], fn: (dir: string) => T | Promise<T>, options: TempMountOptions = {}): Promise<T> {
  // checked before the dir is made and the mounts made: not a TypeError once they stand
  requireFunction(fn, "fn", "temp mount");
  checkOnBatchWarning(options);
  const { sys } = opsContext(options);
  const dir = makeTempDir("mount");
  let batch: MountedBatch;
  try {
    // The dir is ours alone: its release takes down whatever fn stacked on our mounts too, or
    // they would stay under it and its rmdir fail (containerd unmounts with UnmountAll).
    const volatileless = removeVolatileOption(entries.map((e) => e.mount));
    const outcome = runEntries(
      entries.map((e, i) => ({ ...e, mount: { ...e.mount, options: volatileless[i]!.options } })),
      dir,
      { ...options, action: `temp mount ${dir}`, releaseStacks: true },
    );
    if (outcome.error) throw outcome.error;
    batch = outcome;
  } catch (err) {
    const leftover = removeDir(dir, sys);
    // a stop too (its mounts undone) names the dir it leaves, as a failure does
    if (leftover && (err instanceof MountkitError || err instanceof RunStopped)) err.cleanupErrors.push(leftover);
    throw err;
  }
  // As containerd: rmdir even after a failed unmount; it then fails, harmlessly. The batch's
  // warnings are told as fn's run starts: a callback that throws is released as fn would be.
  return withBatch(batch, () => fnAfterWarnings(batch, options, () => fn(dir)), () => removeDir(dir, sys));
}

/**
 * fn, after the batch's own warnings went to options.onBatchWarning: inside withBatch's run, so
 * that a callback that throws leaves nothing mounted (it was thrown with the batch standing).
 */
export function fnAfterWarnings<T>(batch: MountedBatch, options: Pick<TempMountOptions, "onBatchWarning">, fn: () => T | Promise<T>): T | Promise<T> {
  for (const w of batchOwnWarnings(batch)) options.onBatchWarning?.(w);
  return fn();
}

/**
 * Run fn while batch is mounted, then release it (and run afterRelease, which reports its own
 * failure), joining errors as withTempMount documents. For callers that mounted a batch
 * themselves (with-mounts on a given root).
 */
export async function withBatch<T>(
  batch: MountedBatch,
  fn: () => T | Promise<T>,
  afterRelease: () => MountkitError | undefined = () => undefined,
): Promise<T> {
  // before fn runs: a batch that cannot be released stays mounted, a TypeError after fn
  if (typeof (batch as Partial<MountedBatch> | null)?.release !== "function") {
    throw new PlanError(`with batch: batch must be a mounted batch (an object with release()), got ${shownValue(batch)}`);
  }
  requireFunction(fn, "fn", "with batch");
  requireFunction(afterRelease, "afterRelease", "with batch");
  let failed = false;
  let failure: unknown;
  let result: T | undefined;
  try {
    result = await fn();
  } catch (err) {
    failed = true;
    failure = err;
  }

  let cleanup: MountkitError | undefined;
  try {
    batch.release();
  } catch (err) {
    if (!(err instanceof MountkitError)) throw err;
    cleanup = err;
  }
  const leftover = afterRelease();
  if (leftover) {
    if (cleanup) cleanup.cleanupErrors.push(leftover);
    else cleanup = leftover;
  }

  if (!cleanup) {
    if (failed) throw failure;
    return result as T;
  }
  if (failed) {
    cleanup.message = `${cleanup.message}: ${failure instanceof Error ? failure.message : String(failure)}`;
    Object.defineProperty(cleanup, "cause", { value: failure, configurable: true, writable: true });
  }
  throw cleanup;
}

/** withTempMount with every mount read-only (an overlay's upperdir becomes its top lowerdir). */
export async function withReadonlyTempMount<T>(mounts: readonly Mount[], fn: (dir: string) => T | Promise<T>, options: TempMountOptions = {}): Promise<T> {
  // as withTempMount names them (readonlyMounts would say "read-only mounts")
  checkMountList(mounts, "temp mount");
  return withTempMount(readonlyMounts(mounts), fn, options);
}

/**
 * A caller's onBatchWarning: a function, checked before anything is mounted. It is called once
 * the mounts stand, before fn: a number there was a TypeError that left them mounted.
 */
export function checkOnBatchWarning(options: Pick<TempMountOptions, "onBatchWarning">): void {
  const { onBatchWarning } = options;
  if (onBatchWarning !== undefined && typeof onBatchWarning !== "function") requireFunction(onBatchWarning, "onBatchWarning", "options");
}

/** rmdir(dir); the failure as a MountkitError, or undefined. Never throws: callers are cleaning up. */
function removeDir(dir: string, sys: Syscalls): MountkitError | undefined {
  try {
    sys.rmdir(dir);
    return undefined;
  } catch (err) {
    return cleanupFailure(err, "rmdir(2)", dir, `remove temp mount dir ${quotePath(dir)}`);
  }
}
