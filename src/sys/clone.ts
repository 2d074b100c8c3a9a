/**
 * Child processes that never run JavaScript and exit at once, and pidfds to reap them: glibc
 * clone(3) and waitid(2) with P_PIDFD.
 *
 * Bun is multi-threaded, so unshare(CLONE_NEWUSER) is refused in it, and a child that returns
 * into JavaScript after a raw clone crashes. glibc's clone() runs a C function in the child
 * instead: here libc's getpid(), which returns at once, so the child exits, in no JavaScript.
 * It stays a zombie until reaped, and a zombie keeps its credentials, so its /proc files still
 * name its namespaces. If we die first (even by SIGKILL), the zombie goes to init, which reaps
 * it: no process is left behind. With CLONE_VM the child shares our memory (cheap: no page
 * tables to copy) and runs on a stack we own; the stack must stay allocated until it is reaped.
 */
import { ptr, type Pointer } from "bun:ffi";
import { Errno } from "../errno.ts";
import { bindLibc, cFd, syscallFailure } from "./libc.ts";
import { CLONE } from "./namespace.ts";
import { SIGSET_BYTES } from "./sigset.ts";

const libc = bindLibc({
  // int clone(int (*fn)(void *), void *stack, int flags, void *arg, pid_t *ptid, void *tls, pid_t *ctid)
  clone: { args: ["ptr", "ptr", "i32", "u64", "ptr", "ptr", "ptr"], returns: "i32" },
  dlsym: { args: ["ptr", "cstring"], returns: "ptr" },
  waitid: { args: ["i32", "i32", "ptr", "i32"], returns: "i32" },
  pthread_sigmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
});

const P_PIDFD = 3;
const WEXITED = 4;
/** wait for any child, whatever its exit signal: our children send none */
const __WALL = 0x40000000;
/** sizeof(siginfo_t) */
const SIGINFO_SIZE = 128;

// The child's stack. One child at a time uses it: cloneExitingChild refuses a second one
// until the first is reaped. The child needs a few hundred bytes; 64 KiB is generous.
const STACK_SIZE = 64 * 1024;
const stack = new Uint8Array(STACK_SIZE);
let stackUser: number | null = null;
const pidfdBox = new Int32Array(1);
// every signal blocked, and the caller's mask saved to restore
const SIGSET_SIZE = SIGSET_BYTES;
const allSignals = new Uint8Array(SIGSET_SIZE).fill(0xff);
const savedMask = new Uint8Array(SIGSET_SIZE);
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const siginfo = new Uint8Array(SIGINFO_SIZE);
let exitEntry: Pointer | null = null;

/** The top of the stack, 16-byte aligned by arithmetic (bitwise ops on pointers truncate). */
function stackTop(): number {
  const top = ptr(stack) + STACK_SIZE;
  return top - (top % 16);
}

/**
 * libc's getpid() as a C function pointer: the child's entry. It returns at once (touching no
 * memory, not even errno), and glibc's clone then ends the child with exit(2).
 */
function entry(): Pointer {
  if (exitEntry === null) {
    exitEntry = libc().dlsym(null, "getpid") as Pointer | null;
    if (exitEntry === null) throw new Error("dlsym(RTLD_DEFAULT, \"getpid\") found nothing");
  }
  return exitEntry;
}

export interface ExitingChild {
  readonly pid: number;
  /** a pidfd: the one way this module lets callers reap the child */
  readonly pidfd: number;
}

/**
 * clone(getpid, stack, CLONE_VM|CLONE_PIDFD|flags, 0, &pidfd, NULL, NULL), with all signals
 * blocked around the call: a child sharing our memory that exits at once. No exit signal: a
 * waitpid(-1) made elsewhere in the process (without __WALL) never reaps it, so it stays a
 * zombie, and its pid ours, until waitPidfd. The caller must waitPidfd it, then close the pidfd.
 */
export function cloneExitingChild(flags: number): ExitingChild {
  if (stackUser !== null) throw new Error("cloneExitingChild: the previous child has not been reaped");
  pidfdBox[0] = -1;
  // The child inherits the signal mask: with every signal blocked it never runs one of our
  // handlers on its stack, in our memory, in the moment it lives.
  if (libc().pthread_sigmask(SIG_BLOCK, allSignals, savedMask) !== 0) throw new Error("pthread_sigmask failed");
  const pid = libc().clone(entry(), stackTop() as Pointer, CLONE.VM | CLONE.PIDFD | flags, 0, pidfdBox, null, null);
  const failure = pid < 0 ? syscallFailure("clone(2)") : undefined;
  libc().pthread_sigmask(SIG_SETMASK, savedMask, null);
  if (failure) throw failure;
  const pidfd = pidfdBox[0]!;
  stackUser = pidfd;
  return { pid, pidfd };
}

/** waitid(P_PIDFD, pidfd, &info, WEXITED|__WALL): reap the child; its stack is free after. */
export function waitPidfd(pidfd: number): void {
  if (libc().waitid(P_PIDFD, cFd(pidfd, "waitid(2)", "pidfd"), siginfo, WEXITED | __WALL) !== 0) {
    const failure = syscallFailure("waitid(2)");
    // ECHILD: already reaped (by a waitid(__WALL) elsewhere); the child is gone all the same.
    if (failure.errno === Errno.ECHILD && stackUser === pidfd) stackUser = null;
    throw failure;
  }
  if (stackUser === pidfd) stackUser = null;
}
