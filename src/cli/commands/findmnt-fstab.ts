/**
 * mountkit findmnt --fstab [-F FSTAB]... [-e] [-c] (or -F FSTAB alone): an fstab's lines in
 * findmnt's formats (table, -r, -P, -J), chosen by -t, -O, PATH (or SOURCE TARGET), -M, -S, -d,
 * -f, -i and --shadowed as findmnt -s chooses them (an fstab is a list: --tree draws none).
 */
import { normalize } from "../../path.ts";
import { ExitCode } from "../../errors.ts";
import { canonicalPath, deviceIds, deviceOfTagSpec, sourceDeviceReads } from "../../ops/block-devices.ts";
import { isNetworkFilesystem, isPseudoFilesystem } from "../../mountinfo/filesystem-kinds.ts";
import type { DeviceIds } from "../../mountinfo/findmnt-devices.ts";
import type { FstabLine } from "../../plan/fstab.ts";
import { DEVICE_COLUMN_NAMES, deviceColumns } from "../../mountinfo/findmnt-devices.ts";
import { fstabName, parseFstabTextsLenient, readFstabLenient } from "../../ops/fstab-read.ts";
import { parseTagSpec, type TagSpec } from "../../tag-spec.ts";
import { DEFAULT_COLUMNS, shellColumns, writeRowsJson, writeRowsPairs, writeRowsTable } from "../../mountinfo/findmnt.ts";
import { utf8Locale } from "../locale.ts";
import { FSTAB_COLUMNS, FSTAB_VFS_ALL, selectFstabRows, type FstabRow } from "../../mountinfo/findmnt-fstab.ts";
import { cleanPath } from "../../mountinfo/lookup.ts";
import { SPACE_COLUMN_NAMES, spaceColumns } from "../../mountinfo/findmnt-space.ts";
import { spaceAtPaths } from "../../ops/filesystem-space.ts";
import { has, last, values, type ParsedArgs } from "../args.ts";
import { chunkedOutput, messageLine, type Io } from "../output.ts";

export function fstabListing(
  args: ParsedArgs,
  io: Io,
  json: boolean,
  columns: readonly string[] | undefined,
  /** PATH (a mount point, else a source), -M (or a TARGET operand), -S (or a SOURCE operand) */
  selection: { readonly path?: string | undefined; readonly mountpoint?: string | undefined; readonly source?: string | undefined },
  /** -D, --real, --pseudo: the filesystem types kept; undefined when they leave none out */
  kinds: ((fstype: string) => boolean) | undefined,
  /** -d backward: lines from the file's end */
  backward: boolean,
  /** -F FILE... without -s: the files' texts, read already (each once, as plain files) */
  texts?: readonly { file: string; text: string }[],
): ExitCode {
  const files = values(args, "tab-file");
  const paths = files.length === 0 ? undefined : files;
  const read = texts === undefined ? readFstabLenient(paths) : parseFstabTextsLenient(texts);
  const problems = read.problems;
  const lines = read.lines;
  // a problem names its file when there were several; one file's are "line N: ..."
  for (const problem of problems) io.err(messageLine(`findmnt: warning: ${problem.startsWith("line ") ? `${fstabName(paths)}: ` : ""}${problem} (line ignored)`));
  // -C compares the path as written (repeated and trailing slashes aside, as libmount compares paths)
  const canonicalize = !has(args, "nocanonicalize");
  const asPath = (p: string | undefined) => (p !== undefined && p.startsWith("/") ? (canonicalize ? normalize(p) : cleanPath(p)) : p);
  const selected = selectFstabRows(lines, {
    types: last(args, "types"),
    options: last(args, "options"),
    path: asPath(selection.path),
    mountpoint: asPath(selection.mountpoint),
    source: selection.source,
    backward,
    firstOnly: has(args, "first-only"),
    kinds,
    shadowed: has(args, "shadowed"),
    invert: has(args, "invert"),
    sourceLookup: canonicalize ? fstabSourceLookup() : undefined,
  });
  // As findmnt: an fstab is a list, never a tree, so finding nothing prints nothing and exits 1.
  if (selected.length === 0) return ExitCode.usage;
  const sourceAs = { evaluate: has(args, "evaluate"), canonicalize: has(args, "canonicalize") };
  const rows: FstabRow[] = selected.map((line) => ({ line, source: shownSource(line.spec, sourceAs) }));
  const picked = columns ?? DEFAULT_COLUMNS;
  const wants = (names: readonly string[]) => picked.some((c) => names.includes(c));
  const allSpecs = {
    ...FSTAB_COLUMNS,
    ...(has(args, "vfs-all") ? FSTAB_VFS_ALL : {}),
    // as findmnt: a line's SIZE and the rest are those of the filesystem now at its mount point
    ...(wants(SPACE_COLUMN_NAMES) ? spaceColumns(spaceAtPaths((r: FstabRow) => r.line.target), has(args, "bytes")) : {}),
    // UUID and the rest: a tag's own value, or what the device the line names holds
    ...(wants(DEVICE_COLUMN_NAMES) ? deviceColumns((r: FstabRow) => r.line.spec, FSTAB_COLUMNS.SOURCE!, sourceDeviceReads({ lookUpTags: canonicalize }), has(args, "evaluate")) : {}),
  };
  const shell = has(args, "shell");
  const { write, end } = chunkedOutput(io);
  if (json) {
    const { columns: keys, specs } = shell ? shellColumns(picked, allSpecs) : { columns: picked, specs: allSpecs };
    writeRowsJson(write, rows, keys, specs);
  } else if (has(args, "pairs")) writeRowsPairs(write, rows, picked, allSpecs, { shell });
  else writeRowsTable(write, rows, picked, allSpecs, { headings: !has(args, "noheadings"), raw: has(args, "raw"), asciiOnly: !utf8Locale(), shellHeadings: shell });
  end();
  return ExitCode.ok;
}

