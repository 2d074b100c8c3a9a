/**
 * Targets inside a root, resolved on the real filesystem: plan/root-path.ts's rootPath with
 * the real readlink, and the root itself canonicalized once.
 */
import { readlinkSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { errnoCode } from "../errno.ts";
import { PlanError, quotePath, SyscallError } from "../errors.ts";
import { rootPath } from "../plan/root-path.ts";

/**
 * readlink(path), or null when path is not a symlink (EINVAL), does not exist (ENOENT) or
 * has a component that is not a directory (ENOTDIR: the mount will say so, naming it).
 */
export function readLinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "EINVAL" || code === "ENOENT" || code === "ENOTDIR") return null;
    throw new SyscallError("readlink(2)", errnoCode(code) ?? 0, [path]).withAction(`resolve ${quotePath(path)}`);
  }
}

/** The root as an absolute path without symlinks; it must exist. */
export function canonicalRoot(root: string): string {
  try {
    return realpathSync(resolve(root));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new PlanError(`root ${quotePath(root)}: ${code === "ENOENT" ? "no such directory" : code || String(err)}`);
  }
}

/** The host path of target inside an already canonical root (containerd's fs.RootPath). */
export function resolveInRoot(canonical: string, target: string): string {
  return rootPath(canonical, target, readLinkOrNull);
}
