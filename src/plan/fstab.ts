/**
 * fstab(5) as util-linux reads it: one mount per line, six whitespace-separated fields (the
 * last three optional), `#` comments and blank lines ignored, `\NNN` octal escapes in fields
 * (`\040` for a space). Which lines `mount -a` takes: not `noauto`, not swap, matching -t and
 * -O as libmount matches them. Every bad line is reported, by number, before any mount. Pure.
 */
import { PlanError, quotePath, shownValue } from "../errors.ts";
import { bytesFromText, textFromBytes } from "../path-text.ts";
import { badEntries } from "./apply-input.ts";
import { optionalString, requireFunction, requireList, requireObject, requireString, requireStringList } from "./caller-input.ts";
import { targetCreation, type BatchEntry } from "./batch-entry.ts";
import { tagLink } from "./device-tag.ts";
import { parseTagSpec } from "../tag-spec.ts";
import { splitOptionString } from "./options.ts";
import { matchFstype } from "./type-pattern.ts";

export { matchFstype };

/** The fstab read when none is named and LIBMOUNT_FSTAB is not set: libmount's _PATH_MNTTAB. */
export const DEFAULT_FSTAB = "/etc/fstab";

/**
 * The fstab read when none is named (no -T, -F), as libmount's mnt_get_fstab_path chooses it:
 * libmountFstab (the value of LIBMOUNT_FSTAB) when the variable is set, else /etc/fstab. Set
 * but empty is the path "", which names no file, not the default: util-linux 2.38 reads it so
 * (mount -a mounts nothing, mount DIR "can't find in", findmnt -s fails). setIds: the process
 * runs setuid or setgid (real and effective ids differ), where the variable is ignored, as
 * libmount's safe_getenv ignores it: whoever runs a setuid mount must not pick the file root reads.
 */
export function defaultFstabPath(libmountFstab: string | undefined, setIds: boolean): string {
  return libmountFstab === undefined || setIds ? DEFAULT_FSTAB : libmountFstab;
}

export interface FstabLine {
  /** 1-based line number in the file */
  readonly line: number;
  /** the file it was read from, when the lines come from more than one (mount -T DIR) */
  readonly file?: string;
  /** fs_spec, decoded; a LABEL=/UUID=/... tag is turned into its /dev/disk/by-* path */
  readonly source: string;
  /** fs_spec as written, decoded (a tag stays "UUID=..."): what findmnt --fstab shows */
  readonly spec: string;
  /** fs_file, decoded */
  readonly target: string;
  /** fs_vfstype */
  readonly fstype: string;
  /** fs_mntops, decoded and split (util-linux quoting); "defaults" when absent */
  readonly options: readonly string[];
  /** fs_mntops as written, decoded; undefined when the line has none */
  readonly mntops?: string | undefined;
  readonly freq: number;
  readonly passno: number;
}

/** Parse an fstab; a PlanError lists every bad line. */
export function parseFstab(text: string, name = "fstab"): FstabLine[] {
  requireString(text, "text", "parse fstab");
  requireString(name, "name", "parse fstab");
  const { lines, problems } = parseFstabLines(text);
  if (problems.length > 0) throw badEntries(`read ${quotePath(name)}`, problems);
  return lines;
}

/** Parse an fstab, keeping the good lines and each bad line's problem ("line 3: ..."), in order. */
export function parseFstabLines(text: string): { lines: FstabLine[]; problems: string[] } {
  const lines: FstabLine[] = [];
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    try {
      const parsed = parseLine(raw, i + 1);
      if (parsed) lines.push(parsed);
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      problems.push(err.message);
    }
  });
  return { lines, problems };
}

