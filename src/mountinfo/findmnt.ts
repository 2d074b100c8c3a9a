/**
 * Output in the shape util-linux 2.38 findmnt prints, so that scripts written for
 * `findmnt -J -l -o ID,PARENT,MAJ:MIN,FSROOT,TARGET,SOURCE,FSTYPE,VFS-OPTIONS,FS-OPTIONS,PROPAGATION`
 * or for `findmnt -l` read ours unchanged. Pure: records in, values and text out.
 *
 * Checked against the real findmnt by test/integration/findmnt-compat.test.ts. What it does
 * that is easy to miss:
 * - options are printed with the kernel's `\NNN` escapes undone (libmount unmangles them);
 * - an empty source is `null` in JSON and a blank cell in the table;
 * - a mount whose fsroot is not "/" shows its source as `source[fsroot]`, even when the
 *   source is empty (`[/sub]`);
 * - OPTIONS merges vfs and fs options, keeping one leading rw/ro (see findmntOptions);
 * - the table escapes unprintable characters as `\xHH` per UTF-8 byte, and a backslash
 *   followed by "x" as `\x5c`, and aligns columns by terminal width (CJK counts 2).
 */
import { decodeField } from "./parse.ts";
import { PlanError, shownValue } from "../errors.ts";
import { requireList, requireObject, requireString, requireStringList } from "../caller-kinds.ts";
import { requireMountInfo, requireMountText } from "./caller-rows.ts";
import { splitOptionText } from "../option-text.ts";
import { bytesFromText } from "../path-text.ts";
import { propagationColumn } from "./lookup.ts";
import { parseTagSpec } from "../tag-spec.ts";
import { vfsOptionsAll } from "./findmnt-vfs-options.ts";
import type { MountNode } from "./findmnt-tree.ts";
import type { MountInfo } from "./types.ts";

/** One filesystem of `findmnt -J -l -o ID,PARENT,MAJ:MIN,FSROOT,TARGET,SOURCE,FSTYPE,VFS-OPTIONS,FS-OPTIONS,PROPAGATION`. */
export interface FindmntRecord {
  id: number;
  parent: number;
  "maj:min": string;
  fsroot: string;
  target: string;
  /** null when the mount has no source (findmnt prints empty cells as null) */
  source: string | null;
  fstype: string;
  "vfs-options": string;
  "fs-options": string;
  propagation: string;
}

/** The columns of a FindmntRecord, in its order: what findmnt --json prints without -o. */
export const RECORD_COLUMNS = ["ID", "PARENT", "MAJ:MIN", "FSROOT", "TARGET", "SOURCE", "FSTYPE", "VFS-OPTIONS", "FS-OPTIONS", "PROPAGATION"] as const;

// FindmntRecord's keys are RECORD_COLUMNS' names in lower case, no more and no fewer (tsc fails here otherwise).
type RecordKey = Lowercase<(typeof RECORD_COLUMNS)[number]>;
type IsTrue<T extends true> = T;
type RecordKeysMatch = IsTrue<[RecordKey, keyof FindmntRecord] extends [keyof FindmntRecord, RecordKey] ? true : false>;

export interface FindmntJson {
  filesystems: FindmntRecord[];
}

/** findmnt's SOURCE: the source, with `[fsroot]` appended when fsroot is not "/". */
export function findmntSource(m: MountInfo): string {
  requireMountText(m, "mount", "findmnt source", "root", "source");
  return sourceColumn(m);
}

/** findmntSource of a row of a checked table. */
function sourceColumn(m: MountInfo): string {
  return m.root === "/" ? m.source : `${m.source}[${m.root}]`;
}

/**
 * One mount as findmnt --json prints it without -o: the RECORD_COLUMNS of FINDMNT_COLUMNS, so
 * the library's record and the CLI's JSON are one thing.
 */
export function findmntRecord(m: MountInfo): FindmntRecord {
  requireMountInfo(m, "mount", "findmnt record");
  return recordOf(m);
}

function recordOf(m: MountInfo): FindmntRecord {
  return columnsRecord(m, RECORD_COLUMNS, FINDMNT_COLUMNS) as unknown as FindmntRecord;
}

export function findmntJson(mounts: readonly MountInfo[]): FindmntJson {
  checkRows(mounts, undefined, FINDMNT_COLUMNS, "findmnt JSON");
  return { filesystems: mounts.map(recordOf) };
}

/**
 * The exact bytes `findmnt -J -l -o ID,...,PROPAGATION` prints (or, with columns, `findmnt -J
 * -l -o COLUMNS`): libsmartcols' layout (3-space indent, "},{" between records) and JSON string
 * escapes. Like findmnt, prints nothing at all for an empty list.
 */
