/**
 * The fstab forms of mount and umount (util-linux's -a, -T, -t, -O, and mount with one operand).
 */
import { BatchError, exitCodeFor, ExitCode, helperExitStatus, quotePath } from "../../errors.ts";
import { describeStep, formatStep } from "../../plan/steps.ts";
import { defaultFstab, mountFromFstab, mountFstab, planFromFstab, planFstab, unmountFstab, type FstabLinePlan, type FstabMountOptions, type FstabPaths } from "../../ops/fstab.ts";
import type { UnmountOptions } from "../../ops/unmount.ts";
import { has, last, operandsText, UsageError, values, type ParsedArgs } from "../args.ts";
import { batchReporter, fstabEntryJson, fstabLineJson, reportOutcome } from "../batch-output.ts";
import { errorJson, printResult, reportError, stderrMessages, warningLine, type Io } from "../output.ts";
import { mountExitCode } from "../mount8-exit.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { signalNumber, stopWatch, stoppedBy } from "../stop-watch.ts";
import { RunStopped } from "../../ops/stop.ts";
import { commandLineOptions, directMount, dryRunPrintsPlan, fakeOptions, helperChoice, placedIn, readWriteOnly, type Dialect, type SingleMount } from "./mount.ts";
import { lineName, OPTIONS_MODES, type FstabOperandRole, type FstabSelection, type OptionsMode } from "../../plan/fstab.ts";

/**
 * mount [-T FILE] [-t TYPE] [-o OPTS] [--options-mode MODE] X: the fstab line for X
 * (ops/fstab.ts fstabRequest); SOURCE and TARGET with --options-source-force.
 */
export function fstabMount(operand: Parameters<typeof mountFromFstab>[0], args: ParsedArgs, given: Pick<FstabMountOptions, "type" | "options" | "targetPrefix">): SingleMount {
  const options: FstabMountOptions = { ...given, file: fstabPathsOf(args), optionsMode: optionsModeOf(args) };
  return {
    plan: (ops) => planFromFstab(operand, { ...ops, ...options }),
    run: (ops) => mountFromFstab(operand, { ...ops, ...options }),
  };
}

/**
 * mount -o remount X [-T FILE] [--options-mode MODE]: X's fstab line, its options then -o's and
 * nothing kept from the mount, else the mount X names, keeping the flags -o does not mention
 * (ops/remount-request.ts). The operand is looked up now: a dry run reads the same fstab.
 */
export function remountMount(
  operand: string,
  args: ParsedArgs,
  given: { by: FstabOperandRole; options: readonly string[]; readsFstab: boolean; targetPrefix: string | undefined; warn: (message: string) => void },
): SingleMount {
  const { remountRequest } = require("../../ops/remount-request.ts") as typeof import("../../ops/remount-request.ts");
  const request = remountRequest(operand, { ...given, file: fstabPathsOf(args), optionsMode: optionsModeOf(args) });
  return directMount(request.m, placedIn(given.targetPrefix, request.target), request.replaces ? { remountReplaces: true } : {});
}

/**
 * -T, repeatable: one path as it is (JSON keeps printing it as a string), several as a list;
 * undefined without -T: the default fstab ($LIBMOUNT_FSTAB, else /etc/fstab), which may be
 * missing (no lines), as in mount(8).
 */
function fstabPathsOf(args: ParsedArgs): FstabPaths | undefined {
  const paths = values(args, "fstab");
  return paths.length === 0 ? undefined : paths.length === 1 ? paths[0]! : paths;
}

/** --options-mode MODE, checked; undefined when not given (prepend). */
function optionsModeOf(args: ParsedArgs): OptionsMode | undefined {
  const mode = last(args, "options-mode");
  if (mode === undefined) return undefined;
  if (!(OPTIONS_MODES as readonly string[]).includes(mode)) throw new UsageError(`mount: --options-mode ${JSON.stringify(mode)}: not one of ${OPTIONS_MODES.join(", ")}`);
  return mode as OptionsMode;
}

/** Flags of one mount, which mean nothing for a whole fstab. */
const SINGLE_MOUNT_FLAGS = ["bind", "rbind", "move", "label", "uuid", "source", "target"] as const;

