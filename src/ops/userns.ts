/**
 * User namespace fds for idmapped mounts, made without helper binaries and cached per process.
 *
 * The namespace is held by a child that does nothing: cloned with CLONE_NEWUSER (sys/clone.ts:
 * libc's syscall(SYS_pause) as its entry, so it never runs JavaScript), its uid_map,
 * setgroups ("deny") and gid_map written, /proc/PID/ns/user opened; then it is killed and
 * reaped through its pidfd. The opened fd keeps the namespace alive without the child. The pid
 * cannot be reused under us: the child is never reaped by anyone else (it sends no exit
 * signal) until we wait for it, and every signal goes through the pidfd. No child outlives the
 * call, whatever fails.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountkitError, SyscallError } from "../errors.ts";
import { idMapFileText, mappingPairKey, formatMapping, type IdMappingPair } from "../plan/idmap-mapping.ts";
import { O } from "../sys/fd.ts";
import { SIG } from "../sys/clone.ts";
import { CLONE } from "../sys/namespace.ts";
import type { Syscalls, WaitingChild } from "../sys/seam.ts";
import { closeQuietly } from "./plan-handles.ts";
import { retrySync, type RetryPolicy } from "./retry.ts";

/** waitid(2) returns EINTR when a signal handler without SA_RESTART runs meanwhile. */
export const REAP_INTERRUPTED: RetryPolicy = {
  name: "reap-interrupted",
  attempts: 100,
  delayMs: 0,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EINTR],
  reason: "waitid is interrupted by signals handled without SA_RESTART; the child is still ours to reap",
};

/** "uidmap=0:1000:1 gidmap=0:1000:1": what a namespace is for, in errors. */
function describePair(pair: IdMappingPair): string {
  return `uidmap=${pair.uidmap.map(formatMapping).join(",")} gidmap=${pair.gidmap.map(formatMapping).join(",")}`;
}

/**
 * A new user namespace with these maps; the caller owns the returned fd and closes it.
 * Throws SyscallError naming the step that failed, after the child is gone.
 */
export function createUsernsFd(pair: IdMappingPair, sys: Syscalls): number {
  const action = `create user namespace ${describePair(pair)}`;
  let child: WaitingChild;
  try {
    child = sys.cloneWaitingChild(CLONE.NEWUSER);
  } catch (err) {
    if (err instanceof SyscallError) err.withAction(action);
    throw err;
  }
  let nsFd = -1;
  let failure: unknown;
  try {
    sys.writeFileOnce(`/proc/${child.pid}/uid_map`, idMapFileText(pair.uidmap));
    sys.writeFileOnce(`/proc/${child.pid}/setgroups`, "deny");
    sys.writeFileOnce(`/proc/${child.pid}/gid_map`, idMapFileText(pair.gidmap));
    nsFd = sys.open(`/proc/${child.pid}/ns/user`, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    failure = err;
  }
  try {
    endChild(child, sys);
  } catch (err) {
    if (failure === undefined) failure = err;
    else if (failure instanceof MountkitError) failure.cleanupErrors.push(err);
  }
  if (failure !== undefined) {
    if (nsFd >= 0) closeQuietly(sys, nsFd);
    if (failure instanceof SyscallError && failure.action === undefined) failure.withAction(action);
    throw failure;
  }
  return nsFd;
}

/** SIGKILL through the pidfd, reap through the pidfd, close the pidfd. */
function endChild(child: WaitingChild, sys: Syscalls): void {
  try {
    try {
      sys.pidfdSendSignal(child.pidfd, SIG.KILL);
    } catch (err) {
      // ESRCH: it already exited (it is a zombie until reaped below). Anything else means it
      // may still be alive, and waiting would block forever: report instead.
      if (!isErrno(err, Errno.ESRCH)) throw err;
    }
    try {
      retrySync(REAP_INTERRUPTED, () => sys.waitPidfd(child.pidfd));
    } catch (err) {
      if (!isErrno(err, Errno.ECHILD)) throw err; // reaped by someone else: gone all the same
    }
  } finally {
    closeQuietly(sys, child.pidfd); // an error of close must not replace the kill's or the wait's
  }
}

/**
 * The per-process cache: one namespace fd per (uidmap, gidmap) pair, so a batch of idmapped
 * mounts creates each namespace once. The cache owns the fds. Bounded: beyond the limit the
 * least recently used entry is closed, and its fd number is free for the next open, so a
 * cached fd is only ever lent for the length of one plan run (ops/idmap-run.ts); callers
 * outside a plan get their own duplicate (ownedUsernsFd).
 */
const cache = new Map<string, number>();
export const USERNS_CACHE_LIMIT = 64;
/** the key used last: already the most recent entry, so a hit on it reorders nothing */
let lastKey: string | undefined;

/**
 * The cached namespace fd for pair, created on first use. Borrowed: do not close it, and do
 * not keep it past the current plan run: a later call may evict and close it.
 */
export function usernsFdFor(pair: IdMappingPair, sys: Syscalls): number {
  const key = mappingPairKey(pair);
  const cached = cache.get(key);
  if (cached !== undefined && key === lastKey) return cached;
  lastKey = key;
  if (cached !== undefined) {
    // Map keeps insertion order: moving a hit to the end makes the first entry the least recently used.
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const fd = createUsernsFd(pair, sys);
  while (cache.size >= USERNS_CACHE_LIMIT) {
    const [oldestKey, oldestFd] = cache.entries().next().value!;
    cache.delete(oldestKey);
    closeQuietly(sys, oldestFd);
  }
  cache.set(key, fd);
  return fd;
}

/**
 * A namespace fd for pair that the caller owns and closes: fcntl(F_DUPFD_CLOEXEC) of the
 * cached one, so it names the same namespace whatever the cache evicts later.
 */
export function ownedUsernsFd(pair: IdMappingPair, sys: Syscalls): number {
  const cached = usernsFdFor(pair, sys);
  try {
    return sys.dupCloexec(cached);
  } catch (err) {
    throw err instanceof SyscallError ? err.withAction(`duplicate the user namespace fd for ${describePair(pair)}`) : err;
  }
}

/** How many namespace fds the cache holds. */
export function usernsCacheSize(): number {
  return cache.size;
}

/** Close every cached namespace fd (a long-lived process that is done with idmapped mounts). */
export function closeUsernsCache(sys: Pick<Syscalls, "close">): number {
  const fds = [...cache.values()];
  cache.clear();
  for (const fd of fds) closeQuietly(sys, fd);
  return fds.length;
}
