/**
 * Why the kernel refused to idmap a mount, as a hint on mount_setattr(MOUNT_ATTR_IDMAP)'s
 * error. Its EINVAL and EPERM say nothing else, and the mount hints' words for them ("wrong fs
 * type, bad option...", "overlayfs logged the reason") are about other calls. The kernel's
 * rules (fs/namespace.c, build_mount_idmapped and can_idmap_mount), for the mounts mountkit
 * idmaps (fresh and detached, through a namespace of its own or a given one):
 *   EINVAL  the filesystem does not allow idmapped mounts (no FS_ALLOW_IDMAP: proc, sysfs,
 *           overlay, which takes idmapped layers instead...);
 *           with AT_RECURSIVE (ridmap, the default for rbind), any mount of the tree; without
 *           it (idmap), the top mount alone. Or userns_fd is no user namespace (a
 *           library caller's fd; the plans' are checked)
 *   EPERM   a mount that is idmapped already; the initial user namespace (or one the caller
 *           has no CAP_SYS_ADMIN in)
 * Runs only on the failure path: it reads the mount table.
 */
import { Errno } from "../errno.ts";
import { quotePath, SyscallError } from "../errors.ts";
import { lookupMount, mountsUnder } from "../mountinfo/lookup.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { AT, AT_FDCWD } from "../plan/mount-api-flags.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { CLONE } from "../sys/namespace.ts";
import { sameFile } from "../sys/stat.ts";
import type { Syscalls } from "../sys/seam.ts";

/**
 * What was being idmapped: a clone of the tree at path (overlayLayer: a lower layer of an
 * idmapped overlay, which is idmapped for the overlay to take), or a new mount of fstype.
 */
export type IdmapSubject =
  | { readonly path: string; readonly recursive: boolean; readonly overlayLayer?: boolean }
  | { readonly fstype: string };

const SUPPORTED = "the kernel idmaps only filesystems that allow it (ext4, xfs, btrfs, f2fs, vfat, tmpfs...; not proc, sysfs, devpts, overlay...)";
/** Filesystems that take an idmapped mount (FS_ALLOW_IDMAP) on every kernel that has idmapped mounts: SUPPORTED's. */
const IDMAPPABLE: ReadonlySet<string> = new Set(["ext4", "xfs", "btrfs", "f2fs", "vfat", "tmpfs"]);
// overlay takes idmapped layers (Linux 5.19) but is never idmapped itself
/** How to keep an rbind's submounts out of its idmap; the mount hints' fallback says it too. */
export const TOP_MOUNT_ONLY = "add idmap (OCI's word) to idmap the top mount alone and leave the submounts unmapped, bind without the submounts (--bind), or idmap them one by one";
const OVERLAY = "an overlay mount cannot be idmapped, its layers can: mount the overlay itself with uidmap=/gidmap= (or X-mount.idmap=), which idmaps its lower layers";

/** err with a hint saying why the idmap was refused, where the mount table or the namespace tells. */
export function explainIdmapRefusal(err: unknown, subject: IdmapSubject, usernsFd: number, sys: Syscalls): unknown {
  if (!(err instanceof SyscallError) || err.hint !== undefined) return err;
  let hint: string | undefined;
  try {
    hint = err.errno === Errno.EINVAL ? unsupportedHint(subject, usernsFd, sys) : err.errno === Errno.EPERM ? refusedHint(subject, usernsFd, sys) : undefined;
  } catch {
    hint = undefined; // the table or the namespace could not be read: the error as it is
  }
  if (hint !== undefined) err.hint = hint;
  return err;
}

