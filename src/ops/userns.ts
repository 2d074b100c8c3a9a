/**
 * User namespace fds for idmapped mounts, made without helper binaries and cached per process.
 *
 * The namespace is held by a child that exits at once: cloned with CLONE_NEWUSER (sys/clone.ts:
 * libc's getpid() as its entry, so it never runs JavaScript). As a zombie it keeps its
 * credentials, so its uid_map, setgroups, gid_map and /proc/PID/ns/user still name the
 * namespace: they are opened, "deny" and the maps are written through the open files, and it is
 * reaped through its pidfd. The namespace fd keeps the namespace alive without the child. The
 * pid cannot be reused under us: the child is never reaped by anyone else (it sends no exit
 * signal) until we wait for it. No child outlives the call, whatever fails, and none outlives
 * us if we are killed part-way: the zombie goes to init, which reaps it.
 */
import { Errno } from "../errno.ts";
import { isErrno, MountFailedError, MountkitError, PlanError, SyscallError } from "../errors.ts";
import { idMapFileText, mappingPairKey, formatMapping, type IdMappingPair } from "../plan/idmap-mapping.ts";
import { O } from "../sys/fd.ts";
import { CLONE } from "../sys/namespace.ts";
import type { Syscalls, ExitingChild } from "../sys/seam.ts";
import { closeQuietly } from "./plan-handles.ts";
import { definePolicy, retrySync, type RetryPolicy } from "./retry.ts";

/** waitid(2) returns EINTR when a signal handler without SA_RESTART runs meanwhile. */
export const REAP_INTERRUPTED: RetryPolicy = definePolicy({
  name: "reap-interrupted",
  attempts: 100,
  delayMs: 0,
  jitterPerAttemptMs: 0,
  errnos: [Errno.EINTR],
  reason: "waitid is interrupted by signals handled without SA_RESTART; the child is still ours to reap",
});

/** "uidmap=0:1000:1 gidmap=0:1000:1": what a namespace is for, in errors. */
function describePair(pair: IdMappingPair): string {
  return `uidmap=${pair.uidmap.map(formatMapping).join(",")} gidmap=${pair.gidmap.map(formatMapping).join(",")}`;
}

/**
 * A new user namespace with these maps; the caller owns the returned fd and closes it.
 * Throws SyscallError naming the step that failed, after the child is gone.
 */
export function createUsernsFd(pair: IdMappingPair, sys: Syscalls): number {
  let child: ExitingChild;
  try {
    child = sys.cloneExitingChild(CLONE.NEWUSER);
  } catch (err) {
    throw withCreateAction(err, pair);
  }
  const proc = `/proc/${child.pid}/`;
  let uidMap = -1;
  let setgroups = -1;
  let gidMap = -1;
  let nsFd = -1;
  let failure: unknown;
  try {
    // Each file takes its namespace from the child (alive or a zombie) when it is opened;
    // writes through them act on that namespace, not on the child. The child exits meanwhile,
    // on another CPU, so the reap below has less to wait for (the seed's holder waited to be killed:
    // docs/idmap.md).
    uidMap = sys.open(`${proc}uid_map`, O.WRONLY | O.CLOEXEC);
    setgroups = sys.open(`${proc}setgroups`, O.WRONLY | O.CLOEXEC);
    gidMap = sys.open(`${proc}gid_map`, O.WRONLY | O.CLOEXEC);
    nsFd = sys.open(`${proc}ns/user`, O.RDONLY | O.CLOEXEC);
    sys.writeOnce(uidMap, Buffer.from(idMapFileText(pair.uidmap)), `${proc}uid_map`);
    sys.writeOnce(setgroups, DENY, `${proc}setgroups`);
    sys.writeOnce(gidMap, Buffer.from(idMapFileText(pair.gidmap)), `${proc}gid_map`);
  } catch (err) {
    failure = err;
  }
  if (uidMap >= 0) closeQuietly(sys, uidMap);
  if (setgroups >= 0) closeQuietly(sys, setgroups);
  if (gidMap >= 0) closeQuietly(sys, gidMap);
  try {
    reapChild(child, sys);
  } catch (err) {
    failure = firstFailure(failure, err);
  } finally {
    closeQuietly(sys, child.pidfd); // an error of close must not replace the wait's
  }
  if (failure !== undefined) {
    if (nsFd >= 0) closeQuietly(sys, nsFd);
    throw withCreateAction(failure, pair);
  }
  return nsFd;
}

/** What setgroups gets: the namespace may never call setgroups(2), so gid_map may be written. */
const DENY = Buffer.from("deny");

/** The error that ended the call; a later one is kept beside it as a cleanup error. */
function firstFailure(failure: unknown, err: unknown): unknown {
  if (failure === undefined) return err;
  if (failure instanceof MountkitError) failure.cleanupErrors.push(err);
  return failure;
}

/**
 * A SyscallError without an action gets "create user namespace uidmap=... gidmap=...", and
 * clone(2)'s refusal a hint: the kernel's reasons for it are not in the errno's words.
 */
function withCreateAction(err: unknown, pair: IdMappingPair): unknown {
  if (err instanceof SyscallError && err.action === undefined) err.withAction(`create user namespace ${describePair(pair)}`, cloneRefusalHint(err));
  return err;
}

/** Why clone(CLONE_NEWUSER) fails as err does, where the errno alone does not say. */
export function cloneRefusalHint(err: SyscallError): string | undefined {
  if (err.syscall !== "clone(2)") return undefined;
  switch (err.errno) {
    case Errno.EPERM:
      return "the kernel makes no user namespace for a chrooted process, nor where seccomp or a security module forbids it: run mountkit outside the chroot (pivot_root into the root instead)";
    case Errno.ENOSPC:
      return "user namespaces are disabled or all in use (the sysctl user.max_user_namespaces)";
    case Errno.EUSERS:
      return "user namespaces are nested 32 deep already";
    default:
      return undefined;
  }
}

/** Reap through the pidfd: waitid(P_PIDFD) until it is not interrupted. */
function reapChild(child: ExitingChild, sys: Syscalls): void {
  try {
    retrySync(REAP_INTERRUPTED, () => sys.waitPidfd(child.pidfd));
  } catch (err) {
    if (!isErrno(err, Errno.ECHILD)) throw err; // reaped by someone else: gone all the same
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

/**
 * An existing user namespace by its file (X-mount.idmap=/proc/PID/ns/user), opened for the
 * caller to close: util-linux's open_userns. The fd must be a user namespace's (ioctl
 * NS_GET_NSTYPE), or mount_setattr would refuse it later with a bare EINVAL.
 */
export function openUserNamespace(path: string, sys: Syscalls): number {
  let fd: number;
  try {
    fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    throw err instanceof SyscallError ? err.withDetails(path) : err; // the action names the mount's paths only
  }
  let type: number;
  try {
    type = sys.namespaceType(fd);
  } catch (err) {
    closeQuietly(sys, fd);
    if (!isErrno(err, Errno.ENOTTY)) throw err instanceof SyscallError ? err.withDetails(path) : err;
    throw notUserNamespace(path, "no namespace at all");
  }
  if (type !== CLONE.NEWUSER) {
    closeQuietly(sys, fd);
    throw notUserNamespace(path, "a namespace of another kind");
  }
  return fd;
}

function notUserNamespace(path: string, what: string): MountFailedError {
  const why = `X-mount.idmap=${path} is ${what}, not a user namespace`;
  return new MountFailedError(why, new PlanError(why), { hint: "name a user namespace file, such as /proc/PID/ns/user" });
}
