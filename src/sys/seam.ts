/**
 * The syscall seam: everything ops/ asks of the kernel goes through one Syscalls object.
 * libcSyscalls is the real one; tests wrap it (sys/inject.ts) to fail a chosen call with a
 * chosen errno while every other call stays real. Features add their calls here.
 */
import { close, dupCloexec, flock, open, openat2, openPath, readAt, writeOnce } from "./fd.ts";
import { mount, umount2 } from "./mount.ts";
import { fsconfig, fsContextMessages, fsmount, fsopen, mountSetattr, moveMount, openTree } from "./mount-api.ts";
import {
  statfs,
  statxFile,
  statxIdentity,
  statxMountId,
  statxMountRoot,
  statxNode,
  statxOwnership,
  statxUniqueMountId,
  type FileIdentity,
  type FileNode,
  type FileStatus,
  type MountRootStatus,
  type Ownership,
  type Statfs,
  type Timestamp,
} from "./stat.ts";
import { fchownat, mkdirat, mknodat, readlinkat, symlinkat, utimensat } from "./file-at.ts";
import { readDirFd } from "./dir-entries.ts";
import { getXattr, listXattrs, setXattr } from "./xattr.ts";
import { lseek, sendfile, writeAt } from "./file-data.ts";
import { statmount, type MountStatus } from "./statmount.ts";
import { runProcess, type ProcessExit, type ProcessStdio } from "./process.ts";
import { readlink } from "./readlink.ts";
import { chmod, chown, ftruncate, lchown, mkdir, renameNoReplace, rmdir, symlink, unlink } from "./file.ts";
import { cloneExitingChild, waitPidfd, type ExitingChild } from "./clone.ts";
import { namespaceType, setns, unshare } from "./namespace.ts";
import { mountInDir } from "./dir-thread.ts";
import {
  blockDeviceBytes,
  loopClrFd,
  loopConfigure,
  loopCtlAdd,
  loopCtlGetFree,
  loopCtlRemove,
  loopGetStatus64,
  loopSetBlockSize,
  loopSetCapacity,
  loopSetDirectIo,
  loopSetFd,
  loopSetStatus64,
  type LoopInfo,
  type LoopStatus,
} from "./loop.ts";

export interface Syscalls {
  /** mount(source, target, fstype, flags, data) */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(target, flags) */
  umount2(target: string, flags: number): void;
  /** statfs(path): magic and ST_* flags */
  statfs(path: string): Statfs;
  /** statx(path, STATX_MNT_ID).stx_mnt_id; undefined when the kernel has none (before Linux 5.8) */
  statxMountId(path: string): number | undefined;
  /** statx(dfd, path, flags, STATX_INO|STATX_MNT_ID): mount ID, device and inode */
  statxIdentity(dfd: number, path: string, flags: number): FileIdentity;
  /** statx(dfd, path, flags, STATX_TYPE): file type and stx_rdev (with AT_EMPTY_PATH and "", of dfd's file) */
  statxNode(dfd: number, path: string, flags: number): FileNode;
  /** statx(path, AT_NO_AUTOMOUNT|AT_STATX_DONT_SYNC (|AT_SYMLINK_NOFOLLOW), STATX_TYPE|STATX_MNT_ID): STATX_ATTR_MOUNT_ROOT, type, devices, mount ID */
  statxMountRoot(path: string, followLinks: boolean): MountRootStatus;
  /** statx(path, STATX_MNT_ID_UNIQUE).stx_mnt_id; undefined when the kernel has none (before Linux 6.8) */
  statxUniqueMountId(path: string): number | undefined;
  /** statmount(&{mountId, mask}, &buf, sizeof buf, 0): one mount's attributes by its unique ID (Linux 6.8) */
  statmount(mountId: number, mask: number): MountStatus;

  /** open(path, flags, mode) -> fd */
  open(path: string, flags: number, mode?: number): number;
  /** openat2(dfd, path, {flags, mode, resolve}) -> fd (mode: for O_CREAT; 0 by default) */
  openat2(dfd: number, path: string, flags: number, resolve: number, mode?: number): number;
  /** open(path, O_PATH|O_CLOEXEC) -> fd */
  openPath(path: string): number;
  /** close(fd) */
  close(fd: number): void;
  /** flock(fd, operation); path names fd in errors */
  flock(fd: number, operation: number, path: string): void;

