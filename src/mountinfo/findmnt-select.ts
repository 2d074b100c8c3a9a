/**
 * findmnt's choice of mounts from a mount table: -t, -O, -D/--real/--pseudo, --shadowed, a PATH
 * operand (or SOURCE TARGET), -T, -M, -S and -i, as util-linux 2.38 findmnt chooses them, but for
 * mountkit findmnt's PATH: the one mount holding it (a link named findmnt takes findmnt's own
 * match: MountQuery.findmntMatch). Pure: what needs the system (realpath, a block
 * device's other names, the device a tag names) comes in as MountLookups, which the command
 * makes. The fstab's counterpart is findmnt-fstab.ts's selectFstabRows. Checked against
 * util-linux findmnt by test/integration/findmnt-select.test.ts and findmnt-more.test.ts.
 */
import { matchFstype, optionsMatch } from "../plan/fstab.ts";
import { findmntMatches, invertedMatches, operandMayBeTarget } from "./findmnt-invert.ts";
import { overmounted } from "./findmnt-tree.ts";
import { cleanPath, optionItems, type MountFilter } from "./lookup.ts";
import type { MountInfo } from "./types.ts";

/** What a findmnt command line asks of the mount table. */
export interface MountQuery {
  /** -t: findmnt's type list ("nonfs,tmpfs": all but those) */
  readonly types?: string | undefined;
  /** -O: mount -O's option patterns */
  readonly options?: string | undefined;
  /** -D, --real, --pseudo: the filesystem types kept (undefined: all) */
  readonly kinds?: ((fstype: string) => boolean) | undefined;
  /** --shadowed: only over-mounted mounts */
  readonly shadowed?: boolean;
  /** the operands: none, one PATH (or a source), or a SOURCE and its TARGET */
  readonly operands?: readonly string[];
  /** -T PATH */
  readonly target?: string | undefined;
  /** -M DIR */
  readonly mountpoint?: string | undefined;
  /** -S SPEC */
  readonly source?: string | undefined;
  /** -i: the mounts findmnt's own match turns down (findmntAttempts) */
  readonly invert?: boolean;
  /**
   * findmnt's own match (findmntAttempts) rather than mountkit findmnt's PATH lookup, as a link
   * named findmnt chooses: "list" tries its tests in turn while it finds nothing, as its lists
   * and -R do (a PATH operand a source, then a mount point exactly: every mount of a stack, and
   * none for a directory that is no mount point); "tree" only the first, as its whole tree does
   * (--tree PATH: a source only)
   */
  readonly findmntMatch?: "list" | "tree";
}

/** How the table's paths and sources meet the system's (or, for a saved table, its text). */
export interface MountLookups {
  /** PATH as a mount point to compare with the table's (-M, a TARGET operand); undefined: none can be */
  readonly point: (path: string) => string | undefined;
  /** the mount holding PATH (-T, a PATH operand); undefined when PATH does not exist */
  readonly holder: (path: string) => MountInfo | undefined;
  /** whether a mount's source is SPEC (a name that is no MAJ:MIN), tags and device links looked up where the system allows */
  readonly sourceIs: (spec: string) => MountFilter;
  /** what an operand names: a block device, another existing file, or nothing ("missing"; for a saved table, always) */
  readonly operandKind: (operand: string) => "block" | "other" | "missing";
}

/** Whether a query filters nothing (no search, type, option, kind or --shadowed): findmnt then lists the whole table. */
export function filtersNothing(query: MountQuery): boolean {
  const { types, options, kinds, shadowed, operands = [], target, mountpoint, source } = query;
  return operands.length === 0 && target === undefined && mountpoint === undefined && source === undefined && types === undefined && options === undefined && kinds === undefined && !shadowed;
}

