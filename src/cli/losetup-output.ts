/**
 * What a link named losetup prints, as util-linux 2.38.1's losetup prints it: --list's table
 * (aligned, --raw, or --json, in libsmartcols' layouts: findmnt's writers) of loop list's columns
 * (loop-list-output.ts), and the old one-line format of -a, -j and `losetup DEV`. Where 2.38
 * differs from `mountkit loop list` this follows 2.38: MAJ:MIN and BACK-MAJ:MIN are padded
 * ("%3u:%-3u") in --raw and --json too, and --json of no device is an empty array.
 */
import type { LoopDevice } from "../ops/loop-list.ts";
import { rowsTable, writeRowsJson, type CellValue, type Columns } from "../mountinfo/findmnt.ts";
import { loopCell, loopColumnRight } from "./loop-list-output.ts";

/**
 * A loop device not attached, as `losetup -l DEV` still shows it (exit 0): its name and number,
 * and what sysfs says of its disk (read-only, sector size); every column of an attachment empty.
 */
export interface UnattachedLoop {
  readonly device: string;
  /** "7:3" */
  readonly majorMinor: string;
  readonly readOnly: boolean;
  readonly sectorSize: number;
}

/** A row of losetup's table: an attached device, or (losetup -l DEV) one that is not. */
export type LosetupRow = LoopDevice | UnattachedLoop;

const attached = (row: LosetupRow): row is LoopDevice => "backingFile" in row;

/** 2.38's padded device numbers, in every format: "  7:0  " */
const padded = (majorMinor: string, majorWidth: number) => {
  const [major = "", minor = ""] = majorMinor.split(":");
  return `${major.padStart(majorWidth)}:${minor.padEnd(3)}`;
};

/**
 * An unattached device's cells: its name, MAJ:MIN, RO and LOG-SEC as sysfs has them; AUTOCLEAR
 * and DIO 0; PARTSCAN 1 (2.38 answers "the kernel can scan partitions" for a device without
 * loop/partscan in sysfs); the rest empty (null).
 */
function unattachedValue(column: string, row: UnattachedLoop): string | number | boolean | null {
  switch (column) {
    case "NAME":
      return row.device;
    case "MAJ:MIN":
      return padded(row.majorMinor, 3);
    case "RO":
      return row.readOnly;
    case "LOG-SEC":
      return row.sectorSize;
    case "PARTSCAN":
      return true;
    case "AUTOCLEAR":
    case "DIO":
      return false;
    default:
      return null;
  }
}

/** A column's --json value for a row: loop list's, but the device numbers padded, as 2.38 writes them. */
function jsonValue(column: string, row: LosetupRow): CellValue {
  if (!attached(row)) return unattachedValue(column, row);
  const cell = loopCell(column, row);
  if (column === "MAJ:MIN" || column === "BACK-MAJ:MIN") return cell.text === "" ? null : cell.text;
  return cell.json;
}

/** A column's table text for a row (raw or aligned): "" for none. */
function tableText(column: string, row: LosetupRow): string | null {
  if (attached(row)) return loopCell(column, row).text || null;
  const value = unattachedValue(column, row);
  return value === null ? null : typeof value === "boolean" ? (value ? "1" : "0") : String(value);
}

function tableColumns(columns: readonly string[]): Columns<LosetupRow> {
  return Object.fromEntries(columns.map((c) => [c, { value: (row: LosetupRow) => tableText(c, row), right: loopColumnRight(c) }]));
}

function jsonColumns(columns: readonly string[]): Columns<LosetupRow> {
  return Object.fromEntries(columns.map((c) => [c, { value: (row: LosetupRow) => jsonValue(c, row) }]));
}

export interface LosetupListFormat {
  readonly columns: readonly string[];
  /** -J: libsmartcols' JSON, {"loopdevices": [...]} */
  readonly json: boolean;
  /** --raw: cells one space apart, escaped */
  readonly raw: boolean;
  /** not -n */
  readonly headings: boolean;
}

/** losetup --list's output of rows: the table (nothing at all for no row), or with -J the document (an empty array for none). */
export function losetupList(rows: readonly LosetupRow[], format: LosetupListFormat, asciiOnly: boolean): string {
  if (format.json) {
    const parts: string[] = [];
    writeRowsJson((text) => parts.push(text), rows, format.columns, jsonColumns(format.columns), { name: "loopdevices", whenEmpty: "empty array" });
    return parts.join("");
  }
  return rowsTable(rows, format.columns, tableColumns(format.columns), { headings: format.headings, raw: format.raw, asciiOnly });
}

/**
 * losetup's old format, one line a device (-a, -j FILE, `losetup DEV`): "DEV: [DEVNO]:INODE
 * (FILE)", then ", offset N" and ", sizelimit N" where not 0. DEVNO is the backing file's device
 * as LOOP_GET_STATUS64 gives it (the kernel's new_encode_dev: 254:0 is 65024), printed as a C
 * int padded to 4 digits; "[]:" without it (a device that cannot be opened: not root).
 */
export function losetupLine(d: LoopDevice): string {
  const id = d.backingDevice === undefined && d.backingInode === undefined ? "[]:" : `[${encodedDevno(d.backingDevice)}]:${d.backingInode ?? 0}`;
  const offset = d.offset === 0 ? "" : `, offset ${d.offset}`;
  const sizeLimit = d.sizeLimit === 0 ? "" : `, sizelimit ${d.sizeLimit}`;
  return `${d.device}: ${id} (${d.backingFile})${offset}${sizeLimit}\n`;
}

/** "254:0" as printf("%04d", (int) new_encode_dev(dev)) writes it: "65024"; "0000" for none. */
function encodedDevno(majorMinor: string | undefined): string {
  const [major = 0, minor = 0] = (majorMinor ?? "0:0").split(":").map(Number);
  // (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12), wrapped to a 32-bit int as the cast does
  const encoded = ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) | 0;
  const digits = String(Math.abs(encoded)).padStart(encoded < 0 ? 3 : 4, "0");
  return encoded < 0 ? `-${digits}` : digits;
}
