/**
 * POSIX path arithmetic (join, resolve, normalize, dirname, basename) that keeps every code
 * unit of its input. Bun's node:path goes through UTF-8 and back, which turns a held byte
 * (path-text.ts: a name that is not UTF-8) into U+FFFD and so names another file. For well-formed
 * text these give what node:path's posix functions give (a test compares them). Pure.
 */

export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/**
 * The path's components with "." and empty ones gone and ".." applied; a ".." that would climb
 * above the start is dropped for an absolute path and kept for a relative one.
 */
function resolvedComponents(path: string, absolute: boolean): string[] {
  const out: string[] = [];
  // cut at each "/" by indexOf, not split: every mount and umount joins helper paths, and
  // split's first use costs start-up time (docs/bench.md)
  for (let start = 0; start <= path.length; ) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const part = path.slice(start, end);
    start = end + 1;
    if (part === "" || part === ".") continue;
    if (part !== "..") out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!absolute) out.push("..");
  }
  return out;
}

/** "/a//b/./c/../" -> "/a/b/"; "" -> "."; a trailing slash is kept, as node:path keeps it. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  let body = resolvedComponents(path, absolute).join("/");
  if (body === "" && !absolute) body = ".";
  if (body !== "" && path.endsWith("/")) body += "/";
  return absolute ? `/${body}` : body;
}

/** The non-empty parts joined with "/" and normalized; "." when there are none. */
export function join(...paths: string[]): string {
  // a loop, not filter: umount's helper look-up joins on every run, and an array method's first
  // use costs start-up time (docs/bench.md)
  let joined = "";
  for (const p of paths) if (p !== "") joined = joined === "" ? p : `${joined}/${p}`;
  return joined === "" ? "." : normalize(joined);
}

/**
 * The parts resolved right to left until one is absolute, normalized, with no trailing slash.
 * Pure: it never reads the working directory, so some part must be absolute (sys/cwd.ts's
 * absolutePath puts the working directory first).
 */
export function resolve(...paths: string[]): string {
  let joined = "";
  for (let i = paths.length - 1; i >= 0 && !isAbsolute(joined); i--) {
    if (paths[i] !== "") joined = joined === "" ? paths[i]! : `${paths[i]}/${joined}`;
  }
  if (!isAbsolute(joined)) throw new Error(`resolve: no absolute path among ${JSON.stringify(paths)}`);
  return `/${resolvedComponents(joined, true).join("/")}`;
}

/**
 * Everything before the last component, up to the slash before it: "/a/b/" -> "/a", "/a" -> "/",
 * "a" -> "."; as node:path, only that one slash goes ("a//b" -> "a/") and "//a" gives "//".
 */
export function dirname(path: string): string {
  let end = path.length - 1;
  while (end > 0 && path[end] === "/") end--; // trailing slashes
  while (end > 0 && path[end] !== "/") end--; // the last component
  if (end <= 0) return path.startsWith("/") ? "/" : ".";
  return end === 1 && path.startsWith("/") ? "//" : path.slice(0, end);
}

const SLASH = 0x2f;

/** The last component: "/a/b/" -> "b", "/" -> "". */
export function basename(path: string): string {
  // trailing slashes dropped by hand: every start takes its own name's basename, and a regular
  // expression's first use costs more than the walk
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === SLASH) end--;
  const trimmed = path.slice(0, end);
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
