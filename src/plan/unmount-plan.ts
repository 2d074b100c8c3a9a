/**
 * In which order to unmount a subtree of the mount table. Pure.
 */
import { requireMountInfo, requireMountRow, requireMountTable } from "../mountinfo/caller-rows.ts";
import { cleanPath, lookupMount, under } from "../mountinfo/lookup.ts";
import { MountIndex } from "../mountinfo/mount-index.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { requireString } from "./caller-input.ts";

/**
 * The mounts at or under prefix, deepest in the mount tree first (by parent links, not by
 * path length: a mount stacked on /a is deeper than /a itself, and mount ids are reused).
 */
export function unmountOrder(mounts: readonly MountInfo[], prefix: string): MountInfo[] {
  requireMountTable(mounts, "unmount order");
  requireString(prefix, "prefix", "unmount order");
  const p = cleanPath(prefix);
  return deepestFirst(
    mounts.filter((m, i) => {
      if (typeof m?.mountpoint !== "string") requireMountRow(m, i, "unmount order");
      return under(cleanPath(m.mountpoint), p);
    }),
  );
}

/**
 * top and every mount below it in the mount tree (mounted on it, stacked on it, and so on
 * down), deepest first: what umount(8) -R takes down. Mounts top covers are not in it (they
 * are its parent's children), unlike unmountOrder's everything at or under a path.
 */
export function subtreeUnmountOrder(mounts: readonly MountInfo[], top: MountInfo): MountInfo[] {
  requireMountTable(mounts, "subtree unmount order");
  for (let i = 0; i < mounts.length; i++) {
    if (typeof mounts[i]?.mountpoint !== "string") requireMountRow(mounts[i], i, "subtree unmount order");
  }
  requireMountInfo(top, "top", "subtree unmount order");
  return new MountIndex(mounts).subtree(top);
}

/**
 * The mounts below the top mount at target in the mount tree, deepest first (subtreeUnmountOrder
 * without that mount); none when nothing is mounted at target itself.
 */
export function mountsBelow(mounts: readonly MountInfo[], target: string): MountInfo[] {
  const top = lookupMount(mounts, target);
  if (top === undefined || top.mountpoint !== target) return [];
  return new MountIndex(mounts).subtree(top).filter((m) => m.id !== top.id);
}

/** The mounts given, deepest in the mount tree (by parent links within the list) first. */
function deepestFirst(inside: readonly MountInfo[]): MountInfo[] {
  const byId = new Map(inside.map((m) => [m.id, m]));
  const depth = new Map<number, number>();
  const depthOf = (m: MountInfo): number => {
    const known = depth.get(m.id);
    if (known !== undefined) return known;
    depth.set(m.id, 0); // guards a torn table with a parent cycle
    const parent = m.parent === m.id ? undefined : byId.get(m.parent);
    const d = parent ? depthOf(parent) + 1 : 0;
    depth.set(m.id, d);
    return d;
  };
  return inside.map((m) => [depthOf(m), m] as const).sort((a, b) => b[0] - a[0]).map(([, m]) => m);
}

/** Ids of each mount's children within the list. */
export function childrenById(mounts: readonly MountInfo[]): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const m of mounts) {
    if (m.parent === m.id) continue;
    const list = children.get(m.parent);
    if (list) list.push(m.id);
    else children.set(m.parent, [m.id]);
  }
  return children;
}
