/**
 * A batch entry's mount point pinned inside its root. containerd's fs.RootPath reads a
 * target's links one at a time and mounts on the path it found, so a process that swaps a
 * directory on that path for a symlink in between sends the mount out of the root (runc's
 * CVE-2021-30465). Here the resolved target is opened with openat2(RESOLVE_IN_ROOT), which the
 * kernel keeps inside the root whatever the tree does meanwhile, and the plan's calls on the
 * target go through that fd:
 *
 *   - calls that make a mount there (mount(2), move_mount, the dir thread's mount(2)) name
 *     the fd: the mount lands on the directory that was opened, or the file;
 *   - calls on the mount made there (a remount, a propagation change, statfs, X-mount.owner's
 *     chown and chmod, mount_setattr) need the new mount, which the fd does not reach (the
 *     kernel's jump to the fd's file does not cross the mount on it): the target is opened
 *     again inside the root, and used only when that is a mount other than the fd's, at the
 *     same place (/proc/self/fd's path of each), else the entry fails and is rolled back;
 *   - umount2 crosses the mount on the fd's file (the kernel looks a mount point up), so an
 *     undo goes through the fd; once the entry has run the fds are closed, and a later undo
 *     (a rollback, release()) opens the target inside the root again.
 *
 * Paths in errors are the target's, never /proc/self/fd/N. Mount helpers (FUSE, mount.TYPE)
 * get the target's path in their argv: a helper's mount is not pinned.
 */
import { MountFailedError, PlanError, quotePath, SyscallError } from "../errors.ts";
import { MNT, MS, MS_PROPAGATION } from "../plan/flags.ts";
import { AT, MOVE_MOUNT, RESOLVE } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import type { Plan } from "../plan/steps.ts";
import type { OpsContext } from "./context.ts";
import { runPlan, type PlanRun } from "./run-plan.ts";

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
export function runPlanInRoot(plan: Plan, root: string, target: string, ctx: OpsContext, keep?: Pick<PlanRun, "rollback">): void {
  if (root === "/") return runPlan(plan, ctx, keep);
  let pin: PinnedTarget;
  try {
    pin = pinTarget(root, target, ctx.sys);
  } catch (err) {
    throw err instanceof SyscallError ? err.withAction(plan.action) : err; // where the mount would fail
  }
  try {
    runPlan(plan, { ...ctx, sys: pin.sys }, keep);
  } finally {
    pin.close();
  }
}

/** openat2's resolution for a target inside a root: links as if the root were "/", no /proc magic. */
const IN_ROOT = RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS;

/** mount(2) flags of calls that change the mount on a path rather than make one there. */
const ON_MOUNT = MS.REMOUNT | MS_PROPAGATION;

/**
 * Open target (a host path below root, as resolveInRoot gave it) inside root and return the
 * seam that mounts through it. Fails, before anything is mounted, when the target cannot be
 * opened inside the root (missing, or a loop of links), naming the target.
 */
