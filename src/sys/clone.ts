/**
 * Child processes that never run JavaScript, and pidfds to end them: glibc clone(3), the
 * pidfd_send_signal(2) syscall and waitid(2) with P_PIDFD.
 *
 * Bun is multi-threaded, so unshare(CLONE_NEWUSER) is refused in it, and a child that returns
 * into JavaScript after a raw clone crashes. glibc's clone() runs a C function in the child
 * instead: here libc's own syscall(SYS_pause), so the child waits, in no JavaScript, until it
 * is killed. With CLONE_VM the child shares our memory (cheap: no page tables to copy) and runs
 * on a stack we own; the stack must stay allocated while the child lives.
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
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
  pthread_sigmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
});

/** x86_64 numbers; arm64 differs for pause (it has none) and is not supported by this module. */
export const SYS_PROCESS = { pause: 34, pidfd_send_signal: 424 } as const;

const P_PIDFD = 3;
const WEXITED = 4;
/** wait for any child, whatever its exit signal: our children send none */
const __WALL = 0x40000000;
/** sizeof(siginfo_t) */
const SIGINFO_SIZE = 128;

// The child's stack. One child at a time uses it: cloneWaitingChild refuses a second one
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
let pauseEntry: Pointer | null = null;

/** The top of the stack, 16-byte aligned by arithmetic (bitwise ops on pointers truncate). */
function stackTop(): number {
  const top = ptr(stack) + STACK_SIZE;
  return top - (top % 16);
}

/** libc's syscall() as a C function pointer: the child's entry, called as syscall(SYS_pause). */
function entry(): Pointer {
  if (pauseEntry === null) {
    pauseEntry = libc().dlsym(null, "syscall") as Pointer | null;
    if (pauseEntry === null) throw new Error("dlsym(RTLD_DEFAULT, \"syscall\") found nothing");
  }
  return pauseEntry;
}

export interface WaitingChild {
  readonly pid: number;
  /** a pidfd: the one way this module lets callers signal and reap the child */
  readonly pidfd: number;
}

/**
 * clone(syscall, stack, CLONE_VM|CLONE_PIDFD|flags, SYS_pause, &pidfd, NULL, NULL), with all
 * signals blocked around the call: a child sharing our memory that waits in pause(2) until
 * killed. No exit signal: a waitpid(-1) made
 * elsewhere in the process (without __WALL) never reaps it, so its pid stays ours until
 * waitPidfd. The caller must pidfdSendSignal(SIGKILL) and waitPidfd it, then close the pidfd.
 */
export function cloneWaitingChild(flags: number): WaitingChild {
  if (process.arch !== "x64") throw new Error(`cloneWaitingChild: SYS_pause is x86_64 only; this is ${process.arch}`);
  if (stackUser !== null) throw new Error("cloneWaitingChild: the previous child has not been reaped");
  pidfdBox[0] = -1;
  // The child inherits the signal mask: with every signal blocked it never runs one of our
  // handlers on its stack, in our memory. Only SIGKILL (which cannot be blocked) ends it.
  if (libc().pthread_sigmask(SIG_BLOCK, allSignals, savedMask) !== 0) throw new Error("pthread_sigmask failed");
  const pid = libc().clone(entry(), stackTop() as Pointer, CLONE.VM | CLONE.PIDFD | flags, SYS_PROCESS.pause, pidfdBox, null, null);
  const failure = pid < 0 ? syscallFailure("clone(2)") : undefined;
  libc().pthread_sigmask(SIG_SETMASK, savedMask, null);
  if (failure) throw failure;
  const pidfd = pidfdBox[0]!;
  stackUser = pidfd;
  return { pid, pidfd };
}

/** pidfd_send_signal(pidfd, sig, NULL, 0) */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  if (Number(libc().syscall(SYS_PROCESS.pidfd_send_signal, cFd(pidfd, "pidfd_send_signal(2)", "pidfd"), signal, 0, 0, 0, 0)) < 0) {
    throw syscallFailure("pidfd_send_signal(2)");
  }
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