/**
 * The mounts a query chooses, in table order. -T and a PATH operand: the mount holding PATH if
 * it passes the filters (as findmnt -T: not a lower mount that does); with --shadowed, as
 * findmnt, the over-mounted mounts on the mount point holding PATH. An operand naming a source (MAJ:MIN, a block device, a name no path has) is -S's. -M and -S:
 * every match. With -i, the mounts findmnt's own match turns down; with findmntMatch, those it finds.
 */
export function selectMounts(table: readonly MountInfo[], query: MountQuery, lookups: MountLookups): MountInfo[] {
  const wanted = mountFilter(table, query);
  const sourceIs = sourceTest(lookups);
  if (query.invert) return invertedMatches(table, findmntAttempts(wanted, query, lookups, sourceIs));
  if (query.findmntMatch !== undefined) {
    const attempts = findmntAttempts(wanted, query, lookups, sourceIs);
    return findmntMatches(table, query.findmntMatch === "tree" ? attempts.slice(0, 1) : attempts);
  }
  const { operands = [], target, mountpoint, source } = query;
  const [first, second] = operands;
  let found = table.filter(wanted);
  const bySource = second === undefined && first !== undefined ? operandSource(first, table, lookups, sourceIs) : undefined;
  const path = target ?? (second === undefined && bySource === undefined ? first : undefined);
  if (path !== undefined) {
    // a PATH that does not exist is held by none, and findmnt says nothing of it
    const holder = lookups.holder(path);
    if (holder === undefined) found = [];
    // the holder, the top of its stack, is never over-mounted: --shadowed asks for those under it
    else if (query.shadowed) found = found.filter((m) => m.mountpoint === holder.mountpoint);
    else found = wanted(holder) ? [holder] : [];
  }
  if (bySource !== undefined) found = found.filter(bySource);
  if (second !== undefined) found = sourceOnTarget(found, first!, second, lookups, sourceIs);
  if (mountpoint !== undefined) {
    const at = lookups.point(mountpoint);
    found = at === undefined ? [] : found.filter((m) => m.mountpoint === at);
  }
  if (source !== undefined) found = found.filter(sourceIs(source));
  return found;
}

/** -t, -O, -D/--real/--pseudo and --shadowed: the tests of a mount that are not about its paths or source. */
function mountFilter(table: readonly MountInfo[], query: MountQuery): MountFilter {
  const { types, options, kinds } = query;
  // --shadowed: over-mounted in the table -U left, as findmnt tests it after its -U
  const shadowed = query.shadowed ? overmounted(table) : undefined;
  return (m) =>
    (types === undefined || typesMatch(m.fstype, types)) && // "nonfs,tmpfs", "noproc": as findmnt -t
    (options === undefined || optionsMatch(optionItems(m), options)) &&
    (kinds === undefined || kinds(m.fstype)) &&
    (shadowed === undefined || shadowed(m));
}

/**
 * findmnt -t TYPES: libmount's type pattern, except that an empty one (`-t ""`, an unset
 * variable's) matches no type, as findmnt's does (mount's empty pattern matches every type).
 */
export function typesMatch(fstype: string, types: string): boolean {
  return types !== "" && matchFstype(fstype, types);
}

/** A source as findmnt matches -S SOURCE (and a SOURCE operand): MAJ:MIN the mounts of that device number, else lookups.sourceIs. */
function sourceTest(lookups: MountLookups): (spec: string) => MountFilter {
  return (spec) => {
    const device = deviceNumberOf(spec);
    if (device === undefined) return lookups.sourceIs(spec);
    return (m) => m.major === device.major && m.minor === device.minor;
  };
}

/**
 * MAJ:MIN as findmnt reads a source (sscanf "%d:%d": blanks and a sign before each number, any
 * text after the second); undefined for a source that does not start so.
 */
export function deviceNumberOf(spec: string): { major: number; minor: number } | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+):[ \t\n\v\f\r]*([+-]?\d+)/.exec(spec);
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]) };
}

