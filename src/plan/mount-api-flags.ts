/**
 * Flags of the fd-based mount API as plans need them (steps carry them, dry runs print them by
 * name). Values from <linux/mount.h> and <linux/fcntl.h>. src/sys/mount-api.ts holds the same
 * values for the FFI layer, which plans may not import; a unit test keeps the two equal.
 */

/** open_tree(2) flags (AT_RECURSIVE is in AT). */
export const OPEN_TREE = { CLONE: 0x1, CLOEXEC: 0o2000000 } as const;

/** *at() flags used with open_tree, mount_setattr and move_mount. */
export const AT = { EMPTY_PATH: 0x1000, RECURSIVE: 0x8000 } as const;

/** dirfd meaning "relative to the cwd" */
export const AT_FDCWD = -100;

/** move_mount(2) flags. */
export const MOVE_MOUNT = { F_EMPTY_PATH: 0x4 } as const;

/** MOUNT_ATTR_* for mount_setattr(2) (RELATIME is 0: it is the absence of the others). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/** the atime mode bits; setting one mode means clearing this mask (the kernel requires it) */
export const MOUNT_ATTR_ATIME_MASK = 0x70;
