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
 * A device added here stays when the attach then fails, as losetup leaves it: its number is the
 * caller's, and another process naming the same one may be between its own LOOP_CTL_ADD (EEXIST)
 * and its open, which a LOOP_CTL_REMOVE would make fail (the kernel refuses the removal only of a
 * device open or bound, not of one about to be opened). An unbound device holds no file; the
 * next attach naming it finds it. (loop-free.ts removes the one it adds: that number was its own.)
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { kernelLoopNumber } from "../plan/loop.ts";
import type { NamedLoopAdd } from "../plan/loop-request-terms.ts";
import { O } from "../sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../sys/loop.ts";
import type { OpsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";

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
