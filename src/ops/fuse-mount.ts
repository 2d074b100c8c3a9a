/**
 * Running a mount helper step (containerd mountWithHelper, fixed where it left mounts behind):
 *   1. read the target's mount ID (statx STATX_MNT_ID: mountinfo's first field, in ~1 us; on a
 *      kernel whose statx has none, before Linux 5.8, the mountinfo entry of its real path)
 *   2. run the helper (PATH: the helper dirs, never the caller's: helper-env.ts); exit 0 is success.
 *      A mount.TYPE helper's stdio is the caller's choice (OpsOptions.helperStdio: the CLI's
 *      own terminal, as mount(8) runs it). A FUSE helper's output is always kept (helperStdio
 *      below), and written to this process's stdout and stderr once it succeeded when the
 *      caller chose "inherit" or "stdout-to-stderr"
 *   3. a plain failure (non-zero exit, killed) is a HelperError with the helper, its argv, its
 *      exit status and its output; if the helper mounted anyway, that mount is removed first
 *   4. ECHILD (the wait lost the child, containerd#4387): the helper may or may not have
 *      mounted. If the mount ID changed, unmount the new mount, then try again, under the
 *      HELPER_ECHILD policy (10 tries); after the last, a HelperError naming the ECHILD. If
 *      that unmount fails, the tries end there (another would stack a mount on the one left):
 *      the same HelperError, with the unmount failure in its cleanupErrors.
 */
import { Errno } from "../errno.ts";
import { HelperError, isErrno } from "../errors.ts";
import type { HelperStep } from "../plan/steps.ts";
import type { ProcessExit, ProcessStdio } from "../sys/seam.ts";
import { writeProcessOutput } from "../sys/process.ts";
import type { OpsContext } from "./context.ts";
import { describeExit } from "./fuse-unmount.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs } from "./helpers.ts";
import { mountIdOf, reachableMountId } from "./mount-id.ts";
import { HELPER_ECHILD, retrySync } from "./retry.ts";
import type { PlanRun } from "./run-plan.ts";
import { unmount, type UnmountOptions } from "./unmount.ts";


/** Run a located helper step; on success, register its unmount for the plan's rollback. */
export function runHelperStep(step: HelperStep, ctx: OpsContext, run: PlanRun): void {
  const path = step.path;
  if (path === null) throw new Error(`unreachable: ${step.helper} was not located before the plan ran`);
  const env = helperEnvironment(helperSearchDirs(ctx));
  const stdio = helperStdio(step, ctx);
  // a FUSE helper's output is the caller's own stdout and stderr's, late (helperStdio below)
  const writeOut = step.helperKind === "fuse" && stdio === "capture-each" && ctx.helperStdio !== "capture-each";
  const before = mountIdOf(step.target, ctx);
  let tries = 0;
  let succeeded: ProcessExit | undefined;
  try {
    retrySync(HELPER_ECHILD, (attempt) => {
      tries = attempt;
      let exit: ProcessExit;
      try {
        exit = ctx.sys.runProcess(path, step.argv, env, stdio);
      } catch (err) {
        if (!isErrno(err, Errno.ECHILD)) throw err;
        ctx.log?.(`${step.helper}: waitpid lost the child (ECHILD), try ${attempt} of ${HELPER_ECHILD.attempts}`);
        const unmountFailure = removeNewMount(step.target, before, ctx);
        if (unmountFailure === undefined) throw err; // nothing left mounted: worth another try
        const lost = childLost(step, path, err, `on try ${attempt} of ${HELPER_ECHILD.attempts}, and the mount it made could not be removed`);
        lost.cleanupErrors.push(unmountFailure);
        throw lost;
      }
      // output about to be written out is not logged as well
      const writtenOut = writeOut && exit.exitCode === 0;
      ctx.log?.(`${step.helper}: ${describeExit(writtenOut ? { ...exit, output: "" } : exit)}`);
      if (exit.exitCode !== 0) {
        const failure = helperFailed(step, path, exit);
        const unmountFailure = removeNewMount(step.target, before, ctx);
        if (unmountFailure !== undefined) failure.cleanupErrors.push(unmountFailure);
        throw failure;
      }
      succeeded = exit;
    });
  } catch (err) {
    if (isErrno(err, Errno.ECHILD)) throw childLost(step, path, err, `on all ${tries} tries`);
    throw err;
  }
  if (writeOut && succeeded !== undefined) writeProcessOutput(succeeded, ctx.helperStdio === "stdout-to-stderr" ? 2 : 1);
  if (step.undoable && run.undoWanted) run.rollback.push(() => void unmount(step.target, sameContext(ctx)));
}

/**
 * How the helper runs. A mount.TYPE helper: as the caller chose (mount(8) gives it the terminal).
 * A FUSE helper: its output always kept, so its error carries it, a try lost to ECHILD prints
 * nothing, and the daemon it leaves holds none of the caller's fds (a shell's $(...) would wait
 * on one until the unmount); each stream apart when the caller wants it written out.
 */
function helperStdio(step: HelperStep, ctx: OpsContext): ProcessStdio {
  const chosen = ctx.helperStdio ?? "capture";
  if (step.helperKind === "external") return chosen;
  return chosen === "inherit" || chosen === "stdout-to-stderr" ? "capture-each" : chosen;
}

/** ctx as options for the unmount family: same seam, facts, log and helper dir. */
function sameContext(ctx: OpsContext): UnmountOptions {
  return { sys: ctx.sys, facts: ctx.facts, log: ctx.log, helperDir: ctx.helperDir };
}

/**
 * When the target's mount ID is no longer `before`, the helper mounted something: unmount it,
 * so a retry does not stack a second mount and a failure leaves nothing behind. A target that
 * statx can no longer reach (a half-made FUSE mount whose daemon died answers ENOTCONN) has
 * changed too. Returns the unmount's error instead of throwing it: the caller's error is the
 * one to report, with this one attached.
 */
function removeNewMount(target: string, before: number, ctx: OpsContext): unknown {
  const after = reachableMountId(target, ctx);
  if (after === before) return undefined;
  ctx.log?.(`mount ID of ${target} changed (${before} -> ${after ?? "unreachable"}): unmounting the new mount`);
  try {
    unmount(target, sameContext(ctx));
    return undefined;
  } catch (err) {
    return err;
  }
}

/** The helper's wait failed with ECHILD (cause): "... waitpid lost the child (ECHILD) <when>". */
function childLost(step: HelperStep, path: string, cause: unknown, when: string): HelperError {
  return new HelperError(
    `${step.action}: mount helper ${path} ${formatArgv(step.argv)}: waitpid lost the child (ECHILD) ${when}`,
    step.helper,
    step.argv,
    null,
    "",
    { cause, hint: "something in this process reaps children it did not start (containerd#4387)" },
  );
}

function helperFailed(step: HelperStep, path: string, exit: ProcessExit): HelperError {
  const how = exit.exitCode !== null ? `exited with status ${exit.exitCode}` : `was killed by signal ${exit.signal ?? "?"}`;
  const output = exit.output.trim();
  return new HelperError(
    `${step.action}: mount helper ${path} ${formatArgv(step.argv)} ${how}${output ? `: ${output}` : ""}`,
    step.helper,
    step.argv,
    exit.exitCode,
    exit.output,
  );
}

/** [mount.fuse3 overlay /x -o lowerdir=/l -t fuse-overlayfs], items JSON-quoted when they need it */
function formatArgv(argv: readonly string[]): string {
  return `[${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}]`;
}
