/**
 * Creating missing mount targets, as container runtimes do for OCI mounts: each missing
 * directory from the deepest existing one down, and for a bind of a file an empty file as the
 * last component. Every path created registers its own undo (rmdir or unlink, never a
 * recursive delete), so a rollback leaves the tree as it was.
 */
import { dirname } from "../path.ts";
import { Errno, errnoCode } from "../errno.ts";
import { MountkitError, quotePath, renamedPaths, SyscallError } from "../errors.ts";
import type { CreateTarget } from "../plan/batch-entry.ts";
import type { Mount } from "../plan/mount-request.ts";
import { isBind } from "../plan/mount-request.ts";
import { createEmptyFile, mkdir, rmdir, unlink } from "../sys/file.ts";
import { fileType } from "../sys/stat.ts";
import { libcSyscalls } from "../sys/seam.ts";
import { closeOpen, openInRoot, relativeInRoot } from "./pinned-target.ts";
import type { Undo } from "./run-plan.ts";
import { asLastPart, RunStopped, stopPoint, type StopRequests } from "./stop.ts";

/**
 * Run fn (a mount) after creating hostTarget if it is missing; when fn fails, remove what was
 * created again (rmdir or unlink only), newest first, and throw fn's error with any cleanup
 * failure attached. A caller's stop (ops/stop.ts) is armed first, so that no stop signal ends
 * the process between the mkdir and the mount, and asked in between; fn is given the stop
 * its plan is to use: once something was made, one asked after the plan's last step too.
 */
export function withCreatedTarget<T>(
  mount: Mount,
  hostTarget: string,
  create: CreateTarget,
  log: ((line: string) => void) | undefined,
  fn: (stop: StopRequests | undefined) => T,
  root = "/",
  stop?: StopRequests,
): T {
  const undo: Undo[] = [];
  try {
    stop?.arm();
    createTarget(mount, hostTarget, create, undo, log, root);
    if (undo.length === 0 || stop === undefined) return fn(stop);
    stopPoint({ stop });
    // a stop in the mount, its last step, undoes it and the paths made, as a plan's last step
    return fn(asLastPart(stop));
  } catch (err) {
    for (const remove of undo.reverse()) {
      try {
        remove();
      } catch (cleanup) {
        if (err instanceof MountkitError || err instanceof RunStopped) err.cleanupErrors.push(cleanup);
      }
    }
    throw err;
  }
}

/**
 * Create hostTarget if it is missing; push the undo of each path created onto undo. Inside a
 * root (a batch's, not "/"), each path is made, and removed again, in its parent directory
 * opened inside the root (ops/pinned-target.ts), so a symlink swapped onto the path since it
 * was resolved cannot lead the mkdir out of the root.
 */
export function createTarget(mount: Mount, hostTarget: string, create: CreateTarget, undo: Undo[], log?: (line: string) => void, root = "/", rootFd?: number): void {
  if (fileType(hostTarget) !== undefined) return;
  const missing: string[] = [];
  for (let p = hostTarget; fileType(p) === undefined; p = dirname(p)) {
    missing.unshift(p);
    if (p === "/") break;
  }
  const fileLast = isFileBind(mount);
  missing.forEach((path, i) => {
    const asFile = fileLast && i === missing.length - 1;
    try {
      inParentOf(root, path, (at) => (asFile ? createEmptyFile(at, 0o644) : mkdir(at, create.mode)), rootFd);
    } catch (err) {
      throw fsFailure(err, asFile ? "open(2)" : "mkdir(2)", path, `create mount point ${quotePath(path)}`);
    }
    log?.(asFile ? `create file ${quotePath(path)}` : `mkdir ${quotePath(path)} ${create.mode.toString(8).padStart(4, "0")}`);
    undo.push(() => removeCreated(root, path, asFile, log));
  });
}

/** A bind whose source exists and is not a directory mounts on a file. */
function isFileBind(mount: Mount): boolean {
  if (!isBind({ mount }) || mount.source === "") return false;
  const type = fileType(mount.source);
  return type !== undefined && type !== "dir"; // a missing source: the mount reports it
}

/** Remove a path this batch created. Gone already (it was inside an unmounted tmpfs) is fine. */
function removeCreated(root: string, path: string, isFile: boolean, log?: (line: string) => void): void {
  log?.(`rollback: ${isFile ? "unlink" : "rmdir"} ${quotePath(path)}`);
  try {
    inParentOf(root, path, (at) => (isFile ? unlink(at) : rmdir(at)));
  } catch (err) {
    if (err instanceof SyscallError && err.errno === Errno.ENOENT) return;
    throw fsFailure(err, isFile ? "unlink(2)" : "rmdir(2)", path, `remove created mount point ${quotePath(path)}`);
  }
}

/**
 * fn(path), or inside a root fn of the path through its parent directory opened inside the
 * root (/proc/self/fd/N/NAME: mkdir, open(O_CREAT|O_EXCL), rmdir and unlink do not follow a
 * symlink at NAME). rootFd: the batch's fd of the root, when it has one open. Errors name path.
 */
function inParentOf(root: string, path: string, fn: (at: string) => void, rootFd?: number): void {
  if (root === "/") return fn(path);
  const slash = path.lastIndexOf("/");
  const parent = openInRoot(root, relativeInRoot(root, path.slice(0, slash) || "/"), path, libcSyscalls, rootFd);
  const at = `${parent.path}/${path.slice(slash + 1)}`;
  try {
    fn(at);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [at], path) : err;
  } finally {
    closeOpen(libcSyscalls, parent);
  }
}

/** A failed file operation (a SyscallError, or a node:fs error) as a SyscallError naming the action. */
export function fsFailure(err: unknown, syscall: string, path: string, action: string): unknown {
  if (err instanceof SyscallError) return err.withAction(action);
  const code = (err as NodeJS.ErrnoException)?.code;
  const errno = code === undefined ? undefined : errnoCode(code);
  return errno === undefined ? err : new SyscallError(syscall, errno, [path]).withAction(action);
}
