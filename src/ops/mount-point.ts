/**
 * Whether a path is a mount point, as mountpoint(1) asks it: the root of a mount (a directory
 * mounted on, a directory bound onto itself, a file bind mount, "/"), as the kernel reaches the
 * path. One statx(2) answers it (STATX_ATTR_MOUNT_ROOT, Linux 5.8); before 5.8 the mount table
 * does, as findmnt and umount read it here: the mount holding the path's canonical form (the top
 * of a stack, never one hidden under a later mount) mounted exactly there.
 */
import { PlanError, shownValue } from "../errors.ts";
import { cleanPath, lookupMount } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { requireOptionsObject, requirePath, requireSyscalls } from "../plan/caller-input.ts";
import { realpath } from "../sys/realpath.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import type { MountRootStatus } from "../sys/stat.ts";

export interface MountPointOptions {
  /** follow a symlink at path (the default); false: a symlink is no mount point, as mountpoint --nofollow */
  readonly follow?: boolean;
  /** the syscall seam (libcSyscalls by default) */
  readonly sys?: Syscalls;
}

/** What mountPointAt found of a path. */
export interface MountPointAnswer {
  /** what statx(2) said of it (the symlink itself when not followed) */
  readonly status: MountRootStatus;
  readonly mountPoint: boolean;
  /** the mount there, when the mount table was read for the answer (a kernel without STATX_ATTR_MOUNT_ROOT) */
  readonly mount: MountInfo | undefined;
}

const ACTION = "is mount point";

/**
 * Whether path is a mount point (see the module's comment). The path must exist: statx(2)'s
 * ENOENT otherwise, naming it. With follow: false a symlink is none, as util-linux's
 * mountpoint --nofollow answers.
 */
export function isMountPoint(path: string, options?: MountPointOptions): boolean {
  return mountPointAt(path, options).mountPoint;
}

/** isMountPoint's answer with what it found on the way (the CLI's -x and -d use it). */
export function mountPointAt(path: string, options?: MountPointOptions): MountPointAnswer {
  requirePath(path, "path", ACTION);
  requireOptionsObject(options, ACTION);
  const follow = options?.follow ?? true;
  if (typeof follow !== "boolean") throw new PlanError(`${ACTION}: options.follow must be true or false, got ${shownValue(follow)}`);
  const sys = options?.sys ?? libcSyscalls;
  if (sys !== libcSyscalls) requireSyscalls(sys, "statxMountRoot", ACTION);
  const status = sys.statxMountRoot(path, follow);
  // as util-linux: a symlink not followed is no mount point, whatever is mounted where it leads
  if (!follow && status.type === "link") return { status, mountPoint: false, mount: undefined };
  if (status.mountRoot !== undefined) return { status, mountPoint: status.mountRoot, mount: undefined };
  const canonical = realpath(path);
  const holder = lookupMount(readMountInfo(), canonical);
  const mountPoint = holder !== undefined && cleanPath(holder.mountpoint) === canonical;
  return { status, mountPoint, mount: mountPoint ? holder : undefined };
}

/**
 * The mount table's row of the mount whose root path is (answer.mountPoint): by statx's mount
 * ID, or the one the answer read. undefined when the table does not list it (a mount outside
 * this process's root, reached through /proc/PID/root).
 */
export function mountOfMountPoint(answer: MountPointAnswer): MountInfo | undefined {
  if (answer.mount !== undefined) return answer.mount;
  const id = answer.status.mountId;
  return id === undefined ? undefined : readMountInfo().find((m) => m.id === id);
}
