/**
 * mountkit loop attach|detach|set-capacity|list: loop devices by hand (losetup -f --show,
 * losetup DEV FILE, losetup -d, losetup -c, losetup --list [-j FILE | DEV]).
 */
import { ExitCode, PlanError, quotePath } from "../../errors.ts";
import { detachLoop, loopSizeWarning, setLoopCapacity } from "../../ops/loop.ts";
import { kernelFacts } from "../../ops/features.ts";
import { describeLoopDevice, listLoopDevices, loopDeviceNamed } from "../../ops/loop-list.ts";
import { clearLoopAutoclear } from "../../ops/loop-settings.ts";
import { parseSize } from "../../plan/size.ts";
import { checkSectorSize } from "../../plan/loop-size.ts";
import { LOOP_ENCRYPTION_HINT, LOOP_ENCRYPTION_UNSUPPORTED } from "../../plan/loop-encryption.ts";
import { flagGiven, formatHelp, has, jsonAnywhere, last, parseArgs, UsageError, type FlagSpec } from "../args.ts";
import { formatLoopTable, loopColumns, loopColumnsHelp, loopListJson, needsBackingIdentity } from "../loop-list-output.ts";
import { utf8Locale } from "../locale.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { attachWatched } from "../loop-attach.ts";
import { errorJson, errorLine, failuresJson, messageLine, printJson, printResult, reportError, type Io } from "../output.ts";

const ATTACH_FLAGS: readonly FlagSpec[] = [
  { long: "read-only", short: "r", help: "attach read-only" },
  { long: "direct-io", optionalValue: "on|off", help: "read and write the file with direct I/O (on when given alone; losetup's --direct-io[=on|off])" },
  { long: "sector-size", short: "b", value: "BYTES", help: "the device's logical sector size: 512 (the default), 1024, 2048, 4096, ... (losetup -b)" },
  { long: "partscan", short: "P", help: "scan the file's partition table: /dev/loopNp1, ... (losetup -P)" },
  // Kept for the CLI contract, refused: the command closes the only fd it has, so the kernel
  // would detach the device before anyone could use the name printed.
  { long: "autoclear", help: "refused here: it frees the device once nothing holds it open, at once for this command (mount -o loop sets it)" },
  { long: "offset", short: "o", value: "BYTES", help: "start this far into the file (4096, 1MiB, ...)" },
  { long: "sizelimit", value: "BYTES", help: "show at most this much of the file" },
  { long: "nooverlap", short: "L", help: "print the device attached to FILE over the same range already instead of attaching another (losetup -L)" },
  // losetup's old encryption flags, refused by name: cryptoloop is gone from the kernel
  { long: "encryption", short: "e", shortAliases: ["E"], value: "TYPE", help: "refused: loop encryption (cryptoloop) was removed from Linux; use dm-crypt (cryptsetup)" },
  { long: "json", help: "print the result as JSON" },
  { long: "help", short: "h", help: "show this help" },
];

const DETACH_FLAGS: readonly FlagSpec[] = [
  { long: "json", help: "print a result per device as JSON" },
  { long: "help", short: "h", help: "show this help" },
];

const SET_CAPACITY_FLAGS: readonly FlagSpec[] = [
  { long: "json", help: "print a result per device, with its size in bytes, as JSON" },
  { long: "help", short: "h", help: "show this help" },
];

const LIST_FLAGS: readonly FlagSpec[] = [
  { long: "associated", short: "j", value: "FILE", help: "only the devices attached to FILE, as a FILE operand (losetup -j); for a FILE that is a loop device itself" },
  { long: "output", short: "O", value: "LIST", help: "the columns to show, comma-separated; +LIST adds them to the default ones (losetup -O)" },
  { long: "noheadings", short: "n", help: "no header line (losetup -n)" },
  { long: "json", help: "print losetup --list --json's document" },
  { long: "help", short: "h", help: "show this help" },
];

const AUTOCLEAR_HINT =
  "autoclear frees a loop device as soon as nothing holds it open, and this command exits holding nothing; " +
  "mount -o loop sets autoclear and holds the device until the mount does, and the library's attachLoop() " +
  "supports it for a caller that keeps loop.fd open";

export const LOOP_USAGE =
  "mountkit loop attach [-r] [-P|--partscan] [--direct-io[=on|off]] [-b|--sector-size BYTES] [--autoclear] [-L|--nooverlap] [--offset BYTES] [--sizelimit BYTES] [--json] [DEV] FILE\n" +
  "       mountkit loop detach [--json] DEV...\n" +
  "       mountkit loop set-capacity [--json] DEV...\n" +
  "       mountkit loop list [-n] [-O LIST] [--json] [FILE | DEV | -j FILE]";

