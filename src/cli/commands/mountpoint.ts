/**
 * mountkit mountpoint: util-linux mountpoint(1)'s question, "is PATH a mount point?", its
 * output and exit codes (0 it is, 32 it is not, 1 bad usage or PATH not stat()able); -d the
 * filesystem's MAJ:MIN, -x a block device's. A link named mountpoint runs it.
 */
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { mountOfMountPoint, mountPointAt, type MountPointAnswer } from "../../ops/mount-point.ts";
import { statxMountRoot } from "../../sys/stat.ts";
import { VERSION } from "../../version.ts";
import { flagGiven, formatHelp, has, operandsText, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.ts";
import { errorJson, errorLine, messageLine, printResult, reportError, type Io } from "../output.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "quiet", short: "q", help: "print nothing (but -d's MAJ:MIN): the exit code answers" },
  { long: "nofollow", help: "a symlink at PATH is not followed: it is no mount point" },
  { long: "fs-devno", short: "d", help: "print the MAJ:MIN of the filesystem mounted at PATH (its mount table entry's) instead" },
  { long: "devno", short: "x", help: "print the MAJ:MIN of the block device PATH (exit 32 when it is none)" },
  { long: "json", help: "print the answer as JSON" },
  { long: "help", short: "h", help: "show this help" },
  { long: "version", short: "V", help: "print mountkit's version" },
];

const USAGE = "mountkit mountpoint [-q] [--nofollow] [-d] [--json] PATH\n       mountkit mountpoint -x [-q] [--json] DEVICE";

const SUMMARY = `Say whether PATH is a mount point: the root of a mount (a directory mounted on, a directory
or file bound there, /), as the kernel reaches PATH; as util-linux mountpoint(1). Exit 0 when
it is, 32 when it is not (or -x's DEVICE is no block device), 1 on bad usage or a PATH that
cannot be stat()ed.`;

/** How the command was invoked: as `mountkit mountpoint`, or through a link named mountpoint (its --help names it so). */
export type MountpointName = "mountkit" | "mountpoint(1)";

/** mountpoint(1)'s "not a mountpoint", and -x's "not a block device": an answer, not a failure */
const NOT = 32;

export function mountpointCommand(argv: readonly string[], io: Io, name: MountpointName = "mountkit"): number {
  const json = flagGiven(argv, FLAGS, "json");
  let request: Request;
  try {
    const args = parseArgs("mountpoint", argv, FLAGS);
    const usage = name === "mountkit" ? USAGE : USAGE.replaceAll("mountkit mountpoint", "mountpoint");
    if (has(args, "help")) {
      io.out(formatHelp(usage, SUMMARY, FLAGS));
      return ExitCode.ok;
    }
    if (has(args, "version")) {
      io.out(`mountkit ${VERSION}\n`);
      return ExitCode.ok;
    }
    request = requestOf(args, usage);
  } catch (err) {
    return reportError(io, err, json);
  }
  const { path, quiet } = request;
  try {
    if (request.devno) return blockDeviceNumber(io, path, quiet, json);
    return mountPointAnswer(io, request, json);
  } catch (err) {
    return failed(io, err instanceof SyscallError ? err.withAction(`mountpoint: ${quotePath(path)}`) : err, quiet, json);
  }
}

/** What the command line asks. */
interface Request {
  readonly path: string;
  readonly quiet: boolean;
  /** -x */
  readonly devno: boolean;
  /** -d */
  readonly fsDevno: boolean;
  /** not --nofollow */
  readonly follow: boolean;
}

/** The command line's request: one PATH, and -x without --nofollow, or bad usage (exit 1). */
function requestOf(args: ParsedArgs, usage: string): Request {
  if (args.operands.length !== 1) {
    const got = args.operands.length === 0 ? "none" : `${args.operands.length}: ${operandsText(args.operands)}`;
    throw new UsageError(`mountpoint: bad usage: expected one PATH, got ${got}`, { hint: `see '${usage.slice(0, usage.indexOf(" ["))} --help'` });
  }
  const request = { path: args.operands[0]!, quiet: has(args, "quiet"), devno: has(args, "devno"), fsDevno: has(args, "fs-devno"), follow: !has(args, "nofollow") };
  if (request.devno && !request.follow) throw new UsageError("mountpoint: --devno and --nofollow are mutually exclusive");
  return request;
}

/** -x: the MAJ:MIN of the block device PATH names (links followed), as mountpoint -x prints it. */
function blockDeviceNumber(io: Io, path: string, quiet: boolean, json: boolean): number {
  const status = statxMountRoot(path, true);
  const block = status.type === "block";
  const code = block ? ExitCode.ok : NOT;
  if (json) printResult(io, code, { path, blockDevice: block, ...(block ? { devno: status.rdev } : {}) });
  else if (block) io.out(`${status.rdev}\n`);
  if (!block && !quiet) io.err(messageLine(`mountpoint: ${quotePath(path)}: not a block device`));
  return code;
}

/** PATH is, or is not, a mount point; with -d the filesystem's MAJ:MIN (printed with -q too, as mountpoint -qd does). */
function mountPointAnswer(io: Io, { path, quiet, fsDevno, follow }: Request, json: boolean): number {
  const answer = mountPointAt(path, { follow });
  const code = answer.mountPoint ? ExitCode.ok : NOT;
  // util-linux prints mountinfo's MAJ:MIN of the mount there; statx's device where the table
  // does not list it (a mount outside this process's root)
  const device = answer.mountPoint && fsDevno ? (mountDevice(answer) ?? answer.status.dev) : undefined;
  if (json) printResult(io, code, { path, mountpoint: answer.mountPoint, ...(device !== undefined ? { fsDevno: device } : {}) });
  else if (device !== undefined) io.out(`${device}\n`);
  else if (!quiet) io.out(`${path} ${answer.mountPoint ? "is" : "is not"} a mountpoint\n`);
  return code;
}

/** The MAJ:MIN the mount table gives the mount at a mount point, if it lists it. */
function mountDevice(answer: MountPointAnswer): string | undefined {
  const mount = mountOfMountPoint(answer);
  return mount === undefined ? undefined : `${mount.major}:${mount.minor}`;
}

/**
 * A PATH that cannot be stat()ed, or a table that cannot be read: exit 1, as mountpoint(1)
 * exits for any error; -q keeps stderr quiet (a --json document still says it).
 */
function failed(io: Io, err: unknown, quiet: boolean, json: boolean): number {
  if (!(err instanceof SyscallError || err instanceof PlanError)) throw err;
  if (!quiet) io.err(errorLine(err));
  if (json) printResult(io, ExitCode.usage, { error: errorJson(err) });
  return ExitCode.usage;
}
