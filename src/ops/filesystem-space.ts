/**
 * The space figures of the filesystems at some paths (findmnt's SIZE, USED, AVAIL, USE%),
 * one statfs(2) per path however many columns ask.
 */
import { statfsSpace, type FilesystemSpace } from "../sys/stat.ts";

/**
 * A lookup of the space at each row's path, statfs(2) once per path: undefined where statfs
 * fails (a mount point gone or unreachable), which findmnt prints as an empty cell.
 */
export function spaceAtPaths<T>(pathOf: (row: T) => string | undefined): (row: T) => FilesystemSpace | undefined {
  const known = new Map<string, FilesystemSpace | undefined>();
  return (row) => {
    const path = pathOf(row);
    if (path === undefined) return undefined;
    if (!known.has(path)) {
      let space: FilesystemSpace | undefined;
      try {
        space = statfsSpace(path);
      } catch {
        space = undefined;
      }
      known.set(path, space);
    }
    return known.get(path);
  };
}
