/**
 * Questions asked of a parsed mount table: which mount holds a path, which mounts sit under
 * a directory, and how a mount propagates. Pure; never mutates the caller's arrays.
 *
 * Paths are compared by component ("/ab" is not under "/a"), unlike containerd, which
 * compares string prefixes.
 */
import { PlanError } from "../errors.ts";
import { splitOptionText } from "../option-text.ts";
import { requireFunction, requirePath, requireString } from "../caller-kinds.ts";
import { badMountInfo, requireMountRow, requireMountTable, requireMountText } from "./caller-rows.ts";
import type { MountInfo } from "./types.ts";

/**
 * A mount's option items, the per-mount ones then the superblock's (as util-linux joins them
 * for -O), split where libmount splits: a quoted context="a,b" is one item.
 */
export function mountOptionItems(m: MountInfo): string[] {
  requireMountText(m, "mount", "mount option items", "options", "superOptions");
  return optionItems(m);
}

/** mountOptionItems of a row of a table read here (asked per mount by -O filters). */
export function optionItems(m: MountInfo): string[] {
  return [...splitOptionText(m.options), ...splitOptionText(m.superOptions)];
}

/** A predicate over mounts, usable with Array.prototype.filter. */
export type MountFilter = (m: MountInfo) => boolean;

/**
 * True when path is prefix or lies below it, comparing whole components. Everything is
 * under "/". Trailing and doubled slashes are ignored.
 */
export function isPathUnder(path: string, prefix: string): boolean {
  if (typeof path !== "string") requireString(path, "path", "is path under");
  if (typeof prefix !== "string") requireString(prefix, "prefix", "is path under");
  return under(cleanPath(path), cleanPath(prefix));
}

/**
 * The mount that holds path: the one a lookup of path would cross last. path must be
 * absolute and already resolved (no symlinks, "." or ".."); resolving is the caller's job.
 *
 * Walks the tree by parent links from the root mount the way the kernel walks a path: at each
 * mount, the next one entered is the child whose mount point comes FIRST along the path (the
 * shortest component-wise prefix), and a child on the parent's own mount point (a stack) comes
 * before all others. So a mount hidden by a later mount on one of its ancestor directories
 * (both children of the same parent, the hidden one deeper) is never returned, and neither is
 * the bottom of a stack. Ids are only used as links, never ordered: the kernel reuses them.
 */
/** A lookup walks the mount tree from "/": a relative path is the caller's mistake (PlanError). */
export function requireAbsolute(path: string): void {
  requirePath(path, "path", "look up mount");
  if (!path.startsWith("/")) throw new PlanError(`look up mount: path is not absolute: ${JSON.stringify(path)}`);
}

export function lookupMount(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  requireAbsolute(path);
  requireMountTable(mounts, "look up mount");
  const target = cleanPath(path);
  const ids = new Set<number>();
  for (let i = 0; i < mounts.length; i++) {
    const m = mounts[i];
    if (typeof m?.mountpoint !== "string") requireMountRow(m, i, "look up mount");
    ids.add(m.id);
  }
  // Only a mount on target or on one of its ancestors can be crossed on the way to it: the
  // tree is built from those alone (a few, where a table of thousands would mean thousands
  // of lists).
  const children = new Map<number, MountInfo[]>();
  const roots: MountInfo[] = [];
  for (const m of mounts) {
    if (!under(target, cleanPath(m.mountpoint))) continue;
    if (m.parent === m.id || !ids.has(m.parent)) {
      roots.push(m);
      continue;
    }
    const list = children.get(m.parent);
    if (list) list.push(m);
    else children.set(m.parent, [m]);
  }

  let cur = pickRoot(roots);
  if (!cur) return undefined;
  // Each step moves to a child; a consistent table cannot need more steps than it has mounts.
  // The bound keeps a table with a parent cycle (a torn read) from looping forever.
  for (let budget = mounts.length; budget >= 0; budget--) {
    let next: MountInfo | undefined;
    let nextLen = Infinity;
    for (const c of children.get(cur.id) ?? []) {
      const mp = cleanPath(c.mountpoint); // on target's way, as every mount in the tree
      // "<=": of two children on the same path, the later one in the table is on top.
      if (mp.length <= nextLen) {
        next = c;
        nextLen = mp.length;
      }
    }
    if (!next) return cur;
    cur = next;
  }
  return undefined;
}

/**
 * The root to start from, among parentless mounts that all cover the path: a "/" root if there
 * is one, else (a filtered table) the deepest.
 */
