/**
 * mountkit apply: a containerd mount list or an OCI config.json, mounted as one batch.
 */
import { ExitCode, PlanError, quotePath, SyscallError } from "../../errors.ts";
import { applyText, planApply } from "../../ops/apply.ts";
import { describeStep, formatStep } from "../../plan/steps.ts";
import { readTextFd, readTextFile } from "../../sys/file.ts";
import { dirFlag, flagGiven, formatHelp, has, parseArgs, UsageError, values, type FlagSpec } from "../args.ts";
import { batchReporter, reportOutcome } from "../batch-output.ts";
import { printResult, reportError, stderrMessages, type Io } from "../output.ts";
import { SignalExit } from "../signal-exit.ts";
import { signalName, signalNumber, stopWatch, stoppedBy } from "../stop-watch.ts";
import { RunStopped } from "../../ops/stop.ts";

export const APPLY_FLAGS: readonly FlagSpec[] = [
  { long: "root", value: "DIR", help: "mount targets inside DIR (default: OCI root.path; / for a containerd list)" },
  { long: "mkdir", help: "create missing targets of a containerd list (OCI targets are always created)" },
  { long: "mkdir-root", value: "DIR", help: "let X-containerd.mkdir.path make directories beneath DIR too (repeatable; containerd's allowed roots)" },
  { long: "keep-going", help: "mount what can be mounted; exit 64 if some entries failed" },
  { long: "dry-run", short: "n", help: "print each entry's plan (the syscalls) without making them", aliases: ["fake"] },
  { long: "json", help: "print a result per entry (target, ok, error, time) as JSON" },
  { long: "verbose", short: "v", help: "print each entry as it is mounted" },
  { long: "helper-dir", value: "DIR", help: "look FUSE helpers (mount.fuse3, fusermount3) up only in DIR" },
  { long: "help", short: "h", help: "show this help" },
];

export const APPLY_USAGE = "mountkit apply [--root DIR] [--mkdir] [--mkdir-root DIR]... [--keep-going] [-n|--dry-run] [--json] [-v] FILE|-";

const APPLY_SUMMARY = `Mount a containerd mount list [{"type","source","target","options"}] or the mounts of an
OCI config.json, in order. Targets are joined with the root as containerd's fs.RootPath does:
symlinks are followed without ever leaving the root. Bad input is refused before any mount.
If an entry fails, everything this call mounted is unmounted again (exit 32), unless
--keep-going (exit 64 when some entries failed). A SIGINT, SIGTERM, SIGHUP or SIGQUIT meanwhile
unmounts everything this call mounted (--keep-going too), then mountkit dies of that signal.`;

export function applyCommand(argv: readonly string[], io: Io): ExitCode | SignalExit {
  const json = flagGiven(argv, APPLY_FLAGS, "json");
  try {
    const args = parseArgs("apply", argv, APPLY_FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(APPLY_USAGE, APPLY_SUMMARY, APPLY_FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length !== 1) throw new UsageError(`apply: expected one FILE (or - for stdin), got ${args.operands.length}`);
    const file = args.operands[0]!;
    const root = dirFlag("apply", args, "root");
    const helperDir = dirFlag("apply", args, "helper-dir", { absolute: true });
    const text = readInput(file);
    const mkdirRoots = values(args, "mkdir-root");
    const options = { file, root, mkdir: has(args, "mkdir"), ...(helperDir === undefined ? {} : { helperDir }), ...(mkdirRoots.length === 0 ? {} : { mkdirRoots }) };

    if (has(args, "dry-run")) {
      const { request, root: canonical, entries } = planApply(text, { ...options, warn: stderrMessages(io, "apply") });
      if (json) {
        printResult(io, ExitCode.ok, {
          dryRun: true,
          format: request.input.format,
          root: canonical,
          entries: entries.map((e) => ({
            index: e.entry.index,
            where: e.entry.where,
            target: e.target,
            action: e.plan.action,
            ...(e.prepare?.length ? { prepare: e.prepare } : {}),
            steps: e.plan.steps.map(describeStep),
            ...(e.readOnlyLater ? { readOnlyLater: e.readOnlyLater.steps.map(describeStep) } : {}),
          })),
        });
      } else {
        for (const e of entries) {
          io.out(`# ${e.entry.where}: ${quotePath(e.target)}\n`);
          for (const line of e.prepare ?? []) io.out(`# first: ${line}\n`);
          for (const step of e.plan.steps) io.out(`${formatStep(step)}\n`);
        }
        for (const e of entries.filter((each) => each.readOnlyLater)) {
          io.out(`# ${e.entry.where}: ${quotePath(e.target)}: read-only once every entry is mounted\n`);
          for (const step of e.readOnlyLater!.steps) io.out(`${formatStep(step)}\n`);
        }
      }
      return ExitCode.ok;
    }

    const reporter = batchReporter(io, { verbose: has(args, "verbose"), json, label: "apply" });
    // All or nothing, against a stop signal too (--keep-going as well): armed by the batch, it
    // undoes everything mounted, then mountkit dies of the signal (docs/apply.md)
    const stop = stopWatch();
    let outcome;
    try {
      outcome = applyText(text, {
        ...options,
        keepGoing: has(args, "keep-going"),
        onEntry: reporter.onEntry,
        warn: stderrMessages(io, "apply"),
        // a FUSE helper's output once it succeeded, as mount -a writes it (docs/fuse.md)
        helperStdio: json ? "stdout-to-stderr" : "inherit",
        stop,
      });
    } catch (err) {
      reporter.finish();
      const signal = stop.release();
      if (err instanceof RunStopped) return stoppedBy(io, signalNumber(err.reason)!, "apply", REMOVED, err);
      if (signal === undefined) throw err;
      // bad input found once a signal came (a link cycle met in its turn): said, then the death
      reportError(io, err, json);
      return new SignalExit(signal);
    }
    reporter.finish();
    let late = stop.requested();
    if (late === undefined) {
      const signal = stop.release();
      if (signal === undefined) return reportOutcome(io, outcome, json, { format: outcome.request.input.format, root: outcome.root });
      // it came after that look, before the release: all or nothing still, the undo armed again
      late = signalName(signal);
      stop.arm();
    }
    // it came during the last entry, or a read-only remount at the end: undone still armed
    const stopped = new RunStopped(late);
    try {
      outcome.release();
    } catch (err) {
      stopped.cleanupErrors.push(err);
    }
    stop.release();
    // the failure of an entry, which the batch undid already, is said first
    if (outcome.error !== undefined) reportError(io, outcome.error, false);
    return stoppedBy(io, signalNumber(stopped.reason)!, "apply", REMOVED, stopped);
  } catch (err) {
    return reportError(io, err, json);
  }
}

/** What apply says when a stop signal ended it. */
const REMOVED = "everything it mounted was removed";

/** The input text: a file, or stdin for "-". */
export function readInput(file: string): string {
  try {
    return file === "-" ? readTextFd(0, "stdin") : readTextFile(file);
  } catch (err) {
    // named as fstab's are: "read list.json: open(2): ENOENT (No such file or directory)"
    const cause = err instanceof SyscallError ? err.callFailure : String(err);
    throw new PlanError(`read ${file === "-" ? "stdin" : quotePath(file)}: ${cause}`, { cause: err });
  }
}
