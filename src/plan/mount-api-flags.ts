/**
 * The fd-based mount API's constants (<linux/mount.h>, <linux/fcntl.h>): the one source of
 * truth. Plans carry and print them; src/sys/mount-api.ts re-exports them for the FFI layer
 * (plans may not import sys, sys may import this pure module). Every value is checked against
 * this machine's C headers by test/integration/struct-layout.test.ts. Pure.
 */

/**
 * openat2(2)'s RESOLVE_* flags (<linux/openat2.h>): how an idmapped overlay's layers are opened
 * inside the shared clone of their parent.
 */
export const RESOLVE = {
  NO_XDEV: 0x01,
  NO_MAGICLINKS: 0x02,
  NO_SYMLINKS: 0x04,
  BENEATH: 0x08,
  IN_ROOT: 0x10,
} as const;

/** *at() flags used with open_tree, mount_setattr and move_mount; FDCWD is the dirfd for "the cwd". */
export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  NO_AUTOMOUNT: 0x800,
  EMPTY_PATH: 0x1000,
  RECURSIVE: 0x8000,
} as const;

/** dirfd meaning "relative to the cwd" (AT.FDCWD, named as C names it) */
export const AT_FDCWD = AT.FDCWD;

/** open_tree(2) flags (AT_RECURSIVE is in AT). */
export const OPEN_TREE = { CLONE: 0x1, CLOEXEC: 0o2000000 } as const;

/** move_mount(2) flags. */
export const MOVE_MOUNT = {
  F_SYMLINKS: 0x1,
  F_AUTOMOUNTS: 0x2,
  F_EMPTY_PATH: 0x4,
  T_SYMLINKS: 0x10,
  T_AUTOMOUNTS: 0x20,
  T_EMPTY_PATH: 0x40,
  SET_GROUP: 0x100,
  BENEATH: 0x200,
} as const;

export const FSOPEN_CLOEXEC = 0x1;
export const FSMOUNT_CLOEXEC = 0x1;

/** fsconfig(2) commands. */
export const FSCONFIG = {
  SET_FLAG: 0,
  SET_STRING: 1,
  SET_BINARY: 2,
  SET_PATH: 3,
  SET_PATH_EMPTY: 4,
  SET_FD: 5,
  CMD_CREATE: 6,
  CMD_RECONFIGURE: 7,
  CMD_CREATE_EXCL: 8,
} as const;

/**
 * MOUNT_ATTR_* bits for fsmount's attr_flags and mount_setattr, one bit each, so that
 * formatFlags prints them by name. RELATIME is 0 (the absence of the other atime modes).
 */
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

/** MOUNT_ATTR__ATIME: the atime mode bits; setting one mode means clearing this mask (the kernel's rule) */
export const MOUNT_ATTR_ATIME_MASK = 0x70;

/** sizeof(struct mount_attr) = 4 x u64: attr_set, attr_clr, propagation, userns_fd */
export const MOUNT_ATTR_SIZE = 32;
