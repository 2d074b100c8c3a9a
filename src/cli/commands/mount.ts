/**
 * mountkit mount: argv -> a Mount and a target; output and exit code. No mount logic here.
 */
import { ExitCode, helperExitStatus, MountWouldFailError, quotePath } from "../../errors.ts";
import { readMountInfo } from "../../mountinfo/read.ts";
import { mountMakingTarget, planOnly } from "../../ops/mount.ts";
import { placeInPrefix } from "../../ops/resolve.ts";
import { attachedLoopDevice } from "../../ops/loop-describe.ts";
import { isLoopDevice } from "../../plan/loop.ts";
import { quoteDataItem, splitOptionString } from "../../plan/options.ts";
import type { OpsOptions } from "../../ops/context.ts";
import { isTypeUnknown, type Mount } from "../../plan/mount-request.ts";
import { describeStep, formatStep, type Plan } from "../../plan/steps.ts";
import { dirFlag, flagGiven, formatHelp, has, last, NAMESPACE_FLAG, NO_MTAB_FLAG, operandsText, parseArgs, UsageError, values, type FlagSpec, type ParsedArgs } from "../args.ts";
import { enterAskedNamespace } from "../namespace.ts";
import { mountExitCode } from "../mount8-exit.ts";
import { VERSION } from "../../version.ts";
import { printResult, reportError, stderrMessages, type Io } from "../output.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { signalNumber, stopWatch, stoppedBy } from "../stop-watch.ts";
import { RunStopped } from "../../ops/stop.ts";

const PROPAGATION_FLAGS = [
  ["make-shared", "shared"],
  ["make-slave", "slave"],
  ["make-private", "private"],
  ["make-unbindable", "unbindable"],
  ["make-rshared", "rshared"],
  ["make-rslave", "rslave"],
  ["make-rprivate", "rprivate"],
  ["make-runbindable", "runbindable"],
] as const;

/**
 * --make-shared and the rest, one spec each. Loops, here and below, not array methods: every mount
 * runs them, and the first use of an array method written in JavaScript (map, filter, some...)
 * costs about 0.4 ms of a start (docs/bench.md).
 */
function propagationFlagSpecs(): FlagSpec[] {
  const specs: FlagSpec[] = [];
  for (const [long, word] of PROPAGATION_FLAGS) specs.push({ long, help: `change propagation to ${word}` });
  return specs;
}

