/**
 * What every operation runs with: the syscall seam, the kernel facts, an optional logger.
 * Callers pass a partial context; missing parts default to the real kernel.
 */
import type { KernelFacts } from "../plan/facts.ts";
import { PlanError, quotePath, shownValue } from "../errors.ts";
import { optionalPath, requirePath } from "../plan/caller-input.ts";
import { libcSyscalls, type ProcessStdio, type Syscalls } from "../sys/seam.ts";
import { PROCESS_STDIO, stdioNames } from "../sys/process.ts";
import type { BatchShared } from "./batch-shared.ts";
import { kernelFacts } from "./features.ts";
import { checkRetryPolicy, type RetryPolicy } from "./retry.ts";
import { checkFakeUnmounts, type FakeUnmounts } from "./umount-fake.ts";
import type { StopRequests } from "./stop.ts";

export interface OpsContext {
  readonly sys: Syscalls;
  readonly facts: KernelFacts;
  /** receives one line per syscall made, for -v */
  readonly log: ((line: string) => void) | undefined;
  /** where mount/unmount helpers are looked up instead of the fixed system dirs (absolute) */
  readonly helperDir?: string | undefined;
  /** set while a batch (apply, mountAll, fstab) runs: setup its entries share (batch-shared.ts) */
  readonly batch?: BatchShared | undefined;
  /** the EBUSY policy for unmounts a plan makes (temp mounts); UNMOUNT_BUSY when undefined */
  readonly unmountRetry?: RetryPolicy | undefined;
  /** mount -w: a write-protected source fails instead of being mounted read-only */
  readonly readWriteOnly?: boolean | undefined;
  /** receives what the user should know of a mount that succeeded (mounted read-only instead) */
  readonly warn?: ((message: string) => void) | undefined;
  /** run util-linux's mount.TYPE helpers for the types that have one (plan/external-helper.ts) */
  readonly externalHelpers?: boolean | undefined;
  /** mount -s: such a helper gets -s, to ignore the options it does not know */
  readonly sloppy?: boolean | undefined;
  /** mount(8)'s and umount(8)'s -n: such a helper gets -n (write no mtab) */
  readonly noMtab?: boolean | undefined;
  /** mount -c: such a helper gets SOURCE and TARGET as given, not canonical, and mount(2) a block device by the name given */
  readonly noCanonicalize?: boolean | undefined;
  /** where such a helper's stdin, stdout and stderr go (a FUSE helper's output: see OpsOptions); "capture" when undefined */
  readonly helperStdio?: ProcessStdio | undefined;
  /** plan only (mount(8)'s -f): a source that is no image file (missing, a directory) is planned as the block device it names */
  readonly nonImageSourceAsDevice?: boolean | undefined;
  /** umount --fake: unmounts are imagined, not made (umount-fake.ts) */
  readonly fakeUnmounts?: FakeUnmounts | undefined;
  /** a remount keeps no flag of the mount's: its options are all of them (PlanEnv.remountReplaces) */
  readonly remountReplaces?: boolean | undefined;
  /** how the caller stops a run part-way, its work undone (ops/stop.ts) */
  readonly stop?: StopRequests | undefined;
}