/** mount -a [-T FILE] [-t TYPES] [-O OPTS] [-o OPTS] [-F] [-n] [-v] [--json] */
export function mountAllCommand(args: ParsedArgs, io: Io, dialect: Dialect = "mountkit"): ExitCode | SignalExit | Promise<ExitCode | SignalExit> {
  const json = has(args, "json");
  /** the stop signal the watch had when released, which a failure after it must not drop */
  let came: number | undefined;
  try {
    if (args.operands.length > 0) throw new UsageError(`mount -a: takes no operands, got ${operandsText(args.operands)}`);
    const single = SINGLE_MOUNT_FLAGS.filter((flag) => has(args, flag));
    if (single.length > 0) throw new UsageError(`mount -a: --${single.join(", --")} name${single.length === 1 ? "s" : ""} one mount, not every fstab line`);
    const helperDir = last(args, "helper-dir");
    const lineOptions = commandLineOptions(args);
    // mount(8) -a -o remount remounts whatever its fstab's lines name; mountkit would instead
    // find each line "already mounted" and do nothing, exit 0: refused, as --bind is.
    if (lineOptions.includes("remount")) {
      throw new UsageError("mount -a: -o remount changes one mount that exists, not every fstab line", {
        hint: "remount each mount point: mount -o remount,OPTS TARGET",
      });
    }
    const options = {
      file: fstabPathsOf(args),
      types: last(args, "types"),
      testOptions: last(args, "test-opts"),
      // -o, -r, -w, -m, --make-*: after each line's own options, as mount(8) -a adds them
      options: lineOptions,
      optionsMode: optionsModeOf(args),
      targetPrefix: last(args, "target-prefix"),
      ...readWriteOnly(args),
      ...helperChoice(args),
      ...(helperDir === undefined ? {} : { helperDir }),
    };
    if (has(args, "dry-run")) {
      const { selection, lines } = planFstab({ ...options, ...fakeOptions(dialect) });
      return reportDryRun(io, lines, selection, { json, printsPlan: dryRunPrintsPlan(args, dialect), fstab: options.file ?? defaultFstab() });
    }
    const report = (outcome: Parameters<typeof reportOutcome>[1] & { selection: FstabSelection }) => {
      if (has(args, "verbose") && !json) {
        for (const s of outcome.selection.skipped) io.out(`mount -a: ${lineName(s)}: ${quotePath(s.target)}: ignored (${s.reason})\n`);
      }
      return reportOutcome(io, outcome, json, { fstab: options.file ?? defaultFstab(), ignored: outcome.selection.skipped }, fstabEntryJson);
    };
    if (has(args, "fork")) {
      const forked = require("./fstab-fork.ts") as typeof import("./fstab-fork.ts");
      return forked.mountAllForked(args, io, options).then(
        (run) => {
          if ("failure" in run) {
            if (run.failure instanceof RunStopped) return stoppedBy(io, signalNumber(run.failure.reason)!, "mount -a", FORK_STOPPED, run.failure);
            const code = reportError(io, run.failure, json, mountExitCode(run.failure, dialect, false));
            // a stop signal that came as the run failed (an internal error): the failure said,
            // then the death by the signal, as without -F
            return endedBy(code, run.signal);
          }
          const code = report(run.outcome);
          return run.signal === undefined ? code : stoppedBy(io, run.signal, "mount -a", EVERY_LINE_DONE);
        },
        // thrown outside the run (its flags read, its reporter made or finished)
        (err: unknown) => reportError(io, err, json, mountExitCode(err, dialect, false)),
      );
    }
    const reporter = batchReporter(io, { verbose: has(args, "verbose"), json, label: "mount -a" });
    // Each line on its own, as util-linux's: a stop signal undoes the line being mounted (a loop
    // device attached, an X-mount.mkdir directory made), and the lines before it stay.
    const stop = stopWatch();
    let outcome;
    try {
      outcome = mountFstab({ ...options, onEntry: reporter.onEntry, warn: stderrMessages(io, "mount -a"), stop });
    } catch (err) {
      reporter.finish();
      came = stop.release();
      if (err instanceof RunStopped) {
        const what = err.during === undefined ? "the lines mounted stay; no more were started" : `${err.during} was undone; the lines mounted before it stay, no more were started`;
        return stoppedBy(io, signalNumber(err.reason)!, "mount -a", what, err);
      }
      throw err;
    }
    reporter.finish();
    // a signal during the last line: every line done, the report made, then the death
    came = stop.release();
    const code = report(outcome);
    return came === undefined ? code : stoppedBy(io, came, "mount -a", EVERY_LINE_DONE);
  } catch (err) {
    const code = reportError(io, err, json, mountExitCode(err, dialect, has(args, "dry-run")));
    // a stop signal that came as the run failed (an internal error, after which ops/batch.ts
    // undid every line): the failure said, then the death by the signal, as mount does
    return endedBy(code, came);
  }
}

/** What mount -a -F says when a stop signal ended it. */
const FORK_STOPPED = "the lines mounted stay; no more were started";
/** What mount -a says of a stop signal that came as its last line was mounted. */
const EVERY_LINE_DONE = "every line was done";

/**
 * mount -a --dry-run's report: each line's plan (stdout; as text only when printsPlan), and the
 * failure of each line that could not be planned (stderr, a warning for nofail), exit 0, 32 or
 * 64 as mount -a counts them.
 */
