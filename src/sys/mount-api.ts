/**
 * The fd-based mount API (Linux 5.2+, mount_setattr 5.12+) through glibc's syscall(), so the
 * binary runs on glibc versions without the wrappers. Each wrapper names the call it makes.
 * Syscall numbers are the asm-generic ones shared by x86_64 and arm64.
 */
import { bindLibc, cArgument, cDirFd, cFd, cPath, syscallFailure } from "./libc.ts";
import { textFromBytes } from "../path-text.ts";
import { readSome } from "./fd.ts";
import { FSCONFIG, MOUNT_ATTR_SIZE } from "../plan/mount-api-flags.ts";

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
// Its result is a long, read as an int: these calls return an fd, 0 or -1, and an i64 result
// would come back as a BigInt, one allocation per call.
const withStrings = bindLibc({
  syscall: { args: ["i64", "i64", "cstring", "i64", "cstring", "i64", "i64"], returns: "i32" },
});
const withLeadingString = bindLibc({
  syscall: { args: ["i64", "cstring", "i64", "i64", "i64", "i64", "i64"], returns: "i32" },
});
const withBuffer = bindLibc({
  syscall: { args: ["i64", "i64", "cstring", "i64", "ptr", "i64", "i64"], returns: "i32" },
});
const withKeyValue = bindLibc({
  syscall: { args: ["i64", "i64", "i64", "cstring", "cstring", "i64", "i64"], returns: "i32" },
});
const withNumbers = bindLibc({
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i32" },
});

// The constants live in one pure module that plans also use; re-exported for FFI callers.
export {
  AT,
  FSCONFIG,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR,
  MOUNT_ATTR_ATIME_MASK,
  MOUNT_ATTR_SIZE,
  MOVE_MOUNT,
  OPEN_TREE,
} from "../plan/mount-api-flags.ts";

/** The call's result, or its SyscallError naming the paths (an array made only on failure). */
function check(ret: number, syscall: string, path?: string | null, otherPath?: string): number {
  if (ret < 0) throw syscallFailure(syscall, [path, otherPath]);
  return ret;
}

/** open_tree(dfd, path, flags) -> a mount fd (a detached clone with OPEN_TREE_CLONE) */
export function openTree(dfd: number, path: string, flags: number): number {
  return check(withStrings().syscall(SYS.open_tree, cDirFd(dfd, "open_tree(2)", path), cPath(path, "open_tree(2)"), flags, null, 0, 0), "open_tree(2)", path);
}

/** move_mount(fromDfd, fromPath, toDfd, toPath, flags) */
export function moveMount(fromDfd: number, fromPath: string, toDfd: number, toPath: string, flags: number): void {
  check(
    withStrings().syscall(
      SYS.move_mount,
      cDirFd(fromDfd, "move_mount(2)", fromPath, "from dfd"),
      cArgument(fromPath, "move_mount(2)", "from path", fromPath, toPath),
      cDirFd(toDfd, "move_mount(2)", toPath, "to dfd"),
      cArgument(toPath, "move_mount(2)", "to path", fromPath, toPath),
      flags,
      0,
    ),
    "move_mount(2)",
    fromPath,
    toPath,
  );
}

/** fsopen(fsname, flags) -> a filesystem context fd */
export function fsopen(fsname: string, flags: number): number {
  return check(withLeadingString().syscall(SYS.fsopen, cArgument(fsname, "fsopen(2)", "filesystem type"), flags, 0, 0, 0, 0), "fsopen(2)");
}

/** fsconfig(fd, cmd, key, value, aux); value is a string or NULL */
export function fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux: number): void {
  check(
    withKeyValue().syscall(SYS.fsconfig, cFd(fd, "fsconfig(2)", "fs fd"), cmd, cArgument(key, "fsconfig(2)", "key", key), cArgument(value, "fsconfig(2)", "value", value), fsconfigAux(cmd, aux), 0),
    "fsconfig(2)",
    value,
  );
}

/** fsconfig's aux as C takes it: for FSCONFIG_SET_FD an fd, for SET_PATH(_EMPTY) a directory fd; else a number as it is. */
function fsconfigAux(cmd: number, aux: number): number {
  if (cmd === FSCONFIG.SET_FD) return cFd(aux, "fsconfig(2)", "aux fd");
  if (cmd === FSCONFIG.SET_PATH || cmd === FSCONFIG.SET_PATH_EMPTY) return cDirFd(aux, "fsconfig(2)", undefined, "aux dfd");
  return aux;
}

/** fsmount(fsfd, flags, attrFlags) -> a detached mount fd */
export function fsmount(fsfd: number, flags: number, attrFlags: number): number {
  return check(withNumbers().syscall(SYS.fsmount, cFd(fsfd, "fsmount(2)", "fs fd"), flags, attrFlags, 0, 0, 0), "fsmount(2)");
}

// struct mount_attr, filled for each call: calls are synchronous (the kernel copies it during
// the call) and each Worker has its own module instance. One buffer, as for statfs: an idmapped
// overlay makes one call per layer, and a new array and four BigInts each time were garbage.
const mountAttr = new Uint32Array(MOUNT_ATTR_SIZE / 4);

/** Store a u64 field of struct mount_attr (little-endian halves; values below 2^53). */
function setU64(index: number, value: number): void {
  mountAttr[index * 2] = value % 0x1_0000_0000;
  mountAttr[index * 2 + 1] = Math.floor(value / 0x1_0000_0000);
}

/**
 * mount_setattr(dfd, path, flags, &{attrSet, attrClr, propagation, usernsFd}, 32). The struct's
 * fields are arguments, not an object: no allocation on each idmapped mount.
 */
export function mountSetattr(
  dfd: number,
  path: string,
  flags: number,
  attrSet: number,
  attrClr: number,
  propagation: number,
  usernsFd: number,
): void {
  cFd(usernsFd, "mount_setattr(2)", "userns fd", path);
  setU64(0, attrSet);
  setU64(1, attrClr);
  setU64(2, propagation);
  setU64(3, usernsFd);
  check(withBuffer().syscall(SYS.mount_setattr, cDirFd(dfd, "mount_setattr(2)", path), cPath(path, "mount_setattr(2)"), flags, mountAttr, MOUNT_ATTR_SIZE, 0), "mount_setattr(2)", path);
}

/**
 * The messages the kernel logged into a filesystem context ("e overlay: ..."), read after
 * a failed fsconfig or CMD_CREATE; they say what EINVAL alone does not.
 */
export function fsContextMessages(fd: number): string[] {
  cFd(fd, "read(2)");
  const messages: string[] = [];
  const buffer = new Uint8Array(1024);
  for (let i = 0; i < 64; i++) {
    const n = readSome(fd, buffer);
    if (n <= 0) break;
    messages.push(textFromBytes(buffer.subarray(0, n)));
  }
  return messages;
}
