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
  shellColumns,
  writeFindmntJson,
  writeFindmntJsonTree,
  writeRowsPairs,
  writeRowsTable,
  type Column,
  type Columns,
} from "../../mountinfo/findmnt.ts";
import { DEVICE_COLUMN_NAMES, deviceColumns } from "../../mountinfo/findmnt-devices.ts";
import { DF_COLUMNS, holdsData, shownByDf, SPACE_COLUMN_NAMES, spaceColumns } from "../../mountinfo/findmnt-space.ts";
import { isPseudoFilesystem } from "../../mountinfo/filesystem-kinds.ts";
import { spaceAtPaths } from "../../ops/filesystem-space.ts";
import {
  ASCII_TREE,
  flattenForest,
  selectionForest,
  submountForest,
  treeContinuations,
  treePrefixes,
  uniqueTargets,
  UTF8_TREE,
  type MountNode,
} from "../../mountinfo/findmnt-tree.ts";
import { filtersNothing, selectMounts, type MountLookups, type MountQuery } from "../../mountinfo/findmnt-select.ts";
import { utf8Locale } from "../locale.ts";
import { cleanPath, lookupMount, type MountFilter } from "../../mountinfo/lookup.ts";
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
import { findmntFlags, refuseExclusiveFlags } from "./findmnt-flags.ts";
import { defaultColumns, findmntLayout, type FindmntDialect } from "./findmnt-layout.ts";

