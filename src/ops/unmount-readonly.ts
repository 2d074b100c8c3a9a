/**
 * umount -r: unmount, and when the mount stays busy (EBUSY once the retry policy is spent),
 * remount its filesystem read-only instead, as umount(8) and busybox do at shutdown: what
 * cannot go is at least clean on disk. mount(NULL, target, NULL, MS_REMOUNT|MS_RDONLY, NULL),
 * the call they make.
 */
import { Errno } from "../errno.ts";
import { isErrno, quotePath, SyscallError } from "../errors.ts";
import { MS } from "../plan/flags.ts";
import { formatMountCall } from "../plan/mount-call.ts";
import { NO_OPTIONS, opsContext } from "./context.ts";
import { unmount, type UnmountOptions } from "./unmount.ts";

export type UnmountOrReadOnly = "unmounted" | "remounted-read-only" | "not-mounted";

/** Unmount target, or remount it read-only when it is busy; the warning goes to options.warn. */
export function unmountOrRemountReadOnly(target: string, options: UnmountOptions = NO_OPTIONS): UnmountOrReadOnly {
  try {
    return unmount(target, options) ? "unmounted" : "not-mounted";
  } catch (err) {
    if (!isErrno(err, Errno.EBUSY)) throw err;
    const ctx = opsContext(options);
    const remount = { source: null, target, fstype: null, flags: MS.REMOUNT | MS.RDONLY, data: null };
    ctx.log?.(formatMountCall(remount));
    try {
      // umount --fake remounts nothing (its busy is a mount on this one: the table shows it)
      if (ctx.fakeUnmounts === undefined) ctx.sys.mount(remount.source, target, remount.fstype, remount.flags, remount.data);
    } catch (remount) {
      if (err instanceof SyscallError && remount instanceof SyscallError) err.hint ??= `remounting it read-only failed too: ${remount.errnoName}`;
      throw err;
    }
    ctx.warn?.(`${quotePath(target)}: busy - remounted read-only`);
    return "remounted-read-only";
  }
}
