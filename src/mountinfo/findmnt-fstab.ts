/**
 * findmnt --fstab: an fstab's lines as findmnt prints them, its columns and its selection.
 * Pure: lines in, rows and values out. Checked against util-linux 2.38 findmnt -s by
 * test/integration/findmnt-select.test.ts, and -i, --shadowed, --vfs-all by findmnt-more.test.ts.
 */
import { optionsMatch, type FstabLine } from "../plan/fstab.ts";
import { typesMatch } from "./findmnt-select.ts";
import { isUserspaceExtension, optionSpec } from "../plan/option-table.ts";
import { splitOptionText } from "../option-text.ts";
import { invertedMatches, operandMayBeTarget, type RowTest } from "./findmnt-invert.ts";
import { vfsOptionsAll } from "./findmnt-vfs-options.ts";
import type { Columns } from "./findmnt.ts";

/** An fstab line as a findmnt row; source: the evaluated one (-e), else the line's as written. */
export interface FstabRow {
  readonly line: FstabLine;
  /** SOURCE: the fs_spec as written, or with -e the device a tag names (null: none found) */
  readonly source: string | null;
}

const NONE = () => null;

/** findmnt -s's columns: the line's fields; the columns only a mounted filesystem has are empty. */
export const FSTAB_COLUMNS: Columns<FstabRow> = {
  TARGET: { value: (r) => r.line.target },
  SOURCE: { value: (r) => r.source || null },
  FSTYPE: { value: (r) => r.line.fstype },
  OPTIONS: { value: (r) => r.line.mntops || null },
  "VFS-OPTIONS": { value: (r) => joined(optionGroups(r.line.mntops).vfs) },
  "FS-OPTIONS": { value: (r) => joined(optionGroups(r.line.mntops).fs) },
  ID: { value: NONE, right: true },
  PARENT: { value: NONE, right: true },
  "MAJ:MIN": { value: NONE },
  FSROOT: { value: NONE },
  PROPAGATION: { value: NONE },
  "OPT-FIELDS": { value: NONE },
  FREQ: { value: (r) => r.line.freq, right: true },
  PASSNO: { value: (r) => r.line.passno, right: true },
  TID: { value: NONE, right: true, widthHint: 4 },
};

/** findmnt -s --vfs-all's VFS-OPTIONS: every per-mount flag the line's options (all of them, as written) come to. */
export const FSTAB_VFS_ALL: Columns<FstabRow> = { "VFS-OPTIONS": { value: (r) => vfsOptionsAll(r.line.mntops) } };

function joined(options: readonly string[]): string | null {
  return options.length === 0 ? null : options.join(",");
}

// libmount's userspace words that the option table does not hold (mountkit reads them elsewhere or not at all)
const USERSPACE_WORDS = /^(offset|sizelimit)(=|$)/;

/**
 * An fstab line's options split as libmount splits them: per-mount flags (VFS-OPTIONS: ro,
 * nosuid, noatime, bind, a propagation...), filesystem data (FS-OPTIONS: size=1g, errors=...,
 * what nothing knows), and userspace ones left out of both (defaults, noauto, nofail, user,
 * comment=, loop, x-* and X-*...).
 */
export function optionGroups(mntops: string | undefined): { vfs: string[]; fs: string[] } {
  const vfs: string[] = [];
  const fs: string[] = [];
  if (!mntops) return { vfs, fs };
  for (const item of splitOptionText(mntops)) {
    if (isUserspaceExtension(item) || USERSPACE_WORDS.test(item)) continue;
    const kind = optionSpec(item)?.behaviour.kind;
    if (kind === "set" || kind === "clear" || kind === "propagation") vfs.push(item);
    else if (kind === "noop" || kind === "userspace" || kind === "unsupported" || (kind === "feature" && item.startsWith("loop"))) continue;
    else fs.push(item); // fs data, and what libmount 2.38 does not know (uidmap=, rro)
  }
  return { vfs, fs };
}

