/**
 * mountkit findmnt: the mount table, or the mount holding PATH, or the mounts on a mount
 * point (-M) or of a source (-S, or an operand that is a block device or a source name), in
 * findmnt's formats.
 */
import { normalize, resolve } from "../../path.ts";
import { Errno } from "../../errno.ts";
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { DEFAULT_COLUMNS, FINDMNT_COLUMNS, findmntJsonText, findmntJsonTreeText, parseColumns, rowsPairs, rowsTable, type Columns } from "../../mountinfo/findmnt.ts";
import { DF_COLUMNS, isPseudoFilesystem, shownByDf, SPACE_COLUMN_NAMES, spaceColumns } from "../../mountinfo/findmnt-space.ts";
import { spaceAtPaths } from "../../ops/filesystem-space.ts";
import { ASCII_TREE, flattenForest, submountForest, treePrefixes, uniqueTargets, UTF8_TREE } from "../../mountinfo/findmnt-tree.ts";
import { utf8Locale } from "../locale.ts";
import { lookupMount } from "../../mountinfo/lookup.ts";
import { matchFstype, matchOptions } from "../../plan/fstab.ts";
import { MountInfoParseError } from "../../mountinfo/parse.ts";
import { readMountInfo, readMountInfoFile } from "../../mountinfo/read.ts";
import { existingRealpath, realpath } from "../../sys/realpath.ts";
import { deviceTagOf } from "../../plan/device-tag.ts";
import { fileType } from "../../sys/stat.ts";
import { deviceOfTag } from "../../ops/block-devices.ts";
import type { MountInfo } from "../../mountinfo/types.ts";
import { formatHelp, has, last, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from "../args.ts";
import { reportError, type Io } from "../output.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "json", short: "J", help: "JSON with findmnt's field names" },
  { long: "mountinfo", value: "FILE", help: "read a saved mountinfo table instead of this process's" },
  { long: "task", short: "N", value: "TID", help: "the mount table of that task's namespace (/proc/TID/mountinfo), as findmnt -N" },
  { long: "types", short: "t", value: "TYPES", help: "only these filesystem types (comma-separated; a leading no: all but these)" },
  { long: "output", short: "o", value: "COLUMNS", help: `columns to print (${[...Object.keys(FINDMNT_COLUMNS), ...SPACE_COLUMN_NAMES].join(",")}); +COLUMNS adds to the default ones` },
  { long: "noheadings", short: "n", help: "leave out the header line" },
  { long: "raw", short: "r", help: "raw output: one space between cells, blanks escaped (\\x20)" },
  { long: "list", short: "l", help: "a list, not a tree (mountkit prints a tree only for -R)" },
  { long: "pairs", short: "P", help: "NAME=\"value\" pairs, one line per mount (characters a shell would expand as \\xHH)" },
  { long: "shell", short: "y", help: "with -P: column names usable as shell variables (MAJ:MIN as MAJ_MIN)" },
  { long: "submounts", short: "R", help: "each mount found and every mount below it, as a tree (TARGET drawn as one; with -l, -r, -P a list)" },
  { long: "options", short: "O", value: "LIST", help: "only mounts whose options match LIST (mount -O syntax: noX for X absent)" },
  { long: "uniq", short: "U", help: "leave out over-mounted mounts (a later mount has the same target)" },
  { long: "df", short: "D", help: "as df(1): columns SOURCE,FSTYPE,SIZE,USED,AVAIL,USE%,TARGET; pseudo filesystems left out (tmpfs kept)" },
  { long: "all", short: "A", help: "with -D: pseudo filesystems too" },
  { long: "bytes", short: "b", help: "SIZE, USED and AVAIL in bytes (numbers in JSON), not as 1.5G" },
  { long: "real", help: "only real filesystems (not proc, sysfs, tmpfs, overlay, ...)" },
  { long: "pseudo", help: "only pseudo filesystems (proc, sysfs, tmpfs, overlay, ...)" },
  { long: "kernel", short: "k", help: "accepted: mountkit always reads the kernel's table" },
  { long: "mtab", short: "m", help: "accepted: the kernel's table is mountkit's only one" },
  { long: "notruncate", short: "u", help: "accepted: mountkit never truncates a cell" },
  { long: "mountpoint", short: "M", value: "PATH", help: "the mounts on exactly this mount point (stacked ones too); exit 1 when none" },
  { long: "source", short: "S", value: "SPEC", help: "the mounts of this source (a device, UUID=, LABEL=, or a name such as tmpfs); exit 1 when none" },
  { long: "target", short: "T", value: "PATH", help: "the mount holding PATH, as a PATH operand" },
  { long: "first-only", short: "f", help: "print the first mount found only" },
  { long: "fstab", short: "s", help: "the fstab's lines instead of the mounts (SOURCE as written: UUID=...)" },
  { long: "evaluate", short: "e", help: "with --fstab: a LABEL=/UUID=/PART... source as the device it names (empty when none does)" },
  { long: "verify", short: "x", help: "check the fstab instead: targets, sources, types, options, order (errors exit 1)" },
  { long: "tab-file", short: "F", value: "FILE", help: "with --fstab or --verify: FILE instead of /etc/fstab (a directory: its *.fstab files); repeat for more" },
  { long: "verbose", short: "v", help: "with --verify: every line, with what was found right" },
  { long: "helper-dir", value: "DIR", help: "with --verify: look mount.TYPE helpers up only in DIR" },
  { long: "help", short: "h", help: "show this help" },
];

