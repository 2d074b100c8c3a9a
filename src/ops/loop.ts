/**
 * Loop devices: attach a file to a free device (containerd's setupLoop), detach one, and run
 * the loop-mount step. Ownership: the backing file's fd and /dev/loop-control's are closed
 * before attach returns; the device's fd belongs to whoever attached it until they close it.
 * A loop mount closes it right after mount(2) succeeds, so autoclear frees the device at
 * unmount; when the mount fails, the device is detached and its fd closed.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountFailedError, MountkitError, PlanError, quotePath, renamedPaths, shownValue, SourceUnusableError, SyscallError } from "../errors.ts";
import { isLoopDevice, loopMethod } from "../plan/loop.ts";
import type { HelperArguments } from "../plan/external-helper.ts";
import { readOnlyHelperOptions } from "../plan/helper-options.ts";
import type { LoopRange } from "../plan/loop-reuse.ts";
import { ATTACH_LOOP_TERMS, busyLoopDeviceHint, missingLoopDeviceHint, MOUNT_LOOP_TERMS, notLoopDeviceHint, type LoopRequestTerms, type NamedLoopAdd } from "../plan/loop-request-terms.ts";
import { checkSectorSize, loopShownBytes, loopSizeProblem, SECTOR_BYTES } from "../plan/loop-size.ts";
import type { LoopMountStep, LoopSetup } from "../plan/loop-step.ts";
import { MS } from "../plan/flags.ts";
import type { Plan } from "../plan/steps.ts";
import { O } from "../sys/fd.ts";
import { LO_FLAGS, LOOP_CONTROL_PATH, type LoopInfo } from "../sys/loop.ts";
import { fileType, regularFileSize, type FileNode, type FileType } from "../sys/stat.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { busyDeviceHint, ioErrorHint } from "./hints.ts";
import { mountFirstType } from "./mount-types.ts";
import { mountedByHelper, probedTypeHint, probeType } from "./probe.ts";
import { LOOP_ATTACH_BUSY, LOOP_STATUS_AGAIN } from "./loop-retry.ts";
import { withLoopSetupLock } from "./loop-lock.ts";
import { attachErofsDevices } from "./erofs-devices.ts";
import { dataWithDevices } from "../plan/erofs-devices.ts";
import { bindRefused, busyLoopState } from "./loop-busy.ts";
import { addNamedLoopDevice, removeNamedLoopDevice } from "./loop-add.ts";
import { bindFreeLoopDevice, openLoopControl, type HeldLoopDevices, type WhenBusy } from "./loop-free.ts";
import { attachedLoopOf, loopFileMountedOn } from "./loop-reuse.ts";
import { newMountOf } from "./new-mount.ts";
import { mountOrReadOnly, warnReadOnly } from "./read-only-fallback.ts";
import { checkRetryPolicy, retrySync, type RetryPolicy } from "./retry.ts";
import { optionalPath, requireByteCount, requireOptionsObject, requirePath } from "../plan/caller-input.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";
import { RunStopped, stopPoint } from "./stop.ts";
import { absolutePath } from "../sys/cwd.ts";
import { existingRealpath } from "../sys/realpath.ts";

/** A bound loop device and an open fd on it. */
export interface AttachedLoop {
  /** "/dev/loopN" */
  readonly device: string;
  readonly number: number;
  /** open on the device; while it is, an autoclear device stays attached */
  readonly fd: number;
  /** attached read-only: asked, or the file could not be opened for writing (readOnlyFallback) */
  readonly readOnly: boolean;
  /** attached before, by someone else (ops/loop-reuse.ts): never detached here */
  readonly reused?: boolean;
  /** the named device was added for this attach (LOOP_CTL_ADD: setup.addDevice, and the kernel had none) */
  readonly added?: boolean;
}

/**
 * Attach setup.file to a free loop device, retrying under `policy` when another process wins
 * the race; a free device another process holds open exclusively is passed over for another
 * (loop-free.ts), not retried. Hints name the request's parts in terms (a mount's options by
 * default). control: /dev/loop-control open already (withLoopSetupLock's), borrowed; opened
 * here otherwise.
 */
