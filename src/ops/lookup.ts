/**
 * containerd's Lookup and CanonicalizePath: the mount that holds a path as the caller names it
 * (relative, through symlinks), read from this thread's mount table. lookupMount (mountinfo/)
 * is the pure half, given a table and a path resolved already; this resolves the path and
 * reads the table. Unlike containerd's, mount points are compared by component and the top
 * of a stack is the one found (mountinfo/lookup.ts).
 */
import { PlanError, quotePath } from "../errors.ts";
import { lookupMount } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { requirePath } from "../plan/caller-input.ts";
import { realpath } from "../sys/realpath.ts";

/**
 * path made absolute (against the working directory) with every symlink, "." and ".."
 * resolved: realpath(3). The path must exist (ENOENT otherwise, naming it). An empty path is
 * refused: it names no file (containerd's took it for the working directory).
 */
export function canonicalizePath(path: string): string {
  requirePath(path, "path", "canonicalize path");
  if (path === "") throw new PlanError("canonicalize path: the path is empty");
  return realpath(path);
}

/**
 * The mount that holds path (relative or through symlinks; it must exist): its entry in
 * /proc/thread-self/mountinfo, the top mount where several are stacked on its mount point.
 */
export function lookup(path: string): MountInfo {
  requirePath(path, "path", "look up mount");
  if (path === "") throw new PlanError("look up mount: the path is empty");
  const resolved = realpath(path);
  const found = lookupMount(readMountInfo(), resolved);
  // only where this thread's root is not in its own mount table (a chroot below a mount point)
  if (found === undefined) throw new PlanError(`look up mount: no mount in this thread's mount table holds ${quotePath(resolved)}`);
  return found;
}
