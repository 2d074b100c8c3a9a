/**
 * A batch whose list uses containerd's mount transformers (plan/activation.ts): the mounts
 * before the last transformed one are made on directories of a fresh 0700 temp dir (a loop
 * handler's device attached, with a symlink to it there instead; an erofs image mounted from
 * the file itself where the kernel can: ops/erofs-file.ts), the X-containerd.mkdir.path
 * directories created beneath them and the mkfs/ images made where missing, the real mounts
 * made as a batch on their targets; then the temp mounts are detached, the symlinks removed,
 * the loop handlers' fds closed and the directories removed (rmdir only), whatever the batch's
 * outcome: what the real mounts use (overlay layers, bind sources, a loop device) they hold
 * themselves. A failure before the real mounts undoes what was made; an image this call made
 * is removed again when nothing of the call is left mounted.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountFailedError, MountkitError, PlanError, renamedPaths, SyscallError, quotePath } from "../errors.ts";
import { planActivation, type Activation, type MkdirAction, type TempMount } from "../plan/activation.ts";
import { requireList, requirePath } from "../plan/caller-input.ts";
import { canonicalRoot } from "./resolve.ts";
import { absolutePath } from "../sys/cwd.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { LAYER_RESOLVE } from "../plan/idmap-steps.ts";
import { loopMethod } from "../plan/loop.ts";
import type { MkfsAction } from "../plan/mkfs.ts";
import { RESOLVE } from "../plan/mount-api-flags.ts";
import { O } from "../sys/fd.ts";
import type { BatchOptions, BatchOutcome } from "./batch.ts";
import { opsContext, type OpsContext } from "./context.ts";
import { attachLoopDevice } from "./loop.ts";
import { ensureImage, removeMadeImage, type MadeImage } from "./mkfs-image.ts";
import { mountOn, planEnv } from "./mount.ts";
import { closeQuietly } from "./plan-handles.ts";
import { erofsFileBackedRefused } from "./erofs-file.ts";
import { withErofsFileBacked } from "../plan/erofs-file.ts";
import type { Plan } from "../plan/steps.ts";
import { makeTempLocationDir, newTempPath } from "./temp-location.ts";
import { RunStopped } from "./stop.ts";
import { unmount } from "./unmount.ts";

/** Run entries that use transforms; runSystem mounts the real mounts as an ordinary batch. */
export function runActivatedBatch(
  entries: readonly BatchEntry[],
  options: BatchOptions,
  action: string,
  runSystem: (entries: readonly BatchEntry[]) => BatchOutcome,
): BatchOutcome {
  const tempDir = newTempPath("activate");
  const activation = planActivation(entries, tempDir, mkdirRootsOf(options))!; // a PlanError here: nothing made yet
  const ctx = opsContext(options);
  const made = new TempMounts(ctx);
  let outcome: BatchOutcome;
  // the temp mounts are the batch's too: no stop signal may end the process among them (ops/stop.ts)
  ctx.stop?.arm();
  try {
    makeTempLocationDir(ctx.sys, tempDir, 0o700);
    made.undo.push(() => ctx.sys.rmdir(tempDir));
    mountTemps(activation, made, ctx, options, action);
    for (const mk of activation.systemMkdirs) makeDirBeneath(mk, ctx);
    const mkfs = activation.systemMkfs;
    if (mkfs !== undefined) {
      try {
        makeImage(mkfs, made, ctx);
      } catch (err) {
        throw inEntry(err, activation.system[0]!, action, `make the image ${quotePath(mkfs.image)}`);
      }
    }
    outcome = runSystem(activation.system.map((e) => withDeviceSource(e, made)));
  } catch (err) {
    const cleanup = [...made.release(), ...made.removeImages()];
    if (err instanceof MountkitError || err instanceof RunStopped) err.cleanupErrors.push(...cleanup);
    throw err;
  }
  // The real mounts hold what they use: the temp mounts go, even after a failed batch.
  const cleanup = made.release();
  if (outcome.error !== undefined && outcome.targets.length === 0) cleanup.push(...made.removeImages());
  (outcome.warnings as MountkitError[]).push(...cleanup.filter((e): e is MountkitError => e instanceof MountkitError));
  return outcome;
}

