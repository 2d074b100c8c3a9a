/**
 * findmnt's tree: the mounts below a mount (-R), the tree of the mounts selected (its default
 * output, mountkit's --tree), the tree prefixes of its TARGET column and its nested JSON, -U's
 * removal of over-mounted targets and --shadowed's test for them. Pure: records in, records out.
 * Checked against util-linux 2.38 findmnt by test/integration/findmnt-select.test.ts (-R, -U) and
 * findmnt-more.test.ts (--tree, --shadowed).
 */
import type { MountInfo } from "./types.ts";

/** A mount and the mounts made on it (children ordered by mount ID, as libmount walks them). */
export interface MountNode {
  readonly mount: MountInfo;
  readonly children: readonly MountNode[];
}

/**
 * findmnt -R: each selected mount with every mount below it, in table order of the selection,
 * a selected mount already printed below an earlier one left out. The submounts come from the
 * whole table, whatever filter chose the selection (findmnt applies -t, -O, -S, -T only to it).
 */
export function submountForest(table: readonly MountInfo[], selected: readonly MountInfo[]): MountNode[] {
  const childrenOf = childrenByParent(table);
  const placed = new Set<number>();
  const node = (mount: MountInfo): MountNode => {
    placed.add(mount.id);
    const children: MountNode[] = [];
    for (const child of childrenOf.get(mount.id) ?? []) if (!placed.has(child.id)) children.push(node(child));
    return { mount, children };
  };
  const forest: MountNode[] = [];
  for (const m of selected) if (!placed.has(m.id)) forest.push(node(m));
  return forest;
}

/**
 * Each mount's children, as libmount's mnt_table_next_child_fs walks them: by mount ID, a mount
 * that is its own parent (the root of a tree) never its own child.
 */
function childrenByParent(table: readonly MountInfo[]): Map<number, MountInfo[]> {
  const childrenOf = new Map<number, MountInfo[]>();
  for (const m of table) {
    if (m.parent === m.id) continue;
    const list = childrenOf.get(m.parent);
    if (list) list.push(m);
    else childrenOf.set(m.parent, [m]);
  }
  for (const list of childrenOf.values()) list.sort((a, b) => a.id - b.id);
  return childrenOf;
}

/**
 * The mount findmnt's tree starts at (libmount's mnt_table_get_root_fs): the first mount with the
 * smallest parent ID, then up its parents while the table holds them (a "messy" table, whose
 * smallest parent ID is not the root's). undefined for an empty table.
 */
export function rootMount(table: readonly MountInfo[]): MountInfo | undefined {
  let root: MountInfo | undefined;
  for (const m of table) if (root === undefined || m.parent < root.parent) root = m;
  if (root === undefined) return undefined;
  const byId = new Map<number, MountInfo>();
  for (const m of table) if (!byId.has(m.id)) byId.set(m.id, m); // libmount takes the first with an ID
  // (a cycle of parents, from a torn read, would keep libmount walking; here it ends)
  const seen = new Set<MountInfo>([root]);
  for (let up = byId.get(root.parent); up !== undefined && !seen.has(up); up = byId.get(up.parent)) {
    seen.add(up);
    root = up;
  }
  return root;
}

/**
 * findmnt's tree of the mounts it selects (its default output, and --tree): walking down from
 * rootMount, children by mount ID, each selected mount hangs below the nearest selected mount
 * above it, or at the top when none is. Then, if the walk drew fewer rows than the table has
 * mounts, each selected mount not drawn yet (one the walk never reached: its parent is not in
 * the table), in table order, starts a tree of its own with the selected mounts below it, as
 * util-linux 2.38 findmnt draws them: a mount listed before its unreached parent is so drawn
 * twice, at the top and again below its parent.
 */
export function selectionForest(table: readonly MountInfo[], selected: (m: MountInfo) => boolean): MountNode[] {
  const root = rootMount(table);
  if (root === undefined) return [];
  const childrenOf = childrenByParent(table);
  const drawn = new Set<MountInfo>();
  let rows = 0;
  const forest: MountNode[] = [];
  const below = new Set<MountInfo>(); // the mounts the walk is below: a cycle of parents ends here
  const walk = (mount: MountInfo, into: MountNode[]) => {
    if (below.has(mount)) return;
    let list = into;
    if (selected(mount)) {
      const node: MountNode = { mount, children: [] };
      into.push(node);
      list = node.children as MountNode[];
      drawn.add(mount);
      rows++;
    }
    below.add(mount);
    for (const child of childrenOf.get(mount.id) ?? []) walk(child, list);
    below.delete(mount);
  };
  walk(root, forest);
  if (rows < table.length) for (const m of table) if (!drawn.has(m) && selected(m)) walk(m, forest);
  return forest;
}

