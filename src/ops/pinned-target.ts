/**
 * A mount point pinned inside its root (a batch's, or mount --target-prefix's). containerd's fs.RootPath reads a
 * target's links one at a time and mounts on the path it found, so a process that swaps a
 * directory on that path for a symlink in between sends the mount out of the root (runc's
 * CVE-2021-30465). Here the resolved target is opened with openat2(RESOLVE_IN_ROOT), which the
 * kernel keeps inside the root whatever the tree does meanwhile (its parent directory so, and
 * its name in that with no link followed), and the plan's calls on the target go through it:
 *
 *   - calls that make a mount there (mount(2), move_mount, the dir thread's mount(2)) name
 *     the fd: the mount lands on the directory that was opened, or the file; an open(2) of the
 *     target before that (tmpcopyup's of the directory to copy) opens that directory too, and
 *     tmpcopyup's detached tmpfs, filled through its own fd, is attached by move_mount here;
 *   - calls on the mount made there (a remount, a propagation change, statfs, X-mount.owner's
 *     chown and chmod, mount_setattr, the mounted tmpcopyup's open of the tmpfs to copy into)
 *     need the new mount, which the fd does not reach (the kernel's jump to the fd's file does
 *     not cross the mount on it): the name is looked up again in the pinned parent, and used
 *     only when that is on a mount other than the target's and the parent's, else the entry
 *     fails and is rolled back;
 *   - umount2 crosses the mount on the fd's file (the kernel looks a mount point up), so an
 *     undo goes through the fd; once the entry has run the fds are closed, and a later undo
 *     (a rollback, release()) opens the parent inside the root again.
 *
 * Paths in errors are the target's, never /proc/self/fd/N. Mount helpers (FUSE, mount.TYPE)
 * get the target's path in their argv: a helper's mount is not pinned.
 */
