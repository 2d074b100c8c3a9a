/**
 * util-linux 2.38.1 losetup(8)'s command line, read for a link named losetup: its flags, read in
 * order as its getopt loop reads them (-h or an error, whichever comes first), its mutually
 * exclusive flags, and its choice of what to do from the flags and the operands left. The
 * result is a request (losetup.ts runs it). Only the DEV checks losetup makes while reading
 * (-d, -c, `losetup DEV`: is it a loop device?) ask the system, through isLoopDevice.
 */
import { PlanError, quotePath } from "../../errors.ts";
import { LOOP_ENCRYPTION_HINT, LOOP_ENCRYPTION_UNSUPPORTED } from "../../plan/loop-encryption.ts";
import { parseSize } from "../../plan/size.ts";
import { operandsText, parseArgsInOrder, UsageError, type FlagSpec } from "../args.ts";
import type { LosetupListFormat } from "../losetup-output.ts";
import { ALL_LOOP_COLUMNS, DEFAULT_LOOP_COLUMNS, loopColumns } from "../loop-list-output.ts";

export const LOSETUP_FLAGS: readonly FlagSpec[] = [
  { long: "all", short: "a", help: "list all used devices" },
  { long: "detach", short: "d", value: "LOOPDEV", help: "detach one or more devices (LOOPDEV, then the operands)" },
  { long: "detach-all", short: "D", help: "detach every used loop device of the machine, whoever attached it" },
  { long: "find", short: "f", help: "print the first unused device; with FILE, attach FILE to it" },
  { long: "set-capacity", short: "c", value: "LOOPDEV", help: "resize the device to its file" },
  { long: "associated", short: "j", value: "FILE", help: "list the devices attached to FILE" },
  { long: "nooverlap", short: "L", help: "use the device attached to FILE over the same range already, if one is" },
  { long: "offset", short: "o", value: "NUM", help: "start at offset NUM into the file" },
  { long: "sizelimit", value: "NUM", help: "the device is limited to NUM bytes of the file" },
  { long: "sector-size", short: "b", value: "NUM", help: "set the logical sector size to NUM" },
  { long: "partscan", short: "P", help: "create a partitioned loop device" },
  { long: "read-only", short: "r", help: "set up a read-only loop device" },
  { long: "direct-io", optionalValue: "on|off", help: "open the file with O_DIRECT; with LOOPDEV alone, turn it on or off there" },
  { long: "show", help: "print the device name after setup" },
  { long: "verbose", short: "v", help: "accepted; says nothing more" },
  { long: "json", short: "J", help: "use JSON --list output" },
  { long: "list", short: "l", help: "list all or the specified devices as a table" },
  { long: "noheadings", short: "n", help: "no header line in --list output" },
  { long: "output", short: "O", value: "COLS", help: "the columns of --list output (+COLS adds to the default ones)" },
  { long: "output-all", help: "every column in --list output" },
  { long: "raw", help: "use raw --list output" },
  // not losetup 2.38's (it has none): refused by name, as `mountkit loop attach` refuses it
  { long: "encryption", short: "e", shortAliases: ["E"], value: "TYPE", help: "refused: loop encryption (cryptoloop) was removed from Linux; use dm-crypt (cryptsetup)" },
  { long: "help", short: "h", help: "show this help" },
  { long: "version", short: "V", help: "print mountkit's version" },
];

/** The device set-up losetup's flags ask for (losetup -f FILE, losetup DEV FILE). */
export interface LosetupSetup {
  readonly readOnly: boolean;
  readonly partscan: boolean;
  readonly directIo: boolean;
  readonly noOverlap: boolean;
  readonly offset: number;
  readonly sizeLimit: number;
  /** -b; 0 for the kernel's default */
  readonly sectorSize: number;
}

/** What the command line asks; format: --list's output, or undefined for the old one-line format. */
export type LosetupRequest =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "attach"; readonly file: string; readonly device: string | undefined; readonly setup: LosetupSetup; readonly show: boolean }
  | { readonly kind: "detach"; readonly devices: readonly string[] }
  | { readonly kind: "detach-all" }
  | { readonly kind: "find" }
  | { readonly kind: "set-capacity"; readonly device: string }
  | { readonly kind: "set-direct-io"; readonly device: string; readonly on: boolean }
  | { readonly kind: "set-sector-size"; readonly device: string; readonly bytes: number }
  | { readonly kind: "list"; readonly file: string | undefined; readonly offset: number | undefined; readonly format: LosetupListFormat | undefined }
  | { readonly kind: "show"; readonly device: string; readonly format: LosetupListFormat | undefined };

