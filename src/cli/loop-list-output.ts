/**
 * `mountkit loop list` output: losetup --list's table (the same columns, widths and
 * alignment), and its --json shape ({"loopdevices": [...]}, losetup's key names); the columns
 * chosen as losetup's -O takes them, the header left out with -n.
 */
import type { LoopDevice } from "../ops/loop-list.ts";
import { UsageError } from "./args.ts";
import { rowsTable } from "../mountinfo/findmnt.ts";

interface Column {
  readonly header: string;
  readonly right: boolean;
  readonly help: string;
  /** the table's cell; "" for a value not known (losetup's empty cell) */
  readonly text: (d: LoopDevice) => string;
  /** the --json value; null for a value not known */
  readonly json: (d: LoopDevice) => string | number | boolean | null;
}

const flag = (on: boolean) => (on ? "1" : "0");

// util-linux writes the device numbers as "%3u:%-3u" and "%8u:%-3u" in a table (and pads
// them in 2.38's --json too, a bug later fixed: --json here has "7:0", as newer losetup)
const padMajorMinor = (value: string, majorWidth: number) => {
  const [major = "", minor = ""] = value.split(":");
  return `${major.padStart(majorWidth)}:${minor.padEnd(3)}`;
};

/** Every column losetup --list knows, by header; the order is losetup --help's. */
const COLUMNS: ReadonlyMap<string, Column> = new Map(
  (
    [
      { header: "NAME", right: false, help: "loop device name", text: (d) => d.device, json: (d) => d.device },
      { header: "AUTOCLEAR", right: true, help: "autoclear flag set", text: (d) => flag(d.autoclear), json: (d) => d.autoclear },
      { header: "BACK-FILE", right: false, help: "device backing file", text: (d) => d.backingFile, json: (d) => d.backingFile },
      { header: "BACK-INO", right: true, help: "backing file inode number", text: (d) => (d.backingInode === undefined ? "" : String(d.backingInode)), json: (d) => d.backingInode ?? null },
      {
        header: "BACK-MAJ:MIN",
        right: false,
        help: "backing file major:minor device number",
        text: (d) => (d.backingDevice === undefined ? "" : padMajorMinor(d.backingDevice, 8)),
        json: (d) => d.backingDevice ?? null,
      },
      { header: "MAJ:MIN", right: false, help: "loop device major:minor number", text: (d) => padMajorMinor(d.majorMinor, 3), json: (d) => d.majorMinor },
      { header: "OFFSET", right: true, help: "offset from the beginning", text: (d) => String(d.offset), json: (d) => d.offset },
      { header: "PARTSCAN", right: true, help: "partscan flag set", text: (d) => flag(d.partscan), json: (d) => d.partscan },
      { header: "RO", right: true, help: "read-only device", text: (d) => flag(d.readOnly), json: (d) => d.readOnly },
      { header: "SIZELIMIT", right: true, help: "size limit of the file in bytes", text: (d) => String(d.sizeLimit), json: (d) => d.sizeLimit },
      { header: "DIO", right: true, help: "access backing file with direct-io", text: (d) => flag(d.directIo), json: (d) => d.directIo },
      { header: "LOG-SEC", right: true, help: "logical sector size in bytes", text: (d) => String(d.sectorSize), json: (d) => d.sectorSize },
    ] satisfies Column[]
  ).map((c) => [c.header, c]),
);

/** Every column's name, in losetup --help's order (--output-all's). */
export const ALL_LOOP_COLUMNS: readonly string[] = [...COLUMNS.keys()];

/** A column's cell for a device: its table text ("" for a value not known) and its --json value. */
export function loopCell(header: string, d: LoopDevice): { text: string; json: string | number | boolean | null } {
  const column = COLUMNS.get(header)!;
  return { text: column.text(d), json: column.json(d) };
}

/** Whether the table right-aligns the column (the numbers and flags). */
export function loopColumnRight(header: string): boolean {
  return COLUMNS.get(header)!.right;
}

/** losetup --list's columns when -O gives none (util-linux 2.38). */
export const DEFAULT_LOOP_COLUMNS: readonly string[] = ["NAME", "SIZELIMIT", "OFFSET", "AUTOCLEAR", "RO", "BACK-FILE", "DIO", "LOG-SEC"];

/** The columns' names and what each shows, for --help. */
export function loopColumnsHelp(): string {
  return [...COLUMNS.values()].map((c) => `${c.header.padStart(13)}  ${c.help}`).join("\n");
}

/**
 * The columns -O names (losetup's -O LIST): comma-separated, any case, repeats kept; a list
 * starting with "+" is added to base (the default columns). An unknown name is a usage error,
 * said by command.
 */
export function loopColumns(list: string | undefined, base: readonly string[] = DEFAULT_LOOP_COLUMNS, command = "loop list"): readonly string[] {
  if (list === undefined) return base;
  const extra = list.startsWith("+");
  const names = (extra ? list.slice(1) : list).split(",").map((name) => {
    const header = name.toUpperCase();
    if (!COLUMNS.has(header)) throw new UsageError(`${command}: unknown column: ${name === "" ? '""' : name}`, { hint: `the columns: ${[...COLUMNS.keys()].join(", ")}` });
    return header;
  });
  return extra ? [...base, ...names] : names;
}

/** Whether any of the columns needs the backing file's device and inode (read from each device). */
export function needsBackingIdentity(columns: readonly string[]): boolean {
  return columns.includes("BACK-INO") || columns.includes("BACK-MAJ:MIN");
}

/**
 * The table, a header line first unless noHeadings; nothing at all for no device, as losetup prints.
 * A cell is escaped as libsmartcols escapes it (findmnt's safeEncode): a backing file's name is
 * its owner's choice, and a newline in it would make a row of its own, an ESC act on the
 * terminal. asciiOnly: outside a UTF-8 locale, where losetup escapes every byte past ASCII.
 */
export function formatLoopTable(devices: readonly LoopDevice[], columnNames: readonly string[] = DEFAULT_LOOP_COLUMNS, noHeadings = false, asciiOnly = false): string {
  // findmnt's table: the header counts for the widths even when it is not printed, as
  // libsmartcols counts it; a cell's width is the terminal's columns (é is one, a CJK character two)
  const specs = Object.fromEntries(columnNames.map((name) => [name, { value: (d: LoopDevice) => COLUMNS.get(name)!.text(d) || null, right: COLUMNS.get(name)!.right }]));
  return rowsTable(devices, columnNames, specs, { headings: !noHeadings, asciiOnly });
}

/** losetup --list --json's document, with the columns chosen, each under its name in lower case. */
export function loopListJson(devices: readonly LoopDevice[], columnNames: readonly string[] = DEFAULT_LOOP_COLUMNS): { loopdevices: Record<string, unknown>[] } {
  const columns = columnNames.map((name) => COLUMNS.get(name)!);
  return { loopdevices: devices.map((d) => Object.fromEntries(columns.map((c) => [c.header.toLowerCase(), c.json(d)]))) };
}
