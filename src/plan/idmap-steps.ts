/**
 * Plan steps of idmapped mounts: the user namespace, the fd-based mount API calls that clone,
 * idmap and attach a tree, and the temp directories of the legacy idmapped overlay.
 * Fds live in named slots ("userns", "tree", "lower0"): a step that opens one names the slot,
 * later steps refer to it, and ops/ owns and closes what is in them. Pure.
 */
import { formatFlags } from "./flags.ts";
import { formatMapping, idMapFileText, type IdMapping } from "./idmap-mapping.ts";
import { AT, MOUNT_ATTR, MOVE_MOUNT, OPEN_TREE, RESOLVE } from "./mount-api-flags.ts";

/**
 * A user namespace with these maps, its fd put in slot. ops/ creates it with a child that exits
 * at once (clone; open /proc/PID/uid_map, setgroups, gid_map and ns/user; write uid_map,
 * setgroups deny, gid_map; reap: ops/userns.ts) or reuses the one it cached for the same maps;
 * the cache owns the fd.
 */
export interface UsernsStep {
  readonly op: "userns";
  readonly slot: string;
  readonly uidmap: readonly IdMapping[];
  readonly gidmap: readonly IdMapping[];
}

/**
 * An existing user namespace, by its file (X-mount.idmap=/proc/PID/ns/user): opened, checked to
 * be a user namespace (ioctl NS_GET_NSTYPE), its fd put in slot and closed when the plan ends.
 */
export interface OpenUsernsStep {
  readonly op: "open_userns";
  readonly slot: string;
  readonly path: string;
}

/** An fd the caller owns, used by later steps and never closed by the plan. */
export interface BorrowFdStep {
  readonly op: "borrow_fd";
  readonly slot: string;
  readonly fd: number;
  /** what the fd is, for dry runs: "user namespace" */
  readonly what: string;
}

/** open_tree(AT_FDCWD, path, flags) -> slot: with OPEN_TREE_CLONE a detached copy (a bind). */
export interface OpenTreeStep {
  readonly op: "open_tree";
  readonly slot: string;
  readonly path: string;
  readonly flags: number;
}

/** mount_setattr(slot, "", flags, {attr_set, attr_clr, propagation, userns_fd}, 32) */
export interface MountSetattrStep {
  readonly op: "mount_setattr";
  readonly slot: string;
  /** the path the tree in slot was cloned from: a failure names it */
  readonly tree: string;
  /** AT_EMPTY_PATH, with AT_RECURSIVE for a recursive clone */
  readonly flags: number;
  readonly attrSet: number;
  readonly attrClr: number;
  /** the slot holding the user namespace fd, for MOUNT_ATTR_IDMAP */
  readonly usernsSlot: string | null;
  /** MS_PRIVATE (or another propagation type) set along with the attributes; absent leaves it */
  readonly propagation?: number;
  /** the tree is a lower layer of an idmapped overlay: the idmap's refusal is explained as the layer's */
  readonly overlayLayer?: true;
}

/**
 * One idmapped, read-only clone of the layers' common parent directory in slot, for the
 * open_layer steps after it: open_tree(AT_FDCWD, path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) +
 * mount_setattr(slot, "", AT_EMPTY_PATH, {MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY, userns}). When
 * the kernel refuses it (the parent's filesystem cannot be idmapped, say), the slot stays empty
 * and every layer gets its own clone: nothing fails here.
 */
export interface SharedTreeStep {
  readonly op: "idmap_shared_tree";
  readonly slot: string;
  readonly path: string;
  readonly usernsSlot: string;
}

/**
 * An overlay layer taken from the shared clone in `tree`: openat2(tree, relative,
 * O_PATH|O_DIRECTORY|O_CLOEXEC, RESOLVE_BENEATH|RESOLVE_NO_XDEV|RESOLVE_NO_MAGICLINKS) -> slot,
 * kept only if it is the directory `path` names (same device and inode) and path lies on the
 * parent's own mount (same mount ID): a layer behind a mount point or a symlink out of the
 * parent would be another directory in the clone. Otherwise, or without the clone, path's own
 * idmapped read-only clone (open_tree + mount_setattr) goes in slot.
 */
