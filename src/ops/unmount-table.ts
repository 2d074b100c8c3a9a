/**
 * umount -a as umount(8) and busybox do it: every mount in this namespace's table, children
 * before parents, but for the kernel's own pseudo filesystems (proc, devpts, sysfs, ...: the
 * types -t leaves out by default); with readOnlyWhenBusy, a mount that stays busy is remounted
 * read-only instead (shutdown's `umount -a -r`). A mount whose children stay is not tried: it
 * cannot go (so "/" is tried only once all else went); with tryWhenChildrenStay it is, once, as
 * umount(8) tries it (but a mount a staying one covers). With externalHelpers, a mount
 * whose type has an umount.TYPE helper is unmounted by it (given -r with readOnlyWhenBusy), as
 * umount(8) does.
 */
import { Errno } from "../errno.ts";
import { BatchError, isErrno, MountkitError } from "../errors.ts";
import { optionalString, requireOptionsObject } from "../plan/caller-input.ts";
import { optionItems } from "../mountinfo/lookup.ts";
import { matchFstype, optionsMatch } from "../plan/fstab.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { childrenById, unmountOrder } from "../plan/unmount-plan.ts";
import { NO_OPTIONS } from "./context.ts";
import { unmount, type UnmountOptions } from "./unmount.ts";
import { UNMOUNT_BUSY, withPolicy } from "./retry.ts";
import { unmountOrRemountReadOnly, type UnmountOrReadOnly } from "./unmount-readonly.ts";
import { helperUnmounter } from "./umount-helper.ts";
import { mountTableFor } from "./umount-fake.ts";

/** util-linux umount -a's types when -t gives none: the kernel's own filesystems stay. */
export const UMOUNT_ALL_DEFAULT_TYPES = "noproc,nodevfs,nodevpts,nosysfs,norpc_pipefs,nonfsd,noselinuxfs";

export interface TableUnmountResult {
  readonly target: string;
  readonly fstype: string;
  readonly status: UnmountOrReadOnly | "failed";
  readonly error?: MountkitError;
}

export interface TableUnmountOptions extends UnmountOptions {
  /** umount -t: a type list ("no" excludes); UMOUNT_ALL_DEFAULT_TYPES when undefined */
  types?: string;
  /** umount -r: remount read-only what stays busy */
  readOnlyWhenBusy?: boolean;
  /** umount -O: only mounts whose options (per-mount and superblock) match, as mount -a -O */
  testOptions?: string;
  /**
   * umount(8)'s way: a mount with mounts on it that stay (another type, or failed) is tried
   * all the same, once: the kernel says EBUSY, -l detaches it with them, -r remounts it
   * read-only ("/" too, as umount(8) -a does). Never a mount that a staying one covers (umount2
   * of its path would unmount that one instead).
   */
  tryWhenChildrenStay?: boolean;
}

/** Unmount every mount of the table that -t selects; every failure in one BatchError. */
export function unmountMountTable(options: TableUnmountOptions = NO_OPTIONS): { results: TableUnmountResult[]; error: BatchError | undefined } {
  requireOptionsObject(options, "umount -a");
  // read once per mount: a number was a TypeError at the first one
  optionalString(options.types, "types", "umount -a");
  optionalString(options.testOptions, "testOptions", "umount -a");
  const types = options.types ?? UMOUNT_ALL_DEFAULT_TYPES;
  const results: TableUnmountResult[] = [];
  const errors: MountkitError[] = [];
  const tried = new Set<number>();
  const viaHelper = helperUnmounter(options);
  // Passes repeat while they progress: a mount hidden under a stack is reachable once it goes.
  for (let pass = 0; ; pass++) {
    let table: MountInfo[];
    try {
      table = mountTableFor(options);
    } catch (err) {
      // the last pass took /proc away (-t proc, or -l detaching what holds it, "/"), and with it
      // the table to read again: what it could reach is done, as umount(8) reads the table once
      if (pass > 0 && isErrno(err, Errno.ENOENT)) break;
      throw err;
    }
    const order = unmountOrder(table, "/");
    const byId = new Map(order.map((m) => [m.id, m]));
    const children = childrenById(order);
    const present = new Set(order.map((m) => m.id));
    let progressed = false;
    for (const m of order) {
      if (tried.has(m.id) || !matchFstype(m.fstype, types) || !matchesTestOptions(m, options.testOptions)) continue;
      const staying = (children.get(m.id) ?? []).filter((child) => present.has(child)).map((child) => byId.get(child)!);
      if (staying.length > 0 && !(options.tryWhenChildrenStay && staying.every((child) => child.mountpoint !== m.mountpoint))) continue;
      tried.add(m.id);
      // its staying mounts keep it busy: one try, not the EBUSY retry policy's 2.5 s
      const once = staying.length > 0 ? { ...options, retry: withPolicy(options.retry ?? UNMOUNT_BUSY, { attempts: 1 }) } : options;
      try {
        const status: UnmountOrReadOnly = viaHelper?.(m)
          ? "unmounted"
          : options.readOnlyWhenBusy
            ? unmountOrRemountReadOnly(m.mountpoint, once)
            : unmount(m.mountpoint, once)
              ? "unmounted"
              : "not-mounted";
        results.push({ target: m.mountpoint, fstype: m.fstype, status });
        if (status === "unmounted") {
          present.delete(m.id);
          progressed = true;
        }
      } catch (err) {
        if (isErrno(err, Errno.ENOENT)) continue; // its mount point went with another mount
        if (!(err instanceof MountkitError)) throw err;
        errors.push(err);
        results.push({ target: m.mountpoint, fstype: m.fstype, status: "failed", error: err });
      }
    }
    if (!progressed) break;
  }
  const unmounted = results.filter((r) => r.status === "unmounted").length;
  return { results, error: errors.length ? new BatchError("umount -a", errors, unmounted) : undefined };
}

/** -O against a mount's options: the per-mount ones, then the superblock's (util-linux joins both). */
function matchesTestOptions(m: MountInfo, pattern: string | undefined): boolean {
  return pattern === undefined || optionsMatch(optionItems(m), pattern);
}