export function attachLoopDevice(asked: LoopSetup, ctx: OpsContext, policy: RetryPolicy = LOOP_ATTACH_BUSY, terms: LoopRequestTerms = MOUNT_LOOP_TERMS, control?: number): AttachedLoop {
  const { sys } = ctx;
  // The device records the file's canonical path (lo_file_name, what losetup shows without
  // sysfs), as util-linux's does; the file is opened by the name given, never by a lexically
  // resolved one (link/../img is another file when link is a symlink to a directory).
  const file = existingRealpath(asked.file) ?? absolutePath(asked.file);
  // what the ask to add the named device came to (losetup DEV FILE), for the error's hint
  let added: NamedLoopAdd | undefined;
  try {
    const { setup, backing } = openBacking(asked, ctx);
    try {
      // loop=/dev/loopN: that device, once; no race to retry, a busy one is the caller's error
      if (setup.device !== undefined) {
        const named = setup.device;
        // after the file's open: a file that cannot be had adds nothing (losetup adds first)
        if (setup.addDevice) added = addNamedLoopDevice(named, ctx, control);
        const bound = bindDevice(setup, file, backing, named, ctx, (err, state) => (err.hint ??= busyLoopDeviceHint(named, terms, state)));
        return added?.outcome === "added" ? { ...bound, added: true } : bound;
      }
      const ctl = control ?? openLoopControl(sys);
      try {
        // kept across the tries: a device held open exclusively is not tried again (loop-free.ts)
        const held: HeldLoopDevices = new Map();
        const found = retrySync(policy, () => bindFreeLoopDevice(ctl, held, (device, whenBusy) => bindDevice(setup, file, backing, device, ctx, whenBusy), ctx));
        if ("refused" in found) throw found.refused;
        return found;
      } finally {
        if (control === undefined) closeQuietly(sys, ctl);
      }
    } finally {
      closeQuietly(sys, backing);
    }
  } catch (err) {
    if (err instanceof SyscallError && err.hint === undefined) {
      // with the read-only fallback (or -r), an EACCES or EROFS is from opening it even to read
      err.hint = loopHint(err, asked.file, { device: asked.device, terms, readTried: asked.readOnly || asked.readOnlyFallback, sectorSize: asked.sectorSize, added });
    }
    // the device added for it goes again (losetup leaves it: loop-add.ts); one that cannot is said
    if (added?.outcome === "added") {
      const left = removeNamedLoopDevice(asked.device!, ctx, control);
      if (left !== undefined && err instanceof MountkitError) err.hint = [err.hint, left].filter(Boolean).join("; ");
    }
    throw err;
  }
}

/**
 * The backing file's fd, opened as the setup asks; a file that refuses writing (a read-only
 * filesystem, no write permission) is opened read-only when the setup allows the fallback,
 * as losetup does, and the setup returned says so.
 */
function openBacking(setup: LoopSetup, ctx: OpsContext): { setup: LoopSetup; backing: number } {
  const { file } = setup;
  // O_NONBLOCK: a FIFO opened for reading would wait for a writer forever; this way the loop
  // ioctl refuses it (EINVAL: not a regular file or block device). Reads and writes of a
  // regular file or a block device ignore the flag.
  try {
    return { setup, backing: ctx.sys.open(file, (setup.readOnly ? O.RDONLY : O.RDWR) | O.NONBLOCK | O.CLOEXEC) };
  } catch (err) {
    const writeRefused = err instanceof SyscallError && (err.errno === Errno.EROFS || err.errno === Errno.EACCES);
    if (!writeRefused || setup.readOnly || !setup.readOnlyFallback) throw err;
    ctx.log?.(`loop: ${quotePath(file)} cannot be opened for writing (${err.errnoName}): attaching it read-only`);
    return { setup: { ...setup, readOnly: true }, backing: ctx.sys.open(file, O.RDONLY | O.NONBLOCK | O.CLOEXEC) };
  }
}

/**
 * Attach the backing fd to device (/dev/loopN); EBUSY when something is attached to it, or
 * another process holds it open exclusively. whenBusy is told which (busyLoopState) before
 * that EBUSY is thrown: a named device's hint says it, a free device's search passes over a
 * held one (loop-free.ts).
 */
function bindDevice(setup: LoopSetup, file: string, backing: number, device: string, ctx: OpsContext, whenBusy?: WhenBusy): AttachedLoop {
  const { sys } = ctx;
  const number = Number(device.slice("/dev/loop".length));
  let fd: number;
  try {
    fd = sys.open(device, (setup.readOnly ? O.RDONLY : O.RDWR) | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) err.withDetails(device); // the action names the image and the mount point
    throw err;
  }
  try {
    if (setup.method === "configure") {
      const flags =
        LO_FLAGS.AUTOCLEAR * Number(setup.autoclear) +
        LO_FLAGS.READ_ONLY * Number(setup.readOnly) +
        LO_FLAGS.DIRECT_IO * Number(setup.directIo) +
        LO_FLAGS.PARTSCAN * Number(setup.partscan === true);
      sys.loopConfigure(fd, backing, setup.sectorSize ?? 0, info(setup, file, flags));
      // LOOP_CONFIGURE drops direct I/O it cannot do (the file's filesystem has no O_DIRECT, or
      // the offset or sector size is finer than its blocks) without a word: read back and say so
      if (setup.directIo && !directIoInEffect(fd, ctx)) warnNoDirectIo(device, file, ctx);
    } else {
      bindLegacy(setup, file, backing, fd, device, ctx);
    }
    return { device, number, fd, readOnly: setup.readOnly };
  } catch (err) {
    try {
      // told while the device's fd is open
      if (whenBusy !== undefined && bindRefused(err)) whenBusy(err, busyLoopState(fd, device, ctx));
    } finally {
      closeQuietly(sys, fd); // a bug thrown by the look (no SyscallError) must not keep it open
    }
    if (err instanceof SyscallError) err.withDetails(device);
    throw err;
  }
}

