/**
 * A mount table indexed once for many questions: which mount a lookup of a path reaches
 * (lookupMount's answer) and which mounts lie below one in the mount tree. umount -R of N
 * operands asks both N times; answered by scanning the table, each costs the whole table.
 * remove() keeps the index as a read after that mount's unmount would give it. Pure.
 */
import { cleanPath, pickRoot, requireAbsolute, under } from "./lookup.ts";
import type { MountInfo } from "./types.ts";

export class MountIndex {
  /** the table's mounts by id: several where a torn read repeats one */
  readonly #byId = new Map<number, MountInfo[]>();
  /** each mount's place in the table read, which orders mounts of the same depth */
  readonly #position = new Map<MountInfo, number>();
  /** mounts whose parent is themselves or not in the table: where a lookup starts */
  readonly #roots = new Set<MountInfo>();
  /** each parent id's children by (clean) mount point, each list in table order */
  readonly #children = new Map<number, Map<string, MountInfo[]>>();

  constructor(mounts: readonly MountInfo[]) {
    mounts.forEach((m, i) => {
      this.#position.set(m, i);
      const same = this.#byId.get(m.id);
      if (same) same.push(m);
      else this.#byId.set(m.id, [m]);
    });
    for (const m of mounts) {
      if (m.parent === m.id || !this.#byId.has(m.parent)) this.#roots.add(m);
      else this.#addChild(m);
    }
  }

  /** How many mounts the index holds. */
  get size(): number {
    return this.#position.size;
  }

  /** The mounts the index holds, in table order (those removed left out). */
  mounts(): MountInfo[] {
    return [...this.#position.keys()];
  }

  /** Whether the index holds m (it was read, and not removed since). */
  has(m: MountInfo): boolean {
    return this.#position.has(m);
  }

  /** The mount with this id at this mount point, if the index holds one. */
  find(id: number, mountpoint: string): MountInfo | undefined {
    return this.#byId.get(id)?.find((m) => m.mountpoint === mountpoint);
  }

  /**
   * lookupMount(table, path): the mount a lookup of path (absolute, resolved) crosses last.
   * Each step asks the current mount for its child on path's way with the shortest mount point
   * (of several there, the later in the table), so it costs path's components, not the table.
   */
  lookup(path: string): MountInfo | undefined {
    requireAbsolute(path);
    const target = cleanPath(path);
    const ways = waysTo(target);
    let cur = pickRoot([...this.#roots].filter((r) => under(target, cleanPath(r.mountpoint))));
    // the bound keeps a table with a parent cycle (a torn read) from looping forever
    for (let budget = this.size; cur !== undefined && budget >= 0; budget--) {
      const byPoint = this.#children.get(cur.id);
      const next = byPoint === undefined ? undefined : firstOnTheWay(byPoint, ways);
      if (next === undefined) return cur;
      cur = next;
    }
    return undefined;
  }

  /**
   * top and every mount below it in the mount tree (mounted on it, stacked on it, and so on
   * down), deepest first; of the same depth, in table order. Costs the subtree, not the table.
   */
  subtree(top: MountInfo): MountInfo[] {
    const depth = new Map<MountInfo, number>([[top, 0]]);
    const seen = new Set<number>([top.id]); // by id: also stops a torn table's cycle
    // a Map iterates the entries added while it iterates: breadth first
    for (const [m, d] of depth) {
      for (const children of this.#children.get(m.id)?.values() ?? []) {
        for (const child of children) {
          if (seen.has(child.id)) continue;
          seen.add(child.id);
          depth.set(child, d + 1);
        }
      }
    }
    const position = (m: MountInfo) => this.#position.get(m) ?? -1;
    return [...depth].sort((a, b) => b[1] - a[1] || position(a[0]) - position(b[0])).map(([m]) => m);
  }

  /** Forget m (unmounted). Its children, if any are left, become roots, as in a table without m. */
  remove(m: MountInfo): void {
    if (!this.#position.delete(m)) return;
    this.#roots.delete(m);
    const same = this.#byId.get(m.id)!.filter((other) => other !== m);
    if (same.length > 0) this.#byId.set(m.id, same);
    else {
      this.#byId.delete(m.id);
      for (const orphans of this.#children.get(m.id)?.values() ?? []) for (const orphan of orphans) this.#roots.add(orphan);
      this.#children.delete(m.id);
    }
    const siblings = this.#children.get(m.parent)?.get(cleanPath(m.mountpoint));
    const at = siblings?.indexOf(m) ?? -1;
    if (at >= 0) siblings!.splice(at, 1);
  }

  #addChild(m: MountInfo): void {
    let byPoint = this.#children.get(m.parent);
    if (byPoint === undefined) this.#children.set(m.parent, (byPoint = new Map()));
    const point = cleanPath(m.mountpoint);
    const list = byPoint.get(point);
    if (list) list.push(m);
    else byPoint.set(point, [m]);
  }
}

/** The paths a lookup of target passes, shortest first: "/", "/a", "/a/b" for "/a/b" (clean). */
function waysTo(target: string): string[] {
  const ways = ["/"];
  for (let slash = target.indexOf("/", 1); slash > 0; slash = target.indexOf("/", slash + 1)) ways.push(target.slice(0, slash));
  if (target !== "/") ways.push(target);
  return ways;
}

/** Of a mount's children, the one on the first of ways that has one; the later in the table of several there. */
function firstOnTheWay(byPoint: ReadonlyMap<string, readonly MountInfo[]>, ways: readonly string[]): MountInfo | undefined {
  for (const way of ways) {
    const there = byPoint.get(way);
    if (there !== undefined && there.length > 0) return there[there.length - 1];
  }
  return undefined;
}