export function findmntJsonText(mounts: readonly MountInfo[], columns?: readonly string[], specs: Columns<MountInfo> = FINDMNT_COLUMNS): string {
  requireObject(specs, "specs", "findmnt JSON", "columns by name (FINDMNT_COLUMNS)");
  checkRows(mounts, columns, specs, "findmnt JSON");
  return collected((write) => writeFindmntJson(write, mounts, columns, specs));
}

/** findmntJsonText, written to write as it is made: a large table's document is never one string. */
export function writeFindmntJson(write: TextSink, mounts: readonly MountInfo[], columns?: readonly string[], specs: Columns<MountInfo> = FINDMNT_COLUMNS): void {
  writeFindmntJsonTree(write, mounts.map((mount) => ({ mount, children: [] })), columns, specs);
}

/**
 * findmnt -J with a tree (-R): each mount's object holds the mounts below it under
 * "children", nested as libsmartcols prints them (6 more spaces per level).
 */
export function findmntJsonTreeText(forest: readonly MountNode[], columns?: readonly string[], specs: Columns<MountInfo> = FINDMNT_COLUMNS): string {
  return collected((write) => writeFindmntJsonTree(write, forest, columns, specs));
}

/** findmntJsonTreeText, written to write as it is made. */
export function writeFindmntJsonTree(write: TextSink, forest: readonly MountNode[], columns?: readonly string[], specs: Columns<MountInfo> = FINDMNT_COLUMNS): void {
  // without columns, findmntRecord's (the specs' SOURCE, so -v and -c show in it too)
  writeJsonTree(write, forest, columns ?? RECORD_COLUMNS, specs);
}

/** findmnt -J -o COLUMNS of any rows (fstab lines too): one object per row, keys the column names in lower case. */
export function rowsJsonText<T>(rows: readonly T[], columns: readonly string[], specs: Columns<T>): string {
  return collected((write) => writeRowsJson(write, rows, columns, specs));
}

/** rowsJsonText, written to write as it is made; document: the array's name, and what no row prints (FINDMNT_DOCUMENT's by default). */
export function writeRowsJson<T>(write: TextSink, rows: readonly T[], columns: readonly string[], specs: Columns<T>, document: JsonDocument = FINDMNT_DOCUMENT): void {
  writeJsonTree(write, rows.map((mount) => ({ mount, children: [] })), columns, specs, document);
}

/** A libsmartcols JSON document's shape: the name of its one array, and whether no row prints the document (an empty array) or nothing. */
export interface JsonDocument {
  readonly name: string;
  readonly whenEmpty: "nothing" | "empty array";
}

/** findmnt's: "filesystems", and nothing at all for no mount. */
const FINDMNT_DOCUMENT: JsonDocument = { name: "filesystems", whenEmpty: "nothing" };

/** A row and the rows below it (a MountNode, or a row with none). */
interface TreeNode<T> {
  readonly mount: T;
  readonly children: readonly TreeNode<T>[];
}

/**
 * The document, one object per row with its columns' values (keys the names in lower case), as
 * columnsRecord gives them; each key's text is made once, not once per row.
 */
function writeJsonTree<T>(write: TextSink, forest: readonly TreeNode<T>[], columns: readonly string[], specs: Columns<T>, document: JsonDocument = FINDMNT_DOCUMENT): void {
  if (forest.length === 0) {
    // losetup's: the array, a blank line between its brackets
    if (document.whenEmpty === "empty array") write(`{\n   ${JSON.stringify(document.name)}: [\n\n   ]\n}\n`);
    return;
  }
  const values = columns.map((c) => specs[c]!.value);
  const keys = columns.map((c) => `${JSON.stringify(c.toLowerCase())}: `);
  const objects = (nodes: readonly TreeNode<T>[], depth: number): void => {
    const pad = " ".repeat(6 + 6 * depth);
    const keyPad = " ".repeat(9 + 6 * depth);
    nodes.forEach((n, i) => {
      let body = i === 0 ? `${pad}{\n` : `\n${pad}},{\n`;
      for (let c = 0; c < keys.length; c++) body += `${c === 0 ? "" : ",\n"}${keyPad}${keys[c]}${jsonCellText(values[c]!(n.mount), keyPad)}`;
      write(body);
      if (n.children.length === 0) return;
      write(`,\n${keyPad}"children": [\n`);
      objects(n.children, depth + 1);
      write(`\n${keyPad}]`);
    });
    write(`\n${pad}}`);
  };
  write(`{\n   ${JSON.stringify(document.name)}: [\n`);
  objects(forest, 0);
  write("\n   ]\n}\n");
}

