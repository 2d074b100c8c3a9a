/**
 * The fd-based mount API (Linux 5.2+, mount_setattr 5.12+) through glibc's syscall(), so the
 * binary runs on glibc versions without the wrappers. Each wrapper names the call it makes.
 * Syscall numbers are the asm-generic ones shared by x86_64 and arm64.
 */
import { bindLibc, syscallFailure } from "./libc.ts";
import { readSome } from "./fd.ts";

export const SYS = {
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  mount_setattr: 442,
} as const;

// syscall() is variadic; it is bound once per argument shape, each with all seven arguments.
const withStrings = bindLibc({
  syscall: { args: ["i64", "i64", "cstring", "i64", "cstring", "i64", "i64"], returns: "i64" },
});
const withLeadingString = bindLibc({
  syscall: { args: ["i64", "cstring", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
});
const withBuffer = bindLibc({
  syscall: { args: ["i64", "i64", "cstring", "i64", "ptr", "i64", "i64"], returns: "i64" },
});
const withKeyValue = bindLibc({
  syscall: { args: ["i64", "i64", "i64", "cstring", "cstring", "i64", "i64"], returns: "i64" },
});
const withNumbers = bindLibc({
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
});

export const AT = {
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  NO_AUTOMOUNT: 0x800,
  EMPTY_PATH: 0x1000,
  RECURSIVE: 0x8000,
} as const;

export const OPEN_TREE = { CLONE: 1, CLOEXEC: 0o2000000 } as const;

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

/** MOUNT_ATTR_* for fsmount attr_flags and mount_setattr. */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/** sizeof(struct mount_attr) = 4 x u64: attr_set, attr_clr, propagation, userns_fd */
export const MOUNT_ATTR_SIZE = 32;

function check(ret: number | bigint, syscall: string, paths: readonly (string | null)[]): number {
  const n = Number(ret);
  if (n < 0) throw syscallFailure(syscall, paths);
  return n;
}

/** open_tree(dfd, path, flags) -> a mount fd (a detached clone with OPEN_TREE_CLONE) */
export function openTree(dfd: number, path: string, flags: number): number {
  return check(withStrings().syscall(SYS.open_tree, dfd, path, flags, null, 0, 0), "open_tree(2)", [path]);
}

/** move_mount(fromDfd, fromPath, toDfd, toPath, flags) */
export function moveMount(fromDfd: number, fromPath: string, toDfd: number, toPath: string, flags: number): void {
  check(
    withStrings().syscall(SYS.move_mount, fromDfd, fromPath, toDfd, toPath, flags, 0),
    "move_mount(2)",
    [fromPath, toPath],
  );
}

/** fsopen(fsname, flags) -> a filesystem context fd */
export function fsopen(fsname: string, flags: number): number {
  return check(withLeadingString().syscall(SYS.fsopen, fsname, flags, 0, 0, 0, 0), "fsopen(2)", []);
}

/** fsconfig(fd, cmd, key, value, aux); value is a string or NULL */
export function fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux: number): void {
  check(withKeyValue().syscall(SYS.fsconfig, fd, cmd, key, value, aux, 0), "fsconfig(2)", [value]);
}

/** fsmount(fsfd, flags, attrFlags) -> a detached mount fd */
export function fsmount(fsfd: number, flags: number, attrFlags: number): number {
  return check(withNumbers().syscall(SYS.fsmount, fsfd, flags, attrFlags, 0, 0, 0), "fsmount(2)", []);
}

/** mount_setattr(dfd, path, flags, &{attrSet, attrClr, propagation, usernsFd}, 32) */
export function mountSetattr(
  dfd: number,
  path: string,
  flags: number,
  attr: { attrSet: number; attrClr: number; propagation: number; usernsFd: number },
): void {
  const buffer = new BigUint64Array([
    BigInt(attr.attrSet),
    BigInt(attr.attrClr),
    BigInt(attr.propagation),
    BigInt(attr.usernsFd),
  ]);
  check(withBuffer().syscall(SYS.mount_setattr, dfd, path, flags, buffer, MOUNT_ATTR_SIZE, 0), "mount_setattr(2)", [path]);
}

/**
 * The messages the kernel logged into a filesystem context ("e overlay: ..."), read after
 * a failed fsconfig or CMD_CREATE; they say what EINVAL alone does not.
 */
export function fsContextMessages(fd: number): string[] {
  const messages: string[] = [];
  const buffer = new Uint8Array(1024);
  for (let i = 0; i < 64; i++) {
    const n = readSome(fd, buffer);
    if (n <= 0) break;
    messages.push(new TextDecoder().decode(buffer.subarray(0, n)));
  }
  return messages;
}