function reportDryRun(
  io: Io,
  lines: readonly FstabLinePlan[],
  selection: FstabSelection,
  { json, printsPlan, fstab }: { json: boolean; printsPlan: boolean; fstab: FstabPaths },
): ExitCode {
  const failed = lines.flatMap((l) => ("error" in l && !l.entry.nofail ? [l.error] : []));
  const error = failed.length > 0 ? new BatchError("mount -a", failed, lines.length - failed.length) : undefined;
  const code = error ? exitCodeFor(error) : ExitCode.ok;
  for (const l of lines) {
    if ("planned" in l) {
      if (json || !printsPlan) continue;
      io.out(`# ${l.planned.entry.where}\n`);
      for (const step of l.planned.plan.steps) io.out(`${formatStep(step)}\n`);
    } else if (l.entry.nofail) io.err(warningLine(l.error));
    else reportError(io, l.error, false);
  }
  if (json) {
    printResult(io, code, {
      dryRun: true,
      // the file read, as mount -a's own document names it
      fstab,
      entries: lines.map((l) =>
        "planned" in l
          ? { ...fstabLineJson(l.planned.entry), where: l.planned.entry.where, target: l.planned.target, steps: l.planned.plan.steps.map(describeStep) }
          : { ...fstabLineJson(l.entry), where: l.entry.where, status: l.entry.nofail ? "warning" : "failed", error: l.error.toJSON() },
      ),
      ignored: selection.skipped,
      error: error?.toJSON(),
    });
  }
  return code;
}

/**
 * umount -a [-T FILE] [-t TYPES] [-r] [-v] [--json]: the fstab's mount points, or (`from`
 * "mount table": umount(8)'s -a, for a link named umount) every mount of the table.
 */
export function umountAllCommand(
  args: ParsedArgs,
  io: Io,
  given: UnmountOptions & { readOnlyWhenBusy: boolean },
  from: "fstab" | "mount table" = "fstab",
  dialect: Dialect = "mountkit",
): number | SignalExit {
  const json = has(args, "json");
  // -d: an unmount with a loop device to detach after it, the two made whole (ops/stop.ts)
  const stop = stopWatch();
  /** the stop signal the watch had when released, which a failure after it must not drop */
  let came: number | undefined;
  const unmountOptions = { ...given, ...(has(args, "detach-loop") ? { stop } : {}) };
  try {
    if (args.operands.length > 0) throw new UsageError(`umount -a: takes no operands, got ${operandsText(args.operands)}`);
    const file = fstabPathsOf(args);
    const types = last(args, "types");
    const testOptions = last(args, "test-opts");
    const { results, error } =
      from === "fstab"
        ? unmountFstab({ ...unmountOptions, file, types, testOptions })
        : (require("../../ops/unmount-table.ts") as typeof import("../../ops/unmount-table.ts")).unmountMountTable({
            ...unmountOptions,
            ...(types === undefined ? {} : { types }),
            ...(testOptions === undefined ? {} : { testOptions }),
            // umount(8)'s -a (the mount table is a link named umount's): a mount kept busy by the
            // mounts staying on it is tried, its EBUSY said
            tryWhenChildrenStay: true,
          });
    if (has(args, "verbose") && !json) {
      for (const r of results) {
        const where = "line" in r ? `${lineName(r)}: ` : "";
        io.out(`umount -a: ${where}${quotePath(r.target)}: ${r.status === "not-mounted" ? "not mounted" : r.status}\n`);
      }
    }
    let code: number = ExitCode.ok;
    if (error) {
      for (const e of error.errors) reportError(io, e, false);
      // umount(8) -a ORs its mounts' codes (32, a helper's own status), never 64 "some went"
      if (dialect === "mount(8)") for (const e of error.errors) code |= helperExitStatus(e) ?? ExitCode.mountFailed;
      else code = error.succeeded > 0 ? ExitCode.someFailed : ExitCode.mountFailed;
    }
    if (json) {
      printResult(io, code, {
        ...(unmountOptions.fakeUnmounts ? { fake: true } : {}),
        ...(from === "fstab" ? { fstab: file ?? defaultFstab() } : { from: "mountinfo" }),
        results: results.map((r) => ({
          ...("line" in r ? { line: r.line, ...(r.file === undefined ? {} : { file: r.file }) } : { fstype: r.fstype }),
          target: r.target,
          ok: r.status !== "failed",
          status: r.status,
          ...(r.error ? { error: errorJson(r.error) } : {}),
        })),
        error: error?.toJSON(),
      });
    }
    came = stop.release();
    return endedBy(code, came);
  } catch (err) {
    came ??= stop.release();
    if (err instanceof RunStopped) return stoppedBy(io, signalNumber(err.reason)!, "umount -a", "no more mount points were unmounted", err);
    const code = reportError(io, err, json);
    // a stop signal that came as the run failed (an internal error): the failure said, then the death by the signal
    return endedBy(code, came);
  }
}
