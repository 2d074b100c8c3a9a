/**
 * cleanupTempMounts(): take down what crashed runs left in the temp mount location.
 *
 * It runs as root over a location others may write to (/tmp): anyone can make a "mountkit-*"
 * directory there, and its owner can rename it, or any directory in it, and put a symlink in its
 * place at any moment. A cleanup by path would then follow the link: unmount, rmdir and unlink
 * whatever the link points to (a test of this emptied a directory outside the location). So
 * every call is made relative to a directory opened without following a link: the location's
 * fd, then each name in it opened with O_NOFOLLOW|O_DIRECTORY (a symlink there is ENOTDIR), one
 * component at a time, and the last step of rmdir, unlink and umount2 (UMOUNT_NOFOLLOW) never
 * follows a link either (the unmounts are unmount-beneath.ts's, "no-links"). What was swapped in
 * after a directory was opened changes nothing: the fd holds the directory that was there.
 */
import { join } from "../path.ts";
import { Errno } from "../errno.ts";
import { isErrno, MountkitError, PlanError, quotePath, renamedPaths, SyscallError } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { unmountOrder } from "../plan/unmount-plan.ts";
import { readDirNames } from "../sys/dir-names.ts";
import { O } from "../sys/fd.ts";
import type { Syscalls } from "../sys/seam.ts";
import { statPath, type FileIdentity } from "../sys/stat.ts";
import { opsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { fsFailure } from "./targets.ts";
import { isOwnTempDirName, tempDirOwner, tempMountLocation } from "./temp-location.ts";
import { checkUnmountOptions, unmountAll, type UnmountOptions } from "./unmount.ts";
import { optionalPath } from "../plan/caller-input.ts";
import { heldDir, openDirBelow, unmountBeneath, type HeldDir } from "./unmount-beneath.ts";

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
 * another mount. A directory where a mount stays, or that holds a file, is left and reported.
 * A directory whose maker (the pid in its name) is still running is in use, and left alone
 * unless includeRunning: a second process cleaning up at start-up does not take down the temp
 * mounts of one at work. (A pid reused since the crash keeps a directory until a later run; a
 * maker in another pid namespace cannot be seen from here.)
 */
export function cleanupTempMounts(options: TempCleanupOptions = {}): TempCleanup {
  checkUnmountOptions(options, "clean up temp mounts");
  optionalPath(options.location, "location", "clean up temp mounts");
  const location = options.location ?? tempMountLocation();
  const { sys } = opsContext(options);
  const warnings: MountkitError[] = [];
  const removed: string[] = [];
  const skipped: string[] = [];
  let unmounted = 0;
  const root = openLocation(location, sys, warnings);
  if (root === undefined) return { unmounted, removed, skipped, warnings };
  try {
    const table = readMountInfo();
    const confined = unmountingBeneath(root, sys);
    for (const name of ownDirs(root, warnings)) {
      const dir = join(location, name);
      const owner = tempDirOwner(name);
      if (!options.includeRunning && owner !== undefined && processRunning(owner)) {
        skipped.push(dir);
        continue;
      }
      let stuck = false;
      const peeled = new Set<string>(); // a stack is listed once per mount: unmountAll takes it all at once
      for (const m of unmountOrder(table, dir)) {
        if (peeled.has(m.mountpoint)) continue;
        peeled.add(m.mountpoint);
        try {
          unmounted += unmountAll(m.mountpoint, { ...options, sys: confined });
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
      removeEmptyTree(sys, root, name, undefined, removed, warnings);
    }
  } finally {
    closeQuietly(sys, root.fd);
  }
  return { unmounted, removed, skipped, warnings };
}

/** The location opened; undefined when it does not exist (nothing was left there) or cannot be opened (a warning). */
function openLocation(location: string, sys: Syscalls, warnings: MountkitError[]): HeldDir | undefined {
  try {
    return heldDir(sys.open(location, O.PATH | O.DIRECTORY | O.CLOEXEC), location);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    const failure = fsFailure(err, "open(2)", location, `read temp mount location ${quotePath(location)}`);
    if (failure instanceof MountkitError) warnings.push(failure);
    else throw failure;
    return undefined;
  }
}

/** mountkit's own directories in the location: never a link, which would lead out of it. */
function ownDirs(root: HeldDir, warnings: MountkitError[]): string[] {
  try {
    return readDirNames(root.at)
      .filter(isOwnTempDirName)
      .filter((name) => statPath(`${root.at}/${name}`, false)?.type === "dir")
      .sort();
  } catch (err) {
    const failure = fsFailure(err, "open(2)", root.path, `read temp mount location ${quotePath(root.path)}`);
    if (failure instanceof MountkitError) warnings.push(failure);
    return [];
  }
}

/**
 * The seam with umount2 of a path in the location made beneath its fd, no link followed
 * (unmount-beneath.ts): each directory on the way opened with O_NOFOLLOW, crossing the mounts on
 * it as a lookup does, the last step with UMOUNT_NOFOLLOW. Errors name the path, never
 * /proc/self/fd/N.
 */
function unmountingBeneath(root: HeldDir, sys: Syscalls): Syscalls {
  return {
    ...sys,
    umount2(path, flags) {
      if (!path.startsWith(`${root.path}/`)) return sys.umount2(path, flags);
      unmountBeneath(root, path.slice(root.path.length + 1), path, flags, sys, "no-links");
    },
  };
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

/**
 * rmdir name in parent and the empty directories under it, children first, unlinking the
 * symlinks our runs make there (an idmapped layer's link into its shared temp mount, a loop
 * handler's device link): the link goes, never what it points to. A directory on another mount
 * than the top one (a mount that stayed) is not entered; a file stops its parents' removal.
 * Both are reported by the rmdir that fails; nothing is deleted but empty directories and links.
 */
function removeEmptyTree(sys: Syscalls, parent: HeldDir, name: string, top: FileIdentity | undefined, removed: string[], warnings: MountkitError[]): void {
  const path = join(parent.path, name);
  const action = `clean up ${quotePath(path)}`;
  let dir: HeldDir;
  try {
    dir = openDirBelow(sys, parent, name);
  } catch (err) {
    warnings.push(cleanupFailure(err, "open(2)", path, action));
    return;
  }
  try {
    const identity = sys.statxIdentity(dir.fd, "", AT.EMPTY_PATH);
    if (top !== undefined && !onSameMount(identity, top)) return;
    for (const child of readDirNames(dir.at)) {
      const type = statPath(`${dir.at}/${child}`, false)?.type;
      if (type === "dir") removeEmptyTree(sys, dir, child, top ?? identity, removed, warnings);
      else if (type === "link") unlinkBelow(sys, dir, child, warnings);
    }
  } catch (err) {
    warnings.push(cleanupFailure(err, "open(2)", path, action));
    return;
  } finally {
    closeQuietly(sys, dir.fd);
  }
  const at = `${parent.at}/${name}`;
  try {
    sys.rmdir(at);
    removed.push(path);
  } catch (err) {
    warnings.push(cleanupFailure(err instanceof SyscallError ? renamedPaths(err, [at], path) : err, "rmdir(2)", path, action));
  }
}

/** Whether two directories are on one mount (the same filesystem before Linux 5.8, which has no mount IDs). */
function onSameMount(a: FileIdentity, b: FileIdentity): boolean {
  return a.mountId !== 0 && b.mountId !== 0 ? a.mountId === b.mountId : a.device === b.device;
}

function unlinkBelow(sys: Syscalls, dir: HeldDir, name: string, warnings: MountkitError[]): void {
  const at = `${dir.at}/${name}`;
  const path = join(dir.path, name);
  try {
    sys.unlink(at);
  } catch (err) {
    warnings.push(cleanupFailure(err instanceof SyscallError ? renamedPaths(err, [at], path) : err, "unlink(2)", path, `clean up ${quotePath(path)}`));
  }
}

/** A failure while cleaning up, as a MountkitError to report (one without an errno keeps its text). */
export function cleanupFailure(err: unknown, syscall: string, path: string, action: string): MountkitError {
  const failure = fsFailure(err, syscall, path, action);
  return failure instanceof MountkitError ? failure : new PlanError(`${action}: ${String(failure)}`, { cause: failure });
}