export const MOUNT_FLAGS: readonly FlagSpec[] = [
  { long: "types", short: "t", value: "TYPE", help: "filesystem type (tmpfs, overlay, ext4, ...); none or auto: read from the device; a list (udf,iso9660): each in turn" },
  { long: "options", short: "o", value: "OPTS", help: "comma-separated options; repeat to add more (with -a or one operand: after the fstab line's own)" },
  { long: "bind", short: "B", help: "bind mount SOURCE on TARGET" },
  { long: "rbind", short: "R", help: "bind mount SOURCE and everything under it" },
  { long: "move", short: "M", help: "move the mount at SOURCE (and all under it) to TARGET" },
  { long: "read-only", short: "r", help: "mount read-only (same as -o ro)" },
  { long: "read-write", short: "w", help: "mount read-write, or fail: never read-only on a write-protected device (-o rw falls back)", aliases: ["rw"] },
  ...propagationFlagSpecs(),
  { long: "dry-run", short: "n", help: "print the plan (the syscalls) without making them", aliases: ["fake"] },
  { long: "json", help: "print the result (or the plan) as JSON" },
  { long: "verbose", short: "v", help: "print each syscall as it is made" },
  { long: "help", short: "h", help: "show this help" },
  // mount(8)'s -V: scripts ask `mount -V` which mount they have
  { long: "version", short: "V", help: "print mountkit's version" },
  { long: "helper-dir", value: "DIR", help: "look mount helpers (mount.TYPE, mount.fuse3, fusermount3) up only in DIR" },
  { long: "internal-only", short: "i", help: "do not run mount.TYPE helpers (mount.nfs, mount.cifs...): the kernel mounts every type but FUSE" },
  { long: "sloppy", short: "s", help: "pass -s to a mount.TYPE helper: it ignores the options it does not know" },
  // mount(8)'s -n, long only here (-n is the dry run): mount -a -F passes it on to each line's process
  { long: "no-mtab", help: "pass -n to a mount.TYPE helper (a link named mount: -n)" },
  { long: "all", short: "a", help: "mount every fstab line not marked noauto, in order (-t: a type list)" },
  { long: "fstab", short: "T", value: "FILE", help: "with -a, or one operand: read FILE instead of $LIBMOUNT_FSTAB or /etc/fstab (a directory: its *.fstab files, in version order); repeat for more" },
  { long: "test-opts", short: "O", value: "OPTS", help: "with -a: only lines whose options match OPTS" },
  { long: "label", short: "L", value: "LABEL", help: "the source is the device whose filesystem has this label (LABEL=...)" },
  { long: "uuid", short: "U", value: "UUID", help: "the source is the device whose filesystem has this UUID (UUID=...)" },
  { long: "source", value: "SOURCE", help: "the source, named explicitly (the operand is then the mount point)" },
  { long: "target", value: "DIR", help: "the mount point, named explicitly" },
  { long: "no-canonicalize", short: "c", help: "a mount.TYPE helper gets SOURCE and TARGET as given, not their realpath (the kernel gets them as given anyway)" },
  { long: "fork", short: "F", help: "with -a: mount the lines in parallel, a process per line (a line waits for the earlier lines that hold its mount point, source or layers)" },
  NAMESPACE_FLAG,
  { long: "show-labels", short: "l", help: "with the list of mounts: each device's filesystem label, as [LABEL] (mount -l)" },
  { long: "mkdir", short: "m", optionalValue: "MODE", help: "create a missing TARGET (and its parents), as -o X-mount.mkdir[=MODE]" },
  { long: "map-users", value: "MAP|NSFILE", help: "idmap the mount: container:host:count user mappings (repeat for more), or a user namespace file such as /proc/PID/ns/user for users and groups (as -o X-mount.idmap=)" },
  { long: "map-groups", value: "MAP", help: "idmap the mount: container:host:count group mappings (repeat for more), with --map-users" },
  { long: "target-prefix", value: "DIR", help: "mount every target inside DIR: its path (symlinks included) resolved as if DIR were /, as apply --root does" },
  { long: "onlyonce", help: "fail (exit 32) when it is mounted on TARGET already, as mount -a skips it" },
  { long: "options-mode", value: "MODE", help: "how -o combines with an fstab line's options (a remount's too): prepend (the default: -o after the line's), append, replace (the line's alone), ignore (-o alone)" },
  { long: "options-source", value: "LIST", help: "where one operand is looked up: fstab (the default; a remount takes the line's options), mtab (a remount keeps the mount's own flags, as without a line), disable" },
  { long: "options-source-force", help: "with SOURCE and TARGET, apply the fstab line that has both too" },
];

/**
 * The flags of `mount` when the binary stands in for mount(8) (a link named mount): -n is
 * mount(8)'s --no-mtab, which init scripts pass routinely (`mount -n -o remount,rw /`) and
 * which must mount, not print a plan; the dry run is mount(8)'s -f (--fake). `mountkit mount`
 * keeps -n as its --dry-run (DESIGN.md's contract).
 */
export function mount8Flags(): readonly FlagSpec[] {
  if (mount8 !== undefined) return mount8;
  const specs: FlagSpec[] = [];
  for (const f of MOUNT_FLAGS) specs.push(f.long === "dry-run" ? { ...f, short: "f", help: "make no mount, silently (with -v: print the plan, the syscalls)" } : f.long === "no-mtab" ? NO_MTAB_FLAG : f);
  return (mount8 = specs);
}

/** mount8Flags(), made when a link named mount first runs (a loop, as above). */
let mount8: readonly FlagSpec[] | undefined;

/** Which command line a mount or umount invocation speaks: mountkit's, or mount(8)'s (a link named mount or umount). */
export type Dialect = "mountkit" | "mount(8)";