/**
 * A cell's JSON as libsmartcols writes it: a list (SOURCES) as an array on a line of its own,
 * its items 4 spaces in from the key and one space apart; else jsonValueText.
 */
function jsonCellText(v: CellValue, keyPad: string): string {
  if (!isLines(v)) return jsonValueText(v);
  // an empty list is libsmartcols' array of no data: one null
  const items = v.length === 0 ? "null" : v.map(jsonValueText).join(", ");
  return `[\n${keyPad}    ${items}\n${keyPad}]`;
}

/** A cell that is a list of lines (SOURCES: every device carrying a tag). */
function isLines(v: CellValue): v is readonly string[] {
  return Array.isArray(v);
}

/** A cell's text in one piece: a list's lines joined by newlines (written \x0a by -r and -P), null as empty. */
function cellText(v: CellValue): string {
  return isLines(v) ? v.join("\n") : String(v ?? "");
}

/**
 * A JSON value as libsmartcols writes it: a byte that is not UTF-8 (a held byte, path-text.ts)
 * is written as itself, as findmnt -J does, not as JSON.stringify's "\udcXX" escape.
 */
function jsonValueText(v: unknown): string {
  const text = `${JSON.stringify(v)}`;
  if (!text.includes("\\udc")) return text;
  // An escape is a backslash after an even run of backslashes (an odd run ends in an escaped one).
  return text.replace(/(?<!\\)((?:\\\\)*)\\u(dc[89a-f][0-9a-f])/g, (_, run: string, hex: string) => run + String.fromCharCode(parseInt(hex, 16)));
}

/**
 * findmnt's OPTIONS column (libmount's merge of vfs and fs options): when they differ, the
 * two lists are joined with up to two "rw" and, if not both were rw, up to two "ro" taken
 * out, and one "rw" or "ro" put in front. So vfs "rw,relatime" + fs "rw,size=4k" gives
 * "rw,relatime,size=4k", and vfs "rw,relatime" + fs "ro" gives "ro,relatime".
 */
export function findmntOptions(m: MountInfo): string {
  requireMountText(m, "mount", "findmnt options", "options", "superOptions");
  return optionsColumn(m);
}

/** findmntOptions of a row of a checked table. */
function optionsColumn(m: MountInfo): string {
  const vfs = decodeField(m.options);
  const fs = decodeField(m.superOptions);
  if (vfs === fs || fs === "") return vfs;
  if (vfs === "") return fs;
  const opts = splitOptionText(`${vfs},${fs}`);
  const rw = removeFirst(opts, "rw") + removeFirst(opts, "rw");
  let ro = 0;
  if (rw !== 2) {
    ro = removeFirst(opts, "ro");
    if (ro + rw < 2) ro += removeFirst(opts, "ro");
  }
  const head = ro > 0 ? "ro" : "rw";
  return opts.length === 0 ? head : `${head},${opts.join(",")}`;
}

/** Remove the first option called name (with or without a value); 1 if one was removed. */
function removeFirst(opts: string[], name: string): number {
  const i = opts.findIndex((o) => o === name || o.startsWith(`${name}=`));
  if (i < 0) return 0;
  opts.splice(i, 1);
  return 1;
}

/**
 * A cell's value: text, a number (JSON prints it bare), a boolean (JSON's true or false: losetup's
 * flags, whose table text, 1 or 0, is their column's own), null (empty), or lines (SOURCES: a JSON
 * array, one line each in a table, joined by \x0a by -r and -P; an empty list is an empty cell).
 */
export type CellValue = string | number | boolean | null | readonly string[];

/** A findmnt column of rows of type T: its JSON value, and how the table shows it. */
export interface Column<T> {
  readonly value: (row: T) => CellValue;
  /** the table's text when it differs from the value's (MAJ:MIN is aligned on its colon) */
  readonly text?: (row: T) => string;
  /** right-aligned in the table, as findmnt's numeric columns */
  readonly right?: boolean;
  /**
   * findmnt's absolute width hint (SIZE's 5): a column whose cells are as wide as its header
   * or wider, yet narrower than this, is widened to it, as libsmartcols does
   */
  readonly widthHint?: number;
}

/** Columns by name (-o), for one kind of row: a mount, an fstab line. */
export type Columns<T> = Readonly<Record<string, Column<T>>>;

const NONE = () => null;