import { MountFailedError, PlanError, quotePath, renamedPaths, SyscallError } from "../errors.ts";
import { MNT, MS, MS_PROPAGATION } from "../plan/flags.ts";
import { AT, MOVE_MOUNT, RESOLVE } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import type { Plan } from "../plan/steps.ts";
import type { OpsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { runPlan, type PlanRun } from "./run-plan.ts";
import { heldDir, openDirBeneath, openInRootAction, unmountBeneath } from "./unmount-beneath.ts";

export interface PinnedTarget {
  /** the seam for the entry's plan: calls on the target go through the pinned fds */
  readonly sys: Syscalls;
  /** Close the fds (the entry has run). Later calls on the target open it inside the root again. */
  close(): void;
}

/**
 * runPlan for a target inside root: its calls on the target go through the target opened
 * inside the root, so a process changing the tree since the target was resolved cannot send
 * the mount elsewhere. At "/" (mount -a, a plain mount) there is nothing to stay inside: by path.
 */
export function runPlanInRoot(plan: Plan, root: string, target: string, ctx: OpsContext, keep?: Pick<PlanRun, "rollback">, rootFd?: number): void {
  if (root === "/") return runPlan(plan, ctx, keep);
  let pin: PinnedTarget;
  try {
    pin = pinTarget(root, target, ctx.sys, rootFd);
  } catch (err) {
    throw err instanceof SyscallError ? err.withAction(plan.action) : err; // where the mount would fail
  }
  try {
    runPlan(plan, { ...ctx, sys: pin.sys }, keep);
  } finally {
    pin.close();
  }
}

/** openat2's resolution for a target's name in its parent (opened "in-root", unmount-beneath.ts): no link at all, nothing above the parent */
const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;

/** mount(2) flags of calls that change the mount on a path rather than make one there. */
const ON_MOUNT = MS.REMOUNT | MS_PROPAGATION;

/**
 * Open target (a host path below root, as resolveInRoot gave it) inside root and return the
 * seam that mounts through it. Fails, before anything is mounted, when the target cannot be
 * opened inside the root (missing, or a loop of links), naming the target.
 */
export function pinTarget(root: string, target: string, sys: Syscalls, rootFd?: number): PinnedTarget {
  const inRoot = relativeInRoot(root, target);
  /** the target's fds while the entry runs; undefined once closed */
  let pin: OpenTarget | undefined = openInRoot(root, inRoot, target, sys, rootFd);
  const inRootSys = unmountingInRoot(root, sys);
  /** whether a call has made a mount on the target since it was opened */
  let mounted = false;
  /** that mount, opened inside the root and checked on first use */
  let made: Fd | undefined;
  const forgetMade = () => {
    if (made !== undefined) closeQuietly(sys, made.fd);
    made = undefined;
  };

  /** Run use with the target's fd: the pinned one, or after close() one opened for the call. */
  const onTarget = <T>(use: (at: Fd) => T): T => {
    if (pin !== undefined) return named(() => use(pin!), pin, made);
    const again = openInRoot(root, inRoot, target, sys);
    try {
      return named(() => use(again), again);
    } finally {
      closeOpen(sys, again);
    }
  };
  /** Run use with the mount made on the target (or, before one is, the target itself). */
  const onMount = <T>(use: (at: Fd) => T): T => {
    if (pin === undefined || !mounted) return onTarget(use); // opened now: on top of the mount there
    made ??= madeMount(pin, root, target, sys);
    return named(() => use(made!), pin, made);
  };
  const making = <T>(use: (at: Fd) => T): T => {
    const result = onTarget(use);
    forgetMade();
    mounted = pin !== undefined;
    return result;
  };

  const pinned: Syscalls = {
    ...sys,
    mount(source, path, fstype, flags, data) {
      if (path === target) {
        if ((flags & ON_MOUNT) !== 0) return onMount((at) => sys.mount(source, at.path, fstype, flags, data));
        return making((at) => sys.mount(source, at.path, fstype, flags, data));
      }
      if (source === target && (flags & MS.MOVE) !== 0) return onMount((at) => sys.mount(at.path, path, fstype, flags, data));
      return sys.mount(source, path, fstype, flags, data);
    },
    mountInDir(dir, source, path, fstype, flags, data) {
      if (path !== target || (flags & ON_MOUNT) !== 0) return sys.mountInDir(dir, source, path, fstype, flags, data);
      // /proc/self/fd, not thread-self: the dir thread shares the process's fds
      return making((at) => sys.mountInDir(dir, source, at.path, fstype, flags, data));
    },
    moveMount(fromDfd, fromPath, toDfd, toPath, flags) {
      if (toDfd !== AT.FDCWD || toPath !== target) return sys.moveMount(fromDfd, fromPath, toDfd, toPath, flags);
      return making((at) => sys.moveMount(fromDfd, fromPath, at.fd, "", (flags & ~MOVE_MOUNT.T_SYMLINKS) | MOVE_MOUNT.T_EMPTY_PATH));
    },
    umount2(path, flags) {
      // another mount point in the root (a submount of an rbind made here, unmounted before it): inside the root too
      if (path !== target) return inRootSys.umount2(path, flags);
      // umount2 looks the mount point up, crossing the mount on the fd's file; the link is
      // the call's own path, so it is followed whatever the caller said about symlinks
      forgetMade(); // its fd would keep the mount busy
      mounted = false;
      if (pin !== undefined) return named(() => sys.umount2(pin!.path, flags & ~MNT.NOFOLLOW), pin);
      unmountInRoot(root, inRoot, target, flags, sys);
    },
    statfs(path) {
      return path === target ? onMount((at) => sys.statfs(at.path)) : sys.statfs(path);
    },
    // tmpcopyup's reads: before the mount the directory it covers, after it the new mount's root
    open(path, flags, mode) {
      if (path !== target) return sys.open(path, flags, mode);
      return onMount((at) => sys.open(at.path, flags & ~O.NOFOLLOW, mode)); // at.path is a /proc link, to be followed
    },
    mountSetattr(dfd, path, flags, attrSet, attrClr, propagation, usernsFd) {
      if (dfd !== AT.FDCWD || path !== target) return sys.mountSetattr(dfd, path, flags, attrSet, attrClr, propagation, usernsFd);
      return onMount((at) => sys.mountSetattr(at.fd, "", flags | AT.EMPTY_PATH, attrSet, attrClr, propagation, usernsFd));
    },
    // The mount's root, not the /proc link itself: a directory through "fd/." (the link is not
    // the path's last step), a file through the calls that follow a link (statx without
    // AT_SYMLINK_NOFOLLOW, chown for lchown; chmod follows anyway).
    statxOwnership(path, followLinks) {
      if (path !== target) return sys.statxOwnership(path, followLinks);
      return targetIsDir() ? onMount((at) => sys.statxOwnership(`${at.path}/.`)) : onMount((at) => sys.statxOwnership(at.path, true));
    },
    lchown(path, uid, gid) {
      if (path !== target) return sys.lchown(path, uid, gid);
      return targetIsDir() ? onMount((at) => sys.lchown(`${at.path}/.`, uid, gid)) : onMount((at) => sys.chown(at.path, uid, gid));
    },
    chmod(path, mode) {
      if (path !== target) return sys.chmod(path, mode);
      return targetIsDir() ? onMount((at) => sys.chmod(`${at.path}/.`, mode)) : onMount((at) => sys.chmod(at.path, mode));
    },
  };
  let isDir: boolean | undefined;
  const targetIsDir = () => (isDir ??= onTarget((at) => isDirectory(sys, at.path)));
  const close = () => {
    forgetMade();
    if (pin !== undefined) closeOpen(sys, pin);
    pin = undefined;
    mounted = false;
  };
  return { sys: pinned, close };

  /** Run call; a SyscallError naming an fd's /proc path names the target instead. */
  function named<T>(call: () => T, ...fds: (Fd | undefined)[]): T {
    try {
      return call();
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      const paths = fds.flatMap((f) => (f === undefined ? [] : [f.path, `${f.path}/.`]));
      throw renamedPaths(err, paths, target);
    }
  }
}

/**
 * The seam with every umount2 of a path at or below root (a host path, as resolveInRoot gives
 * targets) made inside root, as unmountInRoot makes it: for unmountMounts and with-mounts,
 * whose targets were resolved before the unmount, so that a directory on the way swapped for a
 * symlink since cannot send it out of the root. At "/" there is nothing to stay inside: sys
 * itself, by path, as a batch at "/" mounts. Every other call is sys's.
 */
export function unmountingInRoot(root: string, sys: Syscalls): Syscalls {
  if (root === "/") return sys;
  const below = `${root}/`;
  return {
    ...sys,
    umount2(path, flags) {
      if (path !== root && !path.startsWith(below)) return sys.umount2(path, flags);
      unmountInRoot(root, relativeInRoot(root, path), path, flags, sys);
    },
  };
}

/**
 * umount2 of the target after close(), or of a resolved target: an fd opened on the mount now
 * would keep it busy, so the root is opened and the unmount made beneath it (unmount-beneath.ts:
 * the parent with RESOLVE_IN_ROOT, the last step with UMOUNT_NOFOLLOW).
 */
function unmountInRoot(root: string, inRoot: string, target: string, flags: number, sys: Syscalls): void {
  if (inRoot === ".") return sys.umount2(root, flags);
  // In the root itself: the root's path is the caller's, only the name is the tree's.
  if (!inRoot.includes("/")) return sys.umount2(target, flags | MNT.NOFOLLOW);
  const rootFd = openRoot(root, sys, openInRootAction(target, root));
  try {
    unmountBeneath(heldDir(rootFd, root), inRoot, target, flags, sys, "in-root");
  } finally {
    closeQuietly(sys, rootFd);
  }
}

/** An O_PATH fd and the /proc/self/fd path that names its file. */
export interface Fd {
  readonly fd: number;
  readonly path: string;
}

/** The target's fd inside the root, with the fds it was opened from. */
export interface OpenTarget extends Fd, OpenParent {}

/**
 * The mount just made on the pinned target: its name looked up again in the pinned parent
 * directory (the lookup crosses into the mount on top), accepted only when that is on a mount
 * other than the pinned target's and its parent's; else the name now holds another directory
 * (a rename or a swap moved the target meanwhile). The root itself is looked up by its path.
 */
function madeMount(pin: OpenTarget, root: string, target: string, sys: Syscalls): Fd {
  let fd: number;
  try {
    fd = pin.name === "." ? sys.open(root, O.PATH | O.CLOEXEC) : sys.openat2(pin.parentFd, pin.name, O.PATH | O.CLOEXEC, BENEATH);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [pin.name], target) : err;
  }
  try {
    const mountId = sys.statxIdentity(fd, "", AT.EMPTY_PATH).mountId;
    const below = [pin.fd, pin.parentFd].map((f) => sys.statxIdentity(f, "", AT.EMPTY_PATH).mountId);
    if (!below.includes(mountId)) return { fd, path: `/proc/self/fd/${fd}` };
  } catch (err) {
    closeQuietly(sys, fd);
    throw err;
  }
  closeQuietly(sys, fd);
  throw new MountFailedError(
    `${quotePath(target)} changed while it was being mounted: the mount there is not the one just made`,
    new PlanError(`looked up inside ${quotePath(root)} again, the target is not on the new mount (a directory on its path was renamed or replaced)`),
  );
}

