/**
 * Parser of /proc/<pid>/mountinfo (proc_pid_mountinfo(5)). Pure: text in, records out.
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)         (6)       (7)      (8) (9)  (10)      (11)
 *
 * Fields are separated by single spaces; (7) is zero or more optional fields ended by a lone
 * "-". The kernel escapes space, tab, newline and backslash in paths as `\NNN` octal. Fields
 * after (11) are dropped, as moby's mountinfo does (a space left unescaped in the super options).
 */
import type { MountInfo } from "./types.ts";
import { textFromBytes } from "../path-text.ts";
import { PlanError, shownValue } from "../errors.ts";

/** A line of mountinfo that does not have the documented shape. */
export class MountInfoParseError extends Error {
  constructor(
    readonly detail: string,
    /** 1-based line number within the parsed text, when known */
    readonly line: number | undefined,
  ) {
    super(`parse mountinfo line${line === undefined ? "" : ` ${line}`}: ${detail}`);
    this.name = "MountInfoParseError";
  }
}

/**
 * Parse a whole mountinfo text. Empty lines (the trailing one included) are skipped. Each line
 * is read in place (readLineAt); one that it does not take goes to parseMountInfoLine, which
 * says what is wrong with it.
 */
export function parseMountInfo(text: string): MountInfo[] {
  if (typeof text !== "string") throw new PlanError(`parse mountinfo: expected the table's text, got ${shownValue(text)}`);
  const out: MountInfo[] = [];
  let start = 0;
  for (let lineNumber = 1; start < text.length; lineNumber++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    if (end > start) out.push(readLineAt(text, start, end) ?? parseMountInfoLine(text.slice(start, end), lineNumber));
    start = end + 1;
  }
  return out;
}

/** A saved table read leniently: the lines it takes, and one error per line it does not. */
export interface LenientMountInfo {
  readonly mounts: MountInfo[];
  readonly problems: MountInfoParseError[];
}

/**
 * Parse a saved mountinfo table (findmnt --mountinfo FILE) as libmount reads one: a line that
 * does not parse is left out and reported, not fatal to the table; blank lines and comment
 * lines ("#" first after any blanks) are skipped, and blanks before a line's first field, as in
 * any file libmount reads.
 */
export function parseMountInfoLenient(text: string): LenientMountInfo {
  if (typeof text !== "string") throw new PlanError(`parse mountinfo: expected the table's text, got ${shownValue(text)}`);
  const mounts: MountInfo[] = [];
  const problems: MountInfoParseError[] = [];
  let start = 0;
  for (let lineNumber = 1; start < text.length; lineNumber++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    // blanks before the first field are skipped, as libmount's sscanf skips them
    let first = start;
    while (first < end && (text.charCodeAt(first) === 32 || text.charCodeAt(first) === 9)) first++;
    if (first < end && text.charCodeAt(first) !== 35 /* # */) {
      try {
        mounts.push(readLineAt(text, first, end) ?? parseMountInfoLine(text.slice(first, end), lineNumber));
      } catch (err) {
        if (!(err instanceof MountInfoParseError)) throw err;
        problems.push(err);
      }
    }
    start = end + 1;
  }
  return { mounts, problems };
}

/**
 * The line text[start..end) read in place, without splitting it into fields first: the same
 * record as parseMountInfoLine, in about half the time for a table of a thousand mounts (no
 * array of fields and no substring per field but the ones kept). undefined for any line that
 * is not well formed, which parseMountInfoLine then refuses with the reason (tested to agree).
 */
