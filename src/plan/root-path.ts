/**
 * rootPath: a path inside a root directory -> the host path it names, the way containerd's
 * continuity fs.RootPath joins a mount target with a root. Every symlink met along the way is
 * followed as if the root were "/": an absolute link restarts at the root, ".." stops at the
 * root, so no link and no ".." can lead outside it. Pure: the caller supplies readlink.
 *
 * Race: the links are read one at a time; a process that changes the tree meanwhile can
 * redirect the result. So a batch mounts through the target opened with openat2
 * (RESOLVE_IN_ROOT) instead of this path (ops/pinned-target.ts, docs/apply.md).
 */
import { PlanError, quotePath, shownValue } from "../errors.ts";
import { requireFunction, requirePath } from "./caller-input.ts";

/**
 * What a host path is, as the resolver needs to know it: the link's target when it is a
 * symlink, null when it is anything else or does not exist (a missing component is taken
 * as a plain directory, like containerd does, so targets can be created later).
 */
export type ReadLink = (hostPath: string) => string | null;

/** Links followed before giving up (containerd's limit), the guard against link cycles. */
export const MAX_ROOT_PATH_LINKS = 255;

/**
 * The host path of `path` inside `root`. root must be absolute and clean (no symlinks,
 * "." or "..": callers canonicalize it once). An empty path, "/", or one that climbs with
 * ".." gives the root itself or a path below it, never a path outside it.
 */
export function rootPath(root: string, path: string, readlink: ReadLink): string {
  // a NUL would reach readlink(2) and the mount cut short: a path other than the one resolved
  requirePath(path, "path", "resolve");
  requirePath(root, "root", `resolve ${quotePath(path)}`);
  // called for each link on the way: a TypeError at the first one otherwise
  if (typeof readlink !== "function") requireFunction(readlink, "readlink", `resolve ${quotePath(path)}`);
  if (!root.startsWith("/")) throw new PlanError(`resolve ${quotePath(path)}: root ${quotePath(root)} is not absolute`);
  const base = root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root;
  const prefix = base === "/" ? "/" : `${base}/`;
  const hostPath = (parts: readonly string[]) => prefix + parts.join("/");

  const resolved: string[] = [];
  // Components still to walk, next one last (so a link's target is pushed in front cheaply).
  const pending = components(path).reverse();
  let links = 0;
  while (pending.length > 0) {
    const part = pending.pop()!;
    if (part === "..") {
      resolved.pop(); // at the root, ".." stays at the root
      continue;
    }
    resolved.push(part);
    const target = readlink(hostPath(resolved));
    if (target === null) continue;
    if (typeof target !== "string") {
      throw new PlanError(`resolve ${quotePath(path)}: readlink must return a link's target (a string) or null, got ${shownValue(target)}`);
    }
    if (++links > MAX_ROOT_PATH_LINKS) {
      throw new PlanError(`resolve ${quotePath(path)} in ${quotePath(root)}: more than ${MAX_ROOT_PATH_LINKS} symlinks (a link cycle?)`);
    }
    resolved.pop(); // the link itself is replaced by what it points to
    if (target.startsWith("/")) resolved.length = 0; // absolute: from the root, not the host's /
    pending.push(...components(target).reverse());
  }
  return resolved.length === 0 ? base : hostPath(resolved);
}

/** "a//b/./c/" -> ["a", "b", "c"]; ".." is kept for the walk to apply. */
function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}
