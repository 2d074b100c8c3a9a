/**
 * losetup DEV FILE for a DEV the kernel does not have: util-linux 2.38's losetup asks
 * /dev/loop-control to add the device (LOOP_CTL_ADD of its number) before every attach to a
 * named device, takes EEXIST as "there already", and goes on to open it whatever the answer.
 * `loop attach DEV FILE` and attachLoop(file, {device}) do the same; `mount -o loop=/dev/loopN`
 * adds none, as libmount 2.38 adds none (it opens the device and fails with ENOENT).
 *
 * devtmpfs makes the node before LOOP_CTL_ADD returns (device_add waits for it), so the device
 * is opened right after, as loop-free.ts opens the one it adds; a static /dev has no node for it,
 * and that open's ENOENT says so (missingLoopDeviceHint).
 *
 * A device added here is removed again (LOOP_CTL_REMOVE) when the attach then fails, or a stop
 * undoes it (loop.ts stopAfterAttach): a failed attach leaves the system as it found it, where
 * losetup 2.38 leaves the device it added. The
 * kernel refuses the removal (EBUSY) of a device another process opened or bound meanwhile; that
 * one stays, and the error says so. (A process that named the same number after this add, got
 * EEXIST and has not opened it yet would see ENOENT: two callers racing for one new number.)
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { kernelLoopNumber } from "../plan/loop.ts";
import { addedLoopDeviceLeft, type NamedLoopAdd } from "../plan/loop-request-terms.ts";
import { O } from "../sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../sys/loop.ts";
import type { OpsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { LOOP_REMOVE_BUSY } from "./loop-retry.ts";
import { retrySync } from "./retry.ts";

/**
 * Ask the kernel to add device (/dev/loopN) unless it has it. control: /dev/loop-control open
 * already (borrowed), else opened here and closed; one that cannot be opened (not root, no node)
 * means no add, as losetup then makes none. Never throws a SyscallError: the open that follows
 * is what fails, and its hint tells what became of the add.
 */
export function addNamedLoopDevice(device: string, ctx: OpsContext, control?: number): NamedLoopAdd {
  const number = kernelLoopNumber(device);
  // /dev/loop07 is no name the kernel gives: adding loop7 for it would add a device not opened
  if (number === undefined) return notAdded(device, "not the kernel's name for a loop device, which has no leading zero and a number below 2^20", ctx);
  let ctl = control;
  if (ctl === undefined) {
    try {
      ctl = ctx.sys.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      return notAdded(device, `${LOOP_CONTROL_PATH}: ${err.syscall}: ${err.errnoName}`, ctx);
    }
  }
  try {
    ctx.sys.loopCtlAdd(ctl, number);
    ctx.log?.(`loop: LOOP_CTL_ADD added ${device}`);
    return { outcome: "added" };
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    // there already, or another process added it since: the attach is the same
    if (err.errno === Errno.EEXIST) return { outcome: "exists" };
    return notAdded(device, `${err.syscall}: ${err.errnoName}`, ctx);
  } finally {
    if (control === undefined) closeQuietly(ctx.sys, ctl);
  }
}

function notAdded(device: string, why: string, ctx: OpsContext): NamedLoopAdd {
  ctx.log?.(`loop: ${device} not added (${why}): opening it as it is`);
  return { outcome: "not-added", why };
}

/**
 * Undo addNamedLoopDevice's add after a failed attach: LOOP_CTL_REMOVE of device, through control
 * when borrowed. undefined once removed; else what to add to the error's hint (the device stays).
 */
export function removeNamedLoopDevice(device: string, ctx: OpsContext, control?: number): string | undefined {
  const number = kernelLoopNumber(device)!;
  let ctl = control;
  try {
    ctl ??= ctx.sys.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
    const refused = removeAddedLoopDevice(ctl, number, ctx);
    return refused === undefined ? undefined : addedLoopDeviceLeft(device, `${refused.syscall}: ${refused.errnoName}`);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    return addedLoopDeviceLeft(device, `${err.syscall}: ${err.errnoName}`);
  } finally {
    if (control === undefined && ctl !== undefined) closeQuietly(ctx.sys, ctl);
  }
}

/**
 * LOOP_CTL_REMOVE of number (/dev/loopN), a device an attach added and then did not keep (this
 * file's named add, loop-free.ts's added free device), through control (borrowed), asked again
 * while EBUSY (LOOP_REMOVE_BUSY). undefined once removed; else the kernel's last refusal: another
 * process has the device open or bound, and it stays.
 */
export function removeAddedLoopDevice(control: number, number: number, ctx: OpsContext): SyscallError | undefined {
  ctx.log?.(`rollback: ioctl(${LOOP_CONTROL_PATH}, LOOP_CTL_REMOVE, ${number})`);
  try {
    retrySync(LOOP_REMOVE_BUSY, () => ctx.sys.loopCtlRemove(control, number));
    return undefined;
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    return err;
  }
}
