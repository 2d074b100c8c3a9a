/**
 * mountkit findmnt: the mount table, or the mount holding PATH, or the mounts on a mount
 * point (-M) or of a source (-S, or an operand that is a block device or a source name), in
 * findmnt's formats.
 */
import { normalize, resolve } from "../../path.ts";
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import {
  ALL_COLUMNS,
  DEFAULT_COLUMNS,
  findmntColumns,
  parseColumns,
  POLL_COLUMNS,
  RECORD_COLUMNS,
  shellColumns,
  writeFindmntJson,
  writeFindmntJsonTree,
  writeRowsPairs,
  writeRowsTable,
  type Column,
  type Columns,
} from "../../mountinfo/findmnt.ts";
import { DEVICE_COLUMN_NAMES, deviceColumns } from "../../mountinfo/findmnt-devices.ts";
import { DF_COLUMNS, shownByDf, SPACE_COLUMN_NAMES, spaceColumns } from "../../mountinfo/findmnt-space.ts";
import { isPseudoFilesystem } from "../../mountinfo/filesystem-kinds.ts";
import { spaceAtPaths } from "../../ops/filesystem-space.ts";
import { ASCII_TREE, flattenForest, submountForest, treeContinuations, treePrefixes, uniqueTargets, UTF8_TREE } from "../../mountinfo/findmnt-tree.ts";
import { utf8Locale } from "../locale.ts";
import { lookupMount, mountOptionItems } from "../../mountinfo/lookup.ts";
import { matchFstype, matchOptions } from "../../plan/fstab.ts";
import { readMountInfo } from "../../mountinfo/read.ts";
import { parseMountInfoLenient } from "../../mountinfo/parse.ts";
import { tableFormatOf, type TableFormat } from "../../mountinfo/table-format.ts";
import { existingRealpath } from "../../sys/realpath.ts";
import { readTextFile } from "../../sys/file.ts";
import { deviceTagOf } from "../../plan/device-tag.ts";
import { fileType, statxMountId } from "../../sys/stat.ts";
import { canonicalPath, deviceOfTag, sourceDeviceReads } from "../../ops/block-devices.ts";
import type { MountInfo } from "../../mountinfo/types.ts";
import { flagGiven, formatHelp, has, last, parseArgs, UsageError, values, type ParsedArgs } from "../args.ts";
import { chunkedOutput, messageLine, reportError, type Io } from "../output.ts";
import { FINDMNT_FLAGS, refuseExclusiveFlags } from "./findmnt-flags.ts";

