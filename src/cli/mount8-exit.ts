/**
 * The exit status of a failed mount. `mountkit mount` keeps DESIGN.md's codes (exitCodeFor);
 * through a link named mount, mount(8)'s where the two differ:
 * - bad input mount(8) does not check but hands to the kernel or to its loop set-up
 *   (MountWouldFailError: `mount DIR ''`, `-t ''`, `-o loop=/not/a/loop`): 32, as its failed
 *   call; under -f only what its fake still tries (the loop set-up), the rest staying 1
 * - an internal error (a bug: no MountkitError): 4, mount(8)'s "internal mount bug" (MNT_EX_SOFTWARE)
 * A namespace -N cannot enter is mount(8)'s system error, 2: the command says so where it enters it.
 */
import { ExitCode, exitCodeFor, MountkitError, MountWouldFailError } from "../errors.ts";
import type { Dialect } from "./commands/mount.ts";

export function mountExitCode(err: unknown, dialect: Dialect, fake: boolean): ExitCode {
  if (dialect === "mount(8)") {
    if (err instanceof MountWouldFailError && (!fake || err.failsFake)) return ExitCode.mountFailed;
    if (!(err instanceof MountkitError)) return ExitCode.internalBug;
  }
  return exitCodeFor(err);
}