export interface FstabQuery {
  /** -t */
  readonly types?: string | undefined;
  /** -O */
  readonly options?: string | undefined;
  /** PATH: a line whose mount point, or else source, it is */
  readonly path?: string | undefined;
  /** -M: lines with this mount point */
  readonly mountpoint?: string | undefined;
  /** -S: lines with this source (as written, or as sourceLookup finds) */
  readonly source?: string | undefined;
  /** -d backward: from the file's end */
  readonly backward?: boolean;
  /** -f */
  readonly firstOnly?: boolean;
  /** -D, --real, --pseudo: the filesystem types kept (undefined: all) */
  readonly kinds?: ((fstype: string) => boolean) | undefined;
  /** --shadowed: only lines over-mounted by another, which no fstab line is */
  readonly shadowed?: boolean;
  /** -i: the lines the other tests turn down (invertedFstabRows) */
  readonly invert?: boolean;
  /**
   * A source beyond the text (PATH, -S), as libmount's cache meets a line's: the test of each
   * line for that wanted source (fstabSourceLookup's). undefined: the text only (findmnt -C).
   */
  readonly sourceLookup?: ((wanted: string) => RowTest<FstabLine>) | undefined;
}

/** The lines findmnt -s prints for a query, in file order. */
export function selectFstabRows(lines: readonly FstabLine[], query: FstabQuery): FstabLine[] {
  let out = query.invert ? invertedFstabRows(lines, query) : fstabMatches(lines, query);
  if (query.backward) out = out.reverse();
  return query.firstOnly ? out.slice(0, 1) : out;
}

/** -t, -O, -D/--real/--pseudo and --shadowed of a query: the tests of a line that are not about its paths. */
function fstabFilter(query: FstabQuery): RowTest<FstabLine> {
  // -O reads the options as written: a line without any matches no pattern (libmount's NULL)
  const optionsHold = (l: FstabLine) => query.options === undefined || (l.mntops !== undefined && optionsMatch(l.options, query.options));
  return (l) => (query.types === undefined || typesMatch(l.fstype, query.types)) && optionsHold(l) && (query.kinds?.(l.fstype) ?? true) && !query.shadowed;
}

/** A line of this source: as written, as the /dev/disk link a tag names (FstabLine's source), or as the query's lookup finds. */
function sourceTest(query: FstabQuery): (spec: string) => RowTest<FstabLine> {
  return (spec) => {
    const looked = query.sourceLookup?.(spec);
    return (l) => l.spec === spec || l.source === spec || (looked?.(l) ?? false);
  };
}
const targetIs = (path: string): RowTest<FstabLine> => (l) => l.target === path;

/**
 * findmnt -s -i: the lines that fail one of the query's tests, as util-linux 2.38 inverts them.
 * A PATH is matched as findmnt matches its operand (a source, then, if every line has that
 * source, a mount point). With no test at all there is nothing to invert: every line, as
 * findmnt -s -i lists them.
 */
function invertedFstabRows(lines: readonly FstabLine[], query: FstabQuery): FstabLine[] {
  const { path, mountpoint, source } = query;
  const sourceIs = sourceTest(query);
  const filtered = query.types !== undefined || query.options !== undefined || query.kinds !== undefined || query.shadowed;
  if (!filtered && path === undefined && mountpoint === undefined && source === undefined) return lines.slice();
  const base: RowTest<FstabLine>[] = [fstabFilter(query)];
  if (mountpoint !== undefined) base.push(targetIs(mountpoint));
  if (source !== undefined) base.push(sourceIs(source));
  if (path === undefined) return invertedMatches(lines, [base]);
  const attempts = [[...base, sourceIs(path)]];
  if (operandMayBeTarget(path)) attempts.push([...base, targetIs(path)]);
  return invertedMatches(lines, attempts);
}

/** The lines a query chooses, in file order, before -d and -f. */
function fstabMatches(lines: readonly FstabLine[], query: FstabQuery): FstabLine[] {
  const sourceIs = sourceTest(query);
  let out = lines.filter(fstabFilter(query));
  if (query.path !== undefined) {
    const byTarget = out.filter(targetIs(query.path));
    out = byTarget.length > 0 ? byTarget : out.filter(sourceIs(query.path));
  }
  if (query.mountpoint !== undefined) out = out.filter(targetIs(query.mountpoint));
  if (query.source !== undefined) out = out.filter(sourceIs(query.source));
  return out;
}