export function pickRoot(roots: readonly MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  let bestLen = -1;
  for (const r of roots) {
    const mp = cleanPath(r.mountpoint);
    const len = mp === "/" ? Infinity : mp.length;
    // ">=": with several, the later one in the table (mounted later) is taken.
    if (len >= bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}

/** Mounts at prefix or below it (containerd's PrefixFilter, by component). */
export function prefixFilter(prefix: string): MountFilter {
  requirePath(prefix, "prefix", "prefix filter");
  const p = cleanPath(prefix);
  return (m) => {
    if (typeof m?.mountpoint !== "string") throw badMountInfo(m, "mount", "prefix filter");
    return under(cleanPath(m.mountpoint), p);
  };
}

/** Mounts at path or at one of its ancestors (containerd's ParentsFilter, by component). */
export function parentsFilter(path: string): MountFilter {
  requirePath(path, "path", "parents filter");
  const p = cleanPath(path);
  return (m) => {
    if (typeof m?.mountpoint !== "string") throw badMountInfo(m, "mount", "parents filter");
    return under(p, cleanPath(m.mountpoint));
  };
}

/** Mounts of any of these filesystem types. */
export function fstypeFilter(...types: string[]): MountFilter {
  for (let i = 0; i < types.length; i++) {
    if (typeof types[i] !== "string") requireString(types[i], `types[${i}]`, "fstype filter");
  }
  const set = new Set(types);
  return (m) => {
    if (typeof m?.fstype !== "string") throw badMountInfo(m, "mount", "fstype filter");
    return set.has(m.fstype);
  };
}

/**
 * Mounts exactly at mountpoint (containerd's SingleEntryFilter). Unlike containerd this does
 * not stop at the first match: every mount of a stack matches; lookupMount gives the top.
 */
export function singleEntryFilter(mountpoint: string): MountFilter {
  requirePath(mountpoint, "mount point", "single entry filter");
  const p = cleanPath(mountpoint);
  return (m) => {
    if (typeof m?.mountpoint !== "string") throw badMountInfo(m, "mount", "single entry filter");
    return cleanPath(m.mountpoint) === p;
  };
}

/** Mounts that pass every filter. */
export function allOf(...filters: MountFilter[]): MountFilter {
  requireFilters(filters, "all of");
  return (m) => filters.every((f) => f(m));
}

/** Mounts that pass at least one filter. */
export function anyOf(...filters: MountFilter[]): MountFilter {
  requireFilters(filters, "any of");
  return (m) => filters.some((f) => f(m));
}

/** Filters to combine: functions, or a PlanError now rather than a TypeError at the first mount tested. */
function requireFilters(filters: readonly unknown[], action: string): void {
  for (let i = 0; i < filters.length; i++) {
    if (typeof filters[i] !== "function") requireFunction(filters[i], `filters[${i}]`, action);
  }
}

/**
 * The mounts of a device ("maj:min", as the table writes it) and, of those, the one umount(8)
 * given the device removes: the last in the table that a lookup of its mount point reaches
 * (lookupMount), so never the bottom of a stack or a mount hidden under a later one, whose
 * umount2 would remove another mount. reachable is undefined when every one is hidden.
 */
export function mountsOfDevice(mounts: readonly MountInfo[], device: string): { all: MountInfo[]; reachable: MountInfo | undefined } {
  requireString(device, "device", "mounts of device");
  return latestReachable(mounts, rowsWhere(mounts, "mounts of device", (m) => `${m.major}:${m.minor}` === device));
}

/**
 * The mounts whose source is exactly source (as mountinfo writes it: "srv:/exp", "tmpfs") and,
 * of those, the one umount(8) given that name removes, chosen as mountsOfDevice chooses.
 */
export function mountsOfSource(mounts: readonly MountInfo[], source: string): { all: MountInfo[]; reachable: MountInfo | undefined } {
  requireString(source, "source", "mounts of source");
  return latestReachable(mounts, rowsWhere(mounts, "mounts of source", (m) => m.source === source));
}

/** The last of all that a lookup of its own mount point reaches, with all. */
function latestReachable(mounts: readonly MountInfo[], all: MountInfo[]): { all: MountInfo[]; reachable: MountInfo | undefined } {
  for (let i = all.length - 1; i >= 0; i--) {
    const m = all[i]!;
    if (lookupMount(mounts, m.mountpoint)?.id === m.id) return { all, reachable: m };
  }
  return { all, reachable: undefined };
}

/** The mounts at prefix or below it, in table order, as a new array. */
export function mountsUnder(mounts: readonly MountInfo[], prefix: string): MountInfo[] {
  requirePath(prefix, "prefix", "mounts under");
  const p = cleanPath(prefix);
  return rowsWhere(mounts, "mounts under", (m) => under(cleanPath(m.mountpoint), p));
}

/** The rows of a caller's table that pass test, in table order; each row checked as it is read. */
function rowsWhere(mounts: readonly MountInfo[], action: string, test: (m: MountInfo) => boolean): MountInfo[] {
  requireMountTable(mounts, action);
  return mounts.filter((m, i) => {
    if (typeof m?.mountpoint !== "string") requireMountRow(m, i, action);
    return test(m);
  });
}

/**
 * findmnt's PROPAGATION column: "shared" or "private", then ",slave" for a mount with a
 * master and ",unbindable" for an unbindable one ("private,slave", "private,unbindable").
 */
export function propagationOf(m: MountInfo): string {
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw badMountInfo(m, "mount", "propagation");
  return propagationColumn(m);
}

/** propagationOf of a row findmnt prints (checked with its table). */
export function propagationColumn(m: MountInfo): string {
  let s = m.shared === undefined ? "private" : "shared";
  if (m.master !== undefined) s += ",slave";
  if (m.unbindable) s += ",unbindable";
  return s;
}

/** p is q or below it; both already clean. */
export function under(p: string, q: string): boolean {
  if (q === "/") return true;
  return p === q || (p.length > q.length && p.charCodeAt(q.length) === 47 /* / */ && p.startsWith(q));
}

/** Drop doubled and trailing slashes ("/a//b/" -> "/a/b"); "/" stays "/". */
export function cleanPath(p: string): string {
  if (p.length <= 1 || (p.charCodeAt(p.length - 1) !== 47 && !p.includes("//"))) return p;
  const s = p.replace(/\/{2,}/g, "/");
  return s.length > 1 && s.endsWith("/") ? s.slice(0, -1) : s;
}
