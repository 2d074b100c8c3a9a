/**
 * One look-and-attach at a time. A loop mount looks for a device its image is attached to
 * already (loop-reuse.ts) and attaches one when there is none; two processes mounting one image
 * at once could each find none and attach one each: two block caches over one file, the
 * corruption the look exists to prevent. So each holds an exclusive flock(2) on
 * /dev/loop-control from before its look until its device is attached (or the one found is
 * open), as systemd's loop-util holds it around its own attaches: the second then finds the
 * first's device and shares it. Only processes that take the lock are ordered: mount(8) and
 * containerd take none, and one of them racing mountkit can still attach a device of its own.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { LOCK, O } from "../sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../sys/loop.ts";
import type { OpsContext } from "./context.ts";
import { LOOP_SETUP_LOCK } from "./loop-retry.ts";
import { closeQuietly } from "./plan-handles.ts";
import { retrySync, type RetryPolicy } from "./retry.ts";

/**
 * run(control) with /dev/loop-control open (control, for LOOP_CTL_GET_FREE) and locked; the lock
 * goes with the fd, closed when run returns or throws. A control that cannot be opened (ENOENT:
 * no loop module, or a container's /dev without the node; EACCES: not root) is run(undefined),
 * said with -v: a device found attached, or named by loop=, needs none, as mount(8) mounts
 * loop=/dev/loopN with no /dev/loop-control; an attach that needs a free device opens it itself
 * and fails naming open(2), the errno and the path. Not a warning: where nothing can open it, no
 * process takes the lock, and a host that mounts with loop= at every boot would be told each
 * time of what it cannot change. A lock not had within policy (held by another process all
 * that time), or refused, is a warning, and run goes on without it.
 */
export function withLoopSetupLock<T>(ctx: OpsContext, run: (control: number | undefined) => T, policy: RetryPolicy = LOOP_SETUP_LOCK): T {
  const { sys } = ctx;
  let control: number;
  try {
    control = sys.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    ctx.log?.(`loop: ${LOOP_CONTROL_PATH}: open(2): ${err.errnoName}: going on without its lock (only a device attached already, or named, can be had)`);
    return run(undefined);
  }
  try {
    lockOrWarn(control, policy, ctx);
    return run(control);
  } finally {
    closeQuietly(sys, control);
  }
}

function lockOrWarn(control: number, policy: RetryPolicy, ctx: OpsContext): void {
  try {
    retrySync(policy, () => ctx.sys.flock(control, LOCK.EX | LOCK.NB, LOOP_CONTROL_PATH));
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    const why = err.errno === Errno.EAGAIN ? "another process held its lock all the time it was asked for" : "the kernel refused its lock";
    ctx.warn?.(
      `${LOOP_CONTROL_PATH}: flock(2): ${err.errnoName}: ${why}: looking for a device attached to the image, and attaching one, without it, as mount(8) does; a mount of the same image at this moment may get a device of its own`,
    );
  }
}