/**
 * Kernels before 5.8: LOOP_SET_FD, then the status, the sector size, then direct I/O (which
 * depends on the sector size). Read-only comes from the O_RDONLY backing fd (the status cannot
 * set it). A failure after LOOP_SET_FD detaches again. Direct I/O the kernel refuses (EINVAL)
 * is a warning, as LOOP_CONFIGURE's silent drop of it is: the device works without it.
 */
function bindLegacy(setup: LoopSetup, file: string, backing: number, fd: number, device: string, ctx: OpsContext): void {
  const { sys } = ctx;
  // LOOP_SET_FD attaches without autoclear, which the status sets: no stop signal may end the
  // process in between, with the device left attached for good (ops/stop.ts)
  ctx.stop?.arm();
  sys.loopSetFd(fd, backing);
  try {
    const status = info(setup, file, (setup.autoclear ? LO_FLAGS.AUTOCLEAR : 0) | (setup.partscan ? LO_FLAGS.PARTSCAN : 0));
    retrySync(LOOP_STATUS_AGAIN, () => sys.loopSetStatus64(fd, status));
    // the kernel flushes the device's cache for it and may say EAGAIN, as for the status
    if (setup.sectorSize) retrySync(LOOP_STATUS_AGAIN, () => sys.loopSetBlockSize(fd, setup.sectorSize!));
    if (setup.directIo) {
      try {
        sys.loopSetDirectIo(fd, true);
      } catch (err) {
        if (!isErrno(err, Errno.EINVAL)) throw err;
        warnNoDirectIo(device, file, ctx);
      }
    }
  } catch (err) {
    clearQuietly(fd, ctx);
    throw err;
  }
}

/**
 * Whether the device bound on fd does direct I/O; true when that cannot be read: the device is
 * attached by now, and a failure here must not throw past it (no warning is the cost).
 */
function directIoInEffect(fd: number, ctx: OpsContext): boolean {
  try {
    return (ctx.sys.loopGetStatus64(fd).flags & LO_FLAGS.DIRECT_IO) !== 0;
  } catch (err) {
    if (err instanceof SyscallError) return true;
    throw err;
  }
}

function warnNoDirectIo(device: string, file: string, ctx: OpsContext): void {
  ctx.warn?.(`${device}: the kernel did not turn on direct I/O for ${quotePath(file)} (the offset is not a multiple of the file's direct I/O alignment (statx's STATX_DIOALIGN, usually its disk's sector size), or the sector size is below it, or its filesystem has no O_DIRECT): the device goes through the page cache`);
}

function info(setup: LoopSetup, file: string, flags: number): LoopInfo {
  return { offset: setup.offset, sizeLimit: setup.sizeLimit, flags, fileName: file };
}

function clearQuietly(fd: number, ctx: OpsContext): void {
  try {
    ctx.sys.loopClrFd(fd);
  } catch {
    // ENXIO: already detached; the fd's close below frees an autoclear device anyway
  }
}

/**
 * Used when the mount on the device failed: detach a device this code attached, and close its
 * fd (a reused device, someone else's, is only closed).
 */
function releaseLoop(loop: AttachedLoop, ctx: OpsContext): void {
  if (!loop.reused) {
    ctx.log?.(`rollback: ioctl(${loop.device}, LOOP_CLR_FD)`);
    clearQuietly(loop.fd, ctx);
  }
  closeQuietly(ctx.sys, loop.fd);
}

