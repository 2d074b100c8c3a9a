/**
 * Running mount(8)'s read-only fallback (plan/read-only-fallback.ts): the mount(2) call, and
 * when the kernel refuses it the way it refuses a write-protected source, the same call with
 * MS_RDONLY and a warning. Nothing extra happens unless the first call fails.
 */
import { Errno } from "../errno.ts";
import { quotePath, SyscallError } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { MS } from "../plan/flags.ts";
import { readOnlyWarning } from "../plan/read-only-fallback.ts";
import { blockDeviceNumber } from "../sys/stat.ts";
import type { OpsContext } from "./context.ts";
import { plainMount, type NewMount } from "./new-mount.ts";

/** mount(2) (or `how`'s way), made again read-only when source turns out write-protected. */
export function mountOrReadOnly(
  source: string,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
  ctx: OpsContext,
  how: NewMount = plainMount(ctx),
): void {
  try {
    how.mount(source, target, fstype, flags, data);
    return;
  } catch (err) {
    if (!(err instanceof SyscallError) || !refusesWriting(err, source)) throw err;
    ctx.log?.(`${err.errnoName}: ${quotePath(source)} is write-protected; again read-only`);
    ctx.log?.(how.format({ source, target, fstype, flags: flags | MS.RDONLY, data }));
    try {
      how.mount(source, target, fstype, flags | MS.RDONLY, data);
    } catch (again) {
      // The read-only call's error is the one that says what else is wrong (as mount(8) reports it).
      if (again instanceof SyscallError) again.hint ??= `read-write was refused first (${err.errnoName}, as for a write-protected source), then this read-only retry`;
      throw again;
    }
  }
  warnReadOnly(target, ctx);
}

/** Tell the user a mount asked read-write was made read-only. */
export function warnReadOnly(target: string, ctx: OpsContext): void {
  ctx.warn?.(readOnlyWarning(target));
}

/**
 * The kernel's answers to a read-write mount of a write-protected source: EACCES or EROFS from
 * the device, or EBUSY when its filesystem is mounted read-only already (a superblock cannot
 * be read-only and read-write at once).
 */
function refusesWriting(err: SyscallError, source: string): boolean {
  if (err.errno === Errno.EACCES || err.errno === Errno.EROFS) return true;
  return err.errno === Errno.EBUSY && isMountedReadOnly(source);
}

/** Whether the block device source holds a filesystem mounted with a read-only superblock. */
function isMountedReadOnly(source: string): boolean {
  const device = blockDeviceNumber(source);
  if (device === undefined) return false;
  return readMountInfo().some((m) => `${m.major}:${m.minor}` === device && /^ro(,|$)/.test(m.superOptions));
}
