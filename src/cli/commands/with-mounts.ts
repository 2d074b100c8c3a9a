/**
 * mountkit with-mounts FILE -- COMMAND...: mount, run the command, clean up, exit with the
 * command's status.
 */
import { constants } from "node:os";
import { errnoMessage } from "../../errno.ts";
import { ExitCode, SyscallError } from "../../errors.ts";
import { withMountsFromText } from "../../ops/with-mounts.ts";
import { formatHelp, has, last, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { batchReporter } from "../batch-output.ts";
import { oneLine, reportError, type Io } from "../output.ts";
import { environment } from "../../sys/command-line.ts";
import { processExit, startProcess } from "../../sys/process.ts";
import { readInput } from "./apply.ts";

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
made, and exit with COMMAND's status (128+N when killed by signal N; 127 when it cannot be
started). The root is passed to COMMAND as $MOUNTKIT_ROOT, and an argument {} is replaced by
it. SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to COMMAND; mountkit cleans up after it.
If the mounts fail COMMAND is not run (exit 32, or 1 for bad input).`;

/** Signals handed on to the command while it runs, so mountkit stays to clean up. */
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const;

/** What the shell returns for a command that cannot be found or run. */
const EXIT_CANNOT_RUN = 127;

export async function withMountsCommand(argv: readonly string[], io: Io): Promise<number> {
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
  } catch (err) {
    return reportError(io, err, false);
  }

  const file = args.operands[0]!;
  const reporter = batchReporter(io, { verbose: has(args, "verbose"), json: false, label: "with-mounts" });
  let status: number | undefined;
  try {
    const text = readInput(file);
    await withMountsFromText(
      text,
      {
        file,
        root: last(args, "root"),
        mkdir: has(args, "mkdir"),
        readonly: has(args, "read-only"),
        onEntry: reporter.onEntry,
        warn: (message) => io.err(`with-mounts: ${message}\n`),
        ...(last(args, "helper-dir") === undefined ? {} : { helperDir: last(args, "helper-dir")! }),
      },
      async (root) => {
        reporter.finish();
        status = await run(command.map((a) => (a === "{}" ? root : a)), root, io);
      },
    );
    return status!;
  } catch (err) {
    reporter.finish();
    const code = reportError(io, err, false);
    // The command ran but the cleanup failed: its status wins unless it succeeded.
    return status !== undefined && status !== 0 ? status : code;
  }
}

/** Run the command with the root in its environment; its exit status, shell-style. */
async function run(argv: string[], root: string, io: Io): Promise<number> {
  const env = { ...environment(), MOUNTKIT_ROOT: root };
  // Bun.spawn writes U+FFFD's bytes for a byte that is not UTF-8: such a command is started by
  // posix_spawnp, which passes the bytes (a path argument must name that path, not another).
  if (!argv.every((a) => a.isWellFormed()) || !Object.values(env).every((v) => v === undefined || v.isWellFormed())) {
    return runKeepingBytes(argv, env, io);
  }
  let child;
  try {
    child = Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"], env });
  } catch (err) {
    io.err(`mountkit: with-mounts: run ${oneLine(argv[0]!)}: ${oneLine((err as Error).message)}\n`);
    return EXIT_CANNOT_RUN;
  }
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    await child.exited;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
  if (child.signalCode) return 128 + (constants.signals[child.signalCode as keyof typeof constants.signals] ?? 0);
  return child.exitCode ?? ExitCode.system;
}

/** run() through posix_spawnp, its end polled (every 1 ms, growing to 20) so signals are passed on meanwhile. */
async function runKeepingBytes(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  let pid: number;
  try {
    pid = startProcess(argv[0]!, argv, Object.entries(env).map(([k, v]) => `${k}=${v ?? ""}`));
  } catch (err) {
    // "run CMD: posix_spawn(3): ENOENT (No such file or directory)": the path is named once
    const cause = err instanceof SyscallError ? `${err.syscall}: ${err.errnoName} (${errnoMessage(err.errno)})` : (err as Error).message;
    io.err(`mountkit: with-mounts: run ${oneLine(argv[0]!)}: ${oneLine(cause)}\n`);
    return EXIT_CANNOT_RUN;
  }
  // Passed on only until the process is reaped (no await between that and removing these).
  const forward = (signal: NodeJS.Signals) => process.kill(pid, signal);
  for (const s of FORWARDED) process.on(s, forward);
  try {
    for (let delay = 1; ; delay = Math.min(delay * 2, 20)) {
      const exit = processExit(pid);
      if (exit) return exit.signal !== null ? 128 + exit.signal : (exit.exitCode ?? ExitCode.system);
      await Bun.sleep(delay);
    }
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
  }
}