export interface OpenLayerStep {
  readonly op: "open_layer";
  readonly slot: string;
  readonly tree: string;
  readonly parent: string;
  readonly path: string;
  readonly relative: string;
  readonly usernsSlot: string;
}

/**
 * The legacy idmapped overlay's one temp mount for all its layers (containerd#12092): an
 * idmapped, read-only clone of the layers' common parent attached at target (an empty temp
 * dir): statx(path) for its mount ID, open_tree(AT_FDCWD, path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC),
 * mount_setattr(MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY), move_mount(target), close. When the kernel
 * refuses it, nothing is attached and every layer gets its own temp mount: nothing fails here.
 */
export interface SharedTempStep {
  readonly op: "idmap_shared_temp";
  readonly path: string;
  readonly target: string;
  readonly usernsSlot: string;
}

/**
 * One layer of a legacy idmapped overlay at `link`, the path the overlay's options name.
 * When the shared temp mount is attached, and `via` (the layer's path through it) is the
 * directory `path` names (same device and inode), on the shared mount itself, and path lies on
 * the parent's own mount: symlink(linkTarget, link), linkTarget being via relative to link's
 * dir. A layer behind a mount point, or a symlink leading out of the parent, would be another
 * directory there, or a directory that is not idmapped: such a layer, or every layer without
 * the shared mount, gets its own temp mount instead (mkdir(link, 0700), open_tree +
 * mount_setattr(MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY) + move_mount(link)).
 */
export interface LinkLayerStep {
  readonly op: "link_layer";
  readonly path: string;
  readonly link: string;
  readonly linkTarget: string;
  readonly via: string;
  readonly usernsSlot: string;
}

/**
 * Undo a link_layer once the overlay holds its layers: unlink(link) for a symlink (never
 * anything it points to); for a layer's own temp mount umount2 under the retry policy, then
 * rmdir, left mounted read-only if it stays busy.
 */
export interface ReleaseLayerStep {
  readonly op: "release_layer";
  readonly link: string;
  readonly retry: "unmount-busy";
}

/** umount2(target, 0) of the shared temp mount under the retry policy, if it was attached; left mounted read-only if it stays busy. */
export interface ReleaseSharedTempStep {
  readonly op: "release_shared_temp";
  readonly target: string;
  readonly retry: "unmount-busy";
}

/**
 * A detached clone of a directory of the filesystem mounted at root (X-mount.subdir):
 * openat2(root's O_PATH fd, path, O_PATH|O_DIRECTORY|O_CLOEXEC, RESOLVE_BENEATH|RESOLVE_NO_XDEV|
 * RESOLVE_NO_MAGICLINKS), so no "..", symlink or mount point leads out of that filesystem, then
 * open_tree(fd, "", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_EMPTY_PATH) -> slot.
 */
export interface OpenSubdirStep {
  readonly op: "open_subdir";
  readonly slot: string;
  readonly root: string;
  readonly path: string;
}

/** move_mount(slot, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH): attach the tree. */
export interface MoveMountStep {
  readonly op: "move_mount";
  readonly slot: string;
  readonly target: string;
  readonly flags: number;
  /**
   * "target": the caller's mount point; a later failure unmounts it (detaching if busy).
   * "temp-lower": an idmapped lower in a temp dir; a failure unmounts it under the EBUSY
   * policy and, if it stays busy, leaves it mounted read-only rather than detach or delete.
   */
  readonly role: "target" | "temp-lower";
}

/** close(slot) */
export interface CloseStep {
  readonly op: "close";
  readonly slot: string;
}

/** mkdir(path, mode): fails if it exists (a temp dir is never shared). */
export interface MkdirStep {
  readonly op: "mkdir";
  readonly path: string;
  readonly mode: number;
}

/** rmdir(path): removes an empty directory only, never what a mount holds. */
export interface RmdirStep {
  readonly op: "rmdir";
  readonly path: string;
}

/** umount2(target, 0) under the named EBUSY retry policy (ops/retry.ts). */
export interface UnmountTempStep {
  readonly op: "unmount_temp";
  readonly target: string;
  readonly retry: "unmount-busy";
}

