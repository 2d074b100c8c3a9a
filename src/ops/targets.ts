/**
 * Creating missing mount targets, as container runtimes do for OCI mounts: each missing
 * directory from the deepest existing one down, and for a bind of a file an empty file as the
 * last component. Every path created registers its own undo (rmdir or unlink, never a
 * recursive delete), so a rollback leaves the tree as it was.
 */
import { dirname } from "node:path";
import { Errno, errnoCode } from "../errno.ts";
import { MountkitError, quotePath, SyscallError } from "../errors.ts";
import type { CreateTarget } from "../plan/batch-entry.ts";
import type { Mount } from "../plan/mount-request.ts";
import { isBind } from "../plan/mount-request.ts";
import { createEmptyFile, mkdir, rmdir, unlink } from "../sys/file.ts";
import { fileType } from "../sys/stat.ts";
import type { Undo } from "./run-plan.ts";

/**
 * Run fn (a mount) after creating hostTarget if it is missing; when fn fails, remove what was
 * created again (rmdir or unlink only), newest first, and throw fn's error with any cleanup
 * failure attached.
 */
export function withCreatedTarget<T>(mount: Mount, hostTarget: string, create: CreateTarget, log: ((line: string) => void) | undefined, fn: () => T): T {
  const undo: Undo[] = [];
  try {
    createTarget(mount, hostTarget, create, undo, log);
    return fn();
  } catch (err) {
    for (const remove of undo.reverse()) {
      try {
        remove();
      } catch (cleanup) {
        if (err instanceof MountkitError) err.cleanupErrors.push(cleanup);
      }
    }
    throw err;
  }
}

/** Create hostTarget if it is missing; push the undo of each path created onto undo. */
export function createTarget(mount: Mount, hostTarget: string, create: CreateTarget, undo: Undo[], log?: (line: string) => void): void {
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
      if (asFile) createEmptyFile(path, 0o644);
      else mkdir(path, create.mode);
    } catch (err) {
      throw fsFailure(err, asFile ? "open(2)" : "mkdir(2)", path, `create mount point ${quotePath(path)}`);
    }
    log?.(asFile ? `create file ${quotePath(path)}` : `mkdir ${quotePath(path)} ${create.mode.toString(8).padStart(4, "0")}`);
    undo.push(() => removeCreated(path, asFile, log));
  });
}

/** A bind whose source exists and is not a directory mounts on a file. */
function isFileBind(mount: Mount): boolean {
  if (!isBind({ mount }) || mount.source === "") return false;
  const type = fileType(mount.source);
  return type !== undefined && type !== "dir"; // a missing source: the mount reports it
}

/** Remove a path this batch created. Gone already (it was inside an unmounted tmpfs) is fine. */
function removeCreated(path: string, isFile: boolean, log?: (line: string) => void): void {
  log?.(`rollback: ${isFile ? "unlink" : "rmdir"} ${quotePath(path)}`);
  try {
    if (isFile) unlink(path);
    else rmdir(path);
  } catch (err) {
    if (err instanceof SyscallError && err.errno === Errno.ENOENT) return;
    throw fsFailure(err, isFile ? "unlink(2)" : "rmdir(2)", path, `remove created mount point ${quotePath(path)}`);
  }
}

/** A failed file operation (a SyscallError, or a node:fs error) as a SyscallError naming the action. */
export function fsFailure(err: unknown, syscall: string, path: string, action: string): unknown {
  if (err instanceof SyscallError) return err.withAction(action);
  const code = (err as NodeJS.ErrnoException)?.code;
  const errno = code === undefined ? undefined : errnoCode(code);
  return errno === undefined ? err : new SyscallError(syscall, errno, [path]).withAction(action);
}