/** The columns of findmnt(8) that mountinfo answers, by name (FREQ and PASSNO are fstab's: empty here). */
export const FINDMNT_COLUMNS: Columns<MountInfo> = {
  TARGET: { value: (m) => m.mountpoint },
  SOURCE: { value: (m) => sourceColumn(m) || null },
  FSTYPE: { value: (m) => m.fstype },
  OPTIONS: { value: optionsColumn },
  "VFS-OPTIONS": { value: (m) => decodeField(m.options) },
  "FS-OPTIONS": { value: (m) => decodeField(m.superOptions) },
  ID: { value: (m) => m.id, right: true },
  PARENT: { value: (m) => m.parent, right: true },
  // findmnt prints "%3u:%-3u" in a table, so the colons line up
  "MAJ:MIN": { value: (m) => `${m.major}:${m.minor}`, text: (m) => `${String(m.major).padStart(3)}:${String(m.minor).padEnd(3)}` },
  FSROOT: { value: (m) => m.root },
  PROPAGATION: { value: propagationColumn },
  "OPT-FIELDS": { value: (m) => m.optional.join(" ") || null },
  FREQ: { value: NONE, right: true },
  PASSNO: { value: NONE, right: true },
};

/** How SOURCE and VFS-OPTIONS are printed: findmnt -v, -c and --vfs-all. */
export interface ColumnDisplay {
  /** -v (--nofsroot): without the `[fsroot]` of a bind mount or subvolume */
  readonly nofsroot?: boolean;
  /** -c (--canonicalize): a source that is no tag (UUID=..., parseTagSpec's) as this gives it */
  readonly canonical?: (source: string) => string;
  /** --vfs-all: VFS-OPTIONS names every per-mount flag, the defaults too (vfsOptionsAll) */
  readonly vfsAll?: boolean;
}

/**
 * FINDMNT_COLUMNS for one listing: SOURCE printed as findmnt -v and -c print it, VFS-OPTIONS as
 * --vfs-all does, and OPTIONS merged once per pair of option texts (mergedOnce).
 */
export function findmntColumns(display: ColumnDisplay): Columns<MountInfo> {
  const merged = mergedOnce();
  const options = { value: merged };
  const vfs: Columns<MountInfo> = display.vfsAll ? { "VFS-OPTIONS": { value: (m) => vfsOptionsAll(merged(m)) } } : {};
  if (!display.nofsroot && display.canonical === undefined) return { ...FINDMNT_COLUMNS, OPTIONS: options, ...vfs };
  const { nofsroot = false, canonical } = display;
  const source = (m: MountInfo) => {
    const spec = canonical === undefined || parseTagSpec(m.source) !== undefined ? m.source : canonical(m.source);
    return (nofsroot || m.root === "/" ? spec : `${spec}[${m.root}]`) || null;
  };
  return { ...FINDMNT_COLUMNS, SOURCE: { value: source }, OPTIONS: options, ...vfs };
}

/**
 * findmntOptions, remembering its last MERGES_KEPT merges by the vfs and fs option texts: a
 * table repeats a few pairs (a host's tmpfs mounts, a container's), and each merge makes a
 * dozen strings, garbage that made `findmnt` of a table of 376 000 mounts peak at 750 MB
 * rather than 470 (docs/bench.md). Kept per listing, never past it: the texts may be slices
 * of a large table.
 */
function mergedOnce(): (m: MountInfo) => string {
  let byVfs = new Map<string, Map<string, string>>();
  let kept = 0;
  return (m) => {
    let byFs = byVfs.get(m.options);
    const known = byFs?.get(m.superOptions);
    if (known !== undefined) return known;
    const merged = optionsColumn(m);
    if (kept === MERGES_KEPT) {
      byVfs = new Map();
      byFs = undefined;
      kept = 0;
    }
    if (byFs === undefined) byVfs.set(m.options, (byFs = new Map()));
    byFs.set(m.superOptions, merged);
    kept++;
    return merged;
  };
}

const MERGES_KEPT = 4096;

/**
 * findmnt --output-all's columns, in its order: every column it knows but the three only --poll
 * fills (ACTION, OLD-TARGET, OLD-OPTIONS). SIZE and the rest, the device ones (UUID...) and TID
 * are made where the system is at hand (findmnt-space.ts, findmnt-devices.ts, the command).
 */
export const ALL_COLUMNS: readonly string[] = [
  "AVAIL", "FREQ", "FSROOT", "FSTYPE", "FS-OPTIONS", "ID", "LABEL", "MAJ:MIN", "OPTIONS", "OPT-FIELDS", "PARENT", "PARTLABEL",
  "PARTUUID", "PASSNO", "PROPAGATION", "SIZE", "SOURCE", "SOURCES", "TARGET", "TID", "USED", "USE%", "UUID", "VFS-OPTIONS",
];

/** findmnt's columns that only --poll fills: named, never printed here. */
export const POLL_COLUMNS: readonly string[] = ["ACTION", "OLD-TARGET", "OLD-OPTIONS"];

