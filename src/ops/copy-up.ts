/**
 * Running tmpcopyup (plan/copy-up.ts). Before the mount, the target directory is opened (inside
 * a root through its pinned fd, ops/pinned-target.ts: the directory the mount will cover, never
 * one a symlink swapped in since leads to). Detached, the directory's entries are copied
 * (copy-tree.ts) into the tmpfs through the fd fsmount gave (plan/copy-up-detached.ts); mounted,
 * the new mount is opened at the target (the mount made on the pinned fd, found by its name) and
 * copied into. Then the tmpfs root takes the directory's own attributes. A failure leaves the
 * copy to the tmpfs, which the plan's end dissolves (detached: its fd closed) or its rollback
 * unmounts: the rootfs directory was only read.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountFailedError, PlanError, quotePath, SyscallError } from "../errors.ts";
import type { CopyUpSourceStep, CopyUpStep } from "../plan/copy-up.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import type { OpsContext } from "./context.ts";
import { copyAttributes } from "./copy-attributes.ts";
import { copyEntries, emptyReport, named, type CopyReport } from "./copy-tree.ts";
import { closeQuietly, handleFd, ownHandle } from "./plan-handles.ts";
import type { PlanRun } from "./run-plan.ts";

const DIRECTORY = O.RDONLY | O.DIRECTORY | O.CLOEXEC;

/** open(target, O_RDONLY|O_DIRECTORY|O_CLOEXEC) -> slot, before the tmpfs covers it. */
export function runCopyUpSourceStep(step: CopyUpSourceStep, ctx: OpsContext, run: PlanRun): void {
  let fd: number;
  try {
    fd = ctx.sys.open(step.target, DIRECTORY);
  } catch (err) {
    if (isErrno(err, Errno.ENOTDIR) && err.hint === undefined) {
      err.hint = `tmpcopyup copies a directory into the tmpfs mounted over it, and ${quotePath(step.target)} is no directory`;
    }
    throw err;
  }
  ownHandle(run, step.slot, fd);
}

/** The directory in slot copied into the detached tmpfs in step.into, or the tmpfs now mounted on target. */
export function runCopyUpStep(step: CopyUpStep, ctx: OpsContext, run: PlanRun): void {
  const { sys } = ctx;
  const from = handleFd(run, step.slot);
  // the detached mount's fd is its root (O_PATH: every call of the copy is relative to it or
  // through its /proc/self/fd link); borrowed, its close step closes it
  const to = step.into === undefined ? sys.open(step.target, DIRECTORY) : handleFd(run, step.into);
  const report = emptyReport();
  try {
    const source = sys.statxFile(from, "", AT.EMPTY_PATH);
    if (step.into === undefined && sys.statxFile(to, "", AT.EMPTY_PATH).mountId === source.mountId) {
      throw new MountFailedError(
        `${quotePath(step.target)}: no new mount there to copy into (tmpcopyup)`,
        new PlanError("the target opened after the mount is on the directory's own mount"),
      );
    }
    copyEntries(sys, { fd: from, path: step.target }, { fd: to, path: step.target }, report);
    const takes = { uid: step.rootUid, gid: step.rootGid, mode: step.rootMode };
    named(step.target, () => copyAttributes(sys, from, to, source, takes, report.refusedXattrs, step.target));
  } catch (err) {
    if (err instanceof SyscallError && err.action === undefined) {
      const what = err.paths[0] ?? step.target;
      err.withAction(`copy ${quotePath(what)} into the tmpfs on ${quotePath(step.target)} (tmpcopyup)`, copyHint(err));
    }
    throw err;
  } finally {
    if (step.into === undefined) closeQuietly(sys, to); // before a rollback unmounts the tmpfs: an fd on it would keep it busy
  }
  tell(report, step.target, ctx);
}

function copyHint(err: SyscallError): string | undefined {
  if (err.errno === Errno.ENOSPC) return "the tmpfs has no room for the directory's files: give it a larger size= (or nr_inodes=)";
  if (err.errno === Errno.EPERM && err.syscall === "mknodat(2)") return "device nodes can be made only with CAP_MKNOD in the initial user namespace";
  return err.hint;
}

/** -v: what was copied; a warning for what was left out. */
function tell(report: CopyReport, target: string, ctx: OpsContext): void {
  ctx.log?.(`tmpcopyup: ${report.copied} entries copied into ${quotePath(target)}`);
  const listed = (paths: readonly string[]) => `${paths.slice(0, 3).map(quotePath).join(", ")}${paths.length > 3 ? ` and ${paths.length - 3} more` : ""}`;
  const where = `tmpcopyup of ${quotePath(target)}`;
  if (report.sockets.length > 0) ctx.warn?.(`${where}: sockets not copied: ${listed(report.sockets)}`);
  if (report.mountPoints.length > 0) ctx.warn?.(`${where}: mount points copied empty, their mounts' files left out: ${listed(report.mountPoints)}`);
  if (report.refusedXattrs.length > 0) {
    ctx.warn?.(`${where}: extended attributes the tmpfs does not keep (EOPNOTSUPP), not copied: ${listed(report.refusedXattrs.map((x) => `${x.path} ${x.name}`))}`);
  }
}
