/**
 * containerd's lowerdir compaction (compactLowerdirOption), for mount(2)'s one-page limit:
 * take the longest common prefix of the layer paths, step back to its parent directory, and
 * give each layer relative to it. The mount is then made by a thread whose working directory
 * is that parent. Pure.
 *
 * containerd's snapshot layout is ${root}/snapshots/<id>/fs: the common prefix of
 * ".../snapshots/12/fs" and ".../snapshots/13/fs" is ".../snapshots/1", whose parent
 * ".../snapshots" is the directory every layer is relative to ("12/fs", "13/fs").
 */
import { requireStringList } from "./caller-input.ts";
import { checkOverlayConfig, type OverlayConfig } from "./overlay-options.ts";

export interface Compaction {
  /** the directory the mount(2) call must be made from */
  readonly dir: string;
  /** the config with every lower and data-only layer relative to dir */
  readonly config: OverlayConfig;
}

/** The longest common string prefix (containerd compares bytes, not path components). */
export function longestCommonPrefix(strings: readonly string[]): string {
  requireStringList(strings, "strings", "longest common prefix");
  return commonPrefix(strings);
}

/** longestCommonPrefix of a config's layers, strings already. */
function commonPrefix(strings: readonly string[]): string {
  if (strings.length === 0) return "";
  // The common prefix of all strings is the common prefix of the smallest and largest.
  let min = strings[0]!;
  let max = strings[0]!;
  for (const s of strings) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  let i = 0;
  while (i < min.length && i < max.length && min[i] === max[i]) i++;
  return min.slice(0, i);
}

/**
 * Go's path.Dir: everything before the last slash, cleaned; "." when there is no slash.
 * Unlike POSIX dirname, "/a/b/" gives "/a/b": a prefix ending in a slash is a directory.
 */
export function parentDir(path: string): string {
  return cleanPath(path.slice(0, path.lastIndexOf("/") + 1));
}

/** Go's path.Clean: no doubled slashes, no "." or ".." where they can be resolved lexically. */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (part === ".." && rooted) continue;
    else out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/**
 * The compacted config, or undefined where containerd would not compact: one layer only,
 * no common prefix, a common parent of "/" or "." (nothing to gain), or a layer that is the
 * common directory itself.
 */
export function compactLayers(config: OverlayConfig): Compaction | undefined {
  checkOverlayConfig(config, "compact layers");
  return compactConfig(config);
}

/** compactLayers of a config the planner parsed itself (overlay.ts), not walked again. */
export function compactConfig(config: OverlayConfig): Compaction | undefined {
  const layers = [...config.lowerdirs, ...config.datadirs];
  if (layers.length <= 1) return undefined;
  const prefix = commonPrefix(layers);
  if (prefix === "") return undefined;
  const parent = parentDir(prefix);
  if (parent === "/" || parent === ".") return undefined;
  const dir = `${parent}/`;
  // The prefix is a string prefix, so a layer like "/a/./b" must still start with dir.
  if (!layers.every((layer) => layer.length > dir.length && layer.startsWith(dir))) return undefined;
  const relative = (layer: string) => layer.slice(dir.length);
  return {
    dir,
    config: { ...config, lowerdirs: config.lowerdirs.map(relative), datadirs: config.datadirs.map(relative) },
  };
}
