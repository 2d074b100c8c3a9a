/**
 * The environment a mount helper runs with. mount.fuse3 starts the FUSE daemon through
 * `/bin/sh -c` and PATH, as root, so whatever decides that lookup decides which program runs
 * as root. The helper itself is found in fixed dirs (helpers.ts); its daemon must be found the
 * same way: PATH is the helper dirs, never the caller's. The rest of the caller's environment
 * is passed on (daemons such as sshfs need HOME, SSH_AUTH_SOCK, the locale), except what makes
 * a shell run code or resolve a command name other than through PATH (docs/fuse.md).
 */
import { HELPER_SEARCH_DIRS } from "../plan/fuse.ts";
import { environment } from "../sys/command-line.ts";

/**
 * Read by a shell that is not interactive before it runs its command: BASH_ENV (bash as sh),
 * ENV (sh when it is interactive; dropped for the same reason). Exported bash functions
 * (BASH_FUNC_name%%) would replace a command name before any PATH lookup.
 */
const SHELL_CODE_VARIABLES = new Set(["BASH_ENV", "ENV"]);
const EXPORTED_FUNCTION_PREFIX = "BASH_FUNC_";

/**
 * "NAME=value" items for a helper: PATH is `dirs` (the helper dir a caller named, or the
 * system dirs) followed by the system dirs not already in it, so a helper from a named dir
 * still finds the standard tools; every other variable of env but the shell's code hooks.
 */
export function helperEnvironment(dirs: readonly string[], env: Readonly<Record<string, string | undefined>> = environment()): string[] {
  const path = [...new Set([...dirs, ...HELPER_SEARCH_DIRS])].join(":");
  const items = [`PATH=${path}`];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || name === "PATH" || SHELL_CODE_VARIABLES.has(name) || name.startsWith(EXPORTED_FUNCTION_PREFIX)) continue;
    items.push(`${name}=${value}`);
  }
  return items;
}