/**
 * Flags losetup takes as alternatives: two of a group together are refused. (Its table also
 * puts -O with -c, -d, -D and -f, but out of the ASCII order its check walks, so 2.38 never
 * refuses -O: neither does this.)
 */
const EXCLUSIVE: readonly (readonly string[])[] = [
  ["detach-all", "all", "set-capacity", "detach", "find", "associated"],
  ["detach-all", "set-capacity", "detach", "find", "list"],
  ["json", "raw"],
];

/** losetup's own limit on the columns of one table (twice the columns it has). */
const MAX_COLUMNS = 2 * ALL_LOOP_COLUMNS.length;

type Act = "show" | "set-capacity" | "detach" | "detach-all" | "find";

/**
 * The request argv makes, or a UsageError/PlanError (exit 1). isLoopDevice(path) tells whether
 * a DEV losetup checks while reading names a loop device.
 */
export function losetupRequest(argv: readonly string[], isLoopDevice: (path: string) => boolean): LosetupRequest {
  const { args, error, errorAt } = parseArgsInOrder("losetup", argv, LOSETUP_FLAGS);
  if (error) error.hint = "see 'losetup --help'";
  const usingDevice = (device: string) => {
    if (!isLoopDevice(device)) throw new PlanError(`losetup: ${quotePath(device)} is not a loop device`, { hint: "name a loop device, /dev/loopN" });
    return device;
  };
  let act: Act | undefined;
  let device: string | undefined; // -c's, -d's
  let file: string | undefined; // -j's
  let list = false;
  let json = false;
  let raw = false;
  let headings = true;
  let outputAll = false;
  let output: string | undefined;
  let offset: number | undefined;
  let sizeLimit: number | undefined;
  let sectorSize: number | undefined;
  let directIo: boolean | undefined;
  const setup = { readOnly: false, partscan: false, noOverlap: false };
  let show = false;
  const groups: (string | undefined)[] = EXCLUSIVE.map(() => undefined);

  for (const [flag, value] of args.sequence.slice(0, errorAt)) {
    EXCLUSIVE.forEach((group, i) => {
      if (!group.includes(flag)) return;
      const first = groups[i];
      if (first !== undefined && first !== flag) throw new UsageError(`losetup: --${first} and --${flag} are mutually exclusive`, { hint: "see 'losetup --help'" });
      groups[i] = flag;
    });
    switch (flag) {
      case "help":
        return { kind: "help" };
      case "version":
        return { kind: "version" };
      case "encryption":
        throw new UsageError(`losetup: -e/-E/--encryption: ${LOOP_ENCRYPTION_UNSUPPORTED}`, { hint: LOOP_ENCRYPTION_HINT });
      case "all":
      case "detach-all":
      case "find":
        act = flag === "all" ? "show" : flag;
        break;
      case "associated":
        act = "show";
        file = value;
        break;
      case "set-capacity":
      case "detach":
        act = flag;
        device = usingDevice(value);
        break;
      case "list":
        list = true;
        break;
      case "output":
        output = value;
        list = true;
        break;
      case "output-all":
        outputAll = true; // all the columns, but no --list (2.38)
        break;
      case "json":
        json = true;
        break;
      case "raw":
        raw = true;
        break;
      case "noheadings":
        headings = false;
        break;
      case "offset":
        offset = parseSize("losetup: --offset", value);
        break;
      case "sizelimit":
        sizeLimit = parseSize("losetup: --sizelimit", value);
        break;
      case "sector-size":
        sectorSize = parseSize("losetup: --sector-size", value);
        break;
      case "direct-io":
        directIo = onOrOff(value);
        break;
      case "read-only":
        setup.readOnly = true;
        break;
      case "partscan":
        setup.partscan = true;
        break;
      case "nooverlap":
        setup.noOverlap = true;
        break;
      case "show":
        show = true;
        break;
      // verbose: nothing
    }
  }
  if (error) throw error;

  let operands = args.operands;
  // no argument at all, or only -J or --raw: the list of every device
  if (argv.length === 0 || (act === undefined && argv.length === 1 && (raw || json))) {
    act = "show";
    list = true;
  }
  let request: LosetupRequest | undefined;
  let attachDevice: string | undefined;
  let attachFile: string | undefined;
  if (act === "find" && operands.length > 0) {
    // losetup -f FILE
    if (operands.length > 1) throw new UsageError(`losetup: unexpected arguments: ${operandsText(operands.slice(1))}`);
    attachFile = operands[0]!;
  } else if (act === undefined && list && operands.length === 0) {
    act = "show";
  } else if (act === undefined && operands.length === 1) {
    // losetup [--list] DEV, or a change to DEV: --direct-io[=on|off] DEV, -b NUM DEV
    const dev = usingDevice(operands[0]!);
    if (directIo !== undefined) request = { kind: "set-direct-io", device: dev, on: directIo };
    else if (sectorSize !== undefined) request = { kind: "set-sector-size", device: dev, bytes: sectorSize };
    else request = { kind: "show", device: dev, format: undefined };
    operands = [];
  } else if (act === undefined) {
    // losetup DEV FILE (more operands are not read, as losetup reads none)
    if (operands.length === 0) throw new UsageError("losetup: no loop device specified", { hint: "see 'losetup --help'" });
    if (operands.length === 1) throw new UsageError("losetup: no file specified", { hint: "see 'losetup --help'" });
    [attachDevice, attachFile] = operands;
  }
  const attaching = attachFile !== undefined;
  // --direct-io given to change a device is no set-up flag there
  const setupFlags = setup.readOnly || setup.partscan || (directIo === true && request?.kind !== "set-direct-io");
  if (!attaching && ((sizeLimit ?? 0) !== 0 || setupFlags || show)) {
    throw new UsageError("losetup: --sizelimit, --partscan, --read-only, --direct-io and --show are for setting up a device (losetup -f FILE, losetup DEV FILE) only");
  }
  if (offset !== undefined && !attaching && !(act === "show" && file !== undefined)) {
    throw new UsageError("losetup: --offset is for setting up a device, or with --associated FILE, only");
  }
  const columns = listColumns(output, outputAll ? ALL_LOOP_COLUMNS : list ? DEFAULT_LOOP_COLUMNS : []);
  const format: LosetupListFormat | undefined = list ? { columns, json, raw, headings } : undefined;

  if (attaching) {
    const setupAsked = { ...setup, directIo: directIo === true, offset: offset ?? 0, sizeLimit: sizeLimit ?? 0, sectorSize: sectorSize ?? 0 };
    return { kind: "attach", file: attachFile!, device: attachDevice, setup: setupAsked, show };
  }
  if (request?.kind === "show") return { ...request, format };
  if (request !== undefined) return request;
  switch (act) {
    case "show":
      return { kind: "list", file, offset, format };
    case "detach":
      // the last -d's device, then the operands (losetup forgets an earlier -d's)
      return { kind: "detach", devices: [device!, ...operands] };
    case "set-capacity":
      return { kind: "set-capacity", device: device! };
    case "detach-all":
      return { kind: "detach-all" };
    case "find":
      return { kind: "find" };
  }
  throw new UsageError("losetup: bad usage", { hint: "see 'losetup --help'" }); // not reached: every act is above
}

/** --direct-io's value: on when given alone. */
function onOrOff(value: string): boolean {
  if (value === "" || value === "on") return true;
  if (value === "off") return false;
  throw new UsageError(`losetup: --direct-io=${value}: give on or off`);
}

/** The columns of the table: -O's (added to base with a leading +), at most losetup's limit. */
function listColumns(output: string | undefined, base: readonly string[]): readonly string[] {
  if (output === "") throw new UsageError("losetup: -O/--output: no column named");
  const columns = loopColumns(output, base, "losetup");
  if (columns.length > MAX_COLUMNS) throw new UsageError(`losetup: -O/--output: ${columns.length} columns, more than the ${MAX_COLUMNS} a table has`);
  return columns;
}