export const MOUNT_USAGE =
  "mountkit mount [-t TYPE] [-o OPTS]... [--bind|--rbind|--move] [-r] [-i] [-s] [-m[MODE]] [--map-users MAP] [--map-groups MAP] [--target-prefix DIR] [--onlyonce] [--make-(r)private|shared|slave|unbindable] [-n|--dry-run] [--json] [-v] [-N NS] SOURCE TARGET\n" +
  "       mountkit mount [-t TYPE] [-o OPTS]... -L LABEL|-U UUID|--source SOURCE [--target] TARGET\n" +
  "       mountkit mount [-T FSTAB] [-t TYPE] [-o OPTS]... TARGET|SOURCE   the fstab line for it\n" +
  "       mountkit mount [-o OPTS] --make-*|-o remount,... TARGET\n" +
  "       mountkit mount [-l] [-t TYPES]    list the mounts (of those types; -l: with labels)" +
  "\n       mountkit mount -a [-T FSTAB] [-t TYPES] [-O OPTS] [-o OPTS] [--target-prefix DIR] [-n] [--json] [-v]";

export function mountCommand(argv: readonly string[], io: Io, dialect: Dialect = "mountkit"): ExitCode | number | SignalExit | Promise<ExitCode | SignalExit> {
  const flagSpecs = dialect === "mount(8)" ? mount8Flags() : MOUNT_FLAGS;
  const json = flagGiven(argv, flagSpecs, "json");
  // read before parsing, as --json is: a refusal of the arguments exits by it too
  const fake = flagGiven(argv, flagSpecs, "dry-run");
  try {
    const args = parseArgs("mount", argv, flagSpecs);
    if (has(args, "help")) {
      const usage = dialect === "mount(8)" ? MOUNT_USAGE.replace(/-n\|--dry-run/g, "-f|--fake").replace(/\[-n\]/g, "[-f]").replace(/mountkit mount/g, "mount") : MOUNT_USAGE;
      io.out(formatHelp(usage, "Mount a filesystem, the way containerd does, with mount(8)'s flags.", flagSpecs));
      return ExitCode.ok;
    }
    if (has(args, "version")) {
      io.out(`mountkit ${VERSION}\n`);
      return ExitCode.ok;
    }
    dirFlag("mount", args, "target-prefix");
    dirFlag("mount", args, "helper-dir", { absolute: true });
    try {
      enterAskedNamespace(args, io);
    } catch (err) {
      // mount(8) exits 2, a system error, when it cannot enter the namespace: nothing was tried
      if (dialect === "mount(8)") return reportError(io, err, json, ExitCode.system);
      throw err;
    }
    // fstab and batches load only for -a: a single mount starts without them.
    if (has(args, "all")) return (require("./fstab.ts") as typeof import("./fstab.ts")).mountAllCommand(args, io, dialect);
    // No operands, no flags but -t: the mount table (of those types), as mount(8) lists it.
    if (args.operands.length === 0 && [...args.flags.keys()].every((f) => LIST_FLAGS.has(f))) return listMounts(io, last(args, "types"), has(args, "show-labels"));
    if (args.operands.length === 0 && [...args.flags.keys()].every((f) => LIST_FLAGS.has(f) || f === "json")) {
      throw new UsageError("mount: the list of mounts has no --json form", { hint: "mountkit findmnt --json lists them" });
    }

    const request = requestFrom(args);
    const targetPrefix = last(args, "target-prefix");
    // One operand: the fstab line for it, as mount(8) does (its code loads only for this form).
    const single =
      request.kind === "fstab"
        ? (require("./fstab.ts") as typeof import("./fstab.ts")).fstabMount(request.operand, args, { type: request.type, options: request.options, targetPrefix })
        : request.kind === "remount"
          ? (require("./fstab.ts") as typeof import("./fstab.ts")).remountMount(request.operand, args, { ...request, targetPrefix, warn: stderrMessages(io) })
          : directMount(request.m, placedIn(targetPrefix, request.target), request.replaces ? REMOUNT_REPLACES : {});
    const verbose = has(args, "verbose");
    const helperDir = last(args, "helper-dir");
    const planOptions: OpsOptions = {
      ...(helperDir === undefined ? {} : { helperDir }),
      ...readWriteOnly(args),
      ...helperChoice(args),
      ...(has(args, "onlyonce") ? { onlyOnce: true } : {}),
    };
    if (has(args, "dry-run")) {
      const { plan, target } = single.plan({ ...planOptions, ...fakeOptions(dialect) });
      if (json) printResult(io, ExitCode.ok, { dryRun: true, action: plan.action, target, steps: plan.steps.map(describeStep) });
      else if (dryRunPrintsPlan(args, dialect)) for (const step of plan.steps) io.out(`${formatStep(step)}\n`);
      return ExitCode.ok;
    }
    const started = performance.now();
    // armed by ops/ only for a plan of several steps (or a loop device, a mount point to make):
    // a one-step mount installs nothing
    const stop = stopWatch();
    let done;
    try {
      done = single.run({
        ...planOptions,
        warn: stderrMessages(io),
        ...(verbose ? { log: stderrMessages(io) } : {}),
        stop,
      });
    } catch (err) {
      const signal = stop.release();
      if (err instanceof RunStopped) return stoppedBy(io, signalNumber(err.reason)!, "mount", "what it had made was undone", err);
      if (signal === undefined) throw err;
      // a stop signal that came as the mount failed: the failure said, then the death (as with-mounts)
      reportError(io, err, json, helperExitStatus(err) ?? mountExitCode(err, dialect, fake));
      return new SignalExit(signal);
    }
    // a stop signal that came once the last step was done (its fds being closed): the mount stands
    const signal = stop.release();
    const { plan, target } = done;
    const elapsedMs = performance.now() - started;
    if (json) printResult(io, ExitCode.ok, { action: plan.action, target, steps: plan.steps.map(describeStep), elapsedMs });
    else if (verbose) io.out(`${plan.action}: done\n`);
    return endedBy(ExitCode.ok, signal);
  } catch (err) {
    // one mount: a helper that failed gives its own status, as mount(8) exits with it
    return reportError(io, err, json, helperExitStatus(err) ?? mountExitCode(err, dialect, fake));
  }
}

