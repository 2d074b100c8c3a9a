/**
 * mountkit cleanup: take down what crashed runs left in the temp mount location (temp mounts,
 * with-mounts roots, the idmapped lowers of legacy idmapped overlays): the library's
 * cleanupTempMounts(), containerd's CleanupTempMounts.
 */
import { ExitCode, quotePath } from "../../errors.ts";
import { cleanupTempMounts } from "../../ops/temp-cleanup.ts";
import { tempMountLocation } from "../../ops/temp-location.ts";
import { existingRealpath } from "../../sys/realpath.ts";
import { flagGiven, formatHelp, has, last, operandsText, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { failuresJson, printResult, reportError, stderrMessages, warningLine, type Io } from "../output.ts";
import { absolutePath } from "../../sys/cwd.ts";

const FLAGS: readonly FlagSpec[] = [
  { long: "temp-dir", value: "DIR", help: "clean DIR (default: $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp)" },
  { long: "include-running", help: "also the directories of mountkit processes still running (their pid is in the name)" },
  { long: "verbose", short: "v", help: "print each unmount, and each directory removed or left" },
  { long: "json", help: "print the result as JSON" },
  { long: "help", short: "h", help: "show this help" },
];

const USAGE = "mountkit cleanup [--temp-dir DIR] [--include-running] [-v] [--json]";

const SUMMARY = `Unmount and remove what crashed mountkit runs left in the temp mount location: its own
"mountkit-*" directories only, the mounts inside each unmounted deepest first, then the empty
directories removed with rmdir (never a recursive delete). A directory whose mountkit process is
still running is left alone. Exit 0 when nothing is left, 32 when something is and nothing could
be done, 64 when some was done and some is left.`;

export function cleanupCommand(argv: readonly string[], io: Io): ExitCode {
  const json = flagGiven(argv, FLAGS, "json");
  try {
    const args = parseArgs("cleanup", argv, FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(USAGE, SUMMARY, FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length > 0) throw new UsageError(`cleanup: takes no operands, got ${operandsText(args.operands)}`, { hint: `usage: ${USAGE}` });
    const given = last(args, "temp-dir");
    if (given === "") throw new UsageError("cleanup: --temp-dir: empty path");
    // as given, canonical when it exists; a location that does not exist holds nothing
    const location = given === undefined ? tempMountLocation() : (existingRealpath(given) ?? absolutePath(given));
    // -v's syscall log is on stderr with --json too; its lines of what was removed are stdout's
    const verbose = has(args, "verbose");
    const result = cleanupTempMounts({
      location,
      includeRunning: has(args, "include-running"),
      ...(verbose ? { log: stderrMessages(io) } : {}),
    });
    const done = result.unmounted + result.removed.length;
    const code = result.warnings.length === 0 ? ExitCode.ok : done > 0 ? ExitCode.someFailed : ExitCode.mountFailed;
    // each problem is a warning on stderr, with --json too; the document's error holds them all
    for (const w of result.warnings) io.err(warningLine(w));
    if (json) {
      printResult(io, code, {
        location,
        unmounted: result.unmounted,
        removed: result.removed,
        running: result.skipped,
        warnings: result.warnings.map((w) => w.toJSON()),
        error: failuresJson("cleanup", result.warnings, done),
      });
      return code;
    }
    if (verbose) {
      for (const dir of result.removed) io.out(`cleanup: removed ${quotePath(dir)}\n`);
      for (const dir of result.skipped) io.out(`cleanup: ${quotePath(dir)}: its process is still running, left alone\n`);
    }
    io.out(`cleanup: ${quotePath(location)}: ${plural(result.unmounted, "mount")} unmounted, ${plural(result.removed.length, "directory", "directories")} removed` +
      (result.skipped.length > 0 ? `, ${plural(result.skipped.length, "directory", "directories")} of running processes left alone` : "") + "\n");
    return code;
  } catch (err) {
    return reportError(io, err, json);
  }
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
