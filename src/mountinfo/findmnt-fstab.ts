/**
 * findmnt --fstab: an fstab's lines as findmnt prints them, its columns and its selection.
 * Pure: lines in, rows and values out. Checked against util-linux 2.38 findmnt -s by
 * test/integration/findmnt-select.test.ts.
 */
import { matchFstype, matchOptions, type FstabLine } from "../plan/fstab.ts";
import { isUserspaceExtension, lookupOption } from "../plan/option-table.ts";
import { splitOptionText } from "../option-text.ts";
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
    const kind = lookupOption(item)?.behaviour.kind;
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
  /** -S: lines with this source, as written */
  readonly source?: string | undefined;
  /** -d backward: from the file's end */
  readonly backward?: boolean;
  /** -f */
  readonly firstOnly?: boolean;
}

/** The lines findmnt -s prints for a query, in file order. */
export function selectFstabRows(lines: readonly FstabLine[], query: FstabQuery): FstabLine[] {
  // -O reads the options as written: a line without any matches no pattern (libmount's NULL)
  const optionsMatch = (l: FstabLine) => query.options === undefined || (l.mntops !== undefined && matchOptions(l.options, query.options));
  let out = lines.filter((l) => (query.types === undefined || matchFstype(l.fstype, query.types)) && optionsMatch(l));
  if (query.path !== undefined) {
    const path = query.path;
    const byTarget = out.filter((l) => l.target === path);
    out = byTarget.length > 0 ? byTarget : out.filter((l) => l.spec === path || l.source === path);
  }
  if (query.mountpoint !== undefined) out = out.filter((l) => l.target === query.mountpoint);
  if (query.source !== undefined) out = out.filter((l) => l.spec === query.source || l.source === query.source);
  if (query.backward) out = out.reverse();
  return query.firstOnly ? out.slice(0, 1) : out;
}