export function findmntCommand(argv: readonly string[], io: Io): ExitCode {
  // a guess for reporting a bad command line; the parsed flags decide (-J clusters: -Jno SOURCE)
  let json = argv.includes("--json") || argv.includes("-J");
  try {
    const args = parseArgs("findmnt", argv, FLAGS);
    json = has(args, "json");
    if (has(args, "help")) {
      io.out(formatHelp("mountkit findmnt [--json|-P [-y]|-r] [-o COLUMNS] [-D [-A]] [-b] [-n] [-f] [-R] [-U] [--mountinfo FILE|-N TID|-s [-F FSTAB]... [-e]] [-t TYPES] [-O OPTS] [--real|--pseudo] [-M PATH] [-S SPEC] [[-T] PATH]\n       mountkit findmnt --verify [-F FSTAB]... [-t TYPES] [-v] [--json]", "List mounts, or show the mount that holds PATH; or check an fstab.", FLAGS));
      return ExitCode.ok;
    }
    // the fstab checks load only for --verify
    if (has(args, "verify")) return (require("./findmnt-verify.ts") as typeof import("./findmnt-verify.ts")).verifyCommand(args, io, json);
    const target = last(args, "target");
    if (args.operands.length + (target === undefined ? 0 : 1) > 1) throw new UsageError("findmnt: give at most one PATH");
    const format = (["json", "pairs", "raw", "list"] as const).filter((f) => has(args, f) || (f === "json" && json));
    if (has(args, "pairs") && format.length > 1) throw new UsageError(`findmnt: mutually exclusive arguments: ${format.map((f) => `--${f}`).join(" ")}`);
    const tables = (["task", "kernel", "mtab", "fstab", "mountinfo"] as const).filter((f) => has(args, f));
    if (tables.length > 1) throw new UsageError(`findmnt: mutually exclusive arguments: ${tables.map((f) => `--${f}`).join(" ")}`);
    if (has(args, "tab-file") && !has(args, "fstab")) throw new UsageError("findmnt: --tab-file needs --fstab or --verify (a saved mount table: --mountinfo FILE)");
    const df = has(args, "df");
    const output = last(args, "output");
    const columns = output === undefined ? (df ? DF_COLUMNS : undefined) : outputColumns(output, df);
    const kinds = filesystemKinds(args);
    // the fstab listing loads only for --fstab
    if (has(args, "fstab")) return (require("./findmnt-fstab.ts") as typeof import("./findmnt-fstab.ts")).fstabListing(args, io, json, columns, target ?? args.operands[0], kinds);
    const task = last(args, "task");
    if (task !== undefined && !/^\d+$/.test(task)) throw new UsageError(`findmnt: --task needs a thread or process id, got ${JSON.stringify(task)}`);
    const file = task === undefined ? last(args, "mountinfo") : `/proc/${task}/mountinfo`;
    let table = file === undefined ? readMountInfo() : readSavedTable(file);
    if (has(args, "uniq")) table = uniqueTargets(table);
    const types = last(args, "types");
    const options = last(args, "options");
    const wanted = (m: MountInfo) =>
      (!types || matchFstype(m.fstype, types)) && // "nonfs,tmpfs", "noproc": as findmnt -t
      (options === undefined || matchOptions([...m.options.split(","), ...m.superOptions.split(",")], options)) &&
      kinds(m.fstype);
    let mounts = table.filter(wanted);

    // A saved table, or another namespace's, describes another tree: its paths are taken as written.
    const inTable = (path: string) => (file === undefined ? resolveExisting(path) : normalize(resolve("/", path)));
    // An operand naming a source (a block device, a name no path has) is -S's; -T always a PATH.
    const operandSource = target === undefined && args.operands[0] !== undefined ? sourceOperand(args.operands[0], table, file === undefined) : undefined;
    const path = operandSource === undefined ? (target ?? args.operands[0]) : undefined;
    if (path !== undefined) {
      // the mount that holds PATH, if it is of the kinds asked for (as findmnt -T: not a lower mount that is)
      const holder = lookupMount(table, inTable(path));
      mounts = holder && wanted(holder) ? [holder] : [];
    }
    if (operandSource !== undefined) mounts = mounts.filter(operandSource);
    // -M and -S select as findmnt does: every match.
    const mountpoint = last(args, "mountpoint");
    if (mountpoint !== undefined) {
      const at = file === undefined ? existingRealpath(mountpoint) : inTable(mountpoint);
      mounts = at === undefined ? [] : mounts.filter((m) => m.mountpoint === at);
    }
    const source = last(args, "source");
    if (source !== undefined) mounts = mounts.filter(sourceFilter(source, file === undefined));
    if (has(args, "first-only")) mounts = mounts.slice(0, 1);
    // As findmnt: a search that finds nothing (a PATH no mount of those -t/-O holds) prints nothing and exits 1.
    if ((path !== undefined || operandSource !== undefined || mountpoint !== undefined || source !== undefined) && mounts.length === 0) return ExitCode.usage;
    if (mounts.length === 0) return nothingListed(args, io, json);
    // -R: what was found and everything below it; drawn as a tree in the TARGET column, as findmnt does
    const forest = has(args, "submounts") ? submountForest(table, mounts) : undefined;
    if (forest) mounts = flattenForest(forest);
    // -D is a list, as df is
    const tree = forest !== undefined && !df && !has(args, "list") && !has(args, "raw") && (columns === undefined || columns.includes("TARGET"));
    const specs = columns?.some((c) => SPACE_COLUMN_NAMES.includes(c)) ? { ...FINDMNT_COLUMNS, ...mountSpaceColumns(has(args, "bytes")) } : FINDMNT_COLUMNS;
    const shown = columns ?? DEFAULT_COLUMNS;
    if (json) io.out(tree ? findmntJsonTreeText(forest!, columns, specs) : findmntJsonText(mounts, columns, specs)); // libsmartcols' bytes, as findmnt -J prints them
    else if (has(args, "pairs")) io.out(rowsPairs(mounts, shown, specs, { shell: has(args, "shell") }));
    else {
      const utf8 = utf8Locale();
      const table = { headings: !has(args, "noheadings"), raw: has(args, "raw"), asciiOnly: !utf8 };
      io.out(rowsTable(mounts, shown, specs, tree ? { ...table, treePrefixes: treePrefixes(forest!, utf8 ? UTF8_TREE : ASCII_TREE) } : table));
    }
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}

/**
 * -S SPEC: a mount whose source is SPEC as written; for a UUID=/LABEL=/PART... tag (or its
 * /dev/disk link) in this system's table, the source of the device it names.
 */
function sourceFilter(spec: string, live: boolean): (m: MountInfo) => boolean {
  const tag = live ? deviceTagOf(spec) : undefined;
  const device = tag === undefined ? undefined : deviceOfTag(tag);
  return (m) => m.source === spec || (device !== undefined && m.source === device);
}

/**
 * The operand as findmnt takes it when it names a source: a block device (every mount of it,
 * also by its canonical name: a /dev/disk link), or, with no such path, a name some mount has as
 * its source (srv:/exp, tmpfs, UUID=...); in a saved table, a source it holds. undefined: a PATH,
 * whose holder is wanted (findmnt looks a source up first even for an existing path; a
 * directory named like a tmpfs's source stays a PATH here).
 */
function sourceOperand(operand: string, table: readonly MountInfo[], live: boolean): ((m: MountInfo) => boolean) | undefined {
  const bySource = sourceFilter(operand, live);
  if (!live) return table.some(bySource) ? bySource : undefined;
  const type = fileType(operand);
  if (type === "block") {
    const canonical = existingRealpath(operand);
    return (m) => bySource(m) || m.source === canonical;
  }
  return type === undefined && table.some(bySource) ? bySource : undefined;
}

/**
 * The whole table filtered to nothing (-t, -O, -D, --real, --pseudo). findmnt's exit status
 * then depends on the format it would draw: 1 for a list (-l, -r, -P, -D, -f), 0 for its
 * default tree, whose -J is an empty array. mountkit prints a list where findmnt draws a
 * tree, but answers as findmnt does for the same command line, so scripts' tests hold.
 */
function nothingListed(args: ParsedArgs, io: Io, json: boolean): ExitCode {
  if ((["list", "raw", "pairs", "df", "first-only"] as const).some((f) => has(args, f))) return ExitCode.usage;
  if (json) io.out('{\n   "filesystems": [\n\n   ]\n}\n');
  return ExitCode.ok;
}

/** -o's columns ("+" adds to -D's with -D); an unknown one is bad usage. */
function outputColumns(list: string, df: boolean): string[] {
  try {
    return parseColumns(list, df ? DF_COLUMNS : DEFAULT_COLUMNS, SPACE_COLUMN_NAMES);
  } catch (err) {
    throw new UsageError(`findmnt: ${(err as Error).message}`);
  }
}

/**
 * The filesystem types -D (unless -A), --real and --pseudo keep, as findmnt: -D keeps real
 * filesystems and tmpfs, --real real ones only, --pseudo the rest.
 */
function filesystemKinds(args: ParsedArgs): (fstype: string) => boolean {
  const df = has(args, "df") && !has(args, "all");
  const real = has(args, "real");
  const pseudo = has(args, "pseudo");
  if (real && pseudo) throw new UsageError("findmnt: mutually exclusive arguments: --pseudo --real");
  return (fstype) => (!df || shownByDf(fstype)) && (!real || !isPseudoFilesystem(fstype)) && (!pseudo || isPseudoFilesystem(fstype));
}

/** SIZE, USED, AVAIL, USE% of a mount: statfs(2) of its mount point (of the top of a stack there, as findmnt's statvfs). */
function mountSpaceColumns(bytes: boolean): Columns<MountInfo> {
  return spaceColumns(spaceAtPaths((m: MountInfo) => m.mountpoint), bytes);
}

/** A saved table that does not parse is bad input (exit 1), not a system error. */
function readSavedTable(file: string) {
  try {
    return readMountInfoFile(file);
  } catch (err) {
    if (err instanceof MountInfoParseError) throw new PlanError(`findmnt: ${file}: ${err.message}`, { cause: err });
    if (err instanceof SyscallError && err.errno === Errno.ENOENT) throw new PlanError(`findmnt: ${quotePath(file)}: no such file`);
    throw err;
  }
}

function resolveExisting(path: string): string {
  try {
    return realpath(path);
  } catch {
    throw new PlanError(`findmnt: ${quotePath(path)}: no such file or directory`);
  }
}