/**
 * The operand's test when findmnt takes it as a source: MAJ:MIN (never a path then), a block
 * device, or, with no such path, a name some mount has as its source (srv:/exp, tmpfs, UUID=...).
 * undefined: a PATH, whose holder is wanted (findmnt looks a source up first even for an
 * existing path; a directory named like a tmpfs's source stays a PATH here).
 */
function operandSource(operand: string, table: readonly MountInfo[], lookups: MountLookups, sourceIs: (spec: string) => MountFilter): MountFilter | undefined {
  if (deviceNumberOf(operand) !== undefined) return sourceIs(operand);
  const kind = lookups.operandKind(operand);
  if (kind === "block") return sourceIs(operand);
  if (kind === "other") return undefined;
  const bySource = sourceIs(operand);
  return table.some(bySource) ? bySource : undefined;
}

/**
 * findmnt SOURCE TARGET: the mounts of SOURCE on exactly TARGET, as -S with -M. For a MAJ:MIN
 * that finds none there, findmnt asks again of the mount point holding TARGET (as its -T does of
 * a path that is no mount point), and so does this.
 */
function sourceOnTarget(mounts: readonly MountInfo[], spec: string, target: string, lookups: MountLookups, sourceIs: (spec: string) => MountFilter): MountInfo[] {
  const bySource = sourceIs(spec);
  const at = lookups.point(target);
  if (at === undefined) return [];
  const on = (point: string) => mounts.filter((m) => m.mountpoint === point && bySource(m));
  const found = on(at);
  if (found.length > 0 || deviceNumberOf(spec) === undefined) return found;
  const holder = lookups.holder(target);
  return holder === undefined || holder.mountpoint === at ? [] : on(holder.mountpoint);
}

/**
 * util-linux 2.38 findmnt's own match, rather than mountkit findmnt's PATH lookups: the sets of
 * tests it tries in turn while it finds nothing (with -i, while every mount passes, so that
 * findmnt -i -T PATH lists every mount but those on PATH, not all but the one holding it).
 * wanted: -t, -O, -D/--real/--pseudo and --shadowed. A mount point (-M, -T, a TARGET operand) is
 * matched exactly, as given or canonical; a PATH operand as a source, then as a mount point; -T
 * as a mount point, then as the mount point holding PATH; a MAJ:MIN SOURCE TARGET, the same.
 */
function findmntAttempts(wanted: MountFilter, query: MountQuery, lookups: MountLookups, sourceIs: (spec: string) => MountFilter): MountFilter[][] {
  const { operands = [], target, mountpoint, source } = query;
  const [first, second] = operands;
  const base: MountFilter[] = [wanted];
  if (source !== undefined) base.push(sourceIs(source));
  const targetIs = (path: string): MountFilter => {
    const text = cleanPath(path);
    const point = lookups.point(path);
    return (m) => m.mountpoint === text || m.mountpoint === point;
  };
  // -T's second look, and a MAJ:MIN SOURCE TARGET's: the mount point holding the path
  const holding = (path: string, tests: MountFilter[]) => {
    const holder = lookups.holder(path);
    return holder === undefined ? [] : [[...tests, targetIs(holder.mountpoint)]];
  };
  let attempts: MountFilter[][];
  if (mountpoint !== undefined) attempts = [[...base, targetIs(mountpoint)]];
  else if (target !== undefined) attempts = [[...base, targetIs(target)], ...holding(target, base)];
  else if (first !== undefined && second !== undefined) {
    const tests = [...base, sourceIs(first)];
    attempts = [[...tests, targetIs(second)], ...(deviceNumberOf(first) !== undefined ? holding(second, tests) : [])];
  } else if (first !== undefined) {
    attempts = [[...base, sourceIs(first)]];
    if (deviceNumberOf(first) === undefined && operandMayBeTarget(first)) attempts.push([...base, targetIs(first)]);
  } else attempts = [base];
  return attempts;
}