export interface OpsOptions {
  sys?: Syscalls;
  facts?: KernelFacts;
  log?: (line: string) => void;
  /** look FUSE helpers (mount.fuse3, fusermount3, ...) up only in this absolute directory */
  helperDir?: string;
  batch?: BatchShared;
  unmountRetry?: RetryPolicy;
  /** mount -w: never fall back to read-only on a write-protected source (mount(8)'s explicit read-write) */
  readWriteOnly?: boolean;
  /** called with a warning when a mount succeeds differently from what was asked (mounted read-only) */
  warn?: (message: string) => void;
  /** mount --onlyonce: refuse (exit 32) what is mounted on the target already, as mount -a skips it */
  onlyOnce?: boolean;
  /**
   * Run util-linux's mount.TYPE helpers (mount.nfs, mount.cifs...) for a new mount of a type
   * that has one in the helper dirs, as mount(8) does. Off by default: containerd runs FUSE
   * helpers only.
   */
  externalHelpers?: boolean;
  /** mount -s: pass -s to such a helper (ignore the options it does not know) */
  sloppy?: boolean;
  /** mount(8)'s and umount(8)'s -n (--no-mtab): pass -n to such a helper, as util-linux does */
  noMtab?: boolean;
  /**
   * mount -c (--no-canonicalize): such a helper gets SOURCE and TARGET as given, where util-linux's
   * otherwise gets their realpath; and a block device source goes to mount(2) as given, not by
   * its canonical name (libmount's: a /dev/disk link's device, /dev/mapper/NAME for /dev/dm-N)
   */
  noCanonicalize?: boolean;
  /**
   * Where a mount.TYPE or umount.TYPE helper's stdin, stdout and stderr go: "capture" (the
   * default: stdin /dev/null, its output kept for HelperError.output and the -v log),
   * "inherit" (this process's own, as mount(8) runs its helpers: the CLI), or
   * "stdout-to-stderr" (as inherit, its stdout onto this process's stderr: the CLI's --json).
   * A FUSE helper's output is captured whatever the choice (its error carries it; ops/fuse-mount.ts
   * says why); with "inherit" or "stdout-to-stderr" it is written to this process's stdout and
   * stderr, or stderr alone, once the helper succeeded.
   */
  helperStdio?: ProcessStdio;
  /**
   * The canonical root the target was resolved in (mount --target-prefix): the mount point is
   * created and mounted through the target opened inside it (ops/pinned-target.ts), as a
   * batch's are.
   */
  targetRoot?: string;
  /**
   * For plans that are never run (mount(8)'s -f through a link named mount): a source with no
   * type that is no image file (missing, a directory) is planned as the block device it names
   * (its type read from its superblock), where a mount would fail, as util-linux's mount -f
   * reads no type and succeeds there.
   */
  nonImageSourceAsDevice?: boolean;
  /**
   * umount --fake: no umount2 is made, no umount.TYPE or fusermount helper run; each is answered
   * from the mount table, which this (one per command) keeps as the unmounts imagined left it.
   */
  fakeUnmounts?: FakeUnmounts;
  /**
   * A remount's options are all it gets: no per-mount flag the options leave out is kept from
   * the mount (they are cleared), as mount(8)'s `-o remount SOURCE TARGET` and its remount with
   * an fstab line do. By default each keeps its current value, as `mount -o remount TARGET` keeps
   * the mount table's.
   */
  remountReplaces?: boolean;
  /**
   * How the caller stops a run part-way (the CLI: on a stop signal): armed before work that
   * must not be cut in two, asked between its parts; a stop asked for throws RunStopped once
   * what the run made is undone (ops/stop.ts says which runs, and what stays).
   */
  stop?: StopRequests;
}

/** The options of a caller that passed none: shared, so a call allocates nothing for them. */
export const NO_OPTIONS: OpsOptions = Object.freeze({});

// The context of callers that pass nothing, reused while the cached kernel facts stay the same:
// the hot path of a mount allocates as little as it can (docs/bench.md has the measurements).
let defaultContext: OpsContext | undefined;

