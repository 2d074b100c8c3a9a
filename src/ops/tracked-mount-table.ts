/**
 * The mount table, read once for a command that unmounts under many operands (umount -R) and
 * kept in step with the unmounts it makes: a read costs as much as the table is long, and one
 * per operand made `umount -R` of 1000 mount points in a table of 8000 take half a minute.
 * What the command did not do itself (an unmount propagated to a peer, another process's
 * mounts) the index cannot know; statx(2) checks the mount it names for an operand, and the
 * caller reads the table again when a pass finds mounts gone from where the index had them.
 */
import { SyscallError } from "../errors.ts";
import { MountIndex } from "../mountinfo/mount-index.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import type { Syscalls } from "../sys/seam.ts";

export class TrackedMountTable {
  #index: MountIndex | undefined;
  #unmountedSinceRead = false;

  readonly #read: () => MountInfo[];

  /** read: where the table comes from (a fake's, for umount --fake: ops/umount-fake.ts) */
  constructor(read: () => MountInfo[] = readMountInfo) {
    this.#read = read;
  }

  /** The index, the table read now if it was not yet. */
  get index(): MountIndex {
    return this.#index ?? this.reread();
  }

  /** Whether the index is the table as last read: no unmount of ours since. */
  get fresh(): boolean {
    return !this.#unmountedSinceRead;
  }

  /** Read the table again: the index forgets what it assumed. */
  reread(): MountIndex {
    this.#index = new MountIndex(this.#read());
    this.#unmountedSinceRead = false;
    return this.#index;
  }

  /** Take mounts the command unmounted out of the index. */
  unmounted(mounts: readonly MountInfo[]): void {
    if (mounts.length === 0) return;
    for (const m of mounts) this.#index?.remove(m);
    this.#unmountedSinceRead = true;
  }

  /**
   * The top mount at canonical (a real path), undefined when it is no mount point. Once the
   * command unmounted anything, the index's answer stands only where statx(2) finds the mount
   * it names holding the path; elsewhere (or on a kernel without STATX_MNT_ID) the table is
   * read again.
   */
  mountAt(canonical: string, sys: Syscalls): MountInfo | undefined {
    let holder = this.index.lookup(canonical);
    if (this.#unmountedSinceRead && (holder === undefined || !holdsPath(holder, canonical, sys))) holder = this.reread().lookup(canonical);
    return holder?.mountpoint === canonical ? holder : undefined;
  }
}

/** Whether statx(2) finds path on holder's mount (its mount ID); false when it cannot tell. */
function holdsPath(holder: MountInfo, path: string, sys: Syscalls): boolean {
  try {
    return sys.statxMountId(path) === holder.id;
  } catch (err) {
    if (err instanceof SyscallError) return false; // unreachable (ENOTCONN: a dead FUSE daemon): read the table
    throw err;
  }
}