/** findmnt's default list columns. */
export const DEFAULT_COLUMNS: readonly string[] = ["TARGET", "SOURCE", "FSTYPE", "OPTIONS"];

/**
 * -o NAME,NAME: the columns, upper-cased as findmnt takes them; "+NAME,..." adds them to the
 * default ones (findmnt -D's with -D). Unknown names are listed in the error; known are
 * FINDMNT_COLUMNS' and the names in `more` (the space columns, made where statfs is at hand).
 */
export function parseColumns(list: string, defaults: readonly string[] = DEFAULT_COLUMNS, more: readonly string[] = []): string[] {
  if (typeof list !== "string") throw new PlanError(`columns: expected a list of names (NAME,NAME), got ${shownValue(list)}`);
  requireStringList(defaults, "defaults", "columns");
  requireStringList(more, "more", "columns");
  const added = list.startsWith("+");
  const names = [...(added ? defaults : []), ...(added ? list.slice(1) : list).split(",").map((n) => n.trim().toUpperCase())];
  const known = [...Object.keys(FINDMNT_COLUMNS), ...more];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new PlanError(`unknown column${unknown.length === 1 ? "" : "s"}: ${unknown.join(", ") || "(none)"}; known: ${known.join(", ")}`);
  }
  return names;
}

/**
 * What a library caller gives the findmnt formatters: a list of mounts (objects: a table
 * parseMountInfo made), and columns the specs have (an unknown name was a TypeError part-way).
 */
function checkRows<T>(rows: readonly T[], columns: readonly string[] | undefined, specs: Columns<T>, action: string): void {
  if (!Array.isArray(rows)) throw new PlanError(`${action}: expected a list of mounts, got ${shownValue(rows)}`);
  for (let i = 0; i < rows.length; i++) requireMountInfo(rows[i], `mounts[${i}]`, action);
  if (columns === undefined) return;
  if (!Array.isArray(columns)) throw new PlanError(`${action}: columns must be a list of names, got ${shownValue(columns)}`);
  for (const column of columns) {
    if (typeof column !== "string" || !Object.hasOwn(specs, column)) throw new PlanError(`${action}: unknown column ${shownValue(column)}; known: ${Object.keys(specs).join(", ")}`);
  }
}

/** `findmnt -J -l -o COLUMNS`: one object per mount, keys the column names in lower case. */
export function findmntColumnsJson(mounts: readonly MountInfo[], columns: readonly string[]): { filesystems: Record<string, CellValue>[] } {
  requireList(columns, "columns", "findmnt JSON", "names");
  checkRows(mounts, columns, FINDMNT_COLUMNS, "findmnt JSON");
  return { filesystems: mounts.map((m) => columnsRecord(m, columns, FINDMNT_COLUMNS)) };
}

function columnsRecord<T>(row: T, columns: readonly string[], specs: Columns<T>): Record<string, CellValue> {
  return Object.fromEntries(columns.map((c) => [c.toLowerCase(), specs[c]!.value(row)]));
}

export interface PairsOptions {
  /** findmnt -y: names as shell variables ("MAJ:MIN" becomes MAJ_MIN) */
  readonly shell?: boolean;
  /** a tree (--tree): per row, the text drawn before its TARGET values (treePrefixes), escaped with them */
  readonly treePrefixes?: readonly string[];
}

/**
 * findmnt -P: one line per mount, NAME="value" for each column, one space apart. In the value
 * every byte that is not printable ASCII, and the four that a shell would expand or end the
 * quotes at (" \ ` $), is written \xHH, so `eval` of a line sets the variables safely.
 */
export function findmntPairs(mounts: readonly MountInfo[], columns: readonly string[] = DEFAULT_COLUMNS, options: PairsOptions = {}): string {
  return rowsPairs(mounts, columns, FINDMNT_COLUMNS, options);
}

/** findmnt -P of any rows (fstab lines too). */
export function rowsPairs<T>(rows: readonly T[], columns: readonly string[], specs: Columns<T>, options: PairsOptions = {}): string {
  return collected((write) => writeRowsPairs(write, rows, columns, specs, options));
}

/** rowsPairs, written to write a line at a time. */
export function writeRowsPairs<T>(write: TextSink, rows: readonly T[], columns: readonly string[], specs: Columns<T>, options: PairsOptions = {}): void {
  const names = columns.map((c) => (options.shell ? shellName(c) : c));
  const picked = columns.map((c) => specs[c]!);
  const tree = treeColumns(columns, options.treePrefixes);
  rows.forEach((row, r) => {
    const cell = (spec: Column<T>, i: number) => (tree[i] ? options.treePrefixes![r]! : "") + cellText(spec.value(row));
    write(`${picked.map((spec, i) => `${names[i]}="${pairsEncode(cell(spec, i))}"`).join(" ")}\n`);
  });
}