export function findmntCommand(argv: readonly string[], io: Io): ExitCode {
  // -J in a cluster too (-Jno SOURCE), and where the command line is refused
  const json = flagGiven(argv, FINDMNT_FLAGS, "json");
  try {
    const args = parseArgs("findmnt", argv, FINDMNT_FLAGS);
    refuseExclusiveFlags(args);
    if (has(args, "help")) {
      io.out(formatHelp(USAGE, "List mounts, or show the mount that holds PATH; or check an fstab.", FINDMNT_FLAGS));
      return ExitCode.ok;
    }
    if (has(args, "version")) {
      io.out(`mountkit ${VERSION}\n`);
      return ExitCode.ok;
    }
    // findmnt --poll waits for the table to change and prints each change: nothing here does that
    if (has(args, "poll")) throw new UsageError("findmnt: --poll is not supported: mountkit does not watch the mount table (util-linux findmnt --poll does)");
    // the fstab checks load only for --verify
    if (has(args, "verify")) return (require("./findmnt-verify.ts") as typeof import("./findmnt-verify.ts")).verifyCommand(args, io, json);
    const target = last(args, "target");
    const mountpoint = last(args, "mountpoint");
    const source = last(args, "source");
    // one operand: a PATH (or a source); two: a SOURCE and its TARGET, as findmnt's
    const [first, second] = args.operands;
    if (args.operands.length > 2) throw new UsageError("findmnt: give at most two operands: a SOURCE and a TARGET, or one PATH");
    if (first !== undefined && (target ?? mountpoint ?? source) !== undefined) {
      throw new UsageError("findmnt: options --target and --source can't be used together with command line element that is not an option");
    }
    const backward = backwardDirection(last(args, "direction"));
    const df = has(args, "df");
    const columns = outputColumns(last(args, "output"), df, has(args, "output-all"));
    const kinds = filesystemKinds(args);
    const tabFiles = values(args, "tab-file");
    // -F without -s: each file read once (a pipe, as -F /dev/stdin or <(cmd), has nothing left for
    // a second read); what they hold guessed from their text, as libmount guesses it
    const tabText = savedTexts(tabFiles);
    const savedTable = tabFiles.length > 0 && !has(args, "fstab") ? savedTableFormat(tabFiles, tabText) : undefined;
    // the fstab listing loads only for --fstab
    if (has(args, "fstab") || savedTable === "fstab") {
      const texts = savedTable === "fstab" ? tabFiles.map((file, i) => ({ file, text: tabText(i) })) : undefined;
      const selection = second === undefined ? { path: target ?? first, mountpoint, source } : { mountpoint: second, source: first };
      return (require("./findmnt-fstab.ts") as typeof import("./findmnt-fstab.ts")).fstabListing(args, io, json, columns, selection, kinds, backward, texts);
    }
    const task = last(args, "task");
    if (task !== undefined && !/^\d+$/.test(task)) throw new UsageError(`findmnt: --task needs a thread or process id, got ${JSON.stringify(task)}`);
    const files = task !== undefined ? [`/proc/${task}/mountinfo`] : savedTable === "mountinfo" ? tabFiles : values(args, "mountinfo").slice(-1);
    const saved = files.length > 0;
    const read = saved ? readSavedTables(files, io, files === tabFiles ? tabText : savedTexts(files)) : { mounts: readMountInfo(), taskOf: () => process.pid };
    let table = read.mounts;
    if (has(args, "uniq")) table = uniqueTargets(table);
    const types = last(args, "types");
    const options = last(args, "options");
    const wanted = (m: MountInfo) =>
      (!types || matchFstype(m.fstype, types)) && // "nonfs,tmpfs", "noproc": as findmnt -t
      (options === undefined || matchOptions(mountOptionItems(m), options)) &&
      kinds(m.fstype);
    let mounts = table.filter(wanted);

    // A saved table, or another namespace's, describes another tree: its paths are taken as written.
    const inTable = (path: string) => (saved ? normalize(resolve("/", path)) : existingRealpath(path));
    // An operand naming a source (a block device, MAJ:MIN, a name no path has) is -S's; -T always a PATH.
    const operandSource = second === undefined && first !== undefined ? sourceOperand(first, table, !saved) : undefined;
    const path = target ?? (second === undefined && operandSource === undefined ? first : undefined);
    if (path !== undefined) {
      // the mount that holds PATH, if it is of the kinds asked for (as findmnt -T: not a lower mount
      // that is); a PATH that does not exist is held by none, and findmnt says nothing of it
      const at = inTable(path);
      const holder = at !== undefined ? lookupMount(table, at) : saved ? undefined : holderByMountId(table, path);
      mounts = holder && wanted(holder) ? [holder] : [];
    }
    if (operandSource !== undefined) mounts = mounts.filter(operandSource);
    if (second !== undefined) mounts = sourceOnTarget(mounts, table, first!, second, inTable, !saved);
    // -M and -S select as findmnt does: every match.
    if (mountpoint !== undefined) {
      const at = inTable(mountpoint);
      mounts = at === undefined ? [] : mounts.filter((m) => m.mountpoint === at);
    }
    if (source !== undefined) mounts = mounts.filter(sourceMatcher(source, !saved));
    if (backward) mounts = mounts.slice().reverse();
    if (has(args, "first-only")) mounts = mounts.slice(0, 1);
    // As findmnt: a search that finds nothing (a PATH no mount of those -t/-O holds) prints nothing and exits 1.
    if ((path !== undefined || operandSource !== undefined || second !== undefined || mountpoint !== undefined || source !== undefined) && mounts.length === 0) return ExitCode.usage;
    if (mounts.length === 0) return nothingListed(args, io, json, table.length === 0);
    // -R: what was found and everything below it; drawn as a tree in the TARGET column, as findmnt does
    const forest = has(args, "submounts") ? submountForest(table, mounts) : undefined;
    if (forest) mounts = flattenForest(forest);
    // -D is a list, as df is
    const tree = forest !== undefined && !df && !has(args, "list") && !has(args, "raw") && (columns === undefined || columns.includes("TARGET"));
    const columnSpecs = findmntColumns({ nofsroot: has(args, "nofsroot"), canonical: has(args, "canonicalize") ? canonicalPath : undefined });
    // --json without -o: the ten fields of mountkit's record; else findmnt's four
    const picked = columns ?? (json ? RECORD_COLUMNS : DEFAULT_COLUMNS);
    const allSpecs = { ...columnSpecs, ...systemColumns(picked, columnSpecs.SOURCE!, read.taskOf, { bytes: has(args, "bytes"), evaluate: has(args, "evaluate") }) };
    const shell = has(args, "shell");
    // written as it is made: a table of tens of thousands of mounts is never one string
    const { write, end } = chunkedOutput(io);
    if (json) {
      const { columns: keys, specs } = shell ? shellColumns(picked, allSpecs) : { columns: picked, specs: allSpecs };
      // libsmartcols' bytes, as findmnt -J prints them
      if (tree) writeFindmntJsonTree(write, forest!, keys, specs);
      else writeFindmntJson(write, mounts, keys, specs);
    } else if (has(args, "pairs")) writeRowsPairs(write, mounts, picked, allSpecs, { shell });
    else {
      const utf8 = utf8Locale();
      const table = { headings: !has(args, "noheadings"), raw: has(args, "raw"), asciiOnly: !utf8, shellHeadings: shell };
      const lines = utf8 && !has(args, "ascii") ? UTF8_TREE : ASCII_TREE;
      writeRowsTable(write, mounts, picked, allSpecs, tree ? { ...table, treePrefixes: treePrefixes(forest!, lines), treeContinuations: treeContinuations(forest!, lines) } : table);
    }
    end();
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}

const USAGE = [
  "mountkit findmnt [--json|-P [-y]|-r] [-o COLUMNS|--output-all] [-D [-A]] [-b] [-n] [-f] [-d backward] [-R [-a]] [-U] [-v] [-c]",
  "                 [--mountinfo FILE|-N TID|-F FILE...|-s [-F FSTAB]... [-e]] [-t TYPES] [-O OPTS] [--real|--pseudo]",
  "                 [-M PATH] [-S SPEC] [-T PATH | PATH | SOURCE TARGET]",
  "       mountkit findmnt --verify [-F FSTAB]... [-t TYPES] [--verbose] [--json]",
].join("\n");

/**
 * The mount holding a path that realpath(3) cannot name (a relative path whose absolute form is
 * past PATH_MAX: ENAMETOOLONG), by the mount ID statx(2) gives for it: the kernel still
 * resolves it, and mountinfo lists the mount. undefined when the path does not exist.
 */
function holderByMountId(table: readonly MountInfo[], path: string): MountInfo | undefined {
  let id: number | undefined;
  try {
    id = statxMountId(path);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
  return id === undefined ? undefined : table.find((m) => m.id === id);
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
 * A source as findmnt matches -S SOURCE (and a SOURCE operand): MAJ:MIN the mounts of that
 * device number; else sourceFilter's, and for a block device (a /dev/disk link, /dev/mapper/x)
 * its canonical name too.
 */
function sourceMatcher(spec: string, live: boolean): (m: MountInfo) => boolean {
  const device = deviceNumberOf(spec);
  if (device !== undefined) return (m) => m.major === device.major && m.minor === device.minor;
  const bySource = sourceFilter(spec, live);
  if (!live || fileType(spec) !== "block") return bySource;
  const canonical = existingRealpath(spec);
  return (m) => bySource(m) || m.source === canonical;
}

/**
 * MAJ:MIN as findmnt reads a source (sscanf "%d:%d": blanks and a sign before each number, any
 * text after the second); undefined for a source that does not start so.
 */
function deviceNumberOf(spec: string): { major: number; minor: number } | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+):[ \t\n\v\f\r]*([+-]?\d+)/.exec(spec);
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * The operand as findmnt takes it when it names a source: MAJ:MIN (never a path then), a block
 * device (every mount of it, also by its canonical name: a /dev/disk link), or, with no such
 * path, a name some mount has as its source (srv:/exp, tmpfs, UUID=...); in a saved table, a
 * source it holds. undefined: a PATH, whose holder is wanted (findmnt looks a source up first
 * even for an existing path; a directory named like a tmpfs's source stays a PATH here).
 */
function sourceOperand(operand: string, table: readonly MountInfo[], live: boolean): ((m: MountInfo) => boolean) | undefined {
  if (deviceNumberOf(operand) !== undefined) return sourceMatcher(operand, live);
  const bySource = sourceFilter(operand, live);
  if (!live) return table.some(bySource) ? bySource : undefined;
  const type = fileType(operand);
  if (type === "block") return sourceMatcher(operand, live);
  return type === undefined && table.some(bySource) ? bySource : undefined;
}

/**
 * findmnt SOURCE TARGET: the mounts of SOURCE (sourceMatcher's) on exactly TARGET, as -S with
 * -M. For a MAJ:MIN that finds none there, findmnt asks again of the mount point holding TARGET
 * (as its -T does of a path that is no mount point), and so does this.
 */
function sourceOnTarget(
  mounts: readonly MountInfo[],
  table: readonly MountInfo[],
  spec: string,
  target: string,
  inTable: (path: string) => string | undefined,
  live: boolean,
): MountInfo[] {
  const bySource = sourceMatcher(spec, live);
  const at = inTable(target);
  if (at === undefined) return [];
  const on = (point: string) => mounts.filter((m) => m.mountpoint === point && bySource(m));
  const found = on(at);
  if (found.length > 0 || deviceNumberOf(spec) === undefined) return found;
  const holder = lookupMount(table, at);
  return holder === undefined || holder.mountpoint === at ? [] : on(holder.mountpoint);
}

/** -d WORD: whether mounts are found and listed from the table's end (backward), as findmnt -d. */
function backwardDirection(word: string | undefined): boolean {
  if (word === undefined || word === "forward") return false;
  if (word === "backward") return true;
  throw new UsageError(`findmnt: unknown direction '${word}'`);
}

/**
 * The whole table filtered to nothing (-t, -O, -D, --real, --pseudo), or empty. findmnt's exit
 * status then depends on the format it would draw: 1 for a list (-l, -r, -P, -D, -f, and an
 * empty table, a saved one whose lines were all bad: no tree to findmnt), 0 for its default
 * tree, whose -J is an empty array. mountkit prints a list where findmnt draws a tree, but
 * answers as findmnt does for the same command line, so scripts' tests hold.
 */
function nothingListed(args: ParsedArgs, io: Io, json: boolean, emptyTable: boolean): ExitCode {
  if (emptyTable || (["list", "raw", "pairs", "df", "first-only"] as const).some((f) => has(args, f))) return ExitCode.usage;
  if (json) io.out('{\n   "filesystems": [\n\n   ]\n}\n');
  return ExitCode.ok;
}

/**
 * The columns to print: -o's, else --output-all's (all findmnt has), else -D's; undefined for
 * the command's defaults. As findmnt, -o +COLUMNS adds to --output-all's, or else to -D's or the
 * default ones, and -o COLUMNS replaces them. An unknown column is bad usage, and so is one only
 * findmnt --poll fills.
 */
function outputColumns(list: string | undefined, df: boolean, all: boolean): string[] | undefined {
  const defaults = all ? ALL_COLUMNS : df ? DF_COLUMNS : undefined;
  if (list === undefined) return defaults?.slice();
  const poll = list.replace(/^\+/, "").split(",").map((n) => n.trim().toUpperCase()).find((n) => POLL_COLUMNS.includes(n));
  if (poll !== undefined) throw new UsageError(`findmnt: ${poll} column is requested, but --poll is not enabled (mountkit has no --poll: it does not watch the mount table)`);
  try {
    return parseColumns(list, defaults ?? DEFAULT_COLUMNS, SYSTEM_COLUMN_NAMES);
  } catch (err) {
    throw new UsageError(`findmnt: ${(err as Error).message}`);
  }
}

/** The columns read from the system when a row is printed (findmnt-space.ts's, findmnt-devices.ts's, TID): named here, made by systemColumns. */
const SYSTEM_COLUMN_NAMES: readonly string[] = [...SPACE_COLUMN_NAMES, ...DEVICE_COLUMN_NAMES, "TID"];

/**
 * The columns of a mount read from the system, those asked for: SIZE, USED, AVAIL, USE%
 * (statfs), UUID, LABEL, PARTUUID, PARTLABEL, SOURCES (the source's device, read; source:
 * the SOURCE column SOURCES falls back to), and TID (the task whose table it is).
 */
function systemColumns(
  picked: readonly string[],
  source: Column<MountInfo>,
  taskOf: (m: MountInfo) => number | undefined,
  flags: { bytes: boolean; evaluate: boolean },
): Columns<MountInfo> {
  const wants = (names: readonly string[]) => picked.some((c) => names.includes(c));
  return {
    ...(wants(SPACE_COLUMN_NAMES) ? mountSpaceColumns(flags.bytes) : {}),
    ...(wants(DEVICE_COLUMN_NAMES) ? deviceColumns((m: MountInfo) => m.source, source, sourceDeviceReads(), flags.evaluate) : {}),
    TID: { value: (m) => taskOf(m) ?? null, right: true, widthHint: 4 },
  };
}

/**
 * The filesystem types -D (unless -A), --real and --pseudo keep, as findmnt: -D keeps real
 * filesystems and tmpfs, --real real ones only, --pseudo the rest.
 */
function filesystemKinds(args: ParsedArgs): (fstype: string) => boolean {
  const df = has(args, "df") && !has(args, "all");
  const real = has(args, "real");
  const pseudo = has(args, "pseudo");
  return (fstype) => (!df || shownByDf(fstype)) && (!real || !isPseudoFilesystem(fstype)) && (!pseudo || isPseudoFilesystem(fstype));
}

/** SIZE, USED, AVAIL, USE% of a mount: statfs(2) of its mount point (of the top of a stack there, as findmnt's statvfs). */
function mountSpaceColumns(bytes: boolean): Columns<MountInfo> {
  return spaceColumns(spaceAtPaths((m: MountInfo) => m.mountpoint), bytes);
}

/**
 * Saved mountinfo tables (--mountinfo FILE, -F FILE..., -N's), as findmnt reads them: a line
 * that does not parse is warned about, naming the file and line, and left out; a file that
 * cannot be read is bad input (exit 1). text(i): the text of files[i]. taskOf: the task whose
 * table each mount's file is (TID).
 */
function readSavedTables(files: readonly string[], io: Io, text: (index: number) => string): { mounts: MountInfo[]; taskOf: (m: MountInfo) => number | undefined } {
  const byFile = files.map((file, i) => {
    const { mounts, problems } = parseMountInfoLenient(text(i));
    for (const p of problems) io.err(messageLine(`findmnt: warning: ${quotePath(file)}: line ${p.line}: ${p.detail} (line ignored)`));
    return mounts;
  });
  const mounts = byFile.flat();
  const tasks = files.map(taskOfTable);
  if (tasks.every((t) => t === tasks[0])) return { mounts, taskOf: () => tasks[0] };
  const taskByMount = new WeakMap<MountInfo, number | undefined>();
  byFile.forEach((list, i) => list.forEach((m) => taskByMount.set(m, tasks[i])));
  return { mounts, taskOf: (m) => taskByMount.get(m) };
}

/**
 * The task whose mount table a file is, as libmount names it (the TID column): the number its
 * directory is named by once the path is made canonical (/proc/self/mountinfo's is this
 * process); none for a file elsewhere.
 */
function taskOfTable(file: string): number | undefined {
  const path = existingRealpath(file) ?? file;
  const dir = path.slice(0, path.lastIndexOf("/"));
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  return /^\d+$/.test(name) && Number(name) > 0 ? Number(name) : undefined;
}

/**
 * What -F FILE... hold, as libmount guesses it for the one table it reads them into: from the
 * first line, in any of them in order, that is not blank or a comment (tableFormatOf). Files
 * after the one that tells are not read here. A directory cannot be read so (with -s, its
 * *.fstab files are read).
 */
function savedTableFormat(files: readonly string[], text: (index: number) => string): TableFormat {
  for (let i = 0; i < files.length; i++) {
    const format = tableFormatOf(text(i));
    if (format !== undefined) return format;
  }
  return "fstab";
}

/**
 * The text of each saved file, read when first asked for and kept: a file is read once, as
 * findmnt reads it (a pipe gives its text to one read only).
 */
function savedTexts(files: readonly string[]): (index: number) => string {
  const texts: string[] = [];
  return (i) => (texts[i] ??= readSavedFile(files[i]!, readTextFile));
}

/** read(file), a file that cannot be read being bad input (exit 1), named as findmnt -s names an fstab it cannot read. */
function readSavedFile<T>(file: string, read: (file: string) => T): T {
  try {
    return read(file);
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw new PlanError(`findmnt: read ${quotePath(file)}: ${err.callFailure}`, { cause: err });
  }
}