function parseLine(raw: string, line: number): FstabLine | undefined {
  const text = raw.trim();
  if (text === "" || text.startsWith("#")) return undefined;
  const fields = text.split(/[ \t]+/);
  if (fields.length < 3) {
    throw new PlanError(`line ${line}: ${fields.length} field${fields.length === 1 ? "" : "s"}, expected at least 3 (source, target, type)`);
  }
  if (fields.length > 6) throw new PlanError(`line ${line}: ${fields.length} fields, expected at most 6`);
  const [spec, file, vfstype, mntops, freq, passno] = fields.map(decodeFstabField) as [string, string, string, ...string[]];
  let options: string[];
  try {
    options = mntops === undefined ? ["defaults"] : splitOptionString(mntops);
  } catch (err) {
    throw new PlanError(`line ${line}: ${(err as Error).message}`);
  }
  return {
    line,
    source: sourceFromTag(spec),
    spec,
    target: file,
    fstype: vfstype,
    options,
    mntops,
    freq: number(freq, "dump frequency", line),
    passno: number(passno, "pass number", line),
  };
}

function number(field: string | undefined, what: string, line: number): number {
  if (field === undefined) return 0;
  if (!/^\d+$/.test(field)) throw new PlanError(`line ${line}: ${what} ${JSON.stringify(field)} is not a number`);
  return Number(field);
}

/** Undo fstab's octal escapes: `\040` space, `\011` tab, `\012` newline, `\134` backslash. */
export function decodeFstabField(field: string): string {
  if (typeof field !== "string") requireString(field, "field", "decode fstab field");
  if (!field.includes("\\")) return field;
  const bytes: number[] = [];
  const raw = bytesFromText(field);
  for (let i = 0; i < raw.length; i++) {
    const octal = raw[i] === 92 ? /^[0-3][0-7]{2}/.exec(String.fromCharCode(...raw.subarray(i + 1, i + 4))) : null;
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else bytes.push(raw[i]!);
  }
  return textFromBytes(new Uint8Array(bytes));
}

/**
 * LABEL=x, UUID=x, PARTLABEL=x, PARTUUID=x, ID=x -> the udev link /dev/disk/by-*\/x that
 * names the device (libmount asks udev's links first too). Anything else is unchanged.
 */
export function sourceFromTag(spec: string): string {
  const tag = parseTagSpec(spec);
  return tag === undefined ? spec : tagLink(tag.name, tag.value);
}

/**
 * libmount's mnt_match_options (mount -O): every item of pattern must hold. "X" needs option X
 * (with "X=v", that value); "noX" needs X absent; "+noX" needs the literal option "noX".
 */
export function matchOptions(options: readonly string[], pattern: string | undefined): boolean {
  requireStringList(options, "options", "match options");
  optionalString(pattern, "pattern", "match options");
  return optionsMatch(options, pattern);
}

/** matchOptions of options mountkit read itself (a table's, a checked line's): asked per mount, not checked again. */
export function optionsMatch(options: readonly string[], pattern: string | undefined): boolean {
  if (pattern === undefined) return true;
  for (const raw of pattern.split(",")) {
    if (raw === "" || raw === "+") continue;
    const literal = raw.startsWith("+");
    const item = literal ? raw.slice(1) : raw;
    const negated = !literal && item.startsWith("no");
    const wanted = negated ? item.slice(2) : item;
    const present = options.some((o) => (wanted.includes("=") ? o === wanted : o === wanted || o.startsWith(`${wanted}=`)));
    if (present === negated) return false;
  }
  return true;
}

export interface FstabSelection {
  /** the lines to mount, as batch entries (target: the absolute mount point) */
  readonly entries: readonly BatchEntry[];
  /** lines left out, with why: "noauto", "swap", "type", "options" */
  readonly skipped: readonly { readonly line: number; readonly file?: string; readonly target: string; readonly reason: string }[];
}

export interface FstabFilter {
  /** mount -t: a type list (libmount syntax) */
  readonly types?: string;
  /** mount -O: an option pattern (libmount syntax) */
  readonly options?: string;
}