/** target's path below root: "." for the root itself. */
export function relativeInRoot(root: string, target: string): string {
  if (target === root) return ".";
  const prefix = root.endsWith("/") ? root : `${root}/`;
  if (!target.startsWith(prefix)) throw new PlanError(`mount point ${quotePath(target)} is not inside the root ${quotePath(root)}`);
  return target.slice(prefix.length);
}

/**
 * The target opened inside the root: its parent directory with openat2(RESOLVE_IN_ROOT) (links
 * followed as if the root were "/"), then its name in that directory with no link at all
 * followed (inRoot, as resolveInRoot gave it, holds none; one there now was swapped in: ELOOP).
 * Errors name target.
 */
export function openInRoot(root: string, inRoot: string, target: string, sys: Syscalls = libcSyscalls, rootFd?: number): OpenTarget {
  const parent = openParentInRoot(root, inRoot, target, sys, rootFd);
  try {
    const fd = parent.name === "." ? parent.parentFd : sys.openat2(parent.parentFd, parent.name, O.PATH | O.CLOEXEC, BENEATH);
    return { ...parent, fd, path: `/proc/self/fd/${fd}` };
  } catch (err) {
    closeParent(sys, parent);
    throw err instanceof SyscallError && err.action === undefined ? renamedPaths(err, [parent.name], target).withAction(openInRootAction(target, root)) : err;
  }
}

