/**
 * umount2 of a mount point below a directory held open, made so that it cannot leave that
 * directory. umount2(path) follows every link on the path: where others can write (a
 * container's root, the temp location in /tmp) a directory on it swapped for a symlink, even
 * after every check, sends the unmount to a mount anywhere on the host. Here the mount point's
 * parent directory is opened below the held directory's fd, and umount2 is given
 * /proc/self/fd/<parent>/<name> with UMOUNT_NOFOLLOW:
 *
 *   open(dir, O_PATH|O_DIRECTORY|O_CLOEXEC)                          the caller's
 *   openat2(dir, "a/b", O_PATH|O_DIRECTORY|O_CLOEXEC, RESOLVE_IN_ROOT)  "in-root", or
 *   open("/proc/self/fd/<dir>/a", O_PATH|O_DIRECTORY|O_NOFOLLOW), then b   "no-links"
 *   umount2("/proc/self/fd/<parent>/name", flags|UMOUNT_NOFOLLOW)
 *
 * What is swapped in once a directory is open changes nothing: its fd holds the directory that
 * was there. Lookups cross the mounts on the way, as any lookup does. Errors name paths, never
 * /proc/self/fd/N.
 *
 * Its users: a root's targets, whose own links are followed as if the root were "/"
 * (pinned-target.ts unmountInRoot: a batch's undo and release, unmountMounts, with-mounts'
 * unmount of what its command stacked), and the temp location's cleanup, where no link is
 * followed (temp-cleanup.ts).
 */
import { join } from "../path.ts";
import { quotePath, renamedPaths, SyscallError } from "../errors.ts";
import { MNT } from "../plan/flags.ts";
import { RESOLVE } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import type { Syscalls } from "../sys/seam.ts";
import { closeQuietly } from "./plan-handles.ts";

/** A directory opened with O_PATH: its fd, the /proc/self/fd path naming it, the path it stands for. */
export interface HeldDir {
  readonly fd: number;
  readonly at: string;
  readonly path: string;
}

/** dir held by fd, standing for path. */
export function heldDir(fd: number, path: string): HeldDir {
  return { fd, at: `/proc/self/fd/${fd}`, path };
}

/**
 * How the directories between a held one and a mount point below it are looked up:
 *   "in-root"   links followed as if the held directory were "/" (openat2 RESOLVE_IN_ROOT): a
 *               root's targets were resolved so (containerd's fs.RootPath); a link swapped in
 *               since leads nowhere above the root
 *   "no-links"  none followed: each directory opened with O_NOFOLLOW|O_DIRECTORY, a link there
 *               is ENOTDIR. For a place others write to, where none of our paths holds a link.
 */
export type LinksOnTheWay = "in-root" | "no-links";

/** openat2's resolution for "in-root": links as if the root were "/", no /proc magic. */
const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

/** What failed, when a mount point's way inside its root cannot be opened. */
export function openInRootAction(target: string, root: string): string {
  return `open mount point ${quotePath(target)} inside ${quotePath(root)}`;
}

/** A directory below an open one, the last step not following a link. */
const DIR_BELOW = O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;

/**
 * umount2 of the mount point at relative (no "." or ".." in it) below dir, never outside dir:
 * its parent opened below dir's fd as links says, its name not followed (UMOUNT_NOFOLLOW).
 * Errors name target (the mount point's path), or the directory on the way that failed to open
 * ("no-links").
 */
export function unmountBeneath(dir: HeldDir, relative: string, target: string, flags: number, sys: Syscalls, links: LinksOnTheWay): void {
  const slash = relative.lastIndexOf("/");
  const parent = slash < 0 ? dir : openDirBeneath(dir, relative.slice(0, slash), target, sys, links);
  const at = `${parent.at}/${relative.slice(slash + 1)}`;
  try {
    sys.umount2(at, flags | MNT.NOFOLLOW);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [at], target) : err;
  } finally {
    if (parent !== dir) closeQuietly(sys, parent.fd);
  }
}

/**
 * The directory at relative below dir, opened with O_PATH as links says (for a mount point
 * target below it). Failures of "in-root" name target; of "no-links", the directory that failed.
 */
export function openDirBeneath(dir: HeldDir, relative: string, target: string, sys: Syscalls, links: LinksOnTheWay): HeldDir {
  if (links === "in-root") {
    try {
      return heldDir(sys.openat2(dir.fd, relative, O.PATH | O.DIRECTORY | O.CLOEXEC, IN_ROOT), join(dir.path, relative));
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      throw renamedPaths(err, [relative], target).withAction(openInRootAction(target, dir.path));
    }
  }
  let reached = dir;
  try {
    for (const name of relative.split("/")) {
      const below = openDirBelow(sys, reached, name);
      if (reached !== dir) closeQuietly(sys, reached.fd);
      reached = below;
    }
  } catch (err) {
    if (reached !== dir) closeQuietly(sys, reached.fd);
    throw err;
  }
  return reached;
}

/** name in parent opened as a directory, a symlink not followed (ENOTDIR). Errors name its path. */
export function openDirBelow(sys: Syscalls, parent: HeldDir, name: string): HeldDir {
  const at = `${parent.at}/${name}`;
  const path = join(parent.path, name);
  try {
    return heldDir(sys.open(at, DIR_BELOW), path);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [at], path) : err;
  }
}