export type IdmapStep =
  | UsernsStep
  | OpenUsernsStep
  | BorrowFdStep
  | OpenTreeStep
  | MountSetattrStep
  | SharedTreeStep
  | OpenLayerStep
  | SharedTempStep
  | LinkLayerStep
  | ReleaseLayerStep
  | ReleaseSharedTempStep
  | OpenSubdirStep
  | MoveMountStep
  | CloseStep
  | MkdirStep
  | RmdirStep
  | UnmountTempStep;

const IDMAP_OPS: ReadonlySet<string> = new Set([
  "userns",
  "open_userns",
  "borrow_fd",
  "open_tree",
  "mount_setattr",
  "idmap_shared_tree",
  "open_layer",
  "idmap_shared_temp",
  "link_layer",
  "release_layer",
  "release_shared_temp",
  "open_subdir",
  "move_mount",
  "close",
  "mkdir",
  "rmdir",
  "unmount_temp",
]);

export function isIdmapStep(step: { readonly op: string }): step is IdmapStep {
  return IDMAP_OPS.has(step.op);
}

const OPEN_TREE_NAMES = {
  OPEN_TREE_CLONE: OPEN_TREE.CLONE,
  OPEN_TREE_CLOEXEC: OPEN_TREE.CLOEXEC,
  AT_RECURSIVE: AT.RECURSIVE,
  AT_EMPTY_PATH: AT.EMPTY_PATH,
};
const AT_NAMES = { AT_EMPTY_PATH: AT.EMPTY_PATH, AT_RECURSIVE: AT.RECURSIVE };
const MOVE_MOUNT_NAMES = { MOVE_MOUNT_F_EMPTY_PATH: MOVE_MOUNT.F_EMPTY_PATH };

export const formatOpenTreeFlags = (flags: number) => formatFlags(flags, OPEN_TREE_NAMES, "");
export const formatAtFlags = (flags: number) => formatFlags(flags, AT_NAMES, "");
export const formatMoveMountFlags = (flags: number) => formatFlags(flags, MOVE_MOUNT_NAMES, "");
export const formatMountAttr = (attr: number) => formatFlags(attr, MOUNT_ATTR, "MOUNT_ATTR_");

const mode = (m: number) => `0${m.toString(8)}`;

/** What an idmapped overlay's shared clone is opened and set with (ops/ makes the same calls). */
export const SHARED_TREE_FLAGS = OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC;
export const SHARED_TREE_ATTRS = MOUNT_ATTR.IDMAP | MOUNT_ATTR.RDONLY;
/** What X-mount.subdir's directory is cloned with: a detached copy of that one mount. */
export const SUBDIR_TREE_FLAGS = OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | AT.EMPTY_PATH;
/** How a layer is resolved inside the shared clone: no "..", symlink or mount point out of it. */
export const LAYER_RESOLVE = RESOLVE.BENEATH | RESOLVE.NO_XDEV | RESOLVE.NO_MAGICLINKS;
const formatResolve = (flags: number) => formatFlags(flags, RESOLVE, "RESOLVE_");