/**
 * SOURCE: with -e a tag (LABEL=, UUID=, PART..., ID=: parseTagSpec's) as the device it names
 * (null when none does), with -c any other source canonical, a /dev/disk link too (findmnt -c);
 * else as written.
 */
function shownSource(spec: string, { evaluate, canonicalize }: { evaluate: boolean; canonicalize: boolean }): string | null {
  const tag = parseTagSpec(spec);
  if (tag !== undefined) return evaluate ? (deviceOfTagSpec(tag) ?? null) : spec;
  return canonicalize ? canonicalPath(spec) : spec;
}

/**
 * A wanted source (PATH, -S) against each line beyond its text, as libmount matches an fstab
 * line's source with its cache: the wanted one resolved (a tag's device, else the path made
 * canonical); a line's path source equal to that, as written or canonical; a line's tag one the
 * resolved device (or image file) carries. So `-S LABEL=x` finds the line `UUID=y` of the same
 * filesystem, and `-S /dev/sdb1` both. A pseudo or network filesystem's line is matched by its
 * text only, as libmount matches it.
 */
function fstabSourceLookup(): (wanted: string) => (line: FstabLine) => boolean {
  return (wanted) => {
    const tag = parseTagSpec(wanted);
    const resolved = tag !== undefined ? deviceOfTagSpec(tag) : canonicalPath(wanted);
    if (resolved === undefined || resolved === "") return () => false;
    let ids: DeviceIds | undefined; // read once, when a tag line asks
    return (line) => {
      if (isPseudoFilesystem(line.fstype) || isNetworkFilesystem(line.fstype)) return false;
      const lineTag = parseTagSpec(line.spec);
      if (lineTag === undefined) return line.spec === resolved || canonicalPath(line.spec) === resolved;
      ids ??= deviceIds(resolved);
      return carriesTag(ids, lineTag);
    };
  };
}

/** Whether a device's ids hold NAME=value (ID, which no superblock holds, never). */
function carriesTag(ids: DeviceIds, tag: TagSpec): boolean {
  const value = { UUID: ids.uuid, LABEL: ids.label, PARTUUID: ids.partuuid, PARTLABEL: ids.partlabel, ID: undefined }[tag.name];
  return value !== undefined && value === tag.value;
}
