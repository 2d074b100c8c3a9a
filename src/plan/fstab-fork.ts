/**
 * mount -a -F (mount(8)'s --fork): which fstab lines must wait for which, and one line written
 * back as fstab text for the process that mounts it. Pure.
 *
 * mount(8) forks a process per line and mounts them in no set order, so a line whose mount
 * point is inside another line's may be mounted first and then hidden. Here a line waits for
 * every earlier line whose mount point holds its own mount point, its source, or a path in
 * its options (an overlay's layers), and for an earlier line on the same mount point.
 */
import type { BatchEntry } from "./batch-entry.ts";

/** For each entry, the positions (in entries) of the earlier entries it waits for. */
export function forkDependencies(entries: readonly BatchEntry[]): number[][] {
  const targets = entries.map((e) => normalized(e.mount.target));
  return entries.map((entry, j) => {
    const paths = pathsNamedBy(entry).map(normalized);
    const waits: number[] = [];
    for (let i = 0; i < j; i++) {
      const target = targets[i]!;
      if (target === targets[j] || paths.some((p) => isWithin(p, target))) waits.push(i);
    }
    return waits;
  });
}

/** The absolute paths an entry mounts on or from: its mount point, source and option values. */
function pathsNamedBy(entry: BatchEntry): string[] {
  const paths = [entry.mount.target];
  if (entry.mount.source.startsWith("/")) paths.push(entry.mount.source);
  for (const option of entry.mount.options) {
    const eq = option.indexOf("=");
    if (eq < 0) continue;
    // lowerdir=/a:/b, upperdir=/u: ':'-separated lists are split; a "\:" escape stays in one path,
    // which at worst makes it wait for a line it did not need
    for (const value of option.slice(eq + 1).split(":")) if (value.startsWith("/")) paths.push(value);
  }
  return paths;
}

/** path is dir, or below it (both absolute and normalized). */
function isWithin(path: string, dir: string): boolean {
  return path === dir || dir === "/" || path.startsWith(`${dir}/`);
}

/** "/a//b/" -> "/a/b": fstab paths are compared as written, without resolving links. */
function normalized(path: string): string {
  const squeezed = path.replace(/\/+/g, "/");
  return squeezed.length > 1 && squeezed.endsWith("/") ? squeezed.slice(0, -1) : squeezed;
}

/**
 * The entry as one fstab line that reads back as the same mount: fields escaped as fstab
 * escapes them (space, tab, newline, backslash, and a leading '#'), options joined with ',' and
 * an option holding a ',' quoted whole (util-linux syntax).
 */
export function fstabLineText(entry: BatchEntry): string {
  const { source, target, type, options } = entry.mount;
  // a line's options keep their quotes (context="a,b"); one holding a bare comma (an entry read
  // whole, uidmap=0:1:1,1:2:1) is quoted whole
  const joined = options.map((o) => (o.includes(",") && !o.includes('"') ? `"${o}"` : o)).join(",");
  return [escapeField(source), escapeField(target), escapeField(type === "" ? "none" : type), escapeField(joined === "" ? "defaults" : joined), "0", "0"].join(" ") + "\n";
}

function escapeField(field: string): string {
  const escaped = field.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return escaped.startsWith("#") ? `\\043${escaped.slice(1)}` : escaped;
}