function unsupportedHint(subject: IdmapSubject, usernsFd: number, sys: Syscalls): string | undefined {
  if (!isUserNamespace(usernsFd, sys)) return `the user namespace fd ${usernsFd} is no user namespace`;
  if ("fstype" in subject) return `${subject.fstype} does not support idmapped mounts: ${SUPPORTED}`;
  const tree = treeMounts(subject, sys);
  if (tree.length === 0) return undefined;
  if (tree.every((m) => m.fstype === "overlay")) return subject.overlayLayer ? overlayLayerHint(subject.path, tree[0]!.mountpoint) : OVERLAY;
  const types = new Map<string, string>(); // fstype -> its first mount point
  for (const m of tree) if (!types.has(m.fstype)) types.set(m.fstype, m === tree[0] ? subject.path : m.mountpoint);
  if (types.size === 1) return `${tree[0]!.fstype} (the filesystem of ${quotePath(subject.path)}) does not support idmapped mounts: ${SUPPORTED}`;
  // those that may refuse it: a tree of ext4 and proc names proc alone (all, when each is known to take it)
  const suspects = [...types].filter(([fstype]) => !IDMAPPABLE.has(fstype));
  const list = (suspects.length > 0 ? suspects : [...types]).map(([fstype, at]) => `${fstype} (${quotePath(at)})`).join(", ");
  return `rbind idmaps every mount below ${quotePath(subject.path)} too, and one of their filesystems does not support it: ${list}; ${SUPPORTED}; ${TOP_MOUNT_ONLY}`;
}

/**
 * A layer of an idmapped overlay that lives on another overlay: the layer is idmapped as a
 * mount of that overlay, which the kernel refuses (overlayfs has no FS_ALLOW_IDMAP). The caller
 * asked for the idmapped overlay already; what is wrong is where the layer lives.
 */
function overlayLayerHint(layer: string, overlay: string): string {
  const where = existingRealpath(layer) === overlay ? "is an overlay mount" : `is on the overlay mounted at ${quotePath(overlay)}`;
  return (
    `${quotePath(layer)} ${where}, and the kernel cannot idmap a mount of an overlayfs, so it cannot be a layer of an idmapped overlay: ` +
    `a layer must live on a filesystem that supports idmapped mounts (ext4, xfs, btrfs, tmpfs...). Give the directories that overlay is made of as layers instead ` +
    `(its upperdir= and lowerdir=, which findmnt ${quotePath(overlay)} shows), copy the layer onto such a filesystem, or leave out uidmap=/gidmap= (X-mount.idmap=)`
  );
}

function refusedHint(subject: IdmapSubject, usernsFd: number, sys: Syscalls): string | undefined {
  if ("path" in subject) {
    const idmapped = treeMounts(subject, sys).find((m) => m.options.split(",").includes("idmapped"));
    if (idmapped !== undefined) {
      return `${quotePath(idmapped.mountpoint)} is an idmapped mount already, and the kernel idmaps a mount only once: bind the mount it was made from`;
    }
  }
  const own = sys.statxIdentity(AT_FDCWD, "/proc/thread-self/ns/user", 0);
  if (sameFile(sys.statxIdentity(usernsFd, "", AT.EMPTY_PATH), own)) {
    return "the user namespace given is this process's own (on a host, the initial one), which the kernel does not idmap through: name a container's (/proc/PID/ns/user), or give the mappings (X-mount.idmap=b:0:100000:65536)";
  }
  return undefined;
}

/** The mount holding path, and with recursive every mount below it (the clone's tree). */
function treeMounts(subject: { readonly path: string; readonly recursive: boolean }, sys: Syscalls): MountInfo[] {
  const table = readMountInfo();
  const { mountId } = sys.statxIdentity(AT_FDCWD, subject.path, 0);
  const real = existingRealpath(subject.path);
  const holder = table.find((m) => m.id === mountId) ?? (real === undefined ? undefined : lookupMount(table, real));
  if (holder === undefined) return [];
  if (!subject.recursive || real === undefined) return [holder];
  return [holder, ...mountsUnder(table, real).filter((m) => m.id !== holder.id && m.mountpoint !== real)];
}

function isUserNamespace(fd: number, sys: Syscalls): boolean {
  try {
    return sys.namespaceType(fd) === CLONE.NEWUSER;
  } catch {
    return false; // ENOTTY: no namespace at all
  }
}