export function runLoopMountStep(step: LoopMountStep, ctx: OpsContext, run: PlanRun): void {
  // what the device does not do of what was asked (direct I/O) is said once the mount stands
  const deviceWarnings: string[] = [];
  const attachCtx = ctx.warn === undefined ? ctx : { ...ctx, warn: (message: string) => deviceWarnings.push(message) };
  // under the lock (loop-lock.ts): a mount of this image by another process at this moment
  // finds the device attached here, or this one finds the device it attached
  const { loop, devices } = withLoopSetupLock(attachCtx, (control) => {
    const image = reusedLoopOf(step, attachCtx, ctx) ?? attachLoopDevice(step.loop, attachCtx, LOOP_ATTACH_BUSY, MOUNT_LOOP_TERMS, control);
    try {
      // erofs's device= files, each on a loop device of its own (plan/erofs-devices.ts)
      const attach = (setup: LoopSetup) => attachLoopDevice(setup, attachCtx, LOOP_ATTACH_BUSY, MOUNT_LOOP_TERMS, control);
      return { loop: image, devices: attachErofsDevices(step, attach, (device) => releaseLoop(device, ctx)) };
    } catch (err) {
      releaseLoop(image, ctx);
      throw err;
    }
  });
  const releaseDevices = () => {
    for (const device of devices) releaseLoop(device, ctx);
  };
  // only a device attached to the file already can have its filesystem on the target already
  if (loop.reused) {
    try {
      refuseMountedThere(step, loop, ctx);
    } catch (err) {
      releaseDevices();
      throw err;
    }
  }
  const data = step.devices === undefined ? step.data : dataWithDevices(step.data, step.devices, devices.map((d) => d.device));
  let fstype = step.fstype;
  // attached read-only though the mount asked for writing: the file is write-protected, or
  // the device reused was attached read-only
  const forcedReadOnly = loop.readOnly && !step.loop.readOnly;
  // The device's filesystem may be mounted read-only already (EBUSY for read-write): a reused
  // device's, and one attached here too, which another process may have found and mounted
  // between the attach and this mount(2).
  const fallback = step.loop.readOnlyFallback && !forcedReadOnly;
  let byHelper = false;
  try {
    fstype ??= probeType(loop.fd, loop.device, ctx, step.loop.file, step.allowedTypes);
    const flags = forcedReadOnly ? step.flags | MS.RDONLY : step.flags;
    const how = newMountOf(step.idmap, ctx, run);
    // no type given, and the type read has a mount.TYPE helper: the helper mounts the device
    byHelper = step.helper !== undefined && mountedByHelper(loop.device, step.target, fstype, { args: loopHelperArgs(step.helper, forcedReadOnly), action: loopMountAction(step), undoable: step.undoable }, ctx, run);
    if (byHelper) {
      // its undo is the helper step's own
    } else if (step.otherTypes) fstype = mountFirstType(loop.device, step.target, [fstype, ...step.otherTypes], flags, data, fallback, ctx, step.loop.file, how);
    else if (fallback) mountOrReadOnly(loop.device, step.target, fstype, flags, data, ctx, how);
    else how.mount(loop.device, step.target, fstype, flags, data);
  } catch (err) {
    // an empty device (offset= past the end of the file) is why, whatever the kernel said
    const empty = emptyDeviceProblem(step.loop);
    releaseDevices();
    releaseLoop(loop, ctx);
    if (empty !== undefined && err instanceof MountkitError) err.hint = empty;
    if (err instanceof SyscallError) {
      err.withDetails(`${quotePath(step.loop.file)} on ${loop.device}`);
      if (step.fstype === null && fstype !== null) err.hint ??= probedTypeHint(err, fstype, step.loop.file);
      if (err.errno === Errno.EINVAL) err.hint ??= `${quotePath(step.loop.file)} holds no valid ${fstype ?? "known"} filesystem, or an option is wrong`;
      // a device reused: its filesystem is mounted elsewhere, maybe in the other read-only state
      if (err.errno === Errno.EBUSY) err.hint ??= busyDeviceHint(loop.device, step.target, loop.readOnly || (step.flags & MS.RDONLY) !== 0);
      // the superblock unreadable, or its writes refused (a read-write device over a read-only one)
      if (err.errno === Errno.EIO && (err.syscall === "mount(2)" || err.syscall === "fsconfig(2)")) err.hint ??= ioErrorHint(loop.device, loop.readOnly || (step.flags & MS.RDONLY) !== 0, step.loop.file);
    }
    throw err;
  }
  // The mount holds the device now: with autoclear the kernel detaches it at unmount.
  closeQuietly(ctx.sys, loop.fd);
  for (const device of devices) closeQuietly(ctx.sys, device.fd);
  for (const warning of deviceWarnings) ctx.warn?.(warning);
  if (forcedReadOnly) warnReadOnly(step.target, ctx);
  if (!byHelper && step.undoable && run.undoWanted) run.rollback.push(() => undoMount(step.target, ctx));
}

/**
 * The device attached to the image over the range asked, for the mount to use (attachedLoopOf).
 * Its refusals (a device over an overlapping range, a read-only one for -w, another device than
 * loop= names) come after the image found mounted on the target at the same offset, whatever
 * its size limit: mount(8) asks that first (is_mounted_same_loopfile compares the file and the
 * offset) and says "IMAGE is already mounted", exit 1.
 */
function reusedLoopOf(step: LoopMountStep, attachCtx: OpsContext, ctx: OpsContext): AttachedLoop | undefined {
  try {
    return attachedLoopOf(step.loop, attachCtx);
  } catch (err) {
    if (!(err instanceof MountFailedError)) throw err;
    throw mountedThereError(step, loopMountAction(step), ctx) ?? err;
  }
}

/**
 * The image is mounted on the target already through the device reused (or another one at its
 * offset): refused before mount(2), as mount(8) refuses it ("IMAGE is already mounted", exit 1),
 * the device's fd closed and the device left as it is.
 */
function refuseMountedThere(step: LoopMountStep, loop: AttachedLoop, ctx: OpsContext): void {
  const refusal = mountedThereError(step, loopMountAction(step), ctx);
  if (refusal === undefined) return;
  closeQuietly(ctx.sys, loop.fd);
  throw refusal;
}

/** What a loop mount step does, for its errors: "mount IMAGE on TARGET" unless the plan names it. */
function loopMountAction(step: LoopMountStep): string {
  return step.action ?? `mount ${quotePath(step.loop.file)} on ${quotePath(step.target)}`;
}

/** The refusal of a loop mount whose image is mounted on its target already, or undefined. */
function mountedThereError(step: LoopMountStep, action: string, ctx: OpsContext): PlanError | undefined {
  const device = loopFileMountedOn(step.target, step.loop, ctx);
  if (device === undefined) return undefined;
  return new PlanError(`${action}: ${quotePath(step.loop.file)} is already mounted on ${quotePath(step.target)} (through ${device})`, {
    hint: `a filesystem is mounted once on a mount point: unmount ${quotePath(step.target)} first to mount it there again`,
  });
}