function mountTemps(activation: Activation, made: TempMounts, ctx: OpsContext, options: BatchOptions, action: string): void {
  for (const t of activation.temp) {
    try {
      for (const mk of t.mkdirs) makeDirBeneath(mk, ctx);
      if (t.mkfs !== undefined) makeImage(t.mkfs, made, ctx);
      if (t.loop !== undefined) {
        attachLoopHandler(t, made, ctx);
        continue;
      }
      makeTempLocationDir(ctx.sys, t.mountPoint, 0o700);
      made.undo.push(() => ctx.sys.rmdir(t.mountPoint));
      mountOn(t.mount, t.mountPoint, options, t.erofs ? erofsHandlerPlan : undefined);
      made.undo.push(() => void unmount(t.mountPoint, { sys: ctx.sys, log: options.log, lazy: true }));
      ctx.log?.(`${action}: ${t.entry.where}: mounted on ${t.mountPoint} (a temp mount of the list)`);
    } catch (err) {
      throw inEntry(err, t.entry, action, `mount on ${t.mountPoint}`);
    }
  }
}

/**
 * The plan of an erofs temp mount with containerd's erofs handler's try: the image file itself,
 * loop devices on ENOTBLK (plan/erofs-file.ts); the dry run shows the same.
 */
export function erofsHandlerPlan(plan: Plan, ctx: OpsContext): Plan {
  return withErofsFileBacked(plan, ctx.facts, planEnv(ctx), erofsFileBackedRefused(ctx.facts));
}

/** err, its message starting with the action and the entry it happened in. */
function inEntry(err: unknown, entry: BatchEntry, action: string, doing: string): unknown {
  if (err instanceof SyscallError) return err.withAction(`${action}: ${entry.where}: ${err.action ?? doing}`);
  if (err instanceof PlanError) return new MountFailedError(`${entry.where}: ${err.message}`, err, { action, hint: err.hint });
  if (err instanceof MountkitError) err.message = `${action}: ${entry.where}: ${err.message}`;
  return err;
}

/**
 * containerd's loop handler: the source attached to a loop device with autoclear, and a
 * symlink to the device on the mount point. The device's fd stays open until the release, after
 * the real mounts (which hold the device themselves) are made: then the kernel detaches it when
 * the last of them is unmounted, or at once if none was made.
 */
function attachLoopHandler(t: TempMount, made: TempMounts, ctx: OpsContext): void {
  const { readOnly, directIo } = t.loop!;
  let loop;
  try {
    loop = attachLoopDevice({ file: t.mount.source, readOnly, autoclear: true, directIo, offset: 0, sizeLimit: 0, method: loopMethod(ctx.facts), readOnlyFallback: false }, ctx);
  } catch (err) {
    if (err instanceof SyscallError && err.action === undefined) err.withAction(`attach ${quotePath(t.mount.source)} to a loop device (containerd's loop handler)`);
    throw err;
  }
  made.undo.push(() => closeQuietly(ctx.sys, loop.fd));
  ctx.sys.symlink(loop.device, t.mountPoint);
  made.undo.push(() => ctx.sys.unlink(t.mountPoint));
  made.devices.set(t.mountPoint, loop.device);
  ctx.log?.(`loop handler: ${quotePath(t.mount.source)} attached to ${loop.device}, linked from ${t.mountPoint}`);
}

/**
 * A real mount whose source is a loop handler's symlink mounts the device itself: the kernel
 * keeps the source as given, and the symlink goes once the real mounts stand.
 */
function withDeviceSource(entry: BatchEntry, made: TempMounts): BatchEntry {
  const device = made.devices.get(entry.mount.source);
  return device === undefined ? entry : { ...entry, mount: { ...entry.mount, source: device } };
}

/** mkfs/'s image, made unless it exists; recorded for removal if the call leaves nothing mounted. */
function makeImage(mkfs: MkfsAction, made: TempMounts, ctx: OpsContext): void {
  const image = ensureImage(mkfs, ctx);
  if (image !== undefined) made.images.push(image);
}