export function readLineAt(t: string, start: number, end: number): MountInfo | undefined {
  // Fields 1-6 end at the next six spaces; root, mount point and options may not be empty.
  const s1 = spaceIn(t, start, end);
  if (s1 < 0) return undefined;
  const s2 = spaceIn(t, s1 + 1, end);
  if (s2 < 0) return undefined;
  const s3 = spaceIn(t, s2 + 1, end);
  if (s3 < 0) return undefined;
  const s4 = spaceIn(t, s3 + 1, end);
  if (s4 <= s3 + 1) return undefined;
  const s5 = spaceIn(t, s4 + 1, end);
  if (s5 <= s4 + 1) return undefined;
  const s6 = spaceIn(t, s5 + 1, end);
  if (s6 <= s5 + 1) return undefined;
  const id = parseUint(t, start, s1);
  const parent = parseUint(t, s1 + 1, s2);
  const colon = t.indexOf(":", s2 + 1);
  if (colon < 0 || colon > s3) return undefined;
  const major = parseUint(t, s2 + 1, colon);
  const minor = parseUint(t, colon + 1, s3);
  if (id < 0 || parent < 0 || major < 0 || minor < 0) return undefined;

  const optional: string[] = [];
  let shared: number | undefined;
  let master: number | undefined;
  let propagateFrom: number | undefined;
  let unbindable = false;
  let at = s6 + 1;
  for (;;) {
    let next = t.indexOf(" ", at);
    if (next < 0 || next > end) next = end;
    if (next === at || next === end) return undefined; // an empty field, or the line ended before "-"
    if (next === at + 1 && t.charCodeAt(at) === DASH) break;
    const tag = t.slice(at, next);
    optional.push(tag);
    if (tag === "unbindable") unbindable = true;
    const c = tag.indexOf(":");
    if (c > 0) {
      const name = tag.slice(0, c);
      if (name === "shared" || name === "master" || name === "propagate_from") {
        const n = parseUint(tag, c + 1, tag.length);
        if (n < 0) return undefined;
        if (name === "shared") shared = n;
        else if (name === "master") master = n;
        else propagateFrom = n;
      }
    }
    at = next + 1;
  }
  // After "-": the filesystem type (not empty), the source (may be empty), the super options,
  // and any fields after them, dropped (see parseMountInfoLine).
  const fstypeAt = at + 2;
  const f1 = spaceIn(t, fstypeAt, end);
  if (f1 <= fstypeAt) return undefined;
  const f2 = spaceIn(t, f1 + 1, end);
  if (f2 < 0) return undefined;
  const f3 = spaceIn(t, f2 + 1, end);
  return {
    id,
    parent,
    major,
    minor,
    root: decodeField(t.slice(s3 + 1, s4)),
    mountpoint: decodeField(t.slice(s4 + 1, s5)),
    options: t.slice(s5 + 1, s6),
    optional,
    fstype: decodeField(t.slice(fstypeAt, f1)),
    source: decodeField(t.slice(f1 + 1, f2)),
    superOptions: t.slice(f2 + 1, f3 < 0 ? end : f3),
    shared,
    master,
    propagateFrom,
    unbindable,
  };
}

const DASH = 45;

/** The index of the first space in t[from..end), or -1. */
function spaceIn(t: string, from: number, end: number): number {
  const i = t.indexOf(" ", from);
  return i < 0 || i >= end ? -1 : i;
}