/**
 * Whether a dry run prints its plan as text: `mountkit mount -n` always (DESIGN.md's contract);
 * mount(8)'s -f (a link named mount) only with -v, as util-linux's is silent otherwise: old
 * init scripts run `mount -f` to record a mount in /etc/mtab and expect no output.
 */
export function dryRunPrintsPlan(args: ParsedArgs, dialect: Dialect): boolean {
  return dialect === "mountkit" || has(args, "verbose");
}

/**
 * mount(8)'s -f makes no mount, and util-linux's succeeds on a device that is missing or a
 * directory given no type (its type is not read, nothing is mounted): through the link such a
 * source is planned as the device it names. `mountkit mount -n` keeps reporting it, a dry run
 * being a check.
 */
export function fakeOptions(dialect: Dialect): Pick<OpsOptions, "nonImageSourceAsDevice"> {
  return dialect === "mount(8)" ? { nonImageSourceAsDevice: true } : {};
}

/** mount(8): -w is an explicit read-write request, which a -r after it cancels. */
export function readWriteOnly(args: Pick<ParsedArgs, "sequence">): Pick<OpsOptions, "readWriteOnly"> {
  // from the end by hand: every mount asks, and findLast's first use costs start-up time (docs/bench.md)
  for (let i = args.sequence.length - 1; i >= 0; i--) {
    const flag = args.sequence[i]![0];
    if (flag === "read-write") return { readWriteOnly: true };
    if (flag === "read-only") return {};
  }
  return {};
}

/**
 * mount(8) runs mount.TYPE helpers unless -i; -s and -n go to them, -c gives them the paths as
 * typed. Their stdin, stdout and stderr are the command's own, as mount(8)'s helpers' are, but
 * with --json, whose stdout is the JSON result: their stdout goes to stderr then.
 */
