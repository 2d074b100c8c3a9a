/**
 * A batch whose list uses containerd's mount transformers (plan/activation.ts): the mounts
 * before the last transformed one are made on directories of a fresh 0700 temp dir, the
 * X-containerd.mkdir.path directories created beneath them, the real mounts made as a batch on
 * their targets; then the temp mounts are detached and their directories removed (rmdir only),
 * whatever the batch's outcome: what the real mounts use (overlay layers, bind sources) they
 * hold themselves. A failure before the real mounts undoes what was made.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountFailedError, MountkitError, PlanError, SyscallError, quotePath } from "../errors.ts";
import { planActivation, type Activation, type MkdirAction } from "../plan/activation.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { LAYER_RESOLVE } from "../plan/idmap-steps.ts";
import { RESOLVE } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import type { BatchOptions, BatchOutcome } from "./batch.ts";
import { opsContext, type OpsContext } from "./context.ts";
import { mount } from "./mount.ts";
import { closeQuietly } from "./plan-handles.ts";
import { ensureTempParent, newTempPath } from "./temp-location.ts";
import { unmount } from "./unmount.ts";

/** Run entries that use transforms; runSystem mounts the real mounts as an ordinary batch. */
export function runActivatedBatch(
  entries: readonly BatchEntry[],
  options: BatchOptions,
  action: string,
  runSystem: (entries: readonly BatchEntry[]) => BatchOutcome,
): BatchOutcome {
  const tempDir = newTempPath("activate");
  const activation = planActivation(entries, tempDir)!; // a PlanError here: nothing made yet
  const ctx = opsContext(options);
  const made = new TempMounts(tempDir, ctx, options);
  let outcome: BatchOutcome;
  try {
    ctx.sys.mkdir(ensureTempParent(tempDir), 0o700);
    made.dirCreated = true;
    mountTemps(activation, made, ctx, options, action);
    for (const mk of activation.systemMkdirs) makeDirBeneath(mk, ctx);
    outcome = runSystem(activation.system);
  } catch (err) {
    const cleanup = made.release();
    if (err instanceof MountkitError) err.cleanupErrors.push(...cleanup);
    throw err;
  }
  // The real mounts hold what they use: the temp mounts go, even after a failed batch.
  const cleanup = made.release();
  (outcome.warnings as MountkitError[]).push(...cleanup.filter((e): e is MountkitError => e instanceof MountkitError));
  return outcome;
}

function mountTemps(activation: Activation, made: TempMounts, ctx: OpsContext, options: BatchOptions, action: string): void {
  for (const t of activation.temp) {
    try {
      ctx.sys.mkdir(t.mountPoint, 0o700);
      made.dirs.push(t.mountPoint);
      for (const mk of t.mkdirs) makeDirBeneath(mk, ctx);
      mount(t.mount, t.mountPoint, options);
      made.mounts.push(t.mountPoint);
      ctx.log?.(`${action}: ${t.entry.where}: mounted on ${t.mountPoint} (a temp mount of the list)`);
    } catch (err) {
      if (err instanceof SyscallError) throw err.withAction(`${action}: ${t.entry.where}: ${err.action ?? `mount on ${t.mountPoint}`}`);
      if (err instanceof PlanError) throw new MountFailedError(`${t.entry.where}: ${err.message}`, err, { action, hint: err.hint });
      if (err instanceof MountkitError) err.message = `${action}: ${t.entry.where}: ${err.message}`;
      throw err;
    }
  }
}

/** What the activation made in its temp dir, and how to take it down. */
class TempMounts {
  dirCreated = false;
  readonly dirs: string[] = [];
  readonly mounts: string[] = [];
  constructor(
    readonly tempDir: string,
    readonly ctx: OpsContext,
    readonly options: BatchOptions,
  ) {}

  /** Detach every temp mount, newest first, then rmdir their directories and the temp dir; the failures. */
  release(): unknown[] {
    const failures: unknown[] = [];
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        failures.push(err);
      }
    };
    for (const mp of this.mounts.splice(0).reverse()) attempt(() => void unmount(mp, { sys: this.ctx.sys, log: this.options.log, lazy: true }));
    for (const dir of this.dirs.splice(0).reverse()) attempt(() => this.ctx.sys.rmdir(dir));
    if (this.dirCreated) attempt(() => this.ctx.sys.rmdir(this.tempDir));
    this.dirCreated = false;
    return failures;
  }
}

/**
 * X-containerd.mkdir.path's directory, beneath its temp mount: the parent opened with
 * openat2(RESOLVE_BENEATH|NO_XDEV|NO_MAGICLINKS), so a symlink in an image cannot lead the
 * mkdir out of it. An existing directory is left as it is; anything else there is an error.
 */
function makeDirBeneath(mk: MkdirAction, ctx: OpsContext): void {
  const { sys } = ctx;
  const slash = mk.below.lastIndexOf("/");
  const parent = slash === -1 ? "." : mk.below.slice(0, slash);
  const name = mk.below.slice(slash + 1);
  const rootFd = sys.openPath(mk.root);
  try {
    let parentFd: number;
    try {
      parentFd = sys.openat2(rootFd, parent, O.PATH | O.DIRECTORY | O.CLOEXEC, LAYER_RESOLVE);
    } catch (err) {
      throw failed(err, mk);
    }
    try {
      const path = `/proc/self/fd/${parentFd}/${name}`;
      ctx.log?.(`mkdir(${JSON.stringify(`${mk.root}/${mk.below}`)}, 0${mk.mode.toString(8)}) beneath ${mk.root}`);
      try {
        sys.mkdir(path, mk.mode);
      } catch (err) {
        if (!isErrno(err, Errno.EEXIST)) throw failed(err, mk);
        closeQuietly(sys, isDirectoryBeneath(rootFd, mk, sys));
        return;
      }
      sys.chmod(path, mk.mode); // the exact mode, whatever the umask
      if (mk.uid !== undefined || mk.gid !== undefined) sys.lchown(path, mk.uid ?? -1, mk.gid ?? -1);
    } finally {
      closeQuietly(sys, parentFd);
    }
  } finally {
    closeQuietly(sys, rootFd);
  }
}

/** An fd on the existing directory (no symlink), or the error saying what is there instead. */
function isDirectoryBeneath(rootFd: number, mk: MkdirAction, sys: OpsContext["sys"]): number {
  try {
    return sys.openat2(rootFd, mk.below, O.PATH | O.DIRECTORY | O.CLOEXEC, LAYER_RESOLVE | RESOLVE.NO_SYMLINKS);
  } catch (err) {
    const error = failed(err, mk);
    if (isErrno(err, Errno.ENOTDIR) || isErrno(err, Errno.ELOOP)) error.hint = `${quotePath(`${mk.root}/${mk.below}`)} exists and is not a directory`;
    throw error;
  }
}

function failed(err: unknown, mk: MkdirAction): SyscallError {
  if (!(err instanceof SyscallError)) throw err;
  if (isErrno(err, Errno.EXDEV)) err.hint = "a symlink, \"..\" or mount point on the way leads out of the mount";
  return err.withAction(`${mk.option}: create ${quotePath(mk.below)} beneath ${quotePath(mk.root)}`);
}