/**
 * findmnt --shadowed: whether a mount is over-mounted, another mount made on it at its own mount
 * point (libmount's mnt_table_over_fs: a mount whose parent it is, with its target). A mount
 * hidden by a mount on a directory above it is not; the top of a stack is not.
 */
export function overmounted(table: readonly MountInfo[]): (m: MountInfo) => boolean {
  const over = new Set<string>();
  for (const m of table) over.add(`${m.parent}\0${m.mountpoint}`);
  return (m) => over.has(`${m.id}\0${m.mountpoint}`);
}

/** The forest's mounts, each before the mounts below it (findmnt's list order for -R). */
export function flattenForest(forest: readonly MountNode[]): MountInfo[] {
  const out: MountInfo[] = [];
  const visit = (n: MountNode) => {
    out.push(n.mount);
    n.children.forEach(visit);
  };
  forest.forEach(visit);
  return out;
}

/** The pieces of a drawn tree: libsmartcols's line drawing, or ASCII outside a UTF-8 locale. */
export interface TreeSymbols {
  readonly branch: string;
  readonly last: string;
  readonly vertical: string;
}
export const UTF8_TREE: TreeSymbols = { branch: "├─", last: "└─", vertical: "│ " };
export const ASCII_TREE: TreeSymbols = { branch: "|-", last: "`-", vertical: "| " };

/**
 * The TARGET column's prefix for each mount of flattenForest(forest), as libsmartcols draws a
 * tree: per ancestor below the top "│ " while it has later siblings (else two spaces), then
 * "├─" or, for a last child, "└─"; nothing for the top mounts.
 */
export function treePrefixes(forest: readonly MountNode[], symbols: TreeSymbols = UTF8_TREE): string[] {
  const out: string[] = [];
  const visit = (n: MountNode, indent: string, branch: string) => {
    out.push(indent + branch);
    n.children.forEach((child, i) => {
      const last = i === n.children.length - 1;
      visit(child, branch === "" ? "" : indent + (branch === symbols.branch ? symbols.vertical : "  "), last ? symbols.last : symbols.branch);
    });
  };
  for (const n of forest) visit(n, "", "");
  return out;
}

/**
 * The TARGET column's text on the rows below each mount's own, for a cell of several lines
 * (SOURCES), as libsmartcols continues a tree there: a top mount's "│ " when mounts hang below
 * it (else nothing), another's its ancestors' lines then "│ " while it has later siblings (else
 * two spaces). In flattenForest's order, as treePrefixes.
 */
export function treeContinuations(forest: readonly MountNode[], symbols: TreeSymbols = UTF8_TREE): string[] {
  const out: string[] = [];
  const visit = (n: MountNode, indent: string, last: boolean | undefined) => {
    out.push(last === undefined ? (n.children.length > 0 ? symbols.vertical : "") : indent + (last ? "  " : symbols.vertical));
    const below = last === undefined ? "" : indent + (last ? "  " : symbols.vertical);
    n.children.forEach((child, i) => visit(child, below, i === n.children.length - 1));
  };
  for (const n of forest) visit(n, "", undefined);
  return out;
}

/**
 * findmnt -U: leave out each mount that a later mount in the table has the same target as (an
 * over-mounted one), giving its children the removed mount's parent, so the tree stays whole
 * (libmount's mnt_table_uniq_fs with MNT_UNIQ_KEEPTREE).
 */
export function uniqueTargets(table: readonly MountInfo[]): MountInfo[] {
  const lastWithTarget = new Map<string, number>();
  table.forEach((m, i) => lastWithTarget.set(m.mountpoint, i));
  const parentOfRemoved = new Map<number, number>();
  const kept: MountInfo[] = [];
  table.forEach((m, i) => {
    if (lastWithTarget.get(m.mountpoint) === i) kept.push(m);
    else parentOfRemoved.set(m.id, m.parent);
  });
  if (parentOfRemoved.size === 0) return kept;
  const liveParent = (id: number): number => {
    const seen = new Set<number>();
    while (parentOfRemoved.has(id) && !seen.has(id)) {
      seen.add(id);
      id = parentOfRemoved.get(id)!;
    }
    return id;
  };
  return kept.map((m) => (parentOfRemoved.has(m.parent) ? { ...m, parent: liveParent(m.parent) } : m));
}