export function helperChoice(args: ParsedArgs): Pick<OpsOptions, "externalHelpers" | "sloppy" | "noMtab" | "noCanonicalize" | "helperStdio"> {
  return {
    externalHelpers: !has(args, "internal-only"),
    ...(has(args, "sloppy") ? { sloppy: true } : {}),
    ...(has(args, "no-mtab") ? { noMtab: true } : {}),
    ...(has(args, "no-canonicalize") ? { noCanonicalize: true } : {}),
    helperStdio: has(args, "json") ? "stdout-to-stderr" : "inherit",
  };
}

/** One mount the command makes: planned for --dry-run, or run. */
export interface SingleMount {
  plan(options: OpsOptions): { plan: Plan; target: string };
  run(options: OpsOptions): { plan: Plan; target: string };
}

/**
 * root: the --target-prefix the target was resolved in, which the mount stays inside; given: what
 * the request adds to the command's options (a remount's remountReplaces)
 */
export function directMount(m: Mount, { root, target }: { root: string | undefined; target: string }, given: OpsOptions = {}): SingleMount {
  return {
    plan: (options) => ({ plan: planOnly(m, target, { ...options, ...given }), target }),
    run: (options) => ({ plan: mountMakingTarget(m, target, root === undefined ? { ...options, ...given } : { ...options, ...given, targetRoot: root }), target }),
  };
}

/** target inside --target-prefix DIR when one is given (resolved there, as in a root) */
export function placedIn(targetPrefix: string | undefined, target: string): { root: string | undefined; target: string } {
  return targetPrefix === undefined ? { root: undefined, target } : placeInPrefix(targetPrefix, target);
}

/** mount(8)'s -o remount SOURCE TARGET: "all old mount options are replaced" (mount(8), remount) */
const REMOUNT_REPLACES: OpsOptions = Object.freeze({ remountReplaces: true });

/** What one operand names (plan/fstab.ts; a type import, which loads nothing of the fstab code). */
type FstabOperandRole = import("../../plan/fstab.ts").FstabOperandRole;

type Request =
  /** replaces: a remount with SOURCE and TARGET, which keeps none of the mount's flags */
  | { readonly kind: "direct"; readonly m: Mount; readonly target: string; readonly replaces?: boolean }
  /** -o remount X: X's fstab line, else the mount X names (commands/fstab.ts remountMount) */
  | { readonly kind: "remount"; readonly operand: string; readonly by: FstabOperandRole; readonly options: readonly string[]; readonly readsFstab: boolean }
  /** one operand, a mount point or source to find in the fstab; -t and the options override it */
  | {
      readonly kind: "fstab";
      /** SOURCE and TARGET with --options-source-force: the line with both */
      readonly operand: string | { readonly source: string; readonly target: string };
      readonly type: string | undefined;
      readonly options: readonly string[];
    };

/**
 * The options the command line gives: -o's, -r's ro, -w's rw and --make-*'s propagation words in
 * the order given (mount(8) appends each where it stands, so the last wins: -w -o ro is
 * read-only, -o ro -w read-write; --make-slave --make-shared is a slave that is shared, the
 * other way round a slave), then those the other flags stand for (--bind, -m).
 */
export function commandLineOptions(args: Pick<ParsedArgs, "flags" | "sequence">): string[] {
  const { flags } = args;
  const options = modeOptions(args);
  // a loop, not filter: every mount asks, and an array method's first use costs start-up time (docs/bench.md)
  const operations: ("bind" | "rbind" | "move")[] = [];
  for (const operation of ["bind", "rbind", "move"] as const) if (flags.has(operation)) operations.push(operation);
  // mount(8): "mutually exclusive arguments" (before, --bind --rbind was an rbind without a word)
  if (operations.length > 1) throw new UsageError(`mount: --${operations.join(", --")} exclude each other: give one`);
  if (operations[0] !== undefined) refuseIgnoredWith(operations[0], flags);
  if (flags.has("rbind")) options.push("rbind");
  else if (flags.has("bind")) options.push("bind");
  if (flags.has("move")) options.push("move");
  const mkdirMode = flags.get("mkdir")?.at(-1);
  if (mkdirMode !== undefined) options.push(mkdirMode === "" ? "X-mount.mkdir" : `X-mount.mkdir=${mkdirMode}`);
  const idmap = idmapOption(flags.get("map-users") ?? [], flags.get("map-groups") ?? []);
  if (idmap !== undefined) options.push(idmap);
  return options;
}