export function opsContext(options: OpsOptions = NO_OPTIONS): OpsContext {
  // a caller's null or number: one typeof here, rather than a TypeError at the first field read
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new PlanError(`options must be an object, got ${shownValue(options)}`);
  if (
    options.sys === undefined &&
    options.facts === undefined &&
    options.log === undefined &&
    options.helperDir === undefined &&
    options.batch === undefined &&
    options.unmountRetry === undefined &&
    options.readWriteOnly === undefined &&
    options.warn === undefined &&
    options.externalHelpers === undefined &&
    options.sloppy === undefined &&
    options.noMtab === undefined &&
    options.noCanonicalize === undefined &&
    options.helperStdio === undefined &&
    options.nonImageSourceAsDevice === undefined &&
    options.fakeUnmounts === undefined &&
    options.remountReplaces === undefined &&
    options.stop === undefined
  ) {
    // the one field read later that the shared context leaves out (mount() runs in it)
    if (options.targetRoot !== undefined) optionalPath(options.targetRoot, "targetRoot", "options");
    const facts = kernelFacts();
    if (defaultContext === undefined || defaultContext.facts !== facts) {
      defaultContext = { sys: libcSyscalls, facts, log: undefined };
    }
    return defaultContext;
  }
  checkOpsOptions(options);
  return {
    sys: options.sys ?? libcSyscalls,
    facts: options.facts ?? options.batch?.facts ?? kernelFacts(),
    log: options.log,
    helperDir: options.helperDir,
    batch: options.batch,
    unmountRetry: options.unmountRetry,
    readWriteOnly: options.readWriteOnly,
    warn: options.warn,
    externalHelpers: options.externalHelpers,
    sloppy: options.sloppy,
    noMtab: options.noMtab,
    noCanonicalize: options.noCanonicalize,
    helperStdio: options.helperStdio,
    nonImageSourceAsDevice: options.nonImageSourceAsDevice,
    fakeUnmounts: options.fakeUnmounts,
    remountReplaces: options.remountReplaces,
    stop: options.stop,
  };
}

/**
 * The fields of a caller's options that are used later, far from the call (a log line written
 * after a mount, a helper looked up, an unmount retried): checked when the context is made, so
 * that a wrong kind is a PlanError before any syscall, not a TypeError part-way.
 */
function checkOpsOptions(options: OpsOptions): void {
  // every call goes through them: a number was a TypeError at the first syscall or fact read
  const { sys, facts } = options;
  if (sys !== undefined && (typeof sys !== "object" || sys === null || Array.isArray(sys))) throw new PlanError(`options: sys must be a Syscalls object (libcSyscalls), got ${shownValue(sys)}`);
  if (facts !== undefined && (typeof facts !== "object" || facts === null || Array.isArray(facts))) throw new PlanError(`options: facts must be the kernel's facts (kernelFacts()), got ${shownValue(facts)}`);
  if (options.batch !== undefined && (typeof options.batch !== "object" || options.batch === null)) throw new PlanError(`options: batch must be a batch's shared state, got ${shownValue(options.batch)}`);
  optionalPath(options.targetRoot, "targetRoot", "options");
  if (options.fakeUnmounts !== undefined) checkFakeUnmounts(options.fakeUnmounts);
  for (const field of CALLBACK_FIELDS) {
    const value = options[field];
    if (value !== undefined && typeof value !== "function") throw new PlanError(`options: ${field} must be a function, got ${shownValue(value)}`);
  }
  if (options.helperDir !== undefined) {
    requirePath(options.helperDir, "helperDir", "options");
    // as helperSearchDirs refuses it, but before a mount that needs no helper goes ahead without a word
    if (!options.helperDir.startsWith("/")) throw new PlanError(`helper dir ${quotePath(options.helperDir)} is not an absolute path`);
  }
  if (options.unmountRetry !== undefined) checkRetryPolicy(options.unmountRetry, "options: unmountRetry");
  // read when a helper runs, after the mount's first syscalls: runProcess would refuse it there
  const { helperStdio } = options;
  if (helperStdio !== undefined && !PROCESS_STDIO.includes(helperStdio)) throw new PlanError(`options: helperStdio must be ${stdioNames()}, got ${shownValue(helperStdio)}`);
  const { stop } = options;
  if (stop !== undefined && (typeof stop !== "object" || stop === null || typeof stop.arm !== "function" || typeof stop.requested !== "function")) {
    throw new PlanError(`options: stop must be an object with arm() and requested(), got ${shownValue(stop)}`);
  }
}

const CALLBACK_FIELDS = ["log", "warn"] as const;
