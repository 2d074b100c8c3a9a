/**
 * A link named losetup: util-linux 2.38.1 losetup(8)'s command line (losetup-args.ts) and
 * output (losetup-output.ts), run by the loop operations `mountkit loop` runs (attachLoop,
 * detachLoop, setLoopCapacity, listLoopDevices). Exit 0, or 1 for any failure, as losetup;
 * messages are mountkit's one-line errors. Init scripts and container tooling call losetup.
 */
import { quotePath, SyscallError } from "../../errors.ts";
import type { OpsOptions } from "../../ops/context.ts";
import { detachLoop, isLoopDeviceNode, loopSizeWarning, setLoopCapacity } from "../../ops/loop.ts";
import { findFreeLoopDevice } from "../../ops/loop-free.ts";
import { describeLoopDevice, listLoopDevices, type LoopDevice } from "../../ops/loop-list.ts";
import { clearLoopAutoclear, setLoopDirectIo, setLoopSectorSize } from "../../ops/loop-settings.ts";
import { readTextFile } from "../../sys/file.ts";
import { existingRealpath } from "../../sys/realpath.ts";
import { statxMountRoot } from "../../sys/stat.ts";
import { VERSION } from "../../version.ts";
import { formatHelp } from "../args.ts";
import { attachWatched } from "../loop-attach.ts";
import { loopColumnsHelp, needsBackingIdentity } from "../loop-list-output.ts";
import { losetupLine, losetupList, type LosetupListFormat, type UnattachedLoop } from "../losetup-output.ts";
import { utf8Locale } from "../locale.ts";
import { errorLine, messageLine, type Io } from "../output.ts";
import { endedBy, SignalExit } from "../signal-exit.ts";
import { LOSETUP_FLAGS, losetupRequest, type LosetupRequest } from "./losetup-args.ts";

/** losetup's EXIT_FAILURE: bad usage and every failure alike. */
const FAILED = 1;

const USAGE = "losetup [options] [LOOPDEV]\n       losetup [options] -f | LOOPDEV FILE";

const SUMMARY = `Set up and control loop devices, as util-linux losetup(8) (2.38.1) does, with mountkit's
loop operations: list them (the default), attach FILE to the first free device (-f) or to
LOOPDEV, detach, resize, or change one. Exit 0, or 1 when anything failed.`;

/** Run losetup's command line. ops: the operations' options (a test's seam). */
export function losetupCommand(argv: readonly string[], io: Io, ops: OpsOptions = {}): number | SignalExit {
  try {
    const request = losetupRequest(argv, (path) => isLoopDeviceNode(path, ops));
    return run(request, io, ops);
  } catch (err) {
    io.err(errorLine(err));
    return FAILED;
  }
}

function run(request: LosetupRequest, io: Io, ops: OpsOptions): number | SignalExit {
  switch (request.kind) {
    case "help":
      io.out(`${formatHelp(USAGE, SUMMARY, LOSETUP_FLAGS)}\nColumns:\n${loopColumnsHelp()}\n`);
      return 0;
    case "version":
      io.out(`mountkit ${VERSION}\n`);
      return 0;
    case "attach":
      return attach(request, io, ops);
    case "detach":
      return eachDevice(request.devices, io, (device) => detachLoop(device, ops));
    case "detach-all":
      // what the user asked, as losetup -D does it: every attached device, whoever attached it
      return eachDevice(
        listLoopDevices(undefined, ops).map((d) => d.device),
        io,
        (device) => detachLoop(device, ops),
      );
    case "find":
      io.out(`${findFreeLoopDevice(ops)}\n`);
      return 0;
    case "set-capacity":
      setLoopCapacity(request.device, ops);
      return 0;
    case "set-direct-io":
      setLoopDirectIo(request.device, request.on, ops);
      return 0;
    case "set-sector-size":
      setLoopSectorSize(request.device, request.bytes, ops);
      return 0;
    case "list":
      return list(request.file, request.offset, request.format, io, ops);
    case "show":
      return showOne(request.device, request.format, io, ops);
  }
}

/**
 * losetup -f FILE, losetup DEV FILE: attached, the device printed with --show. losetup says
 * nothing of a file attached read-only because it refuses writing, nor of direct I/O the kernel
 * turned down; it warns of a size that is no whole number of sectors, and so does this. A device
 * -L reuses loses its autoclear, as losetup's.
 */