export function loopCommand(argv: readonly string[], io: Io): ExitCode | SignalExit {
  const [sub, ...rest] = argv;
  if (sub === "attach") return attach(rest, io, flagGiven(rest, ATTACH_FLAGS, "json"));
  if (sub === "detach") return detach(rest, io, flagGiven(rest, DETACH_FLAGS, "json"));
  if (sub === "set-capacity") return setCapacity(rest, io, flagGiven(rest, SET_CAPACITY_FLAGS, "json"));
  if (sub === "list") return list(rest, io, flagGiven(rest, LIST_FLAGS, "json"));
  if (sub === "--help" || sub === "-h") {
    io.out(
      `Usage: ${LOOP_USAGE}\n\nAttach a file to a free loop device and print it, detach loop devices, resize them to their grown files, or list the attached ones.\n` +
        "Options: mountkit loop attach --help, mountkit loop detach --help, mountkit loop set-capacity --help, mountkit loop list --help.\n",
    );
    return ExitCode.ok;
  }
  // `loop --json list`: the options are the subcommand's, after it
  // (the usage is four lines: pointed to, not squeezed into the one line an error is)
  const hint = sub?.startsWith("-") ? "options go after attach, detach, set-capacity or list; see 'mountkit loop --help'" : "see 'mountkit loop --help'";
  return reportError(io, new UsageError(`loop: expected attach, detach, set-capacity or list, got ${JSON.stringify(sub ?? "")}`, { hint }), jsonAnywhere(argv));
}

function attach(argv: readonly string[], io: Io, json: boolean): ExitCode | SignalExit {
  try {
    // before anything else is read: it is the one problem worth naming, wherever it stands
    if (flagGiven(argv, ATTACH_FLAGS, "encryption")) throw new UsageError(`loop attach: -e/-E/--encryption: ${LOOP_ENCRYPTION_UNSUPPORTED}`, { hint: LOOP_ENCRYPTION_HINT });
    const args = parseArgs("loop attach", argv, ATTACH_FLAGS);
    if (has(args, "help")) {
      io.out(formatHelp(LOOP_USAGE.split("\n")[0]!.trim(), "Attach FILE to a free loop device, or to DEV (added first when the kernel has no such device, as losetup adds it), and print the device.", ATTACH_FLAGS));
      return ExitCode.ok;
    }
    if (args.operands.length < 1 || args.operands.length > 2) throw new UsageError("loop attach: give FILE, or DEV FILE (a device of your choice, as losetup DEV FILE)");
    if (has(args, "autoclear")) throw new UsageError("loop attach: --autoclear would detach the device at once", { hint: AUTOCLEAR_HINT });
    // "" would be the working directory to the open that takes it relative to it
    if (args.operands.at(-1) === "") throw new UsageError("loop attach: empty FILE");
    const offsetText = last(args, "offset");
    const sizeLimitText = last(args, "sizelimit");
    const range = {
      offset: offsetText === undefined ? 0 : parseSize("offset", offsetText),
      sizeLimit: sizeLimitText === undefined ? 0 : parseSize("sizelimit", sizeLimitText),
    };
    const sectorSizeText = last(args, "sector-size");
    const sectorSize = sectorSizeText === undefined ? 0 : checkSectorSize(parseSize("sector-size", sectorSizeText), sectorSizeText);
    const [device, file] = args.operands.length === 2 ? [args.operands[0]!, args.operands[1]!] : [undefined, args.operands[0]!];
    const readOnly = has(args, "read-only");
    const warnings: string[] = [];
    // armed by attachLoop over the attach: a stop signal part-way detaches the device again
    const attached = attachWatched(
      file,
      {
        readOnly,
        directIo: directIoAsked(last(args, "direct-io")),
        partscan: has(args, "partscan"),
        noOverlap: has(args, "nooverlap"),
        ...(sectorSize === 0 ? {} : { sectorSize }),
        ...(device === undefined ? {} : { device }),
        ...range,
        warn: (message) => warnings.push(message),
      },
      io,
      "loop attach",
      (err) => reportError(io, err, json),
    );
    if (attached instanceof SignalExit) return attached;
    // a stop signal that came once the attach was asked after: the device stands, its name is printed
    const { loop, signal } = attached;
    try {
      // a device reused is the caller's to keep, as losetup -L keeps it: a mount's (autoclear)
      // would go at its unmount. Cleared while loop.fd holds it, so it cannot go meanwhile.
      if (loop.reused) clearLoopAutoclear(loop.device);
    } finally {
      loop.close();
    }
    // losetup attaches a file that refuses writing read-only, silently; say so
    if (loop.readOnly && !readOnly) {
      const why = loop.reused ? `is attached to ${loop.device} already, read-only` : `is write-protected: ${loop.device} is read-only`;
      io.err(messageLine(`loop attach: ${quotePath(file)} ${why}`));
    }
    // as losetup: attached all the same, with a word on what the device cannot show
    const sizeWarning = loop.reused ? undefined : loopSizeWarning(file, range, sectorSize || undefined);
    if (sizeWarning !== undefined) warnings.push(sizeWarning);
    for (const warning of warnings) io.err(messageLine(`loop attach: warning: ${warning}`));
    if (json) printResult(io, ExitCode.ok, { device: loop.device, number: loop.number, readOnly: loop.readOnly, ...(loop.reused ? { reused: true } : {}), ...(loop.added ? { added: true } : {}), ...(warnings.length ? { warnings } : {}) });
    else io.out(`${loop.device}\n`);
    return endedBy(ExitCode.ok, signal);
  } catch (err) {
    return reportError(io, err, json);
  }
}

