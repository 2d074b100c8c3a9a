/**
 * Why the kernel would not bind a file to a loop device (EBUSY from LOOP_CONFIGURE or
 * LOOP_SET_FD), for the hint: the errno is the same whether the device is attached to a file
 * already or attached to nothing and held open exclusively (O_EXCL) by another process, whose
 * claim the bind needs. Asked only once the bind has failed: nothing is spent on success.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import type { BusyLoopState } from "../plan/loop-request-terms.ts";
import { O } from "../sys/fd.ts";
import type { OpsContext } from "./context.ts";
import { loopBackingFile } from "./loop-sysfs.ts";
import { closeQuietly } from "./plan-handles.ts";

/** err is EBUSY from the ioctl that binds a file to a loop device. */
export function bindRefused(err: unknown): err is SyscallError {
  return isErrno(err, Errno.EBUSY) && (err.syscall === "ioctl(LOOP_CONFIGURE)" || err.syscall === "ioctl(LOOP_SET_FD)");
}

/**
 * Why device, open on fd, was refused: LOOP_GET_STATUS64 answers for an attached device (its
 * file named from sysfs as losetup names it, else from the status) and says ENXIO for one
 * attached to nothing (or being detached: that state too). Then an exclusive open of it tells
 * the two apart: EBUSY, another process holds it so; success (closed at once), it was released
 * meanwhile. undefined when neither call can tell.
 */
export function busyLoopState(fd: number, device: string, ctx: OpsContext): BusyLoopState | undefined {
  try {
    const status = ctx.sys.loopGetStatus64(fd);
    return { attachedTo: loopBackingFile(device) ?? (status.fileName || undefined) };
  } catch (err) {
    if (!isErrno(err, Errno.ENXIO)) return unknownOn(err);
  }
  let probe: number;
  try {
    probe = ctx.sys.open(device, O.RDONLY | O.EXCL | O.CLOEXEC);
  } catch (err) {
    return isErrno(err, Errno.EBUSY) ? "held-exclusively" : unknownOn(err);
  }
  closeQuietly(ctx.sys, probe);
  return "released";
}

/** A call's failure that leaves the state untold; anything but a SyscallError is a bug, thrown. */
function unknownOn(err: unknown): undefined {
  if (err instanceof SyscallError) return undefined;
  throw err;
}