/** What makes a device over setup's range of its file empty (less than a sector), or undefined. */
function emptyDeviceProblem(setup: LoopSetup): string | undefined {
  const size = regularFileSize(setup.file);
  if (size === undefined || loopShownBytes(size, setup) >= SECTOR_BYTES) return undefined;
  return loopSizeProblem(setup.file, size, setup);
}

/**
 * losetup's size warnings, for a device attached over range of file: an empty device, or a
 * tail shorter than a sector (of sectorSize bytes) left out. undefined for whole sectors, or a
 * file that is no regular file (a block device).
 */
export function loopSizeWarning(file: string, range: LoopRange, sectorSize = SECTOR_BYTES): string | undefined {
  const size = regularFileSize(file);
  return size === undefined ? undefined : loopSizeProblem(file, size, range, sectorSize);
}

/** A helper mounting a device attached read-only (the file is write-protected) is asked for ro instead of rw. */
function loopHelperArgs(args: HelperArguments, forcedReadOnly: boolean): HelperArguments {
  return forcedReadOnly ? { ...args, options: readOnlyHelperOptions(args.options) } : args;
}

/** What is known of a failed attach beyond its error, for the hint. */
export interface LoopHintContext {
  /** the device named (loop=, loop attach DEV FILE) */
  readonly device?: string | undefined;
  /** how the request names its parts (a mount's options by default) */
  readonly terms?: LoopRequestTerms;
  /** the file was (or would have been) opened read-only: a refusal is of reading it */
  readonly readTried?: boolean;
  /** the sector size asked, when one was */
  readonly sectorSize?: number | undefined;
  /** what the ask to add the named device came to, when one was made (loop attach DEV FILE) */
  readonly added?: NamedLoopAdd | undefined;
}

/**
 * A plan that is never run (mount --dry-run, mount(8)'s -f) still fails where its loop device
 * could not be attached, as util-linux's mount -f does ("failed to setup loop device", exit 32):
 * each file the plan would attach must exist and be a regular file or a block device. Told by
 * statx(2) of the file, which the error names with its errno; no loop device is attached and no
 * file opened. A FIFO or socket is refused too, which the attach would refuse (EINVAL), and so
 * is an image mounted on the target already, as the mount would refuse it.
 */
export function checkLoopBackingFiles(plan: Plan, ctx: OpsContext): void {
  for (const step of plan.steps) {
    if (step.op !== "loop-mount") continue;
    let node: FileNode;
    try {
      // by the name given, as the attach opens it
      node = ctx.sys.statxNode(AT.FDCWD, step.loop.file, 0);
    } catch (err) {
      if (err instanceof SyscallError) err.withAction(plan.action, loopHint(err, step.loop.file));
      throw err;
    }
    if (node.type !== "file" && node.type !== "block") {
      throw new SourceUnusableError(`${plan.action}: ${quotePath(step.loop.file)} is ${KIND_NAMES[node.type]}, not a regular file or block device to attach to a loop device`);
    }
    // mount(8)'s dry run refuses it too ("is already mounted", exit 1)
    const refusal = mountedThereError(step, plan.action, ctx);
    if (refusal !== undefined) throw refusal;
  }
}

/** What the user can do about a failed attach. */
export function loopHint(err: SyscallError, file: string, known: LoopHintContext = {}): string | undefined {
  const { device, terms = MOUNT_LOOP_TERMS } = known;
  if (err.paths.includes(LOOP_CONTROL_PATH)) {
    // the device is there but not ours to open: a permission, not a missing module
    if (err.errno === Errno.EACCES || err.errno === Errno.EPERM) return `attaching a loop device needs root (${LOOP_CONTROL_PATH} is not open to this user)`;
    // a container's /dev may hold /dev/loopN but not it: a device named needs none
    if (err.errno === Errno.ENOENT) return `no loop device support: load the loop module (modprobe loop), or ${terms.thisDevice("/dev/loopN")}: a device named needs no ${LOOP_CONTROL_PATH}`;
    return "no loop device support: load the loop module (modprobe loop)";
  }
  if (device !== undefined && err.errno === Errno.EBUSY) return busyLoopDeviceHint(device, terms);
  if (device !== undefined && err.errno === Errno.ENOENT && err.paths.includes(device)) return missingLoopDeviceHint(device, terms, known.added);
  if (device === undefined) {
    const hint = freeDeviceHint(err);
    if (hint !== undefined) return hint;
  }
  if (err.errno === Errno.ENOENT && err.paths.length && !err.paths[0]!.startsWith("/dev/loop")) return `${quotePath(file)} does not exist`;
  if (err.errno === Errno.EISDIR || err.errno === Errno.EINVAL || err.errno === Errno.ENOTTY) {
    const type = fileType(file);
    if (type !== undefined && type !== "file" && type !== "block") return `${quotePath(file)} is not a regular file or block device`;
  }
  if (err.errno === Errno.EINVAL && known.sectorSize) {
    return `the kernel refused the sector size ${known.sectorSize}: it takes a power of two from 512 to its largest (the page size, or 64 KiB on recent kernels)`;
  }
  // a refusal to open the device (/dev/loopN) is not the file's
  if (err.syscall === "open(2)" && err.paths.length > 0 && isLoopDevice(err.paths[0]!)) return undefined;
  if (err.errno === Errno.EACCES && known.readTried) return `${quotePath(file)} cannot be read: check its permissions`;
  // Reached only without the read-only fallback (mount -w).
  if (err.errno === Errno.EROFS) return `${quotePath(file)} is on a read-only filesystem: mount it read-only (-r), or leave out -w`;
  if (err.errno === Errno.EACCES) return `${quotePath(file)} cannot be opened: check its permissions, or mount it read-only (-r)`;
  return undefined;
}