/** The lines `mount -a` mounts, in file order; bad lines are refused, each by number. */
export function selectFstab(lines: readonly FstabLine[], filter: FstabFilter = {}, name = "fstab"): FstabSelection {
  requireList(lines, "lines", "select fstab lines", "fstab lines");
  requireObject(filter, "filter", "select fstab lines");
  optionalString(filter.types, "filter.types", "select fstab lines");
  optionalString(filter.options, "filter.options", "select fstab lines");
  requireString(name, "name", "select fstab lines");
  const entries: BatchEntry[] = [];
  const skipped: { line: number; file?: string; target: string; reason: string }[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    checkFstabLine(l, i, "select fstab lines");
    const skip = (reason: string) => skipped.push({ line: l.line, ...(l.file === undefined ? {} : { file: l.file }), target: l.target, reason });
    if (l.fstype === "swap" || l.target === "swap") skip("swap");
    else if (l.options.includes("noauto")) skip("noauto");
    else if (!matchFstype(l.fstype, filter.types)) skip("type");
    else if (!optionsMatch(l.options, filter.options)) skip("options");
    else {
      try {
        entries.push(fstabEntry(l));
      } catch (err) {
        if (!(err instanceof PlanError)) throw err;
        problems.push(err.message);
      }
    }
  }
  if (problems.length > 0) throw badEntries(`mount -a ${quotePath(name)}`, problems);
  return { entries, skipped };
}

/**
 * The line `mount X` (one operand) mounts, found as libmount finds it: the first line whose mount
 * point is X, else the first whose source is X (a LABEL=/UUID=... tag as its /dev/disk link).
 * libmount reads fstab forward (mtab backward): util-linux 2.38's `mount X` with two lines for X
 * mounts the first.
 * Each is compared as written, then canonical: `canonical` is the caller's realpath, asked of X
 * and of the lines' absolute paths. Swap lines are never taken. undefined when none names X.
 */
export function findFstabLine(lines: readonly FstabLine[], operand: string, canonical: (path: string) => string, by: FstabOperandRole = "either"): FstabLine | undefined {
  const action = "find fstab line";
  requireList(lines, "lines", action, "fstab lines");
  requireString(operand, "operand", action);
  requireFunction(canonical, "canonical", action);
  if (by !== "either" && by !== "target" && by !== "source") throw new PlanError(`${action}: by must be "either", "target" or "source", got ${shownValue(by)}`);
  const mountable = lines.filter((l, i) => {
    checkFstabLine(l, i, action);
    return l.fstype !== "swap" && l.target !== "swap";
  });
  const wanted = canonical(operand);
  if (by !== "source") {
    const line = mountable.find((l) => l.target === operand) ?? mountable.find((l) => l.target.startsWith("/") && canonical(l.target) === wanted);
    if (line !== undefined || by === "target") return line;
  }
  const tagged = sourceFromTag(operand);
  return mountable.find((l) => l.source === tagged) ?? mountable.find((l) => l.source.startsWith("/") && canonical(l.source) === wanted);
}

/**
 * What one operand may name: a mount point or a source ("either", mount(8)'s plain operand), or
 * only one of them (mount(8)'s --target and --source, with which libmount tries no other).
 */
export type FstabOperandRole = "either" | "target" | "source";

/**
 * The line for `mount --options-source-force SOURCE TARGET`: the first line with both that
 * mount point and that source, each compared as findFstabLine compares it (libmount's
 * mnt_table_find_pair). undefined when none has both.
 */
export function findFstabPair(lines: readonly FstabLine[], source: string, target: string, canonical: (path: string) => string): FstabLine | undefined {
  const wantedTarget = canonical(target);
  const wantedSource = source.startsWith("/") ? canonical(source) : undefined;
  const tagged = sourceFromTag(source);
  return lines.find(
    (l) =>
      l.fstype !== "swap" &&
      (l.target === target || (l.target.startsWith("/") && canonical(l.target) === wantedTarget)) &&
      (l.source === source || l.source === tagged || (wantedSource !== undefined && l.source.startsWith("/") && canonical(l.source) === wantedSource)),
  );
}

/**
 * A line a library caller passes (selectFstab, findFstabLine): an object (parseFstab's) with
 * source, target and fstype strings and its options a list of strings, or a PlanError naming
 * it: a few typeofs a line, and one per option, in the loop that reads the lines.
 */