function attach(request: Extract<LosetupRequest, { kind: "attach" }>, io: Io, ops: OpsOptions): number | SignalExit {
  const { file, device, setup, show } = request;
  const range = { offset: setup.offset, sizeLimit: setup.sizeLimit };
  const attached = attachWatched(
    file,
    {
      ...ops,
      readOnly: setup.readOnly,
      directIo: setup.directIo,
      partscan: setup.partscan,
      noOverlap: setup.noOverlap,
      ...range,
      ...(setup.sectorSize === 0 ? {} : { sectorSize: setup.sectorSize }),
      ...(device === undefined ? {} : { device }),
    },
    io,
    "losetup",
    (err) => io.err(errorLine(err)),
  );
  if (attached instanceof SignalExit) return attached;
  const { loop, signal } = attached;
  try {
    // -L found FILE on a read-only device, and a read-write one was asked: losetup refuses it
    if (loop.reused && loop.readOnly && !setup.readOnly) {
      io.err(messageLine(`losetup: ${quotePath(file)} is attached to ${loop.device} already, read-only, and a read-write device was asked (give -r to use it)`));
      return endedBy(FAILED, signal);
    }
    // a device reused is the caller's to keep, as losetup keeps it: a mount's would go at its
    // unmount (cleared while loop.fd holds it, so it cannot go meanwhile)
    if (loop.reused) clearLoopAutoclear(loop.device, ops);
  } finally {
    loop.close();
  }
  if (show) io.out(`${loop.device}\n`);
  const warning = loopSizeWarning(file, range, setup.sectorSize || undefined);
  if (warning !== undefined) io.err(messageLine(`losetup: warning: ${warning}`));
  return endedBy(0, signal);
}

/** Each device acted on in turn, each failure said; exit 1 when any failed (losetup -d's, -D's). */
function eachDevice(devices: readonly string[], io: Io, act: (device: string) => void): number {
  let failed = false;
  for (const device of devices) {
    try {
      act(device);
    } catch (err) {
      io.err(errorLine(err));
      failed = true;
    }
  }
  return failed ? FAILED : 0;
}

/** -a, -j FILE [-o OFFSET], --list: the devices (FILE's, at OFFSET), as a table or one line each. */
function list(file: string | undefined, offset: number | undefined, format: LosetupListFormat | undefined, io: Io, ops: OpsOptions): number {
  const devices = listLoopDevices(file, { ...ops, backingIdentity: backingIdentity(format) }).filter((d) => offset === undefined || d.offset === offset);
  printDevices(devices, format, io);
  return 0;
}

/**
 * losetup [--list] DEV: DEV's line or table. A device not attached has no line (exit 1); its
 * table, as 2.38's, is a row of what sysfs still says of it (exit 0).
 */
function showOne(device: string, format: LosetupListFormat | undefined, io: Io, ops: OpsOptions): number {
  // a link to the device (/dev/block/7:0) described as the device, and named as given, as losetup names it
  const found = describeLoopDevice(existingRealpath(device) ?? device, { ...ops, backingIdentity: backingIdentity(format) });
  if (found !== undefined) {
    printDevices([{ ...found, device }], format, io);
    return 0;
  }
  if (format === undefined) {
    io.err(messageLine(`losetup: ${quotePath(device)} is not attached to a file`));
    return FAILED;
  }
  io.out(losetupList([unattached(device)], format, !utf8Locale()));
  return 0;
}

/** Whether the output shows the backing file's device and inode, which sysfs does not: the old format does, and two columns. */
function backingIdentity(format: LosetupListFormat | undefined): boolean {
  return format === undefined || needsBackingIdentity(format.columns);
}

function printDevices(devices: readonly LoopDevice[], format: LosetupListFormat | undefined, io: Io): void {
  if (format === undefined) io.out(devices.map(losetupLine).join(""));
  else io.out(losetupList(devices, format, !utf8Locale()));
}

/** What sysfs says of a loop device attached to nothing: its disk's ro and logical sector size (/sys/dev/block/MAJ:MIN/...). */
function unattached(device: string): UnattachedLoop {
  const { rdev } = statxMountRoot(device, true);
  const read = (name: string) => {
    try {
      return readTextFile(`/sys/dev/block/${rdev}/${name}`).trim();
    } catch (err) {
      if (err instanceof SyscallError) return undefined;
      throw err;
    }
  };
  return { device, majorMinor: rdev, readOnly: read("ro") === "1", sectorSize: Number(read("queue/logical_block_size") ?? 512) };
}