/**
 * What went wrong getting a free device: LOOP_CTL_GET_FREE found none unbound and could not add
 * one; the device it gave has no node in /dev; or every device it gave was bound (or being
 * detached) by another process first, as many times as the policy tries. Their errnos alone
 * (ENOSPC, ENODEV, ENOENT, EBUSY, ENXIO) read as a full disk, an unknown filesystem type, a
 * missing file, a busy mount point, a missing device.
 */
function freeDeviceHint(err: SyscallError): string | undefined {
  if (err.syscall === "ioctl(LOOP_CTL_GET_FREE)") {
    return "the kernel has no free loop device and could not add one: detach the loop devices not in use (mountkit loop list, mountkit loop detach DEV)";
  }
  // open(2) has it as its path, an ioctl on its fd as a detail (bindDevice)
  const device = [...err.paths, ...err.details].find(isLoopDevice);
  if (device === undefined) return undefined;
  if (err.errno === Errno.ENOENT) return `${device}, the free device the kernel gave, has no node in /dev (a static /dev, as in a container: mount devtmpfs on /dev, or mknod it)`;
  if (err.errno === Errno.EBUSY) return "another process bound each free loop device first, every time one was tried: many are being attached at once; try again";
  // the open(2) of a device another process was detaching (LOOP_ATTACH_BUSY retries it)
  if (err.errno === Errno.ENXIO) return "another process was detaching each free loop device as it was opened, every time one was tried: many are being attached and detached at once; try again";
  return undefined;
}

export interface AttachLoopOptions extends OpsOptions {
  readOnly?: boolean;
  directIo?: boolean;
  /** the kernel detaches the device when its last user closes it */
  autoclear?: boolean;
  /** bytes into the file where the device starts */
  offset?: number;
  /** bytes of the file the device shows; 0 for the rest */
  sizeLimit?: number;
  /** the kernel reads the file's partition table: /dev/loopNp1, ... (losetup -P) */
  partscan?: boolean;
  /** the device's logical sector size in bytes, a power of two from 512 (losetup -b); the kernel's default (512) otherwise */
  sectorSize?: number;
  /**
   * this device ("/dev/loopN", losetup DEV FILE) instead of a free one; EBUSY when it is attached
   * already. One the kernel does not have is added first (LOOP_CTL_ADD), as losetup adds it, and
   * removed again when the attach then fails or is stopped (the result's `added` says when it was added).
   */
  device?: string;
  /** the policy of the race for a free device (EBUSY, ENXIO); LOOP_ATTACH_BUSY by default */
  retry?: RetryPolicy;
  /**
   * losetup --nooverlap: a device attached to the file over the same range already is
   * returned (reused: true) instead of a second one; one over an overlapping range is an error.
   */
  noOverlap?: boolean;
}

export interface LoopAttachment extends AttachedLoop {
  /** Close the device's fd (an autoclear device is then detached unless something else holds it). */
  close(): void;
}

/**
 * Attach file to a free loop device (losetup -f), or to options.device (losetup DEV FILE). The
 * caller owns the returned fd: keep it open until the device is in use when autoclear is set,
 * then close() it. What the device does not do of what was asked (direct I/O the kernel turned
 * down, a device reused with -L that lacks it) goes to options.warn. Errors and hints name the
 * request as `mountkit loop attach` takes it (DEV, --offset, --sizelimit: ATTACH_LOOP_TERMS).
 * options.stop is armed before the attach and asked once it is made: a stop then detaches the
 * device again and throws RunStopped (ops/stop.ts).
 */