/** What the activation made, and how to take it down. */
class TempMounts {
  /** undo actions, in the order their work was done: the temp dir's rmdir first */
  readonly undo: (() => void)[] = [];
  /** each loop handler's symlink and its device */
  readonly devices = new Map<string, string>();
  /** images mkfs/ made in this call */
  readonly images: MadeImage[] = [];
  constructor(readonly ctx: OpsContext) {}

  /** Undo what was made, newest first (temp mounts detached, symlinks and dirs removed); the failures. */
  release(): unknown[] {
    const failures: unknown[] = [];
    for (const undo of this.undo.splice(0).reverse()) {
      try {
        undo();
      } catch (err) {
        failures.push(err);
      }
    }
    return failures;
  }

  /** Remove the images this call made (when nothing of it is left mounted); the failures. */
  removeImages(): unknown[] {
    const failures: unknown[] = [];
    for (const image of this.images.splice(0).reverse()) {
      try {
        removeMadeImage(image, this.ctx);
      } catch (err) {
        failures.push(err);
      }
    }
    return failures;
  }
}

/**
 * The caller's mkdir roots (BatchOptions.mkdirRoots): each canonical, and as the caller named it
 * (made absolute) where that differs: a list spells its paths as its maker spells the root
 * (containerd's /var/lib/containerd, a symlink to another disk). Both name one directory: the
 * name is resolved as realpath resolved it. "/" is refused:
 * a mount list could then make a directory anywhere, and a root is a directory it owns.
 */
export function mkdirRootsOf(options: { readonly mkdirRoots?: readonly string[] }): string[] {
  const roots = options.mkdirRoots;
  if (roots === undefined) return [];
  requireList(roots, "mkdirRoots", "mount list");
  return roots.flatMap((root, i) => {
    requirePath(root, `mkdirRoots[${i}]`, "mount list");
    const canonical = canonicalRoot(root, "mkdir root");
    if (canonical === "/") throw new PlanError(`mkdir root ${quotePath(root)}: / would let a mount list make directories anywhere`, { hint: "name the directory the list's directories belong in (containerd's root, /var/lib/containerd)" });
    const named = absolutePath(root);
    return named === canonical ? [canonical] : [canonical, named];
  });
}

/**
 * X-containerd.mkdir.path's directory, beneath its temp mount (or mkdir root): the parent opened with
 * openat2(RESOLVE_BENEATH|NO_XDEV|NO_MAGICLINKS), so a symlink in an image cannot lead the
 * mkdir out of it. An existing directory is left as it is; anything else there is an error.
 * Its mode and owner are set through the new directory's own fd (chmod and chown of
 * /proc/self/fd/N): by name, chmod would follow a symlink swapped in after the mkdir (by anyone
 * with the filesystem mounted elsewhere too) and change the mode of the file it names.
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
      setModeAndOwner(parentFd, name, mk, sys);
    } finally {
      closeQuietly(sys, parentFd);
    }
  } finally {
    closeQuietly(sys, rootFd);
  }
}

/** The exact mode (whatever the umask) and the owner of the directory just made as name in parentFd. */
function setModeAndOwner(parentFd: number, name: string, mk: MkdirAction, sys: OpsContext["sys"]): void {
  let fd: number;
  try {
    fd = sys.openat2(parentFd, name, O.PATH | O.DIRECTORY | O.CLOEXEC, LAYER_RESOLVE | RESOLVE.NO_SYMLINKS);
  } catch (err) {
    throw failed(err instanceof SyscallError ? renamedPaths(err, [name], `${mk.root}/${mk.below}`) : err, mk);
  }
  const at = `/proc/self/fd/${fd}`;
  try {
    sys.chmod(at, mk.mode);
    if (mk.uid !== undefined || mk.gid !== undefined) sys.chown(at, mk.uid ?? -1, mk.gid ?? -1);
  } catch (err) {
    throw failed(err instanceof SyscallError ? renamedPaths(err, [at], `${mk.root}/${mk.below}`) : err, mk);
  } finally {
    closeQuietly(sys, fd);
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
