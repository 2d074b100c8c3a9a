/**
 * The mountkit binary. Multi-call: invoked through a link named `mount`, `umount`, `mountpoint`,
 * `findmnt` or `losetup` it is that command. Argument parsing, output and exit codes only.
 */
import { basename } from "../path.ts";
import { errnoMessage } from "../errno.ts";
import { ExitCode } from "../errors.ts";
import { jsonAnywhere, UsageError } from "./args.ts";
import { messageLine, printResult, processIo, reportError, stdoutWritten, stdoutWriteFailure, type Io } from "./output.ts";
import { SignalExit } from "./signal-exit.ts";
import { VERSION } from "../version.ts";

/** How a command ends: an exit status, or death by a signal (signal-exit.ts). */
type CommandEnd = ExitCode | number | SignalExit;
type Command = (argv: readonly string[], io: Io) => CommandEnd | Promise<CommandEnd>;

// Each command's module is loaded when it runs, so start-up evaluates only what the command uses
// (`--version` loads no FFI and no mitata), and with require(), which loads it synchronously:
// an `await import()` of the same chunk cost about 1-3 ms more per command (docs/bench.md).
const COMMANDS: Record<string, { run: Command; summary: string }> = {
  mount: {
    run: (argv, io) => (require("./commands/mount.ts") as typeof import("./commands/mount.ts")).mountCommand(argv, io),
    summary: "mount a filesystem, or list mounts",
  },
  umount: {
    run: (argv, io) => (require("./commands/umount.ts") as typeof import("./commands/umount.ts")).umountCommand(argv, io),
    summary: "unmount filesystems (-R recursive, --all-stacked)",
  },
  findmnt: {
    run: (argv, io) => (require("./commands/findmnt.ts") as typeof import("./commands/findmnt.ts")).findmntCommand(argv, io),
    summary: "list mounts, or the mount holding a path",
  },
  mountpoint: {
    run: (argv, io) => (require("./commands/mountpoint.ts") as typeof import("./commands/mountpoint.ts")).mountpointCommand(argv, io),
    summary: "whether a path is a mount point (exit 0) or not (32), as mountpoint(1)",
  },
  features: {
    run: (argv, io) => (require("./commands/features.ts") as typeof import("./commands/features.ts")).featuresCommand(argv, io),
    summary: "kernel facts and the chosen strategies",
  },
  bench: {
    run: (argv, io) => (require("./commands/bench.ts") as typeof import("./commands/bench.ts")).benchCommand(argv, io),
    summary: "measure mount throughput (ops/s, latency p50/p99) in a private namespace",
  },
  apply: {
    run: (argv, io) => (require("./commands/apply.ts") as typeof import("./commands/apply.ts")).applyCommand(argv, io),
    summary: "mount a containerd mount list or an OCI config.json, all or nothing",
  },
  "with-mounts": {
    run: (argv, io) => (require("./commands/with-mounts.ts") as typeof import("./commands/with-mounts.ts")).withMountsCommand(argv, io),
    summary: "mount a list, run a command, unmount; exit with its status",
  },
  cleanup: {
    run: (argv, io) => (require("./commands/cleanup.ts") as typeof import("./commands/cleanup.ts")).cleanupCommand(argv, io),
    summary: "unmount and remove what crashed runs left in the temp mount location",
  },
  loop: {
    run: (argv, io) => (require("./commands/loop.ts") as typeof import("./commands/loop.ts")).loopCommand(argv, io),
    summary: "attach a file to a loop device; detach, resize or list loop devices",
  },
};

/** The help text: made when asked for, not at each start (the commands' list is a map and a join). */
export function mainHelp(): string {
  return `mountkit ${VERSION}: Linux mounting the way containerd does it.

Usage: mountkit <command> [options] [arguments]
       mountkit --version | --help | <command> --help

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join("\n")}

Exit codes: 0 success, 1 bad usage or input, 2 system error, 32 mount failure,
64 some but not all operations succeeded.
`;
}