/** A step as --dry-run --json prints it. */
export function describeIdmapStep(step: IdmapStep): Record<string, unknown> {
  switch (step.op) {
    case "userns":
      return {
        op: step.op,
        syscall: "clone",
        args: {
          uidmap: step.uidmap.map(formatMapping).join(","),
          gidmap: step.gidmap.map(formatMapping).join(","),
        },
        result: `$${step.slot}`,
      };
    case "open_userns":
      return { op: step.op, syscalls: ["open", "ioctl"], args: { path: step.path, flags: "O_RDONLY|O_CLOEXEC", check: "NS_GET_NSTYPE == CLONE_NEWUSER" }, result: `$${step.slot}` };
    case "borrow_fd":
      return { op: step.op, args: { fd: step.fd, what: step.what }, result: `$${step.slot}` };
    case "open_tree":
      return {
        op: step.op,
        syscall: "open_tree",
        args: { dfd: "AT_FDCWD", path: step.path, flags: step.flags, flagNames: formatOpenTreeFlags(step.flags) },
        result: `$${step.slot}`,
      };
    case "mount_setattr":
      return {
        op: step.op,
        syscall: "mount_setattr",
        args: {
          dfd: `$${step.slot}`,
          path: "",
          flags: step.flags,
          flagNames: formatAtFlags(step.flags),
          attrSet: step.attrSet,
          attrSetNames: formatMountAttr(step.attrSet),
          attrClr: step.attrClr,
          attrClrNames: formatMountAttr(step.attrClr),
          usernsFd: step.usernsSlot === null ? null : `$${step.usernsSlot}`,
          ...(step.propagation === undefined ? {} : { propagation: step.propagation, propagationNames: formatFlags(step.propagation) }),
        },
      };
    case "idmap_shared_tree":
      return {
        op: step.op,
        syscalls: ["open_tree", "mount_setattr"],
        args: { path: step.path, flags: SHARED_TREE_FLAGS, attrSet: SHARED_TREE_ATTRS, attrSetNames: formatMountAttr(SHARED_TREE_ATTRS), usernsFd: `$${step.usernsSlot}` },
        result: `$${step.slot}`,
        fallback: "each layer its own clone",
      };
    case "open_layer":
      return {
        op: step.op,
        syscall: "openat2",
        args: { dfd: `$${step.tree}`, path: step.relative, flags: "O_PATH|O_DIRECTORY|O_CLOEXEC", resolve: formatResolve(LAYER_RESOLVE) },
        layer: step.path,
        result: `$${step.slot}`,
        fallback: { syscalls: ["open_tree", "mount_setattr"], path: step.path, attrSetNames: formatMountAttr(SHARED_TREE_ATTRS) },
      };
    case "idmap_shared_temp":
      return {
        op: step.op,
        syscalls: ["statx", "open_tree", "mount_setattr", "move_mount", "close"],
        args: { path: step.path, target: step.target, flags: SHARED_TREE_FLAGS, attrSet: SHARED_TREE_ATTRS, attrSetNames: formatMountAttr(SHARED_TREE_ATTRS), usernsFd: `$${step.usernsSlot}` },
        fallback: "each layer its own temp mount",
      };
    case "link_layer":
      return {
        op: step.op,
        syscalls: ["statx", "statx", "symlink"],
        args: { target: step.linkTarget, linkpath: step.link },
        layer: step.path,
        via: step.via,
        fallback: { syscalls: ["mkdir", "open_tree", "mount_setattr", "move_mount", "close"], path: step.path, target: step.link, attrSetNames: formatMountAttr(SHARED_TREE_ATTRS) },
      };
    case "release_layer":
      return { op: step.op, syscall: "unlink", args: { path: step.link }, orOwnMount: { syscalls: ["umount2", "rmdir"], retry: step.retry } };
    case "release_shared_temp":
      return { op: step.op, syscall: "umount2", args: { target: step.target, flags: 0 }, retry: step.retry, onlyIfAttached: true };
    case "open_subdir":
      return {
        op: step.op,
        syscalls: ["openat2", "open_tree"],
        args: { root: step.root, path: step.path, resolve: formatResolve(LAYER_RESOLVE), flags: SUBDIR_TREE_FLAGS, flagNames: formatOpenTreeFlags(SUBDIR_TREE_FLAGS) },
        result: `$${step.slot}`,
      };
    case "move_mount":
      return {
        op: step.op,
        role: step.role,
        syscall: "move_mount",
        args: {
          fromDfd: `$${step.slot}`,
          fromPath: "",
          toDfd: "AT_FDCWD",
          toPath: step.target,
          flags: step.flags,
          flagNames: formatMoveMountFlags(step.flags),
        },
      };
    case "close":
      return { op: step.op, syscall: "close", args: { fd: `$${step.slot}` } };
    case "mkdir":
      return { op: step.op, syscall: "mkdir", args: { path: step.path, mode: mode(step.mode) } };
    case "rmdir":
      return { op: step.op, syscall: "rmdir", args: { path: step.path } };
    case "unmount_temp":
      return { op: step.op, syscall: "umount2", args: { target: step.target, flags: 0 }, retry: step.retry };
  }
}

