/**
 * umount --fake, as util-linux's: everything an unmount does but the unmounts. One FakeUnmounts
 * serves one command: umount2 is answered from the mount table (plan/umount-fake.ts), and what it
 * would have taken down is left out of the table the command reads from then on, so its later
 * steps (the mount below a stack, -R's parents, -A's next mount, the next operand) see what they
 * would have seen. An umount.TYPE or fusermount helper is not run: it is taken to unmount the
 * mount at the path it is given, and to fail where the table has none there (fusermount -u of a
 * directory inside a FUSE mount). Nothing is remounted read-only (-r) and no loop device
 * detached (-d).
 */
import { PlanError, shownValue, SyscallError } from "../errors.ts";
import { lookupMount } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { CAP_SYS_ADMIN, hasEffectiveCapability, imagineUmount2 } from "../plan/umount-fake.ts";
import { readTextFile } from "../sys/file.ts";
import { existingRealpath, realpath } from "../sys/realpath.ts";

export class FakeUnmounts {
  /** the mounts imagined gone, by id: nothing is unmounted, so no id is reused meanwhile */
  readonly #gone = new Set<number>();
  #privileged: boolean | undefined;

  /** The calling thread's mount table as the imagined unmounts left it. */
  table(): MountInfo[] {
    const table = readMountInfo();
    return this.#gone.size === 0 ? table : table.filter((m) => !this.#gone.has(m.id));
  }

  /** umount2(target, flags), imagined: the SyscallError it would fail with is thrown; else what it takes down is gone. */
  umount2(target: string, flags: number): void {
    let canonical: string;
    try {
      // the kernel's own lookup of target (symlinks followed): its failures are umount2's
      canonical = realpath(target);
    } catch (err) {
      if (err instanceof SyscallError) throw new SyscallError("umount2(2)", err.errno, [target]);
      throw err;
    }
    const answer = imagineUmount2(this.table(), canonical, flags, this.#isPrivileged());
    if ("errno" in answer) throw new SyscallError("umount2(2)", answer.errno, [target]);
    for (const m of answer.removed) this.#gone.add(m.id);
  }

  /**
   * A helper (umount.TYPE, fusermount -u) that was not run would have unmounted the top mount
   * at mountpoint: whether the table has one there to take (a helper fails where it has none).
   */
  unmountedByHelper(mountpoint: string): boolean {
    const canonical = existingRealpath(mountpoint);
    if (canonical === undefined) return false;
    const top = lookupMount(this.table(), canonical);
    if (top?.mountpoint !== canonical) return false;
    this.#gone.add(top.id);
    return true;
  }

  /**
   * Whether umount2 is permitted at all: CAP_SYS_ADMIN in the effective set (the kernel asks for
   * it in the mount namespace's owner; a namespace owned by another, with the capability in this
   * one, is not told). Read once; a status that cannot be read, or has no CapEff, tells nothing:
   * no EPERM is made up.
   */
  #isPrivileged(): boolean {
    if (this.#privileged === undefined) {
      try {
        this.#privileged = hasEffectiveCapability(readTextFile("/proc/thread-self/status"), CAP_SYS_ADMIN) ?? true;
      } catch (err) {
        if (!(err instanceof SyscallError)) throw err;
        this.#privileged = true;
      }
    }
    return this.#privileged;
  }
}

/** The mount table an unmount with these options reads: the kernel's, or as a fake's unmounts left it. */
export function mountTableFor(options: { readonly fakeUnmounts?: FakeUnmounts | undefined }): MountInfo[] {
  const fake = options.fakeUnmounts;
  if (fake === undefined) return readMountInfo();
  checkFakeUnmounts(fake);
  return fake.table();
}

/** A caller's options.fakeUnmounts: a FakeUnmounts (its table() and umount2() are called), or a PlanError before any call. */
export function checkFakeUnmounts(fake: unknown): void {
  if (typeof (fake as Partial<FakeUnmounts> | null)?.umount2 !== "function" || typeof (fake as FakeUnmounts).table !== "function") {
    throw new PlanError(`options: fakeUnmounts must be a FakeUnmounts (new FakeUnmounts(table)), got ${shownValue(fake)}`);
  }
}