/** Run the CLI for an argv (without the program name), as invoked under `invokedAs`. */
export async function main(invokedAs: string, argv: readonly string[], io: Io = processIo): Promise<CommandEnd> {
  const self = basename(invokedAs);
  // Standing in for mount(8) and umount(8): their command lines (-n is --no-mtab there).
  if (self === "mount") return (require("./commands/mount.ts") as typeof import("./commands/mount.ts")).mountCommand(argv, io, "mount(8)");
  if (self === "umount") return (require("./commands/umount.ts") as typeof import("./commands/umount.ts")).umountCommand(argv, io, "mount(8)");
  // mountpoint(1)'s command line is mountkit mountpoint's own; findmnt(8)'s differs from mountkit
  // findmnt's in its defaults (a tree, four columns in -J), its flags and its match of a PATH
  if (self === "mountpoint") return (require("./commands/mountpoint.ts") as typeof import("./commands/mountpoint.ts")).mountpointCommand(argv, io, "mountpoint(1)");
  if (self === "findmnt") return (require("./commands/findmnt.ts") as typeof import("./commands/findmnt.ts")).findmntCommand(argv, io, "findmnt(8)");
  // losetup(8)'s command line differs from mountkit loop's throughout: a parser of its own
  if (self === "losetup") return (require("./commands/losetup.ts") as typeof import("./commands/losetup.ts")).losetupCommand(argv, io);

  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    io.out(mainHelp());
    return command === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (command === "--version" || command === "-V") {
    io.out(`mountkit ${VERSION}\n`);
    return ExitCode.ok;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    // `mountkit --json mount ...`: an option before the command is none of the command's
    const hint = command.startsWith("-") ? `options go after the command: mountkit COMMAND ${command} ...; see 'mountkit --help'` : "see 'mountkit --help'";
    return reportError(io, new UsageError(`unknown command ${JSON.stringify(command)}`, { hint }), jsonAnywhere(argv));
  }
  return entry.run(rest, io);
}

/**
 * Whether an argument holds U+FFFD: a loop, not Array.prototype.some, whose first use (as of any
 * of JavaScriptCore's array methods written in JavaScript) costs each start about 0.4 ms (docs/bench.md).
 */
function holdsReplacement(args: readonly string[]): boolean {
  for (const arg of args) if (arg.includes("\uFFFD")) return true;
  return false;
}

if (import.meta.main) {
  // Compiled, argv[0] is "bun" and argv[1] the embedded script; the name the user typed is argv0.
  let args = process.argv.slice(2);
  // Bun put U+FFFD for bytes that are not UTF-8: take the arguments' bytes (command-line.ts).
  if (holdsReplacement(args)) {
    args = (require("../sys/command-line.ts") as typeof import("../sys/command-line.ts")).commandLineArguments(args) as string[];
  }
  let end: CommandEnd;
  try {
    end = await main(process.argv0, args);
  } catch (err) {
    // a bug: one line, not the minified bundle's source and stack; under --json the document
    // too, unless the command printed its own before failing
    const message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    processIo.err(messageLine(message));
    end = ExitCode.system;
    if (jsonAnywhere(args) && !stdoutWritten()) printResult(processIo, end, { error: { kind: "internal", message } });
  }
  let code = end instanceof SignalExit ? end.status : end;
  const failed = stdoutWriteFailure();
  if (failed !== undefined) {
    // findmnt > /dev/full: the output is lost, which a zero status would hide (util-linux: "write error")
    processIo.err(messageLine(`write error: ${failed.errnoName} (${errnoMessage(failed.errno)})`));
    if (code === ExitCode.ok) code = ExitCode.system;
  }
  // Last, with every write done: dieOfSignal returns only when it could not end mountkit.
  if (end instanceof SignalExit) (require("../sys/signal-death.ts") as typeof import("../sys/signal-death.ts")).dieOfSignal(end.signal);
  process.exitCode = code;
}