/** --direct-io alone or =on: on; =off: off (losetup's); anything else is a usage error. */
function directIoAsked(value: string | undefined): boolean {
  if (value === undefined || value === "off") return false;
  if (value === "" || value === "on") return true;
  throw new UsageError(`loop attach: --direct-io=${value}: give on or off`);
}

function detach(argv: readonly string[], io: Io, json: boolean): ExitCode {
  return eachDevice(
    { command: "loop detach", usage: LOOP_USAGE.split("\n")[1]!.trim(), summary: "Detach loop devices (when a device is in use, when its last user closes it).", flags: DETACH_FLAGS },
    argv,
    io,
    json,
    (device) => {
      detachLoop(device);
      return {};
    },
  );
}

/** losetup -c: each device's size read again from its backing file; nothing printed but errors, as losetup. */
function setCapacity(argv: readonly string[], io: Io, json: boolean): ExitCode {
  return eachDevice(
    {
      command: "loop set-capacity",
      usage: LOOP_USAGE.split("\n")[2]!.trim(),
      summary: "Resize loop devices to their backing files, after a file grew or shrank (losetup -c, --set-capacity). The device shows the file from its offset, at most its sizelimit.",
      flags: SET_CAPACITY_FLAGS,
    },
    argv,
    io,
    json,
    (device) => ({ bytes: setLoopCapacity(device).bytes }),
  );
}

/**
 * A subcommand that does one thing to each DEV operand: every device is tried, each failure is
 * said on stderr; exit 0, 32 when all failed, 64 when some did. --json: {results: [{device, ok,
 * ...what act returned, error?}], error?}.
 */
function eachDevice(
  command: { command: string; usage: string; summary: string; flags: readonly FlagSpec[] },
  argv: readonly string[],
  io: Io,
  json: boolean,
  act: (device: string) => Record<string, unknown>,
): ExitCode {
  let devices: readonly string[];
  try {
    const args = parseArgs(command.command, argv, command.flags);
    if (has(args, "help")) {
      io.out(formatHelp(command.usage, command.summary, command.flags));
      return ExitCode.ok;
    }
    if (args.operands.length === 0) throw new UsageError(`${command.command}: missing DEV operand`);
    // a bad MOUNTKIT_STRATEGY is bad input, refused once before any device (it was each device's failure, exit 32)
    kernelFacts();
    devices = args.operands;
  } catch (err) {
    return reportError(io, err, json);
  }
  const results: Record<string, unknown>[] = [];
  const failures: unknown[] = [];
  for (const device of devices) {
    try {
      results.push({ device, ok: true, ...act(device) });
    } catch (err) {
      failures.push(err);
      io.err(errorLine(err));
      results.push({ device, ok: false, error: errorJson(err) });
    }
  }
  const code = failures.length === 0 ? ExitCode.ok : failures.length === devices.length ? ExitCode.mountFailed : ExitCode.someFailed;
  if (json) printResult(io, code, { results, error: failuresJson(command.command, failures, devices.length - failures.length) });
  return code;
}

function list(argv: readonly string[], io: Io, json: boolean): ExitCode {
  try {
    const args = parseArgs("loop list", argv, LIST_FLAGS);
    if (has(args, "help")) {
      io.out(
        formatHelp(
          LOOP_USAGE.split("\n")[3]!.trim(),
          "List the attached loop devices (losetup --list), those attached to FILE (losetup -j FILE), or the loop device DEV (losetup --list DEV).",
          LIST_FLAGS,
        ) + `\nColumns:\n${loopColumnsHelp()}\n`,
      );
      return ExitCode.ok;
    }
    const associated = last(args, "associated");
    if (args.operands.length > 1 || (associated !== undefined && args.operands.length > 0)) throw new UsageError("loop list: give at most one FILE or DEV (or -j FILE)");
    const columns = loopColumns(last(args, "output"));
    const options = { backingIdentity: needsBackingIdentity(columns) };
    const operand = args.operands[0];
    // a loop device given alone is the one to show; -j FILE always lists FILE's devices
    const device = operand === undefined ? undefined : loopDeviceNamed(operand);
    let devices;
    if (device !== undefined) {
      const described = describeLoopDevice(device, options);
      if (described === undefined) throw new PlanError(`loop list: ${quotePath(operand!)} is not attached`, { hint: `to list the devices attached to ${quotePath(operand!)} as a file, give -j ${quotePath(operand!)}` });
      devices = [described];
    } else {
      devices = listLoopDevices(associated ?? operand, options);
    }
    if (json) printJson(io, loopListJson(devices, columns));
    else io.out(formatLoopTable(devices, columns, has(args, "noheadings"), !utf8Locale()));
    return ExitCode.ok;
  } catch (err) {
    return reportError(io, err, json);
  }
}
