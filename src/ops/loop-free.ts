/**
 * A free loop device for an attach that names none (mount -o loop, loop attach FILE): the one
 * LOOP_CTL_GET_FREE gives, or another when that one is held open exclusively (O_EXCL) by another
 * process that attached nothing to it. The kernel counts such a device free and gives it to every
 * ask, while its bind fails with EBUSY each time: retried, the attach spent all of
 * LOOP_ATTACH_BUSY on one device that was never going to be had (util-linux 2.38's losetup -f
 * gives up after 64 more tries, 13 s; its mount -o loop spins until the holder lets go).
 *
 * Another device is one /dev lists that sysfs shows attached to no file, in number order; else
 * one added (LOOP_CTL_ADD) under a number no device has, as LOOP_CTL_GET_FREE itself adds one
 * when none is free: it stays once attached, as that one does, and the next look finds it. One
 * added whose bind fails is removed again (LOOP_CTL_REMOVE). When none can be had, the attach
 * fails at once, its hint naming the held devices. A device of the look that another attacher
 * bound first is passed over; the race on the device GET_FREE gives stays LOOP_ATTACH_BUSY's.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { heldFreeLoopDevicesHint, type BusyLoopState } from "../plan/loop-request-terms.ts";
import { O } from "../sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../sys/loop.ts";
import { opsContext, type OpsContext, type OpsOptions } from "./context.ts";
import type { AttachedLoop } from "./loop.ts";
import { bindRefused } from "./loop-busy.ts";
import { removeAddedLoopDevice } from "./loop-add.ts";
import { LOOP_ADD_TAKEN } from "./loop-retry.ts";
import { loopBackingFile, SYS_BLOCK } from "./loop-sysfs.ts";
import { closeQuietly } from "./plan-handles.ts";
import { retrySync } from "./retry.ts";

/** Told why the kernel refused a bind with EBUSY (busyLoopState), while the device's fd is open. */
export type WhenBusy = (err: SyscallError, state: BusyLoopState | undefined) => void;

/** Bind the attach's file to device and return it attached, or throw; whenBusy is told first of an EBUSY. */
export type BindLoopDevice = (device: string, whenBusy: WhenBusy) => AttachedLoop;

/** The devices one attach found held open exclusively, each with its bind's EBUSY; kept across its tries. */
export type HeldLoopDevices = Map<string, SyscallError>;

/** The device attached, or the error that ends the attach now: no race, nothing to try again. */
export type FreeLoopDevice = AttachedLoop | { readonly refused: SyscallError };

const DEV = "/dev";

/**
 * The device LOOP_CTL_GET_FREE names (losetup -f): attached to nothing now, the kernel adding
 * one when none is. Nothing is attached to it here, so another process may take it first.
 */
export function findFreeLoopDevice(options: OpsOptions = {}): string {
  const ctx = opsContext(options);
  try {
    const control = openLoopControl(ctx.sys);
    try {
      return `/dev/loop${ctx.sys.loopCtlGetFree(control)}`;
    } finally {
      closeQuietly(ctx.sys, control);
    }
  } catch (err) {
    if (err instanceof SyscallError) err.withAction("find a free loop device");
    throw err;
  }
}

/**
 * /dev/loop-control, opened read-write, named in its error: the action that takes the error
 * names the image or the request, not this file.
 */
export function openLoopControl(sys: OpsContext["sys"]): number {
  try {
    return sys.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) err.withDetails(LOOP_CONTROL_PATH);
    throw err;
  }
}

/**
 * One try of a free device: GET_FREE's, unless it is held (found so now, or on an earlier try:
 * the kernel gives it again), then another. A lost race on GET_FREE's device is thrown, for the
 * caller's policy to try again.
 */
export function bindFreeLoopDevice(control: number, held: HeldLoopDevices, bind: BindLoopDevice, ctx: OpsContext): FreeLoopDevice {
  const number = ctx.sys.loopCtlGetFree(control);
  const device = `/dev/loop${number}`;
  ctx.log?.(`loop: LOOP_CTL_GET_FREE gave N = ${number}: ${device}`);
  if (!held.has(device)) {
    const bound = bindUnlessHeld(device, held, bind);
    if (bound !== undefined) return bound;
  }
  ctx.log?.(`loop: ${device} is attached to no file but held open exclusively (O_EXCL) by another process: looking for another device`);
  return bindOtherDevice(control, held, bind, ctx);
}

/** bind(device), or undefined when another process holds it exclusively (it is put in held). */
function bindUnlessHeld(device: string, held: HeldLoopDevices, bind: BindLoopDevice): AttachedLoop | undefined {
  try {
    return bind(device, (err, state) => {
      if (state === "held-exclusively") held.set(device, err);
    });
  } catch (err) {
    if (held.get(device) === err) return undefined;
    throw err;
  }
}

