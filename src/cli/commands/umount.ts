/**
 * mountkit umount: argv -> the unmount family; output and exit code.
 */
import { BatchError, ExitCode, helperExitStatus, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { deviceTagOf } from "../../plan/device-tag.ts";
import { realpath } from "../../sys/realpath.ts";
import { lockedMountError, NOT_MOUNTED_HINT, notMountedError, SubtreeUnmounter, tableHasMountAt, unmountStack, type UnmountOptions } from "../../ops/unmount.ts";
import type { Dialect } from "./mount.ts";
import { VERSION } from "../../version.ts";
import { umountOperand } from "../../ops/umount-operand.ts";
import { kernelFacts } from "../../ops/features.ts";
import { unmountAllTargets } from "../../ops/umount-all-targets.ts";
import { FakeUnmounts } from "../../ops/umount-fake.ts";
import { dirFlag, flagGiven, formatHelp, has, last, NAMESPACE_FLAG, NO_MTAB_FLAG, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.ts";
import { enterAskedNamespace } from "../namespace.ts";
import { errorJson, errorLine, failuresJson, printResult, reportError, stderrMessages, type Io } from "../output.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { signalNumber, stopWatch, stoppedBy } from "../stop-watch.ts";
import { RunStopped } from "../../ops/stop.ts";

export const UMOUNT_FLAGS: readonly FlagSpec[] = [
  { long: "recursive", short: "R", help: "unmount each mount point TARGET (the top of a stack) and every mount below it, deepest first" },
  { long: "all-stacked", help: "unmount every mount stacked on each TARGET" },
  { long: "lazy", short: "l", help: "detach now, clean up when no longer busy (MNT_DETACH)" },
  { long: "force", short: "f", help: "force, for unreachable network or FUSE filesystems (MNT_FORCE)" },
  { long: "json", help: "print a result per target as JSON" },
  { long: "verbose", short: "v", help: "print each syscall as it is made" },
  { long: "help", short: "h", help: "show this help" },
  // umount(8)'s -V: scripts ask `umount -V` which umount they have
  { long: "version", short: "V", help: "print mountkit's version" },
  { long: "helper-dir", value: "DIR", help: "look umount.TYPE, fusermount3 and fusermount up only in DIR" },
  { long: "all", short: "a", help: "unmount the mount points of an fstab, in reverse order" },
  { long: "fstab", short: "T", value: "FILE", help: "with -a: read FILE instead of $LIBMOUNT_FSTAB or /etc/fstab (a directory: its *.fstab files, in version order); repeat for more" },
  { long: "types", short: "t", value: "TYPES", help: "with -a: only these filesystem types" },
  { long: "test-opts", short: "O", value: "OPTS", help: "with -a: only mounts whose options match OPTS (no... excludes), as mount -a -O" },
  { long: "read-only", short: "r", help: "when a mount stays busy, remount it read-only instead (as at shutdown)" },
  { long: "detach-loop", short: "d", help: "then detach the loop device it was mounted from (one attached without autoclear)" },
  { long: "no-canonicalize", short: "c", help: "as umount(8): the mount point is not statfs()ed, the mount table names its type (as with -l and -f: a hung FUSE or NFS server does not hang umount); paths go to the kernel as given anyway" },
  NAMESPACE_FLAG,
  { long: "all-targets", short: "A", help: "unmount every mount of the filesystem TARGET names (a mount point, device, tag or image), latest first" },
  { long: "quiet", short: "q", help: "print no 'not mounted' error (the exit code stays 32)" },
  { long: "internal-only", short: "i", help: "do not run umount.TYPE helpers (umount.nfs...): umount2 unmounts every type" },
  // umount(8)'s --fake, long only there too (-f is --force)
  { long: "fake", help: "do everything but unmount: each umount2 is answered from the mount table (-v prints it), no umount.TYPE or fusermount helper runs" },
];

/**
 * umount's flags as umount(8)'s stand-in (a link named umount): -n, --no-mtab, accepted; -a is the
 * mount table's. Made when a link named umount first runs, by a loop: an array method's first use
 * costs start-up time (docs/bench.md).
 */
export function umount8Flags(): readonly FlagSpec[] {
  if (umount8 !== undefined) return umount8;
  const specs: FlagSpec[] = [];
  for (const f of UMOUNT_FLAGS) specs.push(f.long === "all" ? { ...f, help: "unmount every mount of the table (but proc, sysfs, devpts...; -t picks), children first; with -T the fstab's" } : f);
  specs.push(NO_MTAB_FLAG);
  return (umount8 = specs);
}

let umount8: readonly FlagSpec[] | undefined;

export const UMOUNT_USAGE =
  "mountkit umount [-R|--recursive] [--all-stacked] [-A] [-l|--lazy] [-f] [-r] [-d] [-q] [-i] [--fake] [--json] [-v] [-N NS] TARGET|DEVICE|UUID=x|LABEL=x|IMAGE...\n" +
  "       mountkit umount -a [-T FSTAB] [-t TYPES] [-O OPTS] [-l] [-f] [-r] [--fake] [--json] [-v]";

interface TargetResult {
  target: string;
  ok: boolean;
  unmounted: number;
  /** umount -r: it stayed busy and was remounted read-only instead */
  remountedReadOnly?: true;
  error?: Record<string, unknown>;
}

/**
 * The unmount options the flags ask for; warnings (remounted read-only) go to stderr. An
 * umount.TYPE helper gets -n, and the command's stdin, stdout and stderr (its stdout onto
 * stderr with --json), as umount(8)'s helpers do. --fake: one FakeUnmounts for the command.
 */
function unmountOptionsOf(args: ParsedArgs, io: Io): UnmountOptions & { readOnlyWhenBusy: boolean; detachLoop: boolean; noCanonicalize: boolean } {
  return {
    lazy: has(args, "lazy"),
    force: has(args, "force"),
    noCanonicalize: has(args, "no-canonicalize"),
    readOnlyWhenBusy: has(args, "read-only"),
    detachLoop: has(args, "detach-loop"),
    externalHelpers: !has(args, "internal-only"),
    ...(has(args, "no-mtab") ? { noMtab: true } : {}),
    helperStdio: has(args, "json") ? "stdout-to-stderr" : "inherit",
    warn: stderrMessages(io),
    ...(has(args, "verbose") ? { log: stderrMessages(io) } : {}),
    ...(last(args, "helper-dir") !== undefined ? { helperDir: last(args, "helper-dir")! } : {}),
    ...(has(args, "fake") ? { fakeUnmounts: new FakeUnmounts() } : {}),
  };
}

export function umountCommand(argv: readonly string[], io: Io, dialect: Dialect = "mountkit"): ExitCode | number | SignalExit {
  const flagSpecs = dialect === "mount(8)" ? umount8Flags() : UMOUNT_FLAGS;
  const json = flagGiven(argv, flagSpecs, "json");
  let args: ParsedArgs;
  try {
    args = parseArgs("umount", argv, flagSpecs);
    if (has(args, "help")) {
      // through a link named umount, its own name, as mount's help says mount
      const usage = dialect === "mount(8)" ? UMOUNT_USAGE.replace(/mountkit umount/g, "umount") : UMOUNT_USAGE;
      io.out(formatHelp(usage, "Unmount filesystems, retrying while they are busy.", flagSpecs));
      return ExitCode.ok;
    }
    if (has(args, "version")) {
      io.out(`mountkit ${VERSION}\n`);
      return ExitCode.ok;
    }
    if (has(args, "read-only") && (has(args, "recursive") || has(args, "all-stacked"))) {
      throw new UsageError("umount: -r goes with a plain unmount or -a, not with -R or --all-stacked");
    }
    if (has(args, "all-targets") && (has(args, "all") || has(args, "all-stacked"))) {
      throw new UsageError("umount: -A goes with TARGET operands (and -R), not with -a or --all-stacked");
    }
    dirFlag("umount", args, "helper-dir", { absolute: true });
    try {
      enterAskedNamespace(args, io);
    } catch (err) {
      // umount(8) exits 2 (system error) when it cannot enter the namespace; mountkit umount 32
      if (dialect === "mount(8)") return reportError(io, err, json, ExitCode.system);
      throw err;
    }
    // MOUNTKIT_STRATEGY, read once here: a bad value is bad input for the command, refused before
    // any operand (it was each operand's failure, exit 32, and under -R an internal error)
    kernelFacts();
    // fstab and batches load only for -a, as in mount.
    if (has(args, "all")) {
      // As umount(8), a link named umount unmounts the mount table; -T FILE (or mountkit umount) the fstab's.
      const from = dialect === "mount(8)" && !has(args, "fstab") ? "mount table" : "fstab";
      return (require("./fstab.ts") as typeof import("./fstab.ts")).umountAllCommand(args, io, unmountOptionsOf(args, io), from, dialect);
    }
    if (args.operands.length === 0) throw new UsageError("umount: missing TARGET operand");
  } catch (err) {
    return reportError(io, err, json);
  }

  // -d: an unmount with a loop device to detach after it, the two made whole before a stop
  // signal ends mountkit (ops/stop.ts arms it there); each umount2 alone is whole
  const stop = stopWatch();
  const options = { ...unmountOptionsOf(args, io), ...(has(args, "detach-loop") ? { stop } : {}) };
  const quiet = has(args, "quiet");
  // -R (and -A -R): the operands share one read of the mount table, kept in step with their unmounts
  let subtrees: SubtreeUnmounter | undefined;
  try {
    subtrees = has(args, "recursive") ? new SubtreeUnmounter(options) : undefined;
  } catch (err) {
    return reportError(io, err, json);
  }
  const results: TargetResult[] = [];
  const failures: unknown[] = [];
  // the failed operands' exit codes, ORed: umount(8)'s bits (1 usage, 32 failure)
  let failedCodes = 0;
  let stopped: RunStopped | undefined;
  for (const target of args.operands) {
    try {
      let unmounted: number;
      if (has(args, "all-targets")) {
        const outcome = unmountAllTargets(target, { ...options, recursive: subtrees !== undefined }, subtrees);
        if (outcome.unmounted === 0 && outcome.remountedReadOnly.length === 0) throw noMountPoint(target, options);
        results.push({ target, ok: true, unmounted: outcome.unmounted, ...(outcome.remountedReadOnly.length > 0 ? { remountedReadOnly: true as const } : {}) });
        continue;
      }
      if (subtrees !== undefined) {
        // umount(8) -R: a mount point only, never a directory with mounts below it
        unmounted = subtrees.unmountTarget(target);
        if (unmounted === 0) throw noMountPoint(target, options);
      } else if (has(args, "all-stacked")) unmounted = unmountStack(target, options);
      else {
        // umount(8) takes a device or UUID=/LABEL= too: when TARGET is no mount point, the device's mount
        const outcome = umountOperand(target, options);
        if (outcome === "remounted-read-only") {
          results.push({ target, ok: true, unmounted: 0, remountedReadOnly: true });
          continue;
        }
        unmounted = outcome === "unmounted" ? 1 : 0;
      }
      if (unmounted === 0) throw notMountedError(target, options);
      results.push({ target, ok: true, unmounted });
    } catch (caught) {
      if (caught instanceof RunStopped) {
        stopped = caught;
        break;
      }
      const err = dialect === "mount(8)" ? asUnprivilegedLookup(caught, options) : caught;
      failures.push(err);
      // a helper that failed gives its own status, as umount(8) exits with it
      failedCodes |= err instanceof NoMountPointError ? ExitCode.usage : (helperExitStatus(err) ?? ExitCode.mountFailed);
      // -q: umount(8)'s quiet, for scripts that unmount what may not be mounted
      const silent = quiet && (err instanceof NoMountPointError || (err instanceof SyscallError && err.syscall === "umount2(2)" && err.hint === NOT_MOUNTED_HINT));
      if (!silent) io.err(errorLine(err));
      results.push({ target, ok: false, unmounted: err instanceof BatchError ? err.succeeded : 0, error: errorJson(err) });
    }
  }
  // Not umount(8)'s sum of the operands' codes, which runs into other meanings (two failures
  // make 64, "some succeeded"; three 96): 64 when some succeeded, else the failures' bits.
  const code: number = failures.length === 0 ? ExitCode.ok : failures.length === results.length ? failedCodes : ExitCode.someFailed;
  const signal = stop.release();
  if (stopped !== undefined) return stoppedBy(io, signalNumber(stopped.reason)!, "umount", "no more targets were unmounted");
  if (json) printResult(io, code, { ...(options.fakeUnmounts ? { fake: true } : {}), results, error: failuresJson("umount", failures, results.length - failures.length) });
  return endedBy(code, signal);
}

/**
 * umount(8) run by a user other than root looks each operand up in the mount table before any
 * unmount: one that names no mount is "not mounted" (or not found), exit 1, where umount2 says
 * EPERM, or ENOENT for a missing path (32). Through the link such a user's umount2 failure on a
 * path that is no mount point is that error too; one on a mount point stays (EPERM, 32).
 */
function asUnprivilegedLookup(err: unknown, options: UnmountOptions): unknown {
  if (process.getuid!() === 0 && process.geteuid!() === 0) return err;
  if (!(err instanceof SyscallError) || err.syscall !== "umount2(2)" || err.paths.length !== 1) return err;
  const path = err.paths[0]!;
  return tableHasMountAt(path, options) ? err : noMountPoint(path, options);
}

/**
 * umount -R or -A given what is no mount point (or names no mounted filesystem): bad input
 * (exit 1), as umount(8) reports it, "not found" when there is no such path.
 */
class NoMountPointError extends PlanError {}

function noMountPoint(target: string, options: UnmountOptions): NoMountPointError | SyscallError {
  if (tableHasMountAt(target, options)) return lockedMountError(target);
  let missing: SyscallError | undefined;
  try {
    realpath(target);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    missing = err;
  }
  if (missing !== undefined && deviceTagOf(target) === undefined) {
    return new NoMountPointError(`unmount ${quotePath(target)}: not found: ${missing.callFailure}`);
  }
  return new NoMountPointError(`unmount ${quotePath(target)}: not mounted`);
}