function checkFstabLine(l: unknown, i: number, action: string): asserts l is FstabLine {
  const line = l as { [K in keyof FstabLine]?: unknown };
  if (typeof l !== "object" || l === null || typeof line.source !== "string" || typeof line.target !== "string" || typeof line.fstype !== "string" || !Array.isArray(line.options)) {
    throw new PlanError(`${action}: lines[${i}] must be an fstab line (an object as parseFstab makes), got ${shownValue(l)}`);
  }
  requireStringList(line.options, `lines[${i}].options`, action);
}

/** A line as a batch entry: its mount, X-mount.mkdir and nofail. */
export function fstabEntry(l: FstabLine): BatchEntry {
  const where = lineName(l);
  if (!l.target.startsWith("/")) throw new PlanError(`${where}: mount point ${quotePath(l.target)} is not an absolute path`);
  return {
    index: l.line,
    where: `${where} (${quotePath(l.target)})`,
    ...(l.file === undefined ? {} : { file: l.file }),
    mount: { type: l.fstype === "none" ? "" : l.fstype, source: l.source, target: l.target, options: l.options },
    createTarget: targetCreation(l.options, where),
    nofail: l.options.includes("nofail"),
  };
}

/** How messages name a line: "line 7", or "/etc/fstab.d/b.fstab: line 7" when there are several files. */
export function lineName(l: Pick<FstabLine, "line" | "file">): string {
  return l.file === undefined ? `line ${l.line}` : `${quotePath(l.file)}: line ${l.line}`;
}

/**
 * How mount(8) combines a line's options with the command line's (--options-mode): prepend
 * (the default) puts the line's first, so the command line's win; append the other way round;
 * replace keeps the line's alone, ignore the command line's alone.
 */
export type OptionsMode = "prepend" | "append" | "replace" | "ignore";
export const OPTIONS_MODES: readonly OptionsMode[] = ["prepend", "append", "replace", "ignore"];

/** The options a line's entry is mounted with, under mode. */
export function combineOptions(lineOptions: readonly string[], commandLine: readonly string[], mode: OptionsMode = "prepend"): readonly string[] {
  switch (mode) {
    case "prepend":
      return [...lineOptions, ...commandLine];
    case "append":
      return [...commandLine, ...lineOptions];
    case "replace":
      return lineOptions;
    case "ignore":
      return commandLine;
  }
}

/**
 * The options of `mount -o remount X` with X's fstab line, as libmount applies the line: the
 * line's and the command line's combined as mode says, and those alone (the mount's own flags
 * are not read then). replace keeps the line's alone but stays a remount, where mount(8) drops
 * the remount with the rest and mounts the line again, on top. Dropped from the line: its
 * `bind` unless the command line binds too (libmount drops it: a bind line's remount changes
 * its filesystem), and its X-mount.* words, which say how a new mount is made (its mount
 * point's creation, owner and mode, idmapping, subdir) and are nothing to a remount.
 */
export function remountOptions(lineOptions: readonly string[], commandLine: readonly string[], mode: OptionsMode = "prepend"): readonly string[] {
  const binds = commandLine.some((o) => o === "bind" || o === "rbind");
  const kept = lineOptions.filter((o) => (binds || o !== "bind") && !o.startsWith("X-mount."));
  return mode === "replace" ? [...kept, "remount"] : combineOptions(kept, commandLine, mode);
}

/**
 * A line's entry with the command line's options (mount X -o, mount -a -o) combined as mode
 * says (after the line's own by default, so that the last one wins); an X-mount.mkdir
 * (mount -m) or nofail among the result counts as the line's would.
 */
export function withCommandLineOptions(entry: BatchEntry, options: readonly string[], mode: OptionsMode = "prepend"): BatchEntry {
  if (options.length === 0 && mode !== "ignore") return entry;
  const merged = combineOptions(entry.mount.options, options, mode);
  return {
    ...entry,
    mount: { ...entry.mount, options: merged },
    createTarget: targetCreation(merged, entry.where),
    nofail: merged.includes("nofail"),
  };
}