export function attachLoop(file: string, options: AttachLoopOptions = {}): LoopAttachment {
  checkAttachLoopCall(file, options);
  const ctx = opsContext(options);
  const action = `attach ${quotePath(file)} to ${options.device === undefined ? "a loop device" : quotePath(options.device)}`;
  if (options.device !== undefined && !isLoopDevice(options.device)) {
    throw new PlanError(`${action}: ${quotePath(options.device)} is not a loop device`, { hint: notLoopDeviceHint(ATTACH_LOOP_TERMS) });
  }
  const sectorSize = options.sectorSize === undefined ? 0 : checkSectorSize(options.sectorSize, String(options.sectorSize));
  const setup: LoopSetup = {
    file,
    readOnly: options.readOnly ?? false,
    autoclear: options.autoclear ?? false,
    directIo: options.directIo ?? false,
    offset: options.offset ?? 0,
    sizeLimit: options.sizeLimit ?? 0,
    partscan: options.partscan ?? false,
    ...(sectorSize === 0 ? {} : { sectorSize }),
    // losetup DEV FILE: a DEV the kernel does not have is added (ops/loop-add.ts)
    ...(options.device === undefined ? {} : { device: options.device, addDevice: true }),
    method: loopMethod(ctx.facts),
    readOnlyFallback: true, // as losetup: a file that refuses writing is attached read-only
  };
  // A stop (the CLI's stop signals) is watched over the attach and asked once it is made: a
  // signal's default action ended the process with the device attached for good (no autoclear;
  // on the legacy path not even its status set) and its name never printed.
  ctx.stop?.arm();
  let attached: AttachedLoop;
  try {
    // -L looks for a device first: under the lock, as a mount's look (loop-lock.ts)
    attached = options.noOverlap
      ? withLoopSetupLock(ctx, (control) => attachedLoopOf(setup, ctx, ATTACH_LOOP_TERMS) ?? attachLoopDevice(setup, ctx, options.retry, ATTACH_LOOP_TERMS, control))
      : attachLoopDevice(setup, ctx, options.retry, ATTACH_LOOP_TERMS);
  } catch (err) {
    if ((err instanceof SyscallError || err instanceof MountFailedError) && err.action === undefined) err.withAction(action);
    throw err;
  }
  if (ctx.stop !== undefined) stopAfterAttach(attached, ctx);
  let open = true;
  return {
    ...attached,
    close() {
      if (open) closeQuietly(ctx.sys, attached.fd);
      open = false;
    },
  };
}

/**
 * A stop asked for by the time the attach is made: the device detached again (one reused, -L's,
 * is someone else's and stays: RunStopped.reusedDevice names it) and its fd closed, one added for
 * the attach (losetup DEV FILE) removed again as after a failure, then RunStopped thrown,
 * carrying what the detach or the removal could not do.
 */
function stopAfterAttach(attached: AttachedLoop, ctx: OpsContext): void {
  try {
    stopPoint(ctx);
  } catch (err) {
    let detached = false;
    if (err instanceof RunStopped && attached.reused) err.reusedDevice = attached.device;
    else if (err instanceof RunStopped) {
      ctx.log?.(`stopped: ioctl(${attached.device}, LOOP_CLR_FD)`);
      try {
        ctx.sys.loopClrFd(attached.fd);
        detached = true;
      } catch (clearErr) {
        err.cleanupErrors.push(clearErr instanceof SyscallError ? clearErr.withAction(`detach ${quotePath(attached.device)}`) : clearErr);
      }
    }
    // the last close ends the detach (LOOP_CLR_FD leaves the device to it): then it may go
    closeQuietly(ctx.sys, attached.fd);
    if (detached && attached.added && err instanceof RunStopped) {
      const left = removeNamedLoopDevice(attached.device, ctx);
      if (left !== undefined) err.cleanupErrors.push(new PlanError(left));
    }
    throw err;
  }
}

/**
 * What attachLoop is given, before any call: the file a path; offset and sizeLimit whole byte
 * counts (a negative or huge one wrapped in the u64 the kernel takes: the device showed another
 * part of the file, or a NaN one failed in BigInt()); the device a path; the retry a policy.
 */
function checkAttachLoopCall(file: unknown, options: AttachLoopOptions): void {
  requirePath(file, "file", "attach to a loop device");
  // "" is no file: open("") says ENOENT, as the CLI's "empty FILE" would have it said first
  if (file === "") throw new PlanError("attach to a loop device: empty file path");
  requireOptionsObject(options, "attach to a loop device");
  const action = `attach ${quotePath(file)} to a loop device`;
  if (options.offset !== undefined) requireByteCount(options.offset, "offset", action);
  if (options.sizeLimit !== undefined) requireByteCount(options.sizeLimit, "sizeLimit", action);
  if (options.sectorSize !== undefined && !Number.isSafeInteger(options.sectorSize)) {
    throw new PlanError(`${action}: sectorSize must be a whole number of bytes, got ${shownValue(options.sectorSize)}`);
  }
  optionalPath(options.device, "device", action);
  if (options.retry !== undefined) checkRetryPolicy(options.retry, action);
}

/**
 * Detach a loop device (losetup -d): now, or when its last user closes it if it is in use.
 * Anything but a loop device is refused before the ioctl, as losetup does (withLoopDeviceFd).
 */
export function detachLoop(device: string, options: OpsOptions = {}): void {
  requirePath(device, "device", "detach");
  const ctx = opsContext(options);
  withLoopDeviceFd(device, `detach ${quotePath(device)}`, ctx, (fd) => ctx.sys.loopClrFd(fd));
}

/** What setLoopCapacity found once the driver had read the file's size again. */
export interface LoopCapacity {
  /** the device as named */
  readonly device: string;
  /** its size now, in bytes (BLKGETSIZE64; sysfs's size is this / 512) */
  readonly bytes: number;
}

