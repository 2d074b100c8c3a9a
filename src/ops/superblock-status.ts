/**
 * What statmount(2) says of the superblock of the mount holding a path (Linux 6.8): its magic
 * and SB_* flags, in two syscalls whatever the size of the mount table, and without asking the
 * filesystem (statfs(2) asks a FUSE daemon, and waits for good when it hangs):
 *
 *   statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID_UNIQUE, &stx)
 *   statmount(&{.mnt_id = stx.stx_mnt_id, .param = STATMOUNT_SB_BASIC}, &buf, sizeof buf, 0)
 */
import { Errno } from "../errno.ts";
import { isErrno } from "../errors.ts";
import { legacyForced } from "../plan/facts.ts";
import { STATMOUNT, type MountStatus } from "../sys/statmount.ts";
import type { OpsContext } from "./context.ts";

/**
 * Whether statmount(2) is to be asked: the kernel has it (6.8), and MOUNTKIT_STRATEGY=legacy
 * does not make mountkit act as on a kernel before it.
 */
export function statmountUsable(ctx: OpsContext): boolean {
  return ctx.facts.statmount && !legacyForced(ctx.facts);
}

/**
 * statmount's SB_BASIC fields for the mount holding path, or undefined when the kernel gives no
 * unique mount ID, or statmount says ENOSYS or EPERM (a seccomp filter that predates it, as
 * container runtimes' may): the log says so, and that `otherwise` answers instead.
 */
export function superblockStatus(path: string, ctx: OpsContext, otherwise: string): MountStatus | undefined {
  const id = ctx.sys.statxUniqueMountId(path);
  if (id === undefined) {
    ctx.log?.(`statx gave no unique mount ID for ${path} (STATX_MNT_ID_UNIQUE is Linux 6.8): ${otherwise}`);
    return undefined;
  }
  try {
    const status = ctx.sys.statmount(id, STATMOUNT.SB_BASIC);
    return status.mask & STATMOUNT.SB_BASIC ? status : undefined;
  } catch (err) {
    if (!isErrno(err, Errno.ENOSYS) && !isErrno(err, Errno.EPERM)) throw err;
    ctx.log?.(`statmount(2): ${err.errnoName}: ${otherwise}`);
    return undefined;
  }
}
