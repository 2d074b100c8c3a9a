/**
 * mountkit findmnt: the mount table, or the mount holding PATH, or the mounts on a mount
 * point (-M) or of a source (-S, or an operand that is a block device or a source name), in
 * findmnt's formats.
 */
import { normalize, resolve } from "../../path.ts";
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import { DEFAULT_COLUMNS, findmntColumns, parseColumns, RECORD_COLUMNS, shellColumns, writeFindmntJson, writeFindmntJsonTree, writeRowsPairs, writeRowsTable, type Columns } from "../../mountinfo/findmnt.ts";
import { DF_COLUMNS, shownByDf, SPACE_COLUMN_NAMES, spaceColumns } from "../../mountinfo/findmnt-space.ts";
import { isPseudoFilesystem } from "../../mountinfo/filesystem-kinds.ts";
import { spaceAtPaths } from "../../ops/filesystem-space.ts";
import { ASCII_TREE, flattenForest, submountForest, treePrefixes, uniqueTargets, UTF8_TREE } from "../../mountinfo/findmnt-tree.ts";
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
import { canonicalPath, deviceOfTag } from "../../ops/block-devices.ts";
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
    if (args.operands.length + (target === undefined ? 0 : 1) > 1) throw new UsageError("findmnt: give at most one PATH");
    const df = has(args, "df");
    const output = last(args, "output");
    const columns = output === undefined ? (df ? DF_COLUMNS : undefined) : outputColumns(output, df);
    const kinds = filesystemKinds(args);
    const tabFiles = values(args, "tab-file");
    // -F without -s: each file read once (a pipe, as -F /dev/stdin or <(cmd), has nothing left for
    // a second read); what they hold guessed from their text, as libmount guesses it
    const tabText = savedTexts(tabFiles);
    const savedTable = tabFiles.length > 0 && !has(args, "fstab") ? savedTableFormat(tabFiles, tabText) : undefined;
    // the fstab listing loads only for --fstab
    if (has(args, "fstab") || savedTable === "fstab") {
      const texts = savedTable === "fstab" ? tabFiles.map((file, i) => ({ file, text: tabText(i) })) : undefined;
      return (require("./findmnt-fstab.ts") as typeof import("./findmnt-fstab.ts")).fstabListing(args, io, json, columns, target ?? args.operands[0], kinds, texts);
    }
    const task = last(args, "task");
    if (task !== undefined && !/^\d+$/.test(task)) throw new UsageError(`findmnt: --task needs a thread or process id, got ${JSON.stringify(task)}`);
    const files = task !== undefined ? [`/proc/${task}/mountinfo`] : savedTable === "mountinfo" ? tabFiles : values(args, "mountinfo").slice(-1);
    const saved = files.length > 0;
    let table = saved ? readSavedTables(files, io, files === tabFiles ? tabText : savedTexts(files)) : readMountInfo();
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
    // An operand naming a source (a block device, a name no path has) is -S's; -T always a PATH.
    const operandSource = target === undefined && args.operands[0] !== undefined ? sourceOperand(args.operands[0], table, !saved) : undefined;
    const path = operandSource === undefined ? (target ?? args.operands[0]) : undefined;
    if (path !== undefined) {
      // the mount that holds PATH, if it is of the kinds asked for (as findmnt -T: not a lower mount
      // that is); a PATH that does not exist is held by none, and findmnt says nothing of it
      const at = inTable(path);
      const holder = at !== undefined ? lookupMount(table, at) : saved ? undefined : holderByMountId(table, path);
      mounts = holder && wanted(holder) ? [holder] : [];
    }
    if (operandSource !== undefined) mounts = mounts.filter(operandSource);
    // -M and -S select as findmnt does: every match.
    const mountpoint = last(args, "mountpoint");
    if (mountpoint !== undefined) {
      const at = inTable(mountpoint);
      mounts = at === undefined ? [] : mounts.filter((m) => m.mountpoint === at);
    }
    const source = last(args, "source");
    if (source !== undefined) mounts = mounts.filter(sourceFilter(source, !saved));
    if (has(args, "first-only")) mounts = mounts.slice(0, 1);
    // As findmnt: a search that finds nothing (a PATH no mount of those -t/-O holds) prints nothing and exits 1.
    if ((path !== undefined || operandSource !== undefined || mountpoint !== undefined || source !== undefined) && mounts.length === 0) return ExitCode.usage;
    if (mounts.length === 0) return nothingListed(args, io, json, table.length === 0);
    // -R: what was found and everything below it; drawn as a tree in the TARGET column, as findmnt does
    const forest = has(args, "submounts") ? submountForest(table, mounts) : undefined;
    if (forest) mounts = flattenForest(forest);
    // -D is a list, as df is
    const tree = forest !== undefined && !df && !has(args, "list") && !has(args, "raw") && (columns === undefined || columns.includes("TARGET"));
    const columnSpecs = findmntColumns({ nofsroot: has(args, "nofsroot"), canonical: has(args, "canonicalize") ? canonicalPath : undefined });
    const allSpecs = columns?.some((c) => SPACE_COLUMN_NAMES.includes(c)) ? { ...columnSpecs, ...mountSpaceColumns(has(args, "bytes")) } : columnSpecs;
    // --json without -o: the ten fields of mountkit's record; else findmnt's four
    const picked = columns ?? (json ? RECORD_COLUMNS : DEFAULT_COLUMNS);
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
      writeRowsTable(write, mounts, picked, allSpecs, tree ? { ...table, treePrefixes: treePrefixes(forest!, lines) } : table);
    }
    end();
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}

const USAGE = [
  "mountkit findmnt [--json|-P [-y]|-r] [-o COLUMNS] [-D [-A]] [-b] [-n] [-f] [-R [-a]] [-U] [-v] [-c] [--mountinfo FILE|-N TID|-F FILE...|-s [-F FSTAB]... [-e]]",
  "                 [-t TYPES] [-O OPTS] [--real|--pseudo] [-M PATH] [-S SPEC] [[-T] PATH]",
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
  return (fstype) => (!df || shownByDf(fstype)) && (!real || !isPseudoFilesystem(fstype)) && (!pseudo || isPseudoFilesystem(fstype));
}

/** SIZE, USED, AVAIL, USE% of a mount: statfs(2) of its mount point (of the top of a stack there, as findmnt's statvfs). */
function mountSpaceColumns(bytes: boolean): Columns<MountInfo> {
  return spaceColumns(spaceAtPaths((m: MountInfo) => m.mountpoint), bytes);
}

/**
 * Saved mountinfo tables (--mountinfo FILE, -F FILE..., -N's), as findmnt reads them: a line
 * that does not parse is warned about, naming the file and line, and left out; a file that
 * cannot be read is bad input (exit 1). text(i): the text of files[i].
 */
function readSavedTables(files: readonly string[], io: Io, text: (index: number) => string): MountInfo[] {
  return files.flatMap((file, i) => {
    const { mounts, problems } = parseMountInfoLenient(text(i));
    for (const p of problems) io.err(messageLine(`findmnt: warning: ${quotePath(file)}: line ${p.line}: ${p.detail} (line ignored)`));
    return mounts;
  });
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