/**
 * mount(8) refuses --bind, --rbind and --move with -t, -L or -U ("bad usage"): what they mount
 * keeps its source's filesystem, so the type, or the device to look for, would be ignored
 * (mountkit took `--bind -t tmpfs a b` as a bind of a, silently). `-t none` names no filesystem
 * and --source only names the source, so both go through.
 */
function refuseIgnoredWith(operation: "bind" | "rbind" | "move", flags: ReadonlyMap<string, readonly string[]>): void {
  const type = flags.get("types")?.at(-1);
  // (an empty -t is refused as such, later)
  const ignored = type && type !== "none" ? `-t ${type}` : flags.has("label") ? "-L" : flags.has("uuid") ? "-U" : undefined;
  if (ignored === undefined) return;
  const what = operation === "move" ? "a moved mount keeps its filesystem" : "a bind mount has its source's filesystem";
  throw new UsageError(`mount: --${operation} does not go with ${ignored}: ${what}`, { hint: "give the source as a path, without -t, -L or -U" });
}

const PROPAGATION_WORDS: ReadonlyMap<string, string> = new Map(PROPAGATION_FLAGS);

/** -o's options, -r's ro, -w's rw and --make-*'s words, in command-line order. */
function modeOptions(args: Pick<ParsedArgs, "sequence">): string[] {
  const options: string[] = [];
  for (const [flag, value] of args.sequence) {
    // quotes kept: the planner reads an entry as containerd's Mount.options, quotes and all
    if (flag === "options") options.push(...splitOptionString(value));
    else if (flag === "read-only") options.push("ro");
    else if (flag === "read-write") options.push("rw");
    else if (PROPAGATION_WORDS.has(flag)) options.push(PROPAGATION_WORDS.get(flag)!);
  }
  return options;
}

/**
 * --map-users and --map-groups as mount(8) (2.39) turns them into X-mount.idmap=: each mapping
 * with its u: or g: prefix, blank-separated; or one user namespace file (to either flag) for
 * both, given alone. A value may hold several mappings, separated by blanks or commas; a leading
 * "=" is dropped, as mount(8) drops it (--map-users==/proc/1/ns/user).
 */
export function idmapOption(users: readonly string[], groups: readonly string[]): string | undefined {
  // every mount asks: none given is answered before any array method runs (see propagationFlagSpecs)
  if (users.length === 0 && groups.length === 0) return undefined;
  const strip = (v: string) => (v.startsWith("=") ? v.slice(1) : v);
  const maps = [...users.map((v) => ["u", strip(v)] as const), ...groups.map((v) => ["g", strip(v)] as const)];
  if (maps.length === 0) return undefined;
  const files = maps.filter(([, v]) => v.startsWith("/"));
  if (files.length > 0) {
    if (maps.length > 1) throw new UsageError("mount: a user namespace file maps users and groups: give it once, without other --map-users or --map-groups");
    return `X-mount.idmap=${files[0]![1]}`;
  }
  // each mapping its prefix: a value with several (blank- or, as containerd writes them,
  // comma-separated) must not leave the later ones unprefixed, which would map both kinds
  const entries = maps.flatMap(([kind, v]) => v.split(/[\s,]+/).filter((m) => m !== "").map((m) => `${kind}:${m}`));
  if (entries.length === 0) throw new UsageError("mount: --map-users/--map-groups: empty mapping");
  return `X-mount.idmap=${entries.join(" ")}`;
}

