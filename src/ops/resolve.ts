/**
 * Targets inside a root, resolved on the real filesystem: plan/root-path.ts's rootPath with
 * readlink from the syscall seam, and the root itself canonicalized once.
 */
import { Errno } from "../errno.ts";
import { MountWouldFailError, PlanError, quotePath, shownValue, SyscallError } from "../errors.ts";
import { requireFunction, requireString, requireSyscalls } from "../plan/caller-input.ts";
import { rootPath, type ReadLink } from "../plan/root-path.ts";
import { realpath } from "../sys/realpath.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import { absolutePath } from "../sys/cwd.ts";

/**
 * rootPath's readlink over the seam: the link's target, or null when the path is not a
 * symlink (EINVAL), does not exist (ENOENT) or has a component that is not a directory
 * (ENOTDIR: the mount will say so, naming it). Any other errno is a SyscallError.
 */
export function linkReader(sys: Syscalls): ReadLink {
  return (path) => {
    const result = sys.readlink(path);
    if (typeof result === "string") return result;
    if (result === Errno.EINVAL || result === Errno.ENOENT || result === Errno.ENOTDIR) return null;
    throw new SyscallError("readlink(2)", result, [path]).withAction(`resolve ${quotePath(path)}`);
  };
}

/**
 * The root as an absolute path without symlinks; it must exist. `what` names it in the error,
 * with the call that failed and its errno (as umount -R's "not found" says it); `Unresolved` is
 * that error's class.
 */
export function canonicalRoot(root: string, what = "root", Unresolved: new (message: string) => PlanError = PlanError): string {
  if (typeof what !== "string") requireString(what, "what", "canonical root");
  if (typeof Unresolved !== "function") requireFunction(Unresolved, "Unresolved", "canonical root");
  if (typeof root !== "string") throw new PlanError(`${what} must be a path, got ${shownValue(root)}`);
  // "" would be the working directory (absolutePath): a root the caller never named
  if (root === "") throw new PlanError(`${what}: empty path`);
  try {
    return realpath(absolutePath(root));
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw new Unresolved(`${what} ${quotePath(root)}: ${err.errno === Errno.ENOENT ? "no such directory: " : ""}${err.callFailure}`);
  }
}

/** The host path of target inside an already canonical root (containerd's fs.RootPath). */
export function resolveInRoot(canonical: string, target: string, sys: Syscalls = libcSyscalls): string {
  if (sys !== libcSyscalls) requireSyscalls(sys, "readlink", "resolve");
  return rootPath(canonical, target, linkReader(sys));
}

/**
 * mount --target-prefix DIR: target inside DIR, resolved as a target inside a root is, so that
 * neither `..` nor a symlink (`/chroot/var/run -> /run`) leads out of it. (mount(8) prepends
 * DIR and lets the kernel follow such links out.)
 */
export function targetInPrefix(prefix: string, target: string, sys: Syscalls = libcSyscalls): string {
  return placeInPrefix(prefix, target, sys).target;
}

/** targetInPrefix, with the canonical prefix it was resolved in (OpsOptions.targetRoot). */
export function placeInPrefix(prefix: string, target: string, sys: Syscalls = libcSyscalls): { root: string; target: string } {
  // before the prefix is resolved: realpath is a syscall too
  if (sys !== libcSyscalls) requireSyscalls(sys, "readlink", "resolve");
  const root = canonicalPrefix(prefix);
  return { root, target: resolveInRoot(root, target, sys) };
}

/**
 * mount --target-prefix DIR, canonical. mount(8) joins the paths and lets mount(2) fail on a DIR
 * that does not resolve: exit 32 through a link named mount (MountWouldFailError).
 */
export function canonicalPrefix(prefix: string): string {
  return canonicalRoot(prefix, "--target-prefix", MountWouldFailError);
}
