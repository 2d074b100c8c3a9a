/**
 * Temp mounts, as containerd's mount.WithTempMount: mount a list into a fresh directory of the
 * temp location, run a function on it, then unmount and rmdir (never a recursive delete: if
 * the unmount failed, a recursive delete would go through the mount into its data).
 * cleanupTempMounts() takes down what a crashed run left in the temp location.
 */
import { lstatSync, rmdirSync, unlinkSync } from "node:fs";
import { fsPath } from "../path-text.ts";
import { readDirNames } from "../sys/dir-names.ts";
import { join } from "../path.ts";
import { MountkitError, PlanError, quotePath } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { Mount } from "../plan/mount-request.ts";
import { readonlyMounts, removeVolatileOption } from "../plan/mount-helpers.ts";
import { unmountOrder } from "../plan/unmount-plan.ts";
import { mountAll, type MountAllOptions, type MountedBatch } from "./batch.ts";
import { fsFailure } from "./targets.ts";
import { isOwnTempDirName, makeTempDir, tempDirOwner, tempMountLocation } from "./temp-location.ts";
import { unmountAll, type UnmountOptions } from "./unmount.ts";

export type TempMountOptions = Omit<MountAllOptions, "keepGoing" | "action" | "releaseStacks">;

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
  const dir = makeTempDir("mount");
  let batch: MountedBatch;
  try {
    // The dir is ours alone: its release takes down whatever fn stacked on our mounts too, or
    // they would stay under it and its rmdir fail (containerd unmounts with UnmountAll).
    batch = mountAll(removeVolatileOption(mounts), dir, { ...options, action: `temp mount ${dir}`, releaseStacks: true });
  } catch (err) {
    const leftover = removeDir(dir);
    if (leftover && err instanceof MountkitError) err.cleanupErrors.push(leftover);
    throw err;
  }
  // As containerd: rmdir even after a failed unmount; it then fails, harmlessly.
  return withBatch(batch, () => fn(dir), () => removeDir(dir));
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
export function withReadonlyTempMount<T>(mounts: readonly Mount[], fn: (dir: string) => T | Promise<T>, options: TempMountOptions = {}): Promise<T> {
  return withTempMount(readonlyMounts(mounts), fn, options);
}

/** rmdir(dir); the failure as a MountkitError, or undefined. Never throws: callers are cleaning up. */
function removeDir(dir: string): MountkitError | undefined {
  try {
    rmdirSync(fsPath(dir));
    return undefined;
  } catch (err) {
    return cleanupFailure(err, "rmdir(2)", dir, `remove temp mount dir ${quotePath(dir)}`);
  }
}

/** A failure while cleaning up, as a MountkitError to report (one without an errno keeps its text). */
function cleanupFailure(err: unknown, syscall: string, path: string, action: string): MountkitError {
  const failure = fsFailure(err, syscall, path, action);
  return failure instanceof MountkitError ? failure : new PlanError(`${action}: ${String(failure)}`, { cause: failure });
}

export interface TempCleanup {
  /** mounts taken down */
  readonly unmounted: number;
  /** directories removed (rmdir) */
  readonly removed: readonly string[];
  /** directories of processes still running (this one included), left alone */
  readonly skipped: readonly string[];
  /** every problem, one per mount or directory; none stops the others */
  readonly warnings: readonly MountkitError[];
}

export interface TempCleanupOptions extends UnmountOptions {
  /** the directory to clean; the temp mount location by default */
  location?: string;
  /** also the directories of processes still running (their pid is in the name) */
  includeRunning?: boolean;
}

/**
 * Take down what earlier runs left in the temp location (containerd's CleanupTempMounts):
 * for each of mountkit's own directories there ("mountkit-*"), unmount every mount inside it,
 * deepest first, then remove its empty directories bottom-up with rmdir, never crossing into
 * another filesystem. A directory where a mount stays, or that holds a file, is left and
 * reported. A directory whose maker (the pid in its name) is still running is in use, and
 * left alone unless includeRunning: a second process cleaning up at start-up does not take
 * down the temp mounts of one at work. (A pid reused since the crash keeps a directory until
 * a later run; a maker in another pid namespace cannot be seen from here.)
 */
export function cleanupTempMounts(options: TempCleanupOptions = {}): TempCleanup {
  const location = options.location ?? tempMountLocation();
  const warnings: MountkitError[] = [];
  const removed: string[] = [];
  const skipped: string[] = [];
  let unmounted = 0;
  const table = readMountInfo();
  for (const name of ownDirs(location, warnings)) {
    const dir = join(location, name);
    const owner = tempDirOwner(name);
    if (!options.includeRunning && owner !== undefined && processRunning(owner)) {
      skipped.push(dir);
      continue;
    }
    let stuck = false;
    for (const m of unmountOrder(table, dir)) {
      try {
        unmounted += unmountAll(m.mountpoint, options);
      } catch (err) {
        if (!(err instanceof MountkitError)) throw err;
        warnings.push(err);
        stuck = true;
      }
    }
    if (stuck) {
      warnings.push(new PlanError(`clean up ${quotePath(dir)}: left in place, a mount inside it could not be unmounted`));
      continue;
    }
    removeEmptyTree(dir, lstatSync(fsPath(dir)).dev, removed, warnings);
  }
  return { unmounted, removed, skipped, warnings };
}

/** kill(pid, 0): the process exists (EPERM: it does, and is someone else's). */
function processRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function ownDirs(location: string, warnings: MountkitError[]): string[] {
  try {
    return readDirNames(location)
      .filter(isOwnTempDirName)
      .filter((name) => {
        const st = lstatSync(fsPath(join(location, name)));
        return st.isDirectory(); // never follow a link out of the location
      })
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return []; // not made yet: nothing was left there
    const failure = fsFailure(err, "open(2)", location, `read temp mount location ${quotePath(location)}`);
    if (failure instanceof MountkitError) warnings.push(failure);
    return [];
  }
}

function unlinkLink(path: string, warnings: MountkitError[]): void {
  try {
    unlinkSync(fsPath(path));
  } catch (err) {
    warnings.push(cleanupFailure(err, "unlink(2)", path, `clean up ${quotePath(path)}`));
  }
}

/**
 * rmdir dir and the empty directories under it, children first, unlinking the symlinks our
 * runs make there (an idmapped layer's link into its shared temp mount, a loop handler's
 * device link): the link goes, never what it points to. A directory on another filesystem (a
 * mount that stayed) is not entered; a file stops its parents' removal. Both are reported,
 * nothing is deleted but empty directories and links.
 */
function removeEmptyTree(dir: string, dev: number, removed: string[], warnings: MountkitError[]): void {
  try {
    for (const name of readDirNames(dir)) {
      const child = join(dir, name);
      const st = lstatSync(fsPath(child));
      if (st.isDirectory() && st.dev === dev) removeEmptyTree(child, dev, removed, warnings);
      else if (st.isSymbolicLink()) unlinkLink(child, warnings);
    }
    rmdirSync(fsPath(dir));
    removed.push(dir);
  } catch (err) {
    warnings.push(cleanupFailure(err, "rmdir(2)", dir, `clean up ${quotePath(dir)}`));
  }
}