/** Parse one mountinfo line (without its newline). lineNumber only labels errors. */
export function parseMountInfoLine(line: string, lineNumber?: number): MountInfo {
  if (typeof line !== "string") throw new PlanError(`parse mountinfo line: line must be a string, got ${shownValue(line)}`);
  if (lineNumber !== undefined && !Number.isSafeInteger(lineNumber)) {
    throw new PlanError(`parse mountinfo line: lineNumber must be a whole number, got ${shownValue(lineNumber)}`);
  }
  const f = line.split(" ");
  // 6 fixed fields, "-", then 3 more: at least 10 even with no optional fields.
  if (f.length < 10) fail(line, lineNumber, `expected at least 10 space-separated fields, found ${f.length}`);
  let sep = -1;
  // Fields 1-6 never equal "-" (ids, "M:m", absolute paths, options), so search after them.
  for (let i = 6; i < f.length; i++) {
    if (f[i] === "-") {
      sep = i;
      break;
    }
  }
  if (sep < 0) fail(line, lineNumber, `no "-" separator after the optional fields`);
  // Fields past the third are dropped, as moby's mountinfo does: an unescaped space in the super
  // options (cifs' unc= before Linux 3.10) must not make the whole table unreadable.
  if (f.length - sep < 4) fail(line, lineNumber, `expected at least 3 fields after "-", found ${f.length - sep - 1}`);

  const id = parseUint(f[0]!, 0, f[0]!.length);
  if (id < 0) fail(line, lineNumber, `bad mount id ${JSON.stringify(f[0])}`);
  const parent = parseUint(f[1]!, 0, f[1]!.length);
  if (parent < 0) fail(line, lineNumber, `bad parent id ${JSON.stringify(f[1])}`);
  const dev = f[2]!;
  const colon = dev.indexOf(":");
  // parsed in place: two substrings per line were most of what this field cost
  const major = colon < 0 ? -1 : parseUint(dev, 0, colon);
  const minor = colon < 0 ? -1 : parseUint(dev, colon + 1, dev.length);
  if (major < 0 || minor < 0) fail(line, lineNumber, `bad major:minor ${JSON.stringify(dev)}`);
  if (f[3] === "" || f[4] === "") fail(line, lineNumber, "empty root or mount point");
  if (f[5] === "") fail(line, lineNumber, "empty mount options");
  if (f[sep + 1] === "") fail(line, lineNumber, "empty filesystem type");

  let shared: number | undefined;
  let master: number | undefined;
  let propagateFrom: number | undefined;
  let unbindable = false;
  const optional = f.slice(6, sep);
  for (const tag of optional) {
    if (tag === "unbindable") {
      unbindable = true;
      continue;
    }
    const c = tag.indexOf(":");
    if (c <= 0) {
      // Unknown tags are allowed by the format ("future kernels may add more"); keep them.
      if (tag === "") fail(line, lineNumber, "empty optional field");
      continue;
    }
    const name = tag.slice(0, c);
    if (name !== "shared" && name !== "master" && name !== "propagate_from") continue;
    const n = parseUint(tag, c + 1, tag.length);
    if (n < 0) fail(line, lineNumber, `bad optional field ${JSON.stringify(tag)}`);
    if (name === "shared") shared = n;
    else if (name === "master") master = n;
    else propagateFrom = n;
  }

  return {
    id,
    parent,
    major,
    minor,
    root: decodeField(f[3]!),
    mountpoint: decodeField(f[4]!),
    options: f[5]!,
    optional,
    fstype: decodeField(f[sep + 1]!),
    source: decodeField(f[sep + 2]!),
    superOptions: f[sep + 3]!,
    shared,
    master,
    propagateFrom,
    unbindable,
  };
}

/**
 * Undo the kernel's octal escapes: every `\NNN` (three octal digits, at most \377) becomes
 * that byte. Runs of escaped bytes are decoded as UTF-8, so `\303\251` is "é", and `\351`
 * alone the held byte path-text.ts describes. A backslash not followed by three octal digits
 * is kept as it is.
 */
export function decodeMountInfoField(s: string): string {
  if (typeof s !== "string") throw new PlanError(`decode mountinfo field: field must be a string, got ${shownValue(s)}`);
  return decodeField(s);
}

/** decodeMountInfoField of a field of a line read here: four a line, every line of a table. */
export function decodeField(s: string): string {
  let at = s.indexOf("\\");
  if (at < 0) return s;
  let out = "";
  let last = 0; // start of the text not yet copied to out
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length === 0) return;
    out += bytes.every((b) => b < 0x80) ? String.fromCharCode(...bytes) : textFromBytes(Uint8Array.from(bytes));
    bytes = [];
  };
  while (at >= 0) {
    const v = octalByte(s, at + 1);
    if (v < 0) {
      at = s.indexOf("\\", at + 1);
      continue;
    }
    if (at > last) {
      flush();
      out += s.slice(last, at);
    }
    bytes.push(v);
    last = at + 4;
    at = s.indexOf("\\", last);
  }
  flush();
  return out + s.slice(last);
}

/** The byte value of three octal digits at s[i..i+3), or -1. */
function octalByte(s: string, i: number): number {
  if (i + 3 > s.length) return -1;
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  const c = s.charCodeAt(i + 2) - 48;
  if (a < 0 || a > 3 || b < 0 || b > 7 || c < 0 || c > 7) return -1;
  return a * 64 + b * 8 + c;
}

/** s[start..end) as a non-negative decimal integer with no sign, spaces or exponent, or -1. */
function parseUint(s: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** A refused line; no closure per line is made for it. */
function fail(line: string, lineNumber: number | undefined, detail: string): never {
  throw new MountInfoParseError(`${detail}: ${JSON.stringify(clip(line))}`, lineNumber);
}

function clip(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