export function findmntCommand(argv: readonly string[], io: Io, dialect: FindmntDialect = "mountkit"): ExitCode {
  const flags = findmntFlags(dialect);
  // -J in a cluster too (-Jno SOURCE), and where the command line is refused
  const json = flagGiven(argv, flags, "json");
  // a refusal as a JSON document too is mountkit findmnt's; findmnt(8)'s stdout has nothing then
  const jsonErrors = json && dialect === "mountkit";
  try {
    const args = parseArgs("findmnt", argv, flags);
    refuseExclusiveFlags(args, dialect);
    if (has(args, "help")) {
      io.out(formatHelp(usageOf(dialect), "List mounts, or show the mount that holds PATH; or check an fstab.", flags));
      return ExitCode.ok;
    }
    if (has(args, "version")) {
      io.out(`mountkit ${VERSION}\n`);
      return ExitCode.ok;
    }
    // findmnt --poll waits for the table to change and prints each change: nothing here does that
    if (has(args, "poll")) throw new UsageError("findmnt: --poll is not supported: mountkit does not watch the mount table (util-linux findmnt --poll does)");
    // -w waits for nothing here, but a value findmnt refuses is refused, as findmnt's strtos32 does
    const timeout = last(args, "timeout");
    if (timeout !== undefined && !/^[+-]?\d+$/.test(timeout)) throw new UsageError(`findmnt: invalid timeout argument: ${JSON.stringify(timeout)}`);
    // the fstab checks load only for --verify
    if (has(args, "verify")) return (require("./findmnt-verify.ts") as typeof import("./findmnt-verify.ts")).verifyCommand(args, io, json);
    const target = rootIfEmpty(last(args, "target"));
    const mountpoint = rootIfEmpty(last(args, "mountpoint"));
    const source = last(args, "source");
    // one operand: a PATH (or a source); two: a SOURCE and its TARGET, as findmnt's
    if (args.operands.length > 2) throw new UsageError("findmnt: give at most two operands: a SOURCE and a TARGET, or one PATH");
    // the last operand is the PATH (the only one, or a SOURCE's TARGET)
    const operands = args.operands.map((operand, i) => (i === args.operands.length - 1 ? rootIfEmpty(operand)! : operand));
    const [first, second] = operands;
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
      // -T is a PATH (a mount point, else a source), but with -i findmnt's own: a mount point only
      const byTarget = has(args, "invert") && target !== undefined;
      const selection = second !== undefined ? { mountpoint: second, source: first } : byTarget ? { mountpoint: target, source } : { path: target ?? first, mountpoint, source };
      return (require("./findmnt-fstab.ts") as typeof import("./findmnt-fstab.ts")).fstabListing(args, io, json, columns, selection, kinds, backward, texts);
    }
    const task = last(args, "task");
    if (task !== undefined && !/^\d+$/.test(task)) throw new UsageError(`findmnt: --task needs a thread or process id, got ${JSON.stringify(task)}`);
    const files = task !== undefined ? [`/proc/${task}/mountinfo`] : savedTable === "mountinfo" ? tabFiles : values(args, "mountinfo").slice(-1);
    const saved = files.length > 0;
    const read = saved ? readSavedTables(files, io, files === tabFiles ? tabText : savedTexts(files)) : { mounts: readMountInfo(), taskOf: () => process.pid };
    let table = read.mounts;
    if (has(args, "uniq")) table = uniqueTargets(table);
    const canonicalize = !has(args, "nocanonicalize");
    const query: MountQuery = {
      types: last(args, "types"),
      options: last(args, "options"),
      kinds,
      shadowed: has(args, "shadowed"),
      operands,
      target,
      mountpoint,
      source,
    };
    const search = args.operands.length > 0 || target !== undefined || mountpoint !== undefined || source !== undefined;
    // nothing to filter by: findmnt lists the whole table (its -R and -i have nothing to act on in a list)
    const listAll = filtersNothing(query);
    const layout = findmntLayout(args, { treeable: files.length <= 1, search, listAll }, dialect);
    const invert = has(args, "invert") && (!listAll || layout.tree);
    // a link takes the mounts findmnt's own match takes (its tree one look only: --tree PATH, a
    // source); mountkit findmnt, for PATH and -T, the one mount holding PATH
    const findmntMatch = dialect === "findmnt(8)" ? (layout.wholeTree ? "tree" : "list") : undefined;
    // a saved table, or another namespace's (-N), describes another tree: its paths are taken as written
    const found = selectMounts(table, { ...query, invert, findmntMatch }, systemLookups(table, saved, canonicalize));
    let mounts = backward ? found.slice().reverse() : found;
    if (has(args, "first-only")) mounts = mounts.slice(0, 1);
    // As findmnt: finding nothing prints nothing and exits 1, but where it draws its whole tree
    // (its default for the table or a filter of it, -t, -O...: mountkit findmnt's list), exit 0 and -J's empty array.
    if (mounts.length === 0) return nothingFound(io, json, layout.wholeTree && table.length > 0);
    // -R: what was found and everything below it; the tree (--tree, and a link's default): what
    // was found, each below the nearest found mount above it (findmnt's whole tree, where -d and
    // -f change nothing)
    let forest: MountNode[] | undefined;
    if (layout.submounts) forest = submountForest(table, mounts);
    else if (layout.drawsTree) {
      const chosen = new Set(found);
      forest = selectionForest(table, (m) => chosen.has(m));
    }
    if (forest) mounts = flattenForest(forest);
    const columnSpecs = findmntColumns({ nofsroot: has(args, "nofsroot"), canonical: has(args, "canonicalize") ? canonicalPath : undefined, vfsAll: has(args, "vfs-all") });
    // without -o: findmnt's four; mountkit findmnt --json the ten fields of its record
    const picked = columns ?? defaultColumns(dialect, json);
    // drawn in the TARGET column, as findmnt draws it (a tree without it is its rows in tree order)
    const tree = forest !== undefined && layout.tree && picked.includes("TARGET");
    const systemFlags = { bytes: has(args, "bytes"), evaluate: has(args, "evaluate"), canonicalize };
    const allSpecs = { ...columnSpecs, ...systemColumns(picked, columnSpecs.SOURCE!, read.taskOf, systemFlags) };
    const shell = has(args, "shell");
    // written as it is made: a table of tens of thousands of mounts is never one string
    const { write, end } = chunkedOutput(io);
    if (json) {
      const { columns: keys, specs } = shell ? shellColumns(picked, allSpecs) : { columns: picked, specs: allSpecs };
      // libsmartcols' bytes, as findmnt -J prints them
      if (tree) writeFindmntJsonTree(write, forest!, keys, specs);
      else writeFindmntJson(write, mounts, keys, specs);
    } else {
      const utf8 = utf8Locale();
      const lines = utf8 && !has(args, "ascii") ? UTF8_TREE : ASCII_TREE;
      if (has(args, "pairs")) writeRowsPairs(write, mounts, picked, allSpecs, { shell, ...(tree ? { treePrefixes: treePrefixes(forest!, lines) } : {}) });
      else {
        const table = { headings: !has(args, "noheadings"), raw: has(args, "raw"), asciiOnly: !utf8, shellHeadings: shell };
        writeRowsTable(write, mounts, picked, allSpecs, tree ? { ...table, treePrefixes: treePrefixes(forest!, lines), treeContinuations: treeContinuations(forest!, lines) } : table);
      }
    }
    end();
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, jsonErrors);
  }
}