export function pinTarget(root: string, target: string, sys: Syscalls): PinnedTarget {
  const inRoot = relativeInRoot(root, target);
  /** the target's fds while the entry runs; undefined once closed */
  let pin: OpenTarget | undefined = openInRoot(root, inRoot, target, sys);
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
    made ??= madeMount(pin, root, inRoot, target, sys);
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
      if (path !== target) return sys.umount2(path, flags);
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
    mountSetattr(dfd, path, flags, attrSet, attrClr, propagation, usernsFd) {
      if (dfd !== AT.FDCWD || path !== target) return sys.mountSetattr(dfd, path, flags, attrSet, attrClr, propagation, usernsFd);
      return onMount((at) => sys.mountSetattr(at.fd, "", flags | AT.EMPTY_PATH, attrSet, attrClr, propagation, usernsFd));
    },
    // The mount's root, not the /proc link: with "/." the link is not the path's last step
    // (lchown, and statx without following, would act on the link itself). Only a directory
    // resolves so: X-mount.owner on a file's mount keeps the target's path.
    statxOwnership(path) {
      return path === target && targetIsDir() ? onMount((at) => sys.statxOwnership(`${at.path}/.`)) : sys.statxOwnership(path);
    },
    lchown(path, uid, gid) {
      return path === target && targetIsDir() ? onMount((at) => sys.lchown(`${at.path}/.`, uid, gid)) : sys.lchown(path, uid, gid);
    },
    chmod(path, mode) {
      return path === target && targetIsDir() ? onMount((at) => sys.chmod(`${at.path}/.`, mode)) : sys.chmod(path, mode);
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
 * umount2 of the target after close(): an fd opened on the mount now would keep it busy, so
 * its parent directory is opened inside the root and the last step taken without following
 * a link (UMOUNT_NOFOLLOW).
 */
function unmountInRoot(root: string, inRoot: string, target: string, flags: number, sys: Syscalls): void {
  if (inRoot === ".") return sys.umount2(root, flags);
  const slash = inRoot.lastIndexOf("/");
  const parent = openInRoot(root, slash < 0 ? "." : inRoot.slice(0, slash), target, sys);
  const path = `${parent.path}/${inRoot.slice(slash + 1)}`;
  try {
    sys.umount2(path, flags | MNT.NOFOLLOW);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [path], target) : err;
  } finally {
    closeOpen(sys, parent);
  }
}

/** An O_PATH fd and the /proc/self/fd path that names its file. */
export interface Fd {
  readonly fd: number;
  readonly path: string;
}

/** The target's fd inside the root, with the root's fd it was opened from. */
export interface OpenTarget extends Fd {
  readonly rootFd: number;
}

/**
 * The mount just made on the pinned target: the target opened inside the root again (the
 * lookup crosses into the mount on top), accepted only when it is on another mount than the
 * pinned fd and at the same place; else a rename or a swap moved the target meanwhile.
 */
function madeMount(pin: OpenTarget, root: string, inRoot: string, target: string, sys: Syscalls): Fd {
  // The root itself: "." from the root's fd stays on the directory under the mount.
  let fd: number;
  try {
    fd = inRoot === "." ? sys.open(root, O.PATH | O.CLOEXEC) : sys.openat2(pin.rootFd, inRoot, O.PATH | O.CLOEXEC, IN_ROOT);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [inRoot], target) : err;
  }
  const top = { fd, path: `/proc/self/fd/${fd}` };
  try {
    const samePlace = sys.readlink(top.path) === sys.readlink(pin.path);
    const otherMount = sys.statxIdentity(fd, "", AT.EMPTY_PATH).mountId !== sys.statxIdentity(pin.fd, "", AT.EMPTY_PATH).mountId;
    if (samePlace && otherMount) return top;
  } catch (err) {
    closeQuietly(sys, fd);
    throw err;
  }
  closeQuietly(sys, fd);
  throw new MountFailedError(
    `${quotePath(target)} changed while it was being mounted: the mount there is not the one just made`,
    new PlanError(`opened inside ${quotePath(root)} again, the target is not on the new mount (a directory on its path was renamed or replaced)`),
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
 * The root's O_PATH fd, the target's inside it (inRoot, relative to the root) and the
 * /proc/self/fd path that names the latter. Errors name target.
 */
export function openInRoot(root: string, inRoot: string, target: string, sys: Syscalls = libcSyscalls): OpenTarget {
  const action = `open mount point ${quotePath(target)} inside ${quotePath(root)}`;
  let rootFd: number;
  try {
    rootFd = sys.open(root, O.PATH | O.DIRECTORY | O.CLOEXEC);
  } catch (err) {
    throw err instanceof SyscallError ? err.withAction(action) : err;
  }
  try {
    const fd = sys.openat2(rootFd, inRoot, O.PATH | O.CLOEXEC, IN_ROOT);
    const path = `/proc/self/fd/${fd}`;
    const link = sys.readlink(path);
    if (typeof link !== "string") {
      closeQuietly(sys, fd);
      throw new SyscallError("readlink(2)", link, [path]).withAction(`${action} (mounting by fd needs /proc)`);
    }
    return { rootFd, fd, path };
  } catch (err) {
    closeQuietly(sys, rootFd);
    throw err instanceof SyscallError && err.action === undefined ? renamedPaths(err, [inRoot], target).withAction(action) : err;
  }
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

/** The error with the fd paths (or the path inside the root) in its paths replaced by the target's. */
export function renamedPaths(err: SyscallError, from: readonly string[], target: string): SyscallError {
  if (!err.paths.some((p) => from.includes(p))) return err;
  const copy = new SyscallError(err.syscall, err.errno, err.paths.map((p) => (from.includes(p) ? target : p)), err.action);
  copy.hint = err.hint;
  copy.cleanupErrors.push(...err.cleanupErrors);
  return err.details.length > 0 ? copy.withDetails(...err.details) : copy;
}

export function closeOpen(sys: Syscalls, open: OpenTarget): void {
  closeQuietly(sys, open.fd);
  closeQuietly(sys, open.rootFd);
}

function closeQuietly(sys: Syscalls, fd: number): void {
  try {
    sys.close(fd);
  } catch {
    // close errors are ignored, as everywhere in mountkit (ops/plan-handles.ts)
  }
}
