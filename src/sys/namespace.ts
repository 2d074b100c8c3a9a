/**
 * Namespaces: unshare(2), setns(2) and nsfs's NS_GET_NSTYPE ioctl, bound from libc.
 */
import { bindLibc, cFd, syscallFailure } from "./libc.ts";

const libc = bindLibc({
  unshare: { args: ["i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "u64"], returns: "i32" },
});

/** NS_GET_NSTYPE, _IO(0xb7, 0x3) (<linux/nsfs.h>): the CLONE_NEW* type of a namespace fd. */
export const NS_GET_NSTYPE = 0xb703;

/** CLONE_* flags of unshare(2) and clone(2) that mountkit uses (<sched.h>): the one definition. */
export const CLONE = {
  VM: 0x00000100,
  FS: 0x00000200,
  PIDFD: 0x00001000,
  NEWNS: 0x00020000,
  NEWUSER: 0x10000000,
} as const;

/**
 * unshare(flags). With CLONE_NEWNS only the calling thread moves to the new mount namespace
 * (the kernel unshares its fs_struct too); threads that already exist stay where they were.
 */
export function unshare(flags: number): void {
  if (libc().unshare(flags) !== 0) throw syscallFailure("unshare(2)");
}

/**
 * setns(fd, nstype). Into a mount namespace only a thread whose fs_struct is its own may go
 * (EINVAL otherwise): in the multi-threaded Bun process, unshare(CLONE_FS) first.
 */
export function setns(fd: number, nstype: number): void {
  if (libc().setns(cFd(fd, "setns(2)"), nstype) !== 0) throw syscallFailure("setns(2)");
}

/**
 * ioctl(fd, NS_GET_NSTYPE) -> the namespace's CLONE_NEW* type (CLONE.NEWUSER for a user
 * namespace); ENOTTY for an fd that is no namespace.
 */
export function namespaceType(fd: number): number {
  const type = libc().ioctl(cFd(fd, "ioctl(NS_GET_NSTYPE)"), NS_GET_NSTYPE, 0);
  if (type < 0) throw syscallFailure("ioctl(NS_GET_NSTYPE)");
  return type;
}