/** The usage lines of --help: mountkit findmnt's, or a link named findmnt's (without mountkit's flags). */
function usageOf(dialect: FindmntDialect): string {
  const mountkit = dialect === "mountkit";
  const name = mountkit ? "mountkit findmnt" : "findmnt";
  const pad = " ".repeat(name.length);
  return [
    `${name} [--json|-P [-y]|-r] [-o COLUMNS|--output-all] [--vfs-all] [-D [-A]] [-b] [-n] [-f] [-d backward] [-R] [--tree] [-a]`,
    `${pad} [-U] [-v] [-c|-C] [${mountkit ? "--mountinfo FILE|" : ""}-N TID|-F FILE...|-s [-F FSTAB]... [-e]] [-t TYPES] [-O OPTS]`,
    `${pad} [--real|--pseudo] [--shadowed] [-i] [-M PATH] [-S SPEC] [-T PATH | PATH | SOURCE TARGET]`,
    `       ${name} --verify [-F FSTAB]... [-t TYPES] [--verbose]${mountkit ? " [--json]" : ""}`,
  ].join("\n");
}

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
 * How the table's paths and sources meet this system's (selectMounts' MountLookups), as findmnt
 * meets them. It canonicalizes a path (realpath(3)); with -C (--nocanonicalize) it compares the
 * text: a mount point as written (repeated and trailing slashes aside, as libmount compares
 * paths: a relative one is none), and the mount holding a path (which must exist) found by
 * walking up its text, made absolute against the working directory, as libmount's table lookup
 * does without its cache. A source is matched as written; in this system's table, not with -C,
 * a UUID=/LABEL=/PART... tag (or its /dev/disk link) as the device it names, and a block
 * device (a /dev/disk link, /dev/mapper/x) by its canonical name too. A saved table's paths
 * are never resolved, nor its sources looked up: they name another system (paths made
 * absolute against "/").
 */
function systemLookups(table: readonly MountInfo[], saved: boolean, canonicalize: boolean): MountLookups {
  const byName = (spec: string): MountFilter => (m) => m.source === spec;
  if (saved) {
    const point = (path: string) => normalize(resolve("/", path));
    return { point, holder: (path) => lookupMount(table, point(path)), sourceIs: byName, operandKind: () => "missing" };
  }
  const operandKind = (operand: string) => {
    const type = fileType(operand);
    return type === undefined ? "missing" : type === "block" ? "block" : "other";
  };
  if (!canonicalize) {
    const holder = (path: string) => (fileType(path) === undefined ? undefined : lookupMount(table, absoluteText(path)));
    return { point: cleanPath, holder, sourceIs: byName, operandKind };
  }
  const sourceIs = (spec: string): MountFilter => {
    const tag = deviceTagOf(spec);
    const device = tag === undefined ? undefined : deviceOfTag(tag);
    const canonical = fileType(spec) === "block" ? existingRealpath(spec) : undefined;
    return (m) => m.source === spec || (device !== undefined && m.source === device) || (canonical !== undefined && m.source === canonical);
  };
  const holder = (path: string) => {
    const at = existingRealpath(path);
    return at !== undefined ? lookupMount(table, at) : holderByMountId(table, path);
  };
  return { point: existingRealpath, holder, sourceIs, operandKind };
}

/**
 * An empty PATH ("-M \"$dir\"" with dir unset) names "/", as in findmnt: libmount compares paths
 * without their trailing slashes, so "/" and "" are the same path to it.
 */
function rootIfEmpty(path: string | undefined): string | undefined {
  return path === "" ? "/" : path;
}

/** PATH's text made absolute as libmount's absolute_path makes it: the working directory, then PATH without a leading "./". */
function absoluteText(path: string): string {
  if (path.startsWith("/")) return path;
  const rest = path === "." ? "" : path.startsWith("./") ? path.slice(2) : path;
  return rest === "" ? process.cwd() : `${process.cwd()}/${rest}`;
}

/** -d WORD: whether mounts are found and listed from the table's end (backward), as findmnt -d. */
function backwardDirection(word: string | undefined): boolean {
  if (word === undefined || word === "forward") return false;
  if (word === "backward") return true;
  throw new UsageError(`findmnt: unknown direction '${word}'`);
}

/**
 * Nothing found. findmnt's exit status then depends on what it would draw: 0 for its whole
 * tree of a table it found nothing in (its default for the table or a filter of it, -t, -O,
 * --real...; -J's empty array), 1 for a list, -R, a search (PATH, -M, -S, -T) and an empty table
 * (a saved one whose lines were all bad). mountkit findmnt prints a list where findmnt draws a
 * tree, but answers as findmnt does for the same command line, so scripts' tests hold.
 */
function nothingFound(io: Io, json: boolean, emptyTree: boolean): ExitCode {
  if (!emptyTree) return ExitCode.usage;
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
  flags: { bytes: boolean; evaluate: boolean; canonicalize: boolean },
): Columns<MountInfo> {
  const wants = (names: readonly string[]) => picked.some((c) => names.includes(c));
  return {
    ...(wants(SPACE_COLUMN_NAMES) ? mountSpaceColumns(flags.bytes) : {}),
    ...(wants(DEVICE_COLUMN_NAMES) ? deviceColumns((m: MountInfo) => m.source, source, sourceDeviceReads({ lookUpTags: flags.canonicalize }), flags.evaluate) : {}),
    TID: { value: (m) => taskOf(m) ?? null, right: true, widthHint: 4 },
  };
}

/**
 * The filesystem types -D (unless -A), --real and --pseudo keep, as findmnt: -D keeps real
 * filesystems and tmpfs, --real real ones only, --pseudo the rest. undefined when none of them
 * leaves a type out.
 */
function filesystemKinds(args: ParsedArgs): ((fstype: string) => boolean) | undefined {
  const df = has(args, "df") && !has(args, "all");
  const real = has(args, "real");
  const pseudo = has(args, "pseudo");
  if (!df && !real && !pseudo) return undefined;
  return (fstype) => {
    // as findmnt: -D takes a tmpfs-like type before it asks --real or --pseudo (-D --real keeps tmpfs)
    if (df && holdsData(fstype)) return true;
    return (!df || shownByDf(fstype)) && (!real || !isPseudoFilesystem(fstype)) && (!pseudo || isPseudoFilesystem(fstype));
  };
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