/** Which columns a tree is drawn in: every TARGET column, as findmnt marks each for libsmartcols (-o TARGET,SOURCE,TARGET draws two); none without a tree. */
function treeColumns(columns: readonly string[], treePrefixes: readonly string[] | undefined): boolean[] {
  return columns.map((c) => treePrefixes !== undefined && c === "TARGET");
}

/** A column's name as findmnt -y writes it, a shell variable's: MAJ:MIN as MAJ_MIN, USE% as USE_PCT. */
export function shellName(column: string): string {
  return column.replace(/%/g, "_PCT").replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * findmnt -y in every format (headers, -J keys, -P names): the columns renamed as shellName
 * names them, with the specs under those names.
 */
export function shellColumns<T>(columns: readonly string[], specs: Columns<T>): { columns: string[]; specs: Columns<T> } {
  return { columns: columns.map(shellName), specs: Object.fromEntries(columns.map((c) => [shellName(c), specs[c]!])) };
}

function pairsEncode(s: string): string {
  if (/^[\x20\x21\x23\x25-\x5b\x5d-\x5f\x61-\x7e]*$/.test(s)) return s;
  let out = "";
  for (const b of bytesFromText(s)) {
    const plain = b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x24 && b !== 0x5c && b !== 0x60;
    out += plain ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

export interface TableOptions {
  /** print the header line (findmnt -n leaves it out) */
  readonly headings?: boolean;
  /** findmnt -r: cells one space apart, unaligned, every byte but printable ASCII as \xHH (a space \x20) */
  readonly raw?: boolean;
  /** a tree (-R, --tree): per mount, the text drawn before its TARGET cells (treePrefixes); raw escapes it with the cell */
  readonly treePrefixes?: readonly string[];
  /** with treePrefixes: per mount, the tree's line drawn on the rows a cell of several lines adds (treeContinuations) */
  readonly treeContinuations?: readonly string[];
  /**
   * the locale is not UTF-8 (none set, C, POSIX: cli/locale.ts): every byte outside printable
   * ASCII is \xHH, as libsmartcols escapes it there ("\xc3\xa9" for "é")
   */
  readonly asciiOnly?: boolean;
  /**
   * findmnt -y: the header line names the columns as shell variables (USE% as USE_PCT), each
   * column still as wide as its own name makes it, so a longer one runs into the next, as
   * libsmartcols prints it
   */
  readonly shellHeadings?: boolean;
}

/**
 * The text `findmnt -l` prints when its output is not a terminal: by default the columns
 * TARGET SOURCE FSTYPE OPTIONS, each as wide as its widest cell, one space apart, the last
 * unpadded (numeric columns right-aligned), no truncation; -o picks others, -n drops the
 * header, -r prints raw. Like findmnt, prints nothing for an empty list.
 */
export function findmntTable(mounts: readonly MountInfo[], columns: readonly string[] = DEFAULT_COLUMNS, options: TableOptions = {}): string {
  checkRows(mounts, columns, FINDMNT_COLUMNS, "findmnt table");
  checkTableOptions(options, "findmnt table");
  return rowsTable(mounts, columns, FINDMNT_COLUMNS, options);
}

/**
 * A caller's table options: an object; the tree's prefixes, read a row at a time, lists of
 * strings (a number was a TypeError part-way).
 */
function checkTableOptions(options: unknown, action: string): asserts options is TableOptions {
  requireObject(options, "options", action);
  for (const field of ["treePrefixes", "treeContinuations"] as const) {
    const list = (options as TableOptions)[field];
    if (list === undefined) continue;
    requireStringList(list, field, action);
  }
}

/** findmnt's table of any rows (fstab lines too), as findmntTable prints mounts. */
export function rowsTable<T>(items: readonly T[], columns: readonly string[], columnSpecs: Columns<T>, options: TableOptions = {}): string {
  return collected((write) => writeRowsTable(write, items, columns, columnSpecs, options));
}

/**
 * rowsTable, written to write a line at a time. Aligned columns need every cell's width before
 * the first line: the cells are kept (in one array, their widths in another) until then, but
 * never the text of the whole table; a raw table is written as it is read.
 */
export function writeRowsTable<T>(write: TextSink, items: readonly T[], columns: readonly string[], columnSpecs: Columns<T>, options: TableOptions = {}): void {
  if (items.length === 0) return;
  const { headings = true, raw = false, treePrefixes, asciiOnly = false, shellHeadings = false } = options;
  const specs = columns.map((c) => columnSpecs[c]!);
  const header = columns.map((c) => (shellHeadings ? shellName(c) : c));
  const tree = treeColumns(columns, treePrefixes);
  if (raw) {
    if (headings) write(`${header.join(" ")}\n`);
    items.forEach((m, r) => write(`${specs.map((spec, c) => rawEncode((tree[c] ? treePrefixes![r]! : "") + cellText(spec.value(m)))).join(" ")}\n`));
    return;
  }
  const n = columns.length;
  // row r's cell c at r * n + c, the header (if printed) in row 0; a cell of several lines
  // (SOURCES) adds rows below its own, the other cells there empty, the tree's line continued
  const cells: string[] = headings ? header.slice() : [];
  items.forEach((m, r) => {
    let more: (readonly string[])[] | undefined; // lines past the first, by column
    for (let c = 0; c < n; c++) {
      const spec = specs[c]!;
      const value = spec.text ? spec.text(m) : spec.value(m);
      let text: string;
      if (isLines(value)) {
        text = value[0] ?? "";
        if (value.length > 1) (more ??= [])[c] = value.slice(1);
      } else text = String(value ?? "");
      cells.push((tree[c] ? treePrefixes![r]! : "") + encodeCell(text, asciiOnly));
    }
    if (more === undefined) return;
    const count = more.reduce((most, lines) => Math.max(most, lines.length), 0);
    for (let k = 0; k < count; k++) {
      for (let c = 0; c < n; c++) cells.push((tree[c] ? (options.treeContinuations?.[r] ?? "") : "") + encodeCell(more[c]?.[k] ?? "", asciiOnly));
    }
  });
  const rowCount = cells.length / n;
  const widths = new Int32Array(cells.length);
  for (let i = 0; i < cells.length; i++) widths[i] = textWidth(cells[i]!);
  const colWidth = columns.map(() => 0);
  for (let r = headings ? 1 : 0; r < rowCount; r++) for (let c = 0; c < n; c++) colWidth[c] = Math.max(colWidth[c]!, widths[r * n + c]!);
  for (let c = 0; c < n; c++) {
    // libsmartcols makes a column at least as wide as its header, printed (-n) or not, and
    // widens one that is not narrower to its width hint
    const headerWidth = columns[c]!.length;
    const hint = specs[c]!.widthHint ?? 0;
    colWidth[c] = colWidth[c]! < headerWidth ? headerWidth : colWidth[c]! < hint && headerWidth < hint ? hint : colWidth[c]!;
  }
  for (let r = 0; r < rowCount; r++) {
    let line = "";
    for (let c = 0; c < n; c++) {
      const cell = cells[r * n + c]!;
      const pad = " ".repeat(Math.max(0, colWidth[c]! - widths[r * n + c]!)); // a -y header may be wider
      const last = c === n - 1;
      // an empty last cell is not padded, even a right-aligned one (FREQ of a mount)
      line += last && cell === "" ? "" : specs[c]!.right ? pad + cell : cell + (last ? "" : pad);
      if (!last) line += " ";
    }
    write(`${line}\n`);
  }
}

/** Where text goes as it is made: the command's output, in pieces rather than one string of all of it. */
export type TextSink = (text: string) => void;

/** The text a writer writes, as one string (the string-returning forms, for small outputs and the tests). */
function collected(writeTo: (write: TextSink) => void): string {
  const parts: string[] = [];
  writeTo((text) => parts.push(text));
  return parts.join("");
}

/**
 * A raw cell (findmnt -r): every byte but printable ASCII as \xHH, the space and the
 * backslash included, so cells split on spaces and decode unambiguously (non-ASCII by byte).
 */
function rawEncode(s: string): string {
  if (/^[\x21-\x5b\x5d-\x7e]*$/.test(s)) return s;
  let out = "";
  for (const b of bytesFromText(s)) out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return out;
}

// Characters iswprint(3) rejects in glibc's C.UTF-8: controls, unassigned, surrogates,
// line and paragraph separators.
const UNPRINTABLE = /[\p{Cc}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/u;
const PLAIN = /^[\x20-\x7e]*$/;

/**
 * A cell as libsmartcols prints it: each unprintable character becomes `\xHH` per UTF-8
 * byte, and a backslash before "x" becomes `\x5c` so the output stays unambiguous. asciiOnly:
 * as in a locale that is not UTF-8, where every character past ASCII is unprintable.
 */
export function safeEncode(s: string, asciiOnly = false): string {
  if (typeof s !== "string") requireString(s, "text", "safe encode");
  if (typeof asciiOnly !== "boolean") throw new PlanError(`safe encode: asciiOnly must be true or false, got ${shownValue(asciiOnly)}`);
  return encodeCell(s, asciiOnly);
}

/** safeEncode of a cell a table made (a string), once per cell. */
export function encodeCell(s: string, asciiOnly: boolean): string {
  if (PLAIN.test(s) && !s.includes("\\x")) return s;
  let out = "";
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    i += ch.length;
    if (cp === 0x5c && s.charCodeAt(i) === 0x78 /* x */) out += "\\x5c";
    else if (UNPRINTABLE.test(ch) || (asciiOnly && cp > 0x7e)) for (const b of bytesFromText(ch)) out += `\\x${b.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out;
}

/** Columns a printable string takes on a terminal, summing wcwidth(3) per character. */
export function displayWidth(s: string): number {
  if (typeof s !== "string") requireString(s, "text", "display width");
  return textWidth(s);
}

/** displayWidth of a cell a table made, once per cell. */
export function textWidth(s: string): number {
  if (PLAIN.test(s)) return s.length;
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

// Zero width in glibc: combining marks, format characters except the soft hyphen and the
// prepended concatenation marks, and Hangul medial/final jamo.
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff]/u;
const SPACING_FORMAT = /[\u00ad\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u{110bd}\u{110cd}]/u;

function charWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x7f) return cp < 0x20 ? 0 : 1;
  if (ZERO_WIDTH.test(ch) && !SPACING_FORMAT.test(ch)) return 0;
  return isWide(cp) ? 2 : 1;
}

// East_Asian_Width W and F ranges of Unicode 14 (glibc 2.36's data), plus the blocks glibc
// also makes wide (U+3248-324F, U+4DC0-4DFF). Hex, "first-last" or a single code point.
const WIDE_RANGES =
  "1100-115f 231a-231b 2329-232a 23e9-23ec 23f0 23f3 25fd-25fe 2614-2615 2648-2653 267f 2693 " +
  "26a1 26aa-26ab 26bd-26be 26c4-26c5 26ce 26d4 26ea 26f2-26f3 26f5 26fa 26fd 2705 270a-270b " +
  "2728 274c 274e 2753-2755 2757 2795-2797 27b0 27bf 2b1b-2b1c 2b50 2b55 2e80-2e99 2e9b-2ef3 " +
  "2f00-2fd5 2ff0-2ffb 3000-303e 3041-3096 3099-30ff 3105-312f 3131-318e 3190-31e3 31f0-321e " +
  "3220-a48c a490-a4c6 a960-a97c ac00-d7a3 f900-faff fe10-fe19 fe30-fe52 fe54-fe66 fe68-fe6b " +
  "ff01-ff60 ffe0-ffe6 16fe0-16fe4 16ff0-16ff1 17000-187f7 18800-18cd5 18d00-18d08 1aff0-1aff3 " +
  "1aff5-1affb 1affd-1affe 1b000-1b122 1b150-1b152 1b164-1b167 1b170-1b2fb 1f004 1f0cf 1f18e " +
  "1f191-1f19a 1f200-1f202 1f210-1f23b 1f240-1f248 1f250-1f251 1f260-1f265 1f300-1f320 " +
  "1f32d-1f335 1f337-1f37c 1f37e-1f393 1f3a0-1f3ca 1f3cf-1f3d3 1f3e0-1f3f0 1f3f4 1f3f8-1f43e " +
  "1f440 1f442-1f4fc 1f4ff-1f53d 1f54b-1f54e 1f550-1f567 1f57a 1f595-1f596 1f5a4 1f5fb-1f64f " +
  "1f680-1f6c5 1f6cc 1f6d0-1f6d2 1f6d5-1f6d7 1f6dd-1f6df 1f6eb-1f6ec 1f6f4-1f6fc 1f7e0-1f7eb " +
  "1f7f0 1f90c-1f93a 1f93c-1f945 1f947-1f9ff 1fa70-1fa74 1fa78-1fa7c 1fa80-1fa86 1fa90-1faac " +
  "1fab0-1faba 1fac0-1fac5 1fad0-1fad9 1fae0-1fae7 1faf0-1faf6 20000-2fffd 30000-3fffd";

let wideTable: Uint32Array | undefined; // [first0, last0, first1, last1, ...], sorted

function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  wideTable ??= Uint32Array.from(
    WIDE_RANGES.split(" ").flatMap((r) => {
      const dash = r.indexOf("-");
      const first = parseInt(dash < 0 ? r : r.slice(0, dash), 16);
      return [first, dash < 0 ? first : parseInt(r.slice(dash + 1), 16)];
    }),
  );
  let lo = 0;
  let hi = wideTable.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < wideTable[2 * mid]!) hi = mid - 1;
    else if (cp > wideTable[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}
