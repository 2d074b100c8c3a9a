/**
 * umount2's flags, checked before the call. The unmount family reads umount2's EINVAL as "not
 * a mount point" (containerd's Unmount and UnmountAll do, and say they also squelch "invalid
 * flags" so): flags the kernel refuses would make a mounted target look unmounted, and an
 * unmountAll or unmountRecursive with them remove nothing and report success. Pure.
 */
import { PlanError } from "../errors.ts";
import { formatFlags, MNT } from "./flags.ts";

/** Every flag umount2 takes (fs/namespace.c ksys_umount); any other bit is EINVAL. */
const UMOUNT_FLAGS = MNT.FORCE | MNT.DETACH | MNT.EXPIRE | MNT.NOFOLLOW;

/**
 * A PlanError naming action when umount2 would refuse flags with EINVAL whatever the target: a
 * bit it does not know, or MNT_EXPIRE with MNT_FORCE or MNT_DETACH (do_umount).
 */
export function checkUmountFlags(flags: number, action: string): void {
  const unknown = flags & ~UMOUNT_FLAGS;
  if (unknown !== 0) {
    throw new PlanError(`${action}: umount2 takes no flag 0x${(unknown >>> 0).toString(16)}`, { hint: `its flags are ${formatFlags(UMOUNT_FLAGS, MNT, "MNT_")}` });
  }
  if (flags & MNT.EXPIRE && flags & (MNT.FORCE | MNT.DETACH)) {
    throw new PlanError(`${action}: MNT_EXPIRE goes alone, not with ${formatFlags(flags & (MNT.FORCE | MNT.DETACH), MNT, "MNT_")} (umount2 refuses the pair: EINVAL)`);
  }
}