/** One C-like line per step, as --dry-run and -v print them. */
export function formatIdmapStep(step: IdmapStep): string {
  const q = JSON.stringify;
  switch (step.op) {
    case "userns":
      return (
        `$${step.slot} = open("/proc/PID/ns/user") of a clone(CLONE_NEWUSER) child that exits at once, with ` +
        `uid_map ${q(idMapFileText(step.uidmap).trimEnd())}, setgroups "deny", gid_map ${q(idMapFileText(step.gidmap).trimEnd())} ` +
        `written through its /proc files opened beside it; the child, a zombie, then reaped through its pidfd  [cached per process]`
      );
    case "open_userns":
      return `$${step.slot} = open(${q(step.path)}, O_RDONLY|O_CLOEXEC)  [ioctl(NS_GET_NSTYPE) must say CLONE_NEWUSER]`;
    case "borrow_fd":
      return `$${step.slot} = ${step.fd}  [the caller's ${step.what} fd]`;
    case "open_tree":
      return `$${step.slot} = open_tree(AT_FDCWD, ${q(step.path)}, ${formatOpenTreeFlags(step.flags)})`;
    case "mount_setattr": {
      const userns = step.usernsSlot === null ? "0" : `$${step.usernsSlot}`;
      const propagation = step.propagation === undefined ? "" : `, propagation: ${formatFlags(step.propagation)}`;
      return `mount_setattr($${step.slot}, "", ${formatAtFlags(step.flags)}, {attr_set: ${formatMountAttr(step.attrSet)}, attr_clr: ${formatMountAttr(step.attrClr)}${propagation}, userns_fd: ${userns}})`;
    }
    case "idmap_shared_tree":
      return (
        `$${step.slot} = open_tree(AT_FDCWD, ${q(step.path)}, ${formatOpenTreeFlags(SHARED_TREE_FLAGS)}); ` +
        `mount_setattr($${step.slot}, "", AT_EMPTY_PATH, {attr_set: ${formatMountAttr(SHARED_TREE_ATTRS)}, userns_fd: $${step.usernsSlot}})  [one clone for the layers below; if refused, one per layer]`
      );
    case "open_layer":
      return (
        `$${step.slot} = openat2($${step.tree}, ${q(step.relative)}, O_PATH|O_DIRECTORY|O_CLOEXEC, ${formatResolve(LAYER_RESOLVE)})  ` +
        `[if it is ${q(step.path)} on the mount of ${q(step.parent)}; else open_tree + mount_setattr of ${q(step.path)}]`
      );
    case "idmap_shared_temp":
      return (
        `move_mount(open_tree(AT_FDCWD, ${q(step.path)}, ${formatOpenTreeFlags(SHARED_TREE_FLAGS)}) after mount_setattr(` +
        `{attr_set: ${formatMountAttr(SHARED_TREE_ATTRS)}, userns_fd: $${step.usernsSlot}}), "", AT_FDCWD, ${q(step.target)}, MOVE_MOUNT_F_EMPTY_PATH)  ` +
        `[one temp mount for the layers below; if refused, one per layer]`
      );
    case "link_layer":
      return (
        `symlink(${q(step.linkTarget)}, ${q(step.link)})  [if ${q(step.via)} is ${q(step.path)} on the shared temp mount; ` +
        `else mkdir + open_tree + mount_setattr + move_mount of ${q(step.path)} there]`
      );
    case "release_layer":
      return `unlink(${q(step.link)})  [or, for the layer's own temp mount: umount2 (retry ${step.retry}; left mounted read-only if still busy) + rmdir]`;
    case "release_shared_temp":
      return `umount2(${q(step.target)}, 0)  [if attached; retry ${step.retry}; left mounted read-only if still busy]`;
    case "open_subdir":
      return (
        `$${step.slot} = open_tree(openat2(open(${q(step.root)}, O_PATH), ${q(step.path)}, O_PATH|O_DIRECTORY|O_CLOEXEC, ${formatResolve(LAYER_RESOLVE)}), "", ` +
        `${formatOpenTreeFlags(SUBDIR_TREE_FLAGS)})`
      );
    case "move_mount":
      return `move_mount($${step.slot}, "", AT_FDCWD, ${q(step.target)}, ${formatMoveMountFlags(step.flags)})`;
    case "close":
      return `close($${step.slot})`;
    case "mkdir":
      return `mkdir(${q(step.path)}, ${mode(step.mode)})`;
    case "rmdir":
      return `rmdir(${q(step.path)})`;
    case "unmount_temp":
      return `umount2(${q(step.target)}, 0)  [retry ${step.retry}; left mounted read-only if still busy]`;
  }
}
