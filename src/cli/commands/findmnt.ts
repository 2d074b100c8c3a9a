/**
 * mountkit findmnt: the mount table, or the mount holding PATH, in findmnt's formats.
 */
import { normalize, resolve } from "node:path";
import { Errno } from "../../errno.ts";
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { FINDMNT_COLUMNS, findmntColumnsJson, findmntJson, findmntTable, parseColumns } from "../../mountinfo/findmnt.ts";
import { lookupMount, fstypeFilter } from "../../mountinfo/lookup.ts";
import { MountInfoParseError } from "../../mountinfo/parse.ts";
import { readMountInfo, readMountInfoFile } from "../../mountinfo/read.ts";
import { realpath } from "../../sys/realpath.ts";
import { formatHelp, has, last, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { printJson, reportError, type Io } from "../output.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "json", short: "J", help: "JSON with findmnt's field names" },
  { long: "mountinfo", value: "FILE", help: "read a saved mountinfo table instead of this process's" },
  { long: "task", short: "N", value: "TID", help: "the mount table of that task's namespace (/proc/TID/mountinfo), as findmnt -N" },
  { long: "types", short: "t", value: "TYPES", help: "only these filesystem types (comma-separated)" },
  { long: "output", short: "o", value: "COLUMNS", help: `columns to print (${Object.keys(FINDMNT_COLUMNS).join(",")})` },
  { long: "noheadings", short: "n", help: "leave out the header line" },
  { long: "raw", short: "r", help: "raw output: one space between cells, blanks escaped (\\x20)" },
  { long: "list", short: "l", help: "a list, not a tree (accepted: mountkit always prints a list)" },
  { long: "help", short: "h", help: "show this help" },
];

export function findmntCommand(argv: readonly string[], io: Io): ExitCode {
  const json = argv.includes("--json") || argv.includes("-J");
  try {
    const args = parseArgs("findmnt", argv, FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp("mountkit findmnt [--json] [-o COLUMNS] [-n] [-r] [--mountinfo FILE|-N TID] [-t TYPES] [PATH]", "List mounts, or show the mount that holds PATH.", FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length > 1) throw new UsageError("findmnt: give at most one PATH");
    const task = last(args, "task");
    if (task !== undefined && !/^\d+$/.test(task)) throw new UsageError(`findmnt: --task needs a thread or process id, got ${JSON.stringify(task)}`);
    const file = task === undefined ? last(args, "mountinfo") : `/proc/${task}/mountinfo`;
    let mounts = file === undefined ? readMountInfo() : readSavedTable(file);
    const types = last(args, "types");
    if (types) mounts = mounts.filter(fstypeFilter(...types.split(",")));

    const path = args.operands[0];
    if (path !== undefined) {
      // A saved table, or another namespace's, describes another tree: look its path up as written.
      const resolved = file === undefined ? resolveExisting(path) : normalize(resolve("/", path));
      const holder = lookupMount(mounts, resolved);
      if (!holder) throw new PlanError(`findmnt: no mount holds ${quotePath(path)}`);
      mounts = [holder];
    }
    const output = last(args, "output");
    const columns = output === undefined ? undefined : outputColumns(output);
    if (json) printJson(io, columns === undefined ? findmntJson(mounts) : findmntColumnsJson(mounts, columns));
    else io.out(findmntTable(mounts, columns, { headings: !has(args, "noheadings"), raw: has(args, "raw") }));
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}

/** -o's columns; an unknown one is bad usage. */
function outputColumns(list: string): string[] {
  try {
    return parseColumns(list);
  } catch (err) {
    throw new UsageError(`findmnt: ${(err as Error).message}`);
  }
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