  /** open_tree(dfd, path, flags) -> mount fd */
  openTree(dfd: number, path: string, flags: number): number;
  /** move_mount(fromDfd, fromPath, toDfd, toPath, flags) */
  moveMount(fromDfd: number, fromPath: string, toDfd: number, toPath: string, flags: number): void;
  /** fsopen(fsname, flags) -> fs context fd */
  fsopen(fsname: string, flags: number): number;
  /** fsconfig(fd, cmd, key, value, aux) */
  fsconfig(fd: number, cmd: number, key: string | null, value: string | null, aux: number): void;
  /** fsmount(fsfd, flags, attrFlags) -> mount fd */
  fsmount(fsfd: number, flags: number, attrFlags: number): number;
  /** mount_setattr(dfd, path, flags, &{attrSet, attrClr, propagation, usernsFd}, sizeof attr) */
  mountSetattr(dfd: number, path: string, flags: number, attrSet: number, attrClr: number, propagation: number, usernsFd: number): void;
  /** the kernel's log messages queued on a filesystem context fd */
  fsContextMessages(fd: number): string[];

  /** posix_spawn(path, argv, env) then waitpid: a helper's exit and (captured, the default) output; ECHILD when the wait lost it */
  runProcess(path: string, argv: readonly string[], env: readonly string[], stdio?: ProcessStdio): ProcessExit;
  /** readlink(path, buf, PATH_MAX): the target, or the errno (EINVAL when not a symlink) */
  readlink(path: string): string | number;
  /** clone(libc getpid, stack, CLONE_VM|CLONE_PIDFD|flags, 0, &pidfd): a child that exits at once, a zombie until waitPidfd */
  cloneExitingChild(flags: number): ExitingChild;
  /** waitid(P_PIDFD, pidfd, &info, WEXITED|__WALL) */
  waitPidfd(pidfd: number): void;
  /** write(fd, bytes) in one call, all of it or an error (EIO when short) naming path */
  writeOnce(fd: number, bytes: Uint8Array, path: string): void;
  /** mkdir(path, mode) */
  mkdir(path: string, mode: number): void;
  /** rmdir(path) */
  rmdir(path: string): void;
  /** unlink(path) */
  unlink(path: string): void;
  /** ftruncate(fd, size); path names fd in errors */
  ftruncate(fd: number, size: number, path: string): void;
  /** renameat2(from, to, RENAME_NOREPLACE): EEXIST rather than replacing what is at `to` */
  renameNoReplace(from: string, to: string): void;
  /** symlink(target, path) */
  symlink(target: string, path: string): void;
  /** statx(path, STATX_UID|STATX_GID|STATX_MODE), not following a symlink unless followLinks: owner, group, permission bits */
  statxOwnership(path: string, followLinks?: boolean): Ownership;
  /** lchown(path, uid, gid); -1 keeps that id */
  lchown(path: string, uid: number, gid: number): void;
  /** chown(path, uid, gid), following a symlink; -1 keeps that id */
  chown(path: string, uid: number, gid: number): void;
  /** chmod(path, mode) */
  chmod(path: string, mode: number): void;
  /** unshare(flags) */
  unshare(flags: number): void;
  /** setns(fd, nstype) */
  setns(fd: number, nstype: number): void;
  /** ioctl(fd, NS_GET_NSTYPE) -> the CLONE_NEW* type of a namespace fd */
  namespaceType(fd: number): number;
  /** mount(source, target, fstype, flags, data) from a thread whose working directory is dir */
  mountInDir(dir: string, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;

  /** ioctl(ctlFd, LOOP_CTL_GET_FREE) -> N */
  loopCtlGetFree(ctlFd: number): number;
  /** ioctl(ctlFd, LOOP_CTL_ADD, N) -> N */
  loopCtlAdd(ctlFd: number, number: number): number;
  /** ioctl(ctlFd, LOOP_CTL_REMOVE, N) */
  loopCtlRemove(ctlFd: number, number: number): void;
  /** ioctl(loopFd, LOOP_CONFIGURE, {backingFd, blockSize, info}) */
  loopConfigure(loopFd: number, backingFd: number, blockSize: number, info: LoopInfo): void;
  /** ioctl(loopFd, LOOP_SET_FD, backingFd) */
  loopSetFd(loopFd: number, backingFd: number): void;
  /** ioctl(loopFd, LOOP_SET_STATUS64, info) */
  loopSetStatus64(loopFd: number, info: LoopInfo): void;
  /** ioctl(loopFd, LOOP_GET_STATUS64) */
  loopGetStatus64(loopFd: number): LoopStatus;
  /** ioctl(loopFd, LOOP_SET_DIRECT_IO, on) */
  loopSetDirectIo(loopFd: number, on: boolean): void;
  /** ioctl(loopFd, LOOP_SET_BLOCK_SIZE, bytes) */
  loopSetBlockSize(loopFd: number, bytes: number): void;
  /** ioctl(loopFd, LOOP_CLR_FD) */
  loopClrFd(loopFd: number): void;
  /** ioctl(loopFd, LOOP_SET_CAPACITY): the device's size read again from its backing file */
  loopSetCapacity(loopFd: number): void;
  /** ioctl(deviceFd, BLKGETSIZE64) -> the block device's size in bytes */
  blockDeviceBytes(deviceFd: number): number;

  /** fcntl(fd, F_DUPFD_CLOEXEC, 0) -> a new fd of the same open file, the caller's to close */
  dupCloexec(fd: number): number;
  /** pread(fd, buf, len, offset) until buf is full or the file ends -> bytes read; path names fd in errors */
  readAt(fd: number, buffer: Uint8Array, offset: number, path: string): number;

  /** statx(dfd, path, flags, STATX_BASIC_STATS|STATX_MNT_ID): what a copy of the file needs */
  statxFile(dfd: number, path: string, flags: number): FileStatus;
  /** getdents64(fd) until the end: the names in the directory fd holds, without . and ..; path names it in errors */
  readDirFd(fd: number, path: string): string[];
  /** mkdirat(dfd, path, mode) */
  mkdirat(dfd: number, path: string, mode: number): void;
  /** mknodat(dfd, path, type|mode, makedev(major, minor)) */
  mknodat(dfd: number, path: string, mode: number, major: number, minor: number): void;
  /** symlinkat(target, dfd, path) */
  symlinkat(target: string, dfd: number, path: string): void;
  /** readlinkat(dfd, path, buf, PATH_MAX): the target */
  readlinkat(dfd: number, path: string): string;
  /** fchownat(dfd, path, uid, gid, flags); -1 keeps that id */
  fchownat(dfd: number, path: string, uid: number, gid: number, flags: number): void;
  /** utimensat(dfd, path, {atime, mtime}, flags); an undefined timestamp is UTIME_OMIT */
  utimensat(dfd: number, path: string, atime: Timestamp | undefined, mtime: Timestamp | undefined, flags: number): void;
  /** listxattr(path): the attribute names (a /proc/self/fd/N path: that fd's file) */
  listXattrs(path: string): string[];
  /** getxattr(path, name) */
  getXattr(path: string, name: string): Uint8Array;
  /** setxattr(path, name, value, 0) */
  setXattr(path: string, name: string, value: Uint8Array): void;
  /** sendfile(outFd, inFd, &offset, count) -> bytes copied, 0 at the end; path names the file in errors */
  sendfile(outFd: number, inFd: number, offset: number, count: number, path: string): number;
  /** lseek(fd, offset, whence) -> offset (SEEK_DATA, SEEK_HOLE); path names the file in errors */
  lseek(fd: number, offset: number, whence: number, path: string): number;
  /** pwrite(fd, bytes, offset) until all is written; path names the file in errors */
  writeAt(fd: number, bytes: Uint8Array, offset: number, path: string): void;
}

export const libcSyscalls: Syscalls = {
  mount,
  umount2,
  statfs,
  statxMountId,
  statxIdentity,
  statxNode,
  statxMountRoot,
  statxUniqueMountId,
  statmount,
  open,
  openat2,
  openPath,
  close,
  flock,
  openTree,
  moveMount,
  fsopen,
  fsconfig,
  fsmount,
  mountSetattr,
  fsContextMessages,
  runProcess,
  readlink,
  cloneExitingChild,
  waitPidfd,
  writeOnce,
  mkdir,
  rmdir,
  unlink,
  ftruncate,
  renameNoReplace,
  symlink,
  statxOwnership,
  lchown,
  chown,
  chmod,
  unshare,
  setns,
  namespaceType,
  mountInDir,
  loopCtlGetFree,
  loopCtlAdd,
  loopCtlRemove,
  loopConfigure,
  loopSetFd,
  loopSetStatus64,
  loopGetStatus64,
  loopSetDirectIo,
  loopSetBlockSize,
  loopClrFd,
  loopSetCapacity,
  blockDeviceBytes,
  dupCloexec,
  readAt,
  statxFile,
  readDirFd,
  mkdirat,
  mknodat,
  symlinkat,
  readlinkat,
  fchownat,
  utimensat,
  listXattrs,
  getXattr,
  setXattr,
  sendfile,
  lseek,
  writeAt,
};

export type { FileIdentity, FileNode, FileStatus, MountStatus, Statfs, ProcessExit, ProcessStdio, Timestamp, ExitingChild };
