/**
 * util-linux's umount.TYPE helpers (umount.nfs, umount.udisks2...): umount(8) hands the
 * unmount of a mount whose type has one to that program, which tells the server or daemon
 * what the kernel does not. Only when the caller asks (the CLI, unless -i); the helper is
 * looked up as mount.TYPE helpers are (helpers.ts), and its exit status is the outcome.
 */
import { HelperError } from "../errors.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { helperNamesFor, umountHelperArgv } from "../plan/external-helper.ts";
import { formatExec } from "../plan/steps.ts";
import { opsContext } from "./context.ts";
import { describeExit } from "./fuse-unmount.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";
import type { UmountOperandOptions } from "./umount-operand.ts";

/**
 * Unmount the top mount (its mountinfo entry) with its type's umount.TYPE helper: true when one
 * ran and succeeded, false when the type has none (the caller unmounts it itself). A helper
 * that fails is a HelperError with its argv, status and output.
 */
export function unmountWithHelper(top: MountInfo, options: UmountOperandOptions): boolean {
  const ctx = opsContext(options);
  const dirs = helperSearchDirs(ctx);
  for (const name of helperNamesFor(top.fstype, "umount")) {
    const path = locateHelper(name, dirs);
    if (path === undefined) continue;
    const argv = umountHelperArgv(name, top.mountpoint, top.fstype, {
      lazy: options.lazy,
      force: options.force,
      verbose: ctx.log !== undefined,
      readOnly: options.readOnlyWhenBusy,
    });
    ctx.log?.(formatExec(path, argv));
    const exit = ctx.sys.runProcess(path, argv, helperEnvironment(dirs));
    ctx.log?.(`${name}: ${describeExit(exit)}`);
    if (exit.exitCode === 0) return true;
    throw new HelperError(`unmount ${top.mountpoint}: umount helper ${path} ${describeExit(exit)}`, name, argv, exit.exitCode, exit.output, {
      hint: "-i unmounts it without the helper",
    });
  }
  return false;
}