/** A device /dev lists, attached to nothing and not held; else one added. */
function bindOtherDevice(control: number, held: HeldLoopDevices, bind: BindLoopDevice, ctx: OpsContext): FreeLoopDevice {
  const listed = loopNumbersIn(DEV, ctx);
  for (const number of listed) {
    const device = `/dev/loop${number}`;
    // sysfs shows a backing file for an attached device: passed over without an open
    if (held.has(device) || loopBackingFile(device) !== undefined) continue;
    try {
      const bound = bindUnlessHeld(device, held, bind);
      if (bound !== undefined) return bound;
    } catch (err) {
      if (refusedToThisProcess(err)) {
        ctx.log?.(`loop: ${device}: ${err.syscall}: ${err.errnoName}: not to be opened by this process, passed over`);
        continue;
      }
      if (!takenMeanwhile(err)) throw err;
      ctx.log?.(`loop: ${device}: ${err.syscall}: ${err.errnoName}: taken by another process meanwhile, passed over`);
    }
  }
  return bindAddedDevice(control, [...listed, ...loopNumbersIn(SYS_BLOCK, ctx)], held, bind, ctx);
}

/**
 * A device of the look that another process bound (EBUSY), was detaching (open's ENXIO) or
 * removed (open's ENOENT) since it was listed: not this attach's to have, and no failure of it.
 */
function takenMeanwhile(err: unknown): err is SyscallError {
  if (bindRefused(err)) return true;
  return err instanceof SyscallError && err.syscall === "open(2)" && (err.errno === Errno.ENXIO || err.errno === Errno.ENOENT);
}

/**
 * A device of the look whose node this process may not open (EACCES, EPERM: its mode, an LSM's
 * policy): another device may be had, so this one is passed over rather than ending the attach.
 * (GET_FREE's own device refusing so ends it: that is the kernel's pick, not the look's.)
 */
function refusedToThisProcess(err: unknown): err is SyscallError {
  return err instanceof SyscallError && err.syscall === "open(2)" && (err.errno === Errno.EACCES || err.errno === Errno.EPERM);
}

/** A device added under a number none of inUse (nor a held one) has, then bound; removed again when the bind fails. */
function bindAddedDevice(control: number, inUse: readonly number[], held: HeldLoopDevices, bind: BindLoopDevice, ctx: OpsContext): FreeLoopDevice {
  let number: number;
  try {
    number = addLoopDevice(control, inUse, held, ctx);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    return { refused: heldRefusal(held, `the kernel would not add one: ${err.syscall}: ${err.errnoName}`) };
  }
  const device = `/dev/loop${number}`;
  ctx.log?.(`loop: LOOP_CTL_ADD added ${device}`);
  let bound: AttachedLoop | undefined;
  try {
    bound = bindUnlessHeld(device, held, bind);
  } catch (err) {
    removeAdded(control, number, ctx);
    if (isErrno(err, Errno.ENOENT) && err.syscall === "open(2)") {
      return { refused: heldRefusal(held, `the one added for it, ${device}, has no node in /dev: a static /dev, as in a container`) };
    }
    throw err; // the file's own refusal; a race (EBUSY, ENXIO) is the policy's to try again
  }
  if (bound !== undefined) return bound;
  removeAdded(control, number, ctx);
  return { refused: heldRefusal(held, `the one added for it, ${device}, was held so too`) };
}

/** LOOP_CTL_ADD of the lowest number not taken; the next one when another process added it first (LOOP_ADD_TAKEN). */
function addLoopDevice(control: number, inUse: readonly number[], held: HeldLoopDevices, ctx: OpsContext): number {
  const taken = new Set([...inUse, ...[...held.keys()].map((device) => Number(device.slice("/dev/loop".length)))]);
  const numbers: number[] = [];
  for (let n = 0; numbers.length < LOOP_ADD_TAKEN.attempts; n++) if (!taken.has(n)) numbers.push(n);
  return retrySync(LOOP_ADD_TAKEN, (attempt) => ctx.sys.loopCtlAdd(control, numbers[attempt - 1]!));
}

/** LOOP_CTL_REMOVE of a device this attach added; the kernel refuses (EBUSY) one another process opened or bound meanwhile. */
function removeAdded(control: number, number: number, ctx: OpsContext): void {
  const refused = removeAddedLoopDevice(control, number, ctx);
  if (refused !== undefined) ctx.log?.(`loop: /dev/loop${number} not removed: ${refused.syscall}: ${refused.errnoName}: another process has it`);
}

/** The EBUSY of the first held device (GET_FREE's), its hint naming every held one and why no other was had. */
function heldRefusal(held: HeldLoopDevices, why: string): SyscallError {
  const [first] = held.values();
  first!.hint = heldFreeLoopDevicesHint([...held.keys()], why);
  return first!;
}

/** The N of every loopN in dir (/dev, /sys/block), in order; none when it cannot be read (said with -v). */
function loopNumbersIn(dir: string, ctx: OpsContext): number[] {
  const { sys } = ctx;
  let names: string[];
  let fd: number | undefined;
  try {
    fd = sys.open(dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
    names = sys.readDirFd(fd, dir);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    ctx.log?.(`loop: ${dir}: ${err.syscall}: ${err.errnoName}: no loop device listed from it`);
    return [];
  } finally {
    if (fd !== undefined) closeQuietly(sys, fd);
  }
  return names.flatMap((name) => (/^loop\d+$/.test(name) ? [Number(name.slice("loop".length))] : [])).sort((a, b) => a - b);
}
