/**
 * Idmapped mounts as library calls:
 *   usernsFd(uidmap, gidmap)      a user namespace fd for a mapping pair (the caller's to close)
 *   idmapMount(src, dst, fd, ...) an idmapped clone of src attached at dst, as a plan
 *   openIdmappedTree(path, fd)    a detached idmapped tree fd, for overlay `lowerdir+` by fd
 *   cleanupIdmapTemp(dir)         remove a temp lower dir left behind by a busy mount
 * mount() with uidmap=/gidmap= options goes through the idmap planner instead (plan/idmap.ts).
 */
import { lstatSync } from "node:fs";
import { fsPath } from "../path-text.ts";
import { readDirNames } from "../sys/dir-names.ts";
import { Errno } from "../errno.ts";
import { isErrno, MountkitError, SyscallError } from "../errors.ts";
import { MNT } from "../plan/flags.ts";
import { idMappingPair } from "../plan/idmap-mapping.ts";
import { requireFd, requireObject, requirePath } from "../plan/caller-input.ts";
import { planIdmapMount, type IdmapAttrs } from "../plan/idmap.ts";
import { MOUNT_ATTR } from "../plan/mount-api-flags.ts";
import type { Plan } from "../plan/steps.ts";
import { opsContext, type OpsOptions } from "./context.ts";
import { retrySync, UNMOUNT_BUSY } from "./retry.ts";
import { runPlan } from "./run-plan.ts";
import { closeUsernsCache, ownedUsernsFd } from "./userns.ts";
import { idmappedClone, isIdmapRefusal } from "./idmap-shared.ts";
import { explainIdmapRefusal } from "./idmap-refusal.ts";

export type { IdmapAttrs };

/**
 * A user namespace fd for containerd-style mappings ("0:100000:65536"). The caller owns it and
 * closes it. The namespace is made once per process and pair and cached; each call returns a
 * new duplicate (close-on-exec) of the cached fd, which keeps naming that namespace after the
 * cache lets go of it.
 */
export function usernsFd(uidmap: string, gidmap: string, options: OpsOptions = {}): number {
  const ctx = opsContext(options);
  return ownedUsernsFd(idMappingPair(uidmap, gidmap, ctx.facts.pageSize, "user namespace"), ctx.sys);
}

/** Close every cached user namespace fd (fds returned by usernsFd stay open); returns how many were open. */
export function closeUsernsFds(options: OpsOptions = {}): number {
  return closeUsernsCache(opsContext(options).sys);
}

/**
 * Attach an idmapped clone of source at target: open_tree(OPEN_TREE_CLONE[|AT_RECURSIVE]),
 * mount_setattr(MOUNT_ATTR_IDMAP|attrSet, attrClr, usernsFd), move_mount. usernsFd stays the
 * caller's. On failure nothing is left: the clone is closed, an attached tree unmounted.
 */
export function idmapMount(source: string, target: string, usernsFd: number, attrs: IdmapAttrs = {}, options: OpsOptions = {}): Plan {
  const plan = planIdmapMount(source, target, usernsFd, attrs);
  runPlan(plan, opsContext(options));
  return plan;
}

/**
 * A detached, idmapped tree of path: open_tree(path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC
 * [|AT_RECURSIVE]) then mount_setattr(MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY). Read-only unless
 * readOnly is false. The caller owns the returned fd and must close it; closing it while the
 * tree is attached nowhere releases the tree. Handed to fsconfig(FSCONFIG_SET_FD, "lowerdir+")
 * it becomes an overlay layer with no mount point of its own (docs/idmap.md); keep it open
 * until fsconfig(FSCONFIG_CMD_CREATE) has returned, then close it: the overlay holds its own
 * clone. Closed earlier, the tree dissolves and CMD_CREATE fails with EINVAL.
 */
export function openIdmappedTree(
  path: string,
  usernsFd: number,
  how: { readOnly?: boolean; recursive?: boolean } = {},
  options: OpsOptions = {},
): number {
  requirePath(path, "path", "open idmapped tree");
  requireObject(how, "how", "open idmapped tree", "an object ({readOnly, recursive})");
  const { readOnly = true, recursive = false } = how;
  requireFd(usernsFd, "user namespace fd", `open idmapped tree of ${path}`);
  const { sys } = opsContext(options);
  try {
    return idmappedClone(sys, path, usernsFd, readOnly ? MOUNT_ATTR.RDONLY : 0, recursive);
  } catch (err) {
    if (isIdmapRefusal(err)) explainIdmapRefusal(err, { path, recursive }, usernsFd, sys);
    throw err instanceof SyscallError ? err.withAction(`open idmapped tree of ${path}`) : err;
  }
}

/**
 * Remove a temp dir of idmapped lowers that a failed cleanup left (a lower was busy): unlink
 * each layer's symlink into the shared temp mount (the link, never what it points to), unmount
 * every other entry under the EBUSY policy until it is no mount point, rmdir it, then rmdir dir.
 * Only rmdir: a dir that still holds anything stays, and the error says which. No call follows
 * a link at the entry's name (unlink, rmdir, umount2 with UMOUNT_NOFOLLOW).
 */
export function cleanupIdmapTemp(dir: string, options: OpsOptions = {}): void {
  requirePath(dir, "dir", "clean up idmap temp");
  const ctx = opsContext(options);
  const policy = ctx.unmountRetry ?? UNMOUNT_BUSY;
  const errors: unknown[] = [];
  for (const name of readDirNames(dir)) {
    const path = `${dir}/${name}`;
    try {
      if (lstatSync(fsPath(path)).isSymbolicLink()) {
        ctx.sys.unlink(path); // umount2 or rmdir would follow it into the shared mount
        continue;
      }
      for (;;) {
        try {
          // UMOUNT_NOFOLLOW: a link swapped in since the lstat is not followed to another mount
          retrySync(policy, () => ctx.sys.umount2(path, MNT.NOFOLLOW));
        } catch (err) {
          if (isErrno(err, Errno.EINVAL)) break; // not (or no longer) a mount point
          throw err;
        }
      }
      ctx.sys.rmdir(path);
    } catch (err) {
      errors.push(err);
    }
  }
  try {
    if (errors.length === 0) ctx.sys.rmdir(dir);
  } catch (err) {
    errors.push(err);
  }
  if (errors.length) {
    const first = errors[0];
    if (first instanceof SyscallError) first.withAction(`clean up idmap temp dir ${dir}`);
    if (first instanceof MountkitError) first.cleanupErrors.push(...errors.slice(1));
    throw first;
  }
}
