/**
 * mountkit with-mounts FILE -- COMMAND...: mount, run the command, clean up, exit with the
 * command's status.
 */
import { constants } from "node:os";
import { Errno, errnoCode } from "../../errno.ts";
import { ExitCode, quotePath, SyscallError } from "../../errors.ts";
import { withMountsFromText } from "../../ops/with-mounts.ts";
import { dirFlag, formatHelp, has, jsonAnywhere, last, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { batchReporter } from "../batch-output.ts";
import { errorLine, messageLine, reportError, stderrMessages, warningLine, type Io } from "../output.ts";
import { holdStopSignals, STOP_SIGNALS, type SignalHold } from "../signal-hold.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { signalNumber, stopWatch, stoppedBy } from "../stop-watch.ts";
import { RunStopped } from "../../ops/stop.ts";
import { environment } from "../../sys/command-line.ts";
import { processExit, startProcess } from "../../sys/process.ts";
import { readInput } from "./apply.ts";
import { missingInterpreterHint } from "./missing-interpreter.ts";
import { fileType } from "../../sys/stat.ts";

export const WITH_MOUNTS_FLAGS: readonly FlagSpec[] = [
  { long: "root", value: "DIR", help: "mount inside DIR (default: OCI root.path, else a fresh temp dir)" },
  { long: "mkdir", help: "create missing targets of a containerd list" },
  { long: "read-only", short: "r", help: "mount everything read-only (an overlay's upperdir becomes a lowerdir)" },
  { long: "verbose", short: "v", help: "print each entry as it is mounted" },
  { long: "helper-dir", value: "DIR", help: "look FUSE helpers (mount.fuse3, fusermount3) up only in DIR" },
  { long: "help", short: "h", help: "show this help" },
];

export const WITH_MOUNTS_USAGE = "mountkit with-mounts [--root DIR] [--mkdir] [-r] [-v] FILE -- COMMAND [ARG]...";

const SUMMARY = `Mount what FILE lists (as apply reads it), run COMMAND, then unmount and remove what was
made, and exit with COMMAND's status (127 when it is not found, 126 when it cannot be run). When
COMMAND is killed by a signal, mountkit cleans up, then kills itself with that signal (no core
written), as timeout(1) does, so a shell sees the death (128+N in $?, and a loop stops on
Ctrl-C); where it cannot, it exits 128+N. The root is passed to COMMAND as $MOUNTKIT_ROOT, and an
argument {} is replaced by it. SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to COMMAND;
mountkit cleans up after it (one that comes while mounting stops it at the next entry: what was
mounted is removed, COMMAND is not run, and mountkit dies of that signal). A signal ignored when
mountkit starts (nohup) stays ignored, in COMMAND too. If the mounts fail COMMAND is not run
(exit 32, or 1 for bad input).`;

/** What the shell returns for a command that is not found, and for one found but not run (coreutils' env, timeout). */
const EXIT_NOT_FOUND = 127;
const EXIT_CANNOT_RUN = 126;

/** The command's end: its exit status, or the signal it died of (mountkit then dies of it too). */
type CommandStatus = number | SignalExit;

export async function withMountsCommand(argv: readonly string[], io: Io): Promise<CommandStatus> {
  const split = argv.indexOf("--");
  const own = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  let args;
  try {
    args = parseArgs("with-mounts", own, WITH_MOUNTS_FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(WITH_MOUNTS_USAGE, SUMMARY, WITH_MOUNTS_FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length !== 1) throw new UsageError(`with-mounts: expected one FILE before --, got ${args.operands.length}`);
    if (command.length === 0) throw new UsageError("with-mounts: missing -- COMMAND", { hint: `usage: ${WITH_MOUNTS_USAGE}` });
    dirFlag("with-mounts", args, "root");
    dirFlag("with-mounts", args, "helper-dir", { absolute: true });
  } catch (err) {
    // with-mounts has no --json (stdout is COMMAND's), but a command line refused with one is
    // answered in JSON, as every command's is
    return reportError(io, err, jsonAnywhere(own));
  }

  const file = args.operands[0]!;
  const reporter = batchReporter(io, { verbose: has(args, "verbose"), json: false, label: "with-mounts" });
  // Held from before the first mount to after the last unmount: a Ctrl-C while mounting or
  // cleaning up would otherwise end mountkit there and leave the mounts made so far.
  const signals = holdStopSignals();
  // While mounting, a stop signal is watched too (stop-watch.ts): the mounts are synchronous,
  // and the hold's handlers would run only once every entry is mounted. The batch asks the
  // watch between entries: the mounting stops there, and what it made is undone, newest first.
  // Released before COMMAND starts: the hold alone sees the signals from then on (the unmounting
  // after COMMAND arms nothing: its remounts are one step, its unmounts single umount2 calls),
  // so that unmounting is never cut short. Armed here, before the input is read: the batch
  // arms it only at its first entry, and a signal before that would not stop the mounting.
  const stop = stopWatch();
  stop.arm();
  /** the stop signal that came before COMMAND started, if one did */
  const stopBeforeCommand = async (): Promise<number | undefined> => {
    const watched = stop.release();
    if (watched !== undefined) return watched;
    // one that came before the watch was armed, or since its release: its handler runs now
    await new Promise((resolve) => setImmediate(resolve));
    return signals.received === undefined ? undefined : STOP_SIGNALS[signals.received];
  };
  let status: CommandStatus | undefined;
  let stopped: number | undefined;
  try {
    const text = readInput(file);
    await withMountsFromText(
      text,
      {
        file,
        root: last(args, "root"),
        mkdir: has(args, "mkdir"),
        readonly: has(args, "read-only"),
        onEntry: (result, done, total) => {
          reporter.onEntry(result, done, total);
          // a nofail entry's failure: said as apply says it (apply prints it once the batch is done)
          if (result.status === "warning" && result.error) io.err(warningLine(result.error));
        },
        warn: stderrMessages(io, "with-mounts"),
        onBatchWarning: (w) => io.err(warningLine(w)),
        // a FUSE helper's output once it succeeded, all on stderr: stdout is COMMAND's (docs/fuse.md)
        helperStdio: "stdout-to-stderr",
        ...(last(args, "helper-dir") === undefined ? {} : { helperDir: last(args, "helper-dir")! }),
        stop,
      },
      async (root) => {
        reporter.finish();
        // every entry mounted, and a stop came after the batch last asked the watch (or before
        // it was armed): COMMAND is not started
        stopped = await stopBeforeCommand();
        if (stopped !== undefined) return;
        status = await run(command.map((a) => (a === "{}" ? root : a)), root, signals, io);
      },
    );
    return status ?? stoppedBy(io, stopped!, "with-mounts", NOT_STARTED);
  } catch (err) {
    reporter.finish();
    // the mounting stopped part-way (stop.ts), what it made undone
    if (err instanceof RunStopped) {
      stop.release();
      return stoppedBy(io, signalNumber(err.reason)!, "with-mounts", NOT_STARTED, err);
    }
    const code = reportError(io, err, false);
    // A signal that came while mounting still ends mountkit, whatever else failed: a shell
    // loop stops on Ctrl-C only when its child died of SIGINT.
    if (status === undefined) stopped ??= await stopBeforeCommand();
    if (status === undefined && stopped !== undefined) return new SignalExit(stopped);
    // The command ran but the cleanup failed: its status wins unless it succeeded.
    return status !== undefined && status !== 0 ? status : code;
  } finally {
    stop.release();
    signals.release();
  }
}

/** What with-mounts says when a stop signal came before its command started. */
const NOT_STARTED = "COMMAND was not started; everything mounted was removed";

/** Run the command with the root in its environment; its exit status, or the signal it died of. */
async function run(argv: string[], root: string, signals: SignalHold, io: Io): Promise<CommandStatus> {
  const env: Record<string, string | undefined> = { ...environment(), MOUNTKIT_ROOT: root };
  try {
    return await start(argv, env, signals);
  } catch (err) {
    if (!(err instanceof SyscallError) || err.errno !== Errno.ENOEXEC) return cannotRun(argv[0]!, err, io);
    // Not a format the kernel runs (a script without #!): execvp(3) runs such a file with
    // /bin/sh, as shells, env(1) and timeout(1) do.
    try {
      return await start(["/bin/sh", pathOf(argv[0]!, env.PATH), ...argv.slice(1)], env, signals);
    } catch (shErr) {
      return cannotRun(argv[0]!, shErr, io);
    }
  }
}

/** Start argv and wait for it; a failure to start is a SyscallError of posix_spawn(3). */
function start(argv: string[], env: Record<string, string | undefined>, signals: SignalHold): Promise<CommandStatus> {
  // Bun.spawn writes U+FFFD's bytes for a byte that is not UTF-8, and resets every signal to
  // its default: such a command, or one that must inherit an ignored signal, is started by
  // posix_spawnp (a path argument must name that path, not another).
  const bytesKept = argv.every((a) => a.isWellFormed()) && Object.values(env).every((v) => v === undefined || v.isWellFormed());
  if (!bytesKept || signals.ignoredByCaller.length > 0) return runByLibc(argv, env, signals);
  return runByBun(argv, env, signals);
}

async function runByBun(argv: string[], env: Record<string, string | undefined>, signals: SignalHold): Promise<CommandStatus> {
  let child;
  try {
    child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"], env });
  } catch (err) {
    throw spawnFailure(argv[0]!, err);
  }
  signals.passTo((signal) => child.kill(signal));
  try {
    await child.exited;
  } finally {
    signals.passTo(undefined);
  }
  if (child.signalCode) {
    // a name where Node has one; a real-time signal (SIGRTMIN and up) comes as its number
    const code = child.signalCode as string | number;
    const signal: number | undefined = typeof code === "number" ? code : constants.signals[code as keyof typeof constants.signals];
    return endedBy(ExitCode.system, signal);
  }
  return child.exitCode ?? ExitCode.system;
}

/** Bun.spawn's failure (its code is the errno's name) as the SyscallError posix_spawn(3) would give. */
function spawnFailure(file: string, err: unknown): unknown {
  const e = err as { code?: unknown; errno?: unknown };
  const errno = typeof e.errno === "number" ? Math.abs(e.errno) : typeof e.code === "string" ? errnoCode(e.code) : undefined;
  return errno === undefined ? err : new SyscallError("posix_spawn(3)", errno, [file]);
}

/** run() through posix_spawnp, its end polled (every 1 ms, growing to 20) so signals are passed on meanwhile. */
async function runByLibc(argv: string[], env: Record<string, string | undefined>, signals: SignalHold): Promise<CommandStatus> {
  const items = Object.entries(env).map(([k, v]) => `${k}=${v ?? ""}`);
  const pid = startProcess(argv[0]!, argv, items, signals.ignoredByCaller);
  // Passed on only until the process is reaped (no await between that and passTo(undefined)).
  signals.passTo((signal) => process.kill(pid, signal));
  try {
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const exit = processExit(pid);
      if (exit) return exit.signal !== null ? new SignalExit(exit.signal) : (exit.exitCode ?? ExitCode.system);
      await Bun.sleep(delay);
    }
  } finally {
    signals.passTo(undefined);
  }
}

/** "mountkit: with-mounts: run CMD: posix_spawn(3): EACCES (Permission denied)"; 127 when not found, else 126. */
function cannotRun(file: string, err: unknown, io: Io): number {
  if (!(err instanceof SyscallError)) {
    io.err(messageLine(`with-mounts: run ${file}: ${err instanceof Error ? err.message : String(err)}`));
    return EXIT_CANNOT_RUN;
  }
  const notFound = err.errno === Errno.ENOENT;
  err.withAction(`with-mounts: run ${file === "" ? '""' : quotePath(file)}`, notFound ? notFoundHint(file) : undefined);
  io.err(errorLine(err));
  return notFound ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

/** ENOENT of a command: not in PATH, or there but missing what it needs to run (its #! interpreter, its ELF loader). */
function notFoundHint(file: string): string | undefined {
  const path = pathOf(file, environment().PATH);
  if (fileType(path) === "file") return missingInterpreterHint(path);
  return file.includes("/") ? undefined : "no such command in PATH";
}

/** The file a command name runs: itself when it holds a slash, else the first match in PATH (which(1)). */
function pathOf(file: string, path: string | undefined): string {
  if (file.includes("/")) return file;
  return Bun.which(file, path === undefined ? {} : { PATH: path }) ?? file;
}