/**
 * After a device's backing file grew (or shrank), tell the loop driver to read its size again
 * (losetup -c, --set-capacity): LOOP_SET_CAPACITY, then the new size by BLKGETSIZE64 on the
 * same fd. The device shows the file from its offset, at most its sizelimit: growing the file
 * past that changes nothing. A device not attached is the kernel's ENXIO. Refused before the
 * ioctl, as detachLoop, for anything but a loop device.
 */
export function setLoopCapacity(device: string, options: OpsOptions = {}): LoopCapacity {
  requirePath(device, "device", "set the capacity");
  const ctx = opsContext(options);
  return withLoopDeviceFd(device, `set the capacity of ${quotePath(device)}`, ctx, (fd) => {
    ctx.sys.loopSetCapacity(fd);
    return { device, bytes: ctx.sys.blockDeviceBytes(fd) };
  });
}

/**
 * use(fd) on an fd open (O_RDONLY: the loop ioctls used so accept it from root) on the loop device named
 * device, closed afterwards; errors are given action. Anything but a loop device is refused
 * before use: a loop ioctl's number means something else to another driver. The check is made
 * on the file itself, not its name: device is opened O_PATH (which opens no device: no other
 * driver's open runs, no FIFO waits for a writer), that fd is stat()ed, and only a loop device
 * is opened for the ioctl, through /proc/self/fd/N, so a name renamed between the check and the
 * open cannot swap the file. A symlink is followed, as losetup follows it.
 */
export function withLoopDeviceFd<T>(device: string, action: string, ctx: OpsContext, use: (fd: number) => T): T {
  const { sys } = ctx;
  try {
    const handle = sys.openPath(device);
    try {
      refuseNotLoop(device, handle, ctx, action);
      const fd = openHandle(handle, device, ctx);
      try {
        return use(fd);
      } finally {
        closeQuietly(sys, fd);
      }
    } finally {
      closeQuietly(sys, handle);
    }
  } catch (err) {
    if (err instanceof SyscallError) {
      err.withAction(action);
      if (err.errno === Errno.ENXIO) err.hint ??= "the device is not attached to a file";
      if (err.errno === Errno.ENOENT) err.hint ??= `there is no ${quotePath(device)}: mountkit loop list shows the attached loop devices`;
    }
    throw err;
  }
}

/** open("/proc/self/fd/N", O_RDONLY|O_CLOEXEC): the file the O_PATH handle holds, opened for the ioctl; errors name device. */
function openHandle(handle: number, device: string, ctx: OpsContext): number {
  const at = `/proc/self/fd/${handle}`;
  try {
    return ctx.sys.open(at, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    throw err instanceof SyscallError ? renamedPaths(err, [at], device) : err;
  }
}

/** The loop driver's block major (LOOP_MAJOR); its partitions (loopNpM) have other numbers. */
const LOOP_MAJOR = 7;

const KIND_NAMES: Readonly<Record<FileType, string>> = {
  file: "a regular file",
  dir: "a directory",
  link: "a symbolic link",
  block: "a block device",
  char: "a character device",
  fifo: "a FIFO",
  socket: "a socket",
};

/** Throw, naming what it is, when the file handle is open on is no loop device. */
function refuseNotLoop(device: string, handle: number, ctx: OpsContext, action: string): void {
  const notLoop = notLoopDevice(ctx.sys.statxNode(handle, "", AT.EMPTY_PATH), ctx);
  if (notLoop === undefined) return;
  const why = `${quotePath(device)} is ${notLoop}, not a loop device`;
  throw new MountFailedError(why, new PlanError(why), { action, hint: "name a loop device, /dev/loopN (mountkit loop list shows the attached ones)" });
}

/**
 * Whether path (a symlink followed) names a loop device node, as util-linux's is_loopdev tells
 * (notLoopDevice); false for what cannot be stat()ed. losetup -d, -c and `losetup DEV` check
 * their DEV so, before anything is done.
 */
export function isLoopDeviceNode(path: string, options: OpsOptions = {}): boolean {
  requirePath(path, "device", "check a loop device");
  const ctx = opsContext(options);
  let node: FileNode;
  try {
    node = ctx.sys.statxNode(AT.FDCWD, path, 0);
  } catch (err) {
    if (err instanceof SyscallError) return false;
    throw err;
  }
  return notLoopDevice(node, ctx) === undefined;
}

/**
 * What a file is when it is no loop device ("a character device"), or undefined when it is
 * one: a block device of the loop major, or whose sysfs name is loopN, as util-linux's is_loopdev.
 */
function notLoopDevice(node: FileNode, ctx: OpsContext): string | undefined {
  if (node.type !== "block") return KIND_NAMES[node.type];
  if (node.rdev.startsWith(`${LOOP_MAJOR}:`)) return undefined;
  const sysfs = ctx.sys.readlink(`/sys/dev/block/${node.rdev}`);
  if (typeof sysfs === "string" && /\/loop\d+$/.test(sysfs)) return undefined;
  return `another block device (${node.rdev}${typeof sysfs === "string" ? `, ${sysfs.slice(sysfs.lastIndexOf("/") + 1)}` : ""})`;
}