function requestFrom(args: ParsedArgs): Request {
  const { flags } = args;
  let { operands } = args;
  const options = commandLineOptions(args);

  const typeValues = flags.get("types");
  const given = typeValues?.[typeValues.length - 1] ?? "";
  // mount(8) asks the kernel for type "" (ENODEV, exit 32)
  if (typeValues && given === "") throw new MountWouldFailError("mount: empty filesystem type given with -t");
  // -t none names no filesystem (none is called so): a bind with it, else the device's type is
  // read from its superblock, as mount(8) and an fstab line's "none" take it
  const type = given === "none" || isExcludingPattern(given) ? "" : given;
  // -t noTYPES names the types it may not be: the superblock's type, unless the list excludes it
  if (isExcludingPattern(given)) options.push(quoteDataItem(`X-mount.auto-fstypes=${given}`));

  const named = explicitOperands(operands, flags);
  operands = named.operands;
  const remount = options.includes("remount");
  const fstab = readsFstab(flags);
  if (operands.length === 1 && remount) return { kind: "remount", operand: operands[0]!, by: named.by, options, readsFstab: fstab };
  let propagationFlags = false;
  for (const [long] of PROPAGATION_FLAGS) propagationFlags ||= flags.has(long);
  if (operands.length === 1 && propagationFlags && !isTypeUnknown(type)) {
    // mount(8): `mount -t tmpfs --make-shared /x` mounts a new tmpfs (source none) on /x and
    // makes it shared; only with no type is --make-* on one operand a change of the mount there
    return { kind: "direct", m: { type, source: "", options }, target: operands[0]! };
  }
  if (operands.length === 1 && propagationFlags) {
    const { mountPointToChange } = require("../../ops/remount-operand.ts") as typeof import("../../ops/remount-operand.ts");
    return { kind: "direct", m: { type: "", source: "", options }, target: mountPointToChange(operands[0]!) };
  }
  if (operands.length === 1 && flags.has("move")) throw new UsageError("mount: --move needs the mount point to move and where to (SOURCE TARGET)");
  if (operands.length === 1) {
    if (!fstab) throw new UsageError(`mount ${quotePath(operands[0]!)}: --options-source ${flags.get("options-source")!.at(-1)} reads no fstab, so one operand names nothing to mount`, { hint: "give SOURCE and TARGET" });
    return { kind: "fstab", operand: operands[0]!, type: typeValues ? type : undefined, options };
  }
  if (operands.length === 0) {
    throw new UsageError("mount: missing SOURCE and TARGET operands", { hint: "usage: mountkit mount [-t TYPE] [-o OPTS] SOURCE TARGET" });
  }
  if (operands.length > 2) throw new UsageError(`mount: too many operands: ${operandsText(operands.slice(2))}`);
  if (fstab && flags.has("options-source-force")) {
    return { kind: "fstab", operand: { source: operands[0]!, target: operands[1]! }, type: typeValues ? type : undefined, options };
  }
  // mount(8) reads neither fstab nor the mount table for a remount with both: -o's are all it gets
  return { kind: "direct", m: { type, source: operands[0]!, options }, target: operands[1]!, replaces: remount };
}

/**
 * mount(8)'s -t noTYPES (libmount's pattern: "no" negates the whole list, `noext4,xfs` is
 * neither): any type but those. "none" is the name of no filesystem, not "ne" excluded.
 */
function isExcludingPattern(types: string): boolean {
  return types.startsWith("no") && types !== "none";
}

/** --options-source LIST (fstab, mtab, disable; fstab,mtab by default): whether the fstab is read. */
function readsFstab(flags: ReadonlyMap<string, readonly string[]>): boolean {
  const list = flags.get("options-source")?.at(-1);
  if (list === undefined) return true;
  const sources = list.split(",");
  const unknown = sources.filter((s) => s !== "fstab" && s !== "mtab" && s !== "disable");
  if (unknown.length > 0 || list === "") throw new UsageError(`mount: --options-source ${JSON.stringify(list)}: not a list of fstab, mtab and disable`);
  return sources.includes("fstab") && !sources.includes("disable");
}

