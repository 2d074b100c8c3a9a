/**
 * umount -r: unmount, and when the mount stays busy (EBUSY once the retry policy is spent),
 * remount its filesystem read-only instead, as umount(8) and busybox do at shutdown: what
 * cannot go is at least clean on disk. mount(NULL, target, NULL, MS_REMOUNT|MS_RDONLY, NULL),
 * the call they make.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { MS } from "../plan/flags.ts";
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
    ctx.log?.(`mount(NULL, ${JSON.stringify(target)}, NULL, MS_REMOUNT|MS_RDONLY, NULL)`);
    try {
      ctx.sys.mount(null, target, null, MS.REMOUNT | MS.RDONLY, null);
    } catch (remount) {
      if (err instanceof SyscallError && remount instanceof SyscallError) err.hint ??= `remounting it read-only failed too: ${remount.errnoName}`;
      throw err;
    }
    ctx.warn?.(`${target}: busy - remounted read-only`);
    return "remounted-read-only";
  }
}