/** The root's fd, the target's parent directory's inside it, and the target's name in that. */
interface OpenParent {
  readonly rootFd: number;
  /** false when the root's fd is the caller's (a batch opens it once), not to be closed here */
  readonly ownsRoot: boolean;
  /** rootFd itself when the parent is the root */
  readonly parentFd: number;
  /** the target's last component; "." for the root itself (then parentFd is the root's fd) */
  readonly name: string;
}

function openParentInRoot(root: string, inRoot: string, target: string, sys: Syscalls, sharedRootFd?: number): OpenParent {
  const ownsRoot = sharedRootFd === undefined;
  const rootFd = sharedRootFd ?? openRoot(root, sys, openInRootAction(target, root));
  const slash = inRoot.lastIndexOf("/");
  if (slash < 0) return { rootFd, ownsRoot, parentFd: rootFd, name: inRoot };
  try {
    const parent = openDirBeneath(heldDir(rootFd, root), inRoot.slice(0, slash), target, sys, "in-root");
    return { rootFd, ownsRoot, parentFd: parent.fd, name: inRoot.slice(slash + 1) };
  } catch (err) {
    if (ownsRoot) closeQuietly(sys, rootFd);
    throw err;
  }
}

/** The root's O_PATH fd, for the targets inside it (a batch opens it once for all its entries). */
export function openRoot(root: string, sys: Syscalls = libcSyscalls, action = `open root ${quotePath(root)}`): number {
  let rootFd: number;
  try {
    rootFd = sys.open(root, O.PATH | O.DIRECTORY | O.CLOEXEC);
  } catch (err) {
    throw err instanceof SyscallError ? err.withAction(action) : err;
  }
  requireProcFds(sys, rootFd, action);
  return rootFd;
}

let procFdsSeen = false;

/** Mounting by fd names /proc/self/fd/N: without /proc that fails, so say why, once per process. */
function requireProcFds(sys: Syscalls, fd: number, action: string): void {
  if (procFdsSeen) return;
  const link = sys.readlink(`/proc/self/fd/${fd}`);
  if (typeof link === "string") {
    procFdsSeen = true;
    return;
  }
  closeQuietly(sys, fd);
  throw new SyscallError("readlink(2)", link, [`/proc/self/fd/${fd}`]).withAction(`${action} (mounting by fd needs /proc)`);
}

/** Whether the pinned file is a directory: a path through it with "/." resolves only then. */
function isDirectory(sys: Syscalls, fdPath: string): boolean {
  try {
    sys.statxIdentity(AT.FDCWD, `${fdPath}/.`, 0);
    return true;
  } catch {
    return false;
  }
}

export function closeOpen(sys: Syscalls, open: OpenTarget): void {
  if (open.fd !== open.parentFd) closeQuietly(sys, open.fd);
  closeParent(sys, open);
}

function closeParent(sys: Syscalls, parent: OpenParent): void {
  if (parent.parentFd !== parent.rootFd) closeQuietly(sys, parent.parentFd);
  if (parent.ownsRoot) closeQuietly(sys, parent.rootFd);
}