/**
 * The operands with mount(8)'s named ones in place: -L x and -U x are the source LABEL=x and
 * UUID=x, --source and --target name either side; the remaining operand fills the other. by:
 * what a lone operand that came from one of them is ("either" for a plain one), as libmount
 * looks it up (its swapmatch off: a --target is never taken for a source, nor the other way).
 */
function explicitOperands(operands: readonly string[], flags: ReadonlyMap<string, readonly string[]>): { operands: readonly string[]; by: FstabOperandRole } {
  const lastOf = (name: string) => flags.get(name)?.at(-1);
  const named = [["label", "LABEL="], ["uuid", "UUID="], ["source", ""]] as const;
  const sources: string[] = [];
  for (const [name, prefix] of named) if (flags.has(name)) sources.push(`${prefix}${lastOf(name)}`);
  if (sources.length > 1) throw new UsageError("mount: give the source once: -L, -U and --source exclude each other");
  const source = sources[0];
  const target = lastOf("target");
  if (source === undefined && target === undefined) return { operands, by: "either" };
  const expected = Number(source === undefined) + Number(target === undefined);
  if (operands.length > expected) throw new UsageError(`mount: too many operands with ${source === undefined ? "--target" : "the source named"}: ${operands.join(" ")}`);
  if (source !== undefined && target !== undefined) return { operands: [source, target], by: "either" };
  // one side named: the operand, if any, is the other (none: the fstab line for the one named)
  if (source !== undefined) return operands.length === 0 ? { operands: [source], by: "source" } : { operands: [source, operands[0]!], by: "either" };
  return operands.length === 0 ? { operands: [target!], by: "target" } : { operands: [operands[0]!, target!], by: "either" };
}

/**
 * The flags that go with the list of mounts (`mount`, `mount -t TYPES`, `mount -l`), and those
 * mount(8) takes there and has nothing to do with (`mount -v`, `mount -O x`): no options, no
 * operation, no source or target.
 */
const LIST_FLAGS: ReadonlySet<string> = new Set([
  "types", "namespace", "show-labels",
  "verbose", "dry-run", "internal-only", "sloppy", "no-mtab", "no-canonicalize", "fork", "test-opts", "target-prefix",
]);

/** `mount` with no arguments: the mount table, as mount(8) prints it; `-t TYPES` keeps those types (a "no" prefix excludes). */
function listMounts(io: Io, types: string | undefined, labels: boolean): ExitCode {
  let mounts = readMountInfo();
  if (types !== undefined) {
    const { matchFstype } = require("../../plan/fstab.ts") as typeof import("../../plan/fstab.ts");
    mounts = mounts.filter((m) => matchFstype(m.fstype, types));
  }
  const labelOf = labels ? (require("../../ops/block-devices.ts") as typeof import("../../ops/block-devices.ts")).deviceLabel : undefined;
  const lines = mounts.map((m) => {
    const label = labelOf !== undefined && m.source.startsWith("/dev/") ? labelOf(m.source) : undefined;
    // as mount(8): the source as it is, the mount point with each control character as "?"
    const target = m.mountpoint.replace(/[\x00-\x1f\x7f]/g, "?");
    return `${shownSource(m.source)} on ${target} type ${m.fstype} (${m.options}${superOptionsTail(m.superOptions)})${label ? ` [${label}]` : ""}\n`;
  });
  io.out(lines.join(""));
  return ExitCode.ok;
}

/**
 * A source as mount(8) lists it (libmount's mnt_pretty_path): a loop device that goes away with
 * its mount (autoclear, as -o loop makes them) is shown as its backing file.
 */
function shownSource(source: string): string {
  if (!isLoopDevice(source)) return source;
  // without sysfs (a minimal host), LOOP_GET_STATUS64's name for it, as mount(8) shows then
  const loop = attachedLoopDevice(source);
  return loop?.autoclear ? loop.backingFile : source;
}

/** Super options without the rw/ro that the per-mount options already show. */
function superOptionsTail(superOptions: string): string {
  const rest = superOptions.split(",").filter((o) => o !== "rw" && o !== "ro" && o !== "");
  return rest.length ? `,${rest.join(",")}` : "";
}

