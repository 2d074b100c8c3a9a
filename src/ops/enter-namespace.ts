/**
 * mount(8)'s -N: make the mount (or unmount) in another mount namespace, named by a PID or a
 * namespace file (/proc/PID/ns/mnt, a bind-mounted ns file). The calling thread moves there
 * for good: unshare(CLONE_FS) (setns refuses a thread sharing its fs_struct, as every Bun
 * thread does), then setns(CLONE_NEWNS), which also sets its root and working directory to
 * that namespace's root. Threads and processes it starts afterwards are born there too
 * (helpers, the dir thread); Bun's threads that exist already stay behind, and mountkit makes
 * no mount from them. For a one-shot command, as mount -N is.
 *
 * Helpers (mount.TYPE, umount.TYPE, mount.fuse3, fusermount3) are therefore looked up in that
 * namespace's root and run in it, given no -N: they act there whether or not they know -N.
 * util-linux differs: it runs them in the caller's namespace with `-N /proc/PID/fd/FD`, and one
 * that ignores -N (mount.fuse3) mounts in the caller's namespace (docs/fuse.md).
 */
import { Errno } from "../errno.ts";
import { quotePath, SyscallError } from "../errors.ts";
import { O } from "../sys/fd.ts";
import { CLONE } from "../sys/namespace.ts";
import { NO_OPTIONS, opsContext, type OpsOptions } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { requirePath } from "../plan/caller-input.ts";

const OWN_NAMESPACE = "/proc/thread-self/ns/mnt";

/** The namespace this thread moved into ("mnt:[4026532178]"), once it has: for messages about where helpers are looked up. */
let entered: string | undefined;

/** The mount namespace enterMountNamespace moved this thread into, or undefined when it never did. */
export function enteredMountNamespace(): string | undefined {
  return entered;
}

/** The namespace file a -N value names: a PID's, or the path as given. */
export function mountNamespaceFile(ns: string): string {
  return /^\d+$/.test(ns) ? `/proc/${ns}/ns/mnt` : ns;
}

/** Move the calling thread into the mount namespace ns names; returns the namespace left and the one entered ("mnt:[4026532178]"). */
export function enterMountNamespace(ns: string, options: OpsOptions = NO_OPTIONS): { previous: string; current: string } {
  // a pid as a number names its namespace as its digits do (README: pidOrFile); anything else is no path
  if (typeof ns === "number" && Number.isSafeInteger(ns) && ns > 0) ns = String(ns);
  requirePath(ns, "namespace", "enter a mount namespace");
  const ctx = opsContext(options);
  const file = mountNamespaceFile(ns);
  const action = `enter the mount namespace of ${quotePath(ns)}`;
  const previous = namespaceName(ctx.sys.readlink(OWN_NAMESPACE));
  try {
    const fd = ctx.sys.open(file, O.RDONLY | O.CLOEXEC);
    try {
      ctx.log?.(`unshare(CLONE_FS); setns(open(${JSON.stringify(file)}), CLONE_NEWNS)`);
      ctx.sys.unshare(CLONE.FS);
      ctx.sys.setns(fd, CLONE.NEWNS);
    } finally {
      closeQuietly(ctx.sys, fd);
    }
  } catch (err) {
    if (err instanceof SyscallError) err.withAction(action, namespaceHint(err, ns, file));
    throw err;
  }
  const current = namespaceName(ctx.sys.readlink(OWN_NAMESPACE));
  entered = current;
  return { previous, current };
}

function namespaceName(link: string | number): string {
  return typeof link === "string" ? link : "unknown";
}

function namespaceHint(err: SyscallError, ns: string, file: string): string | undefined {
  if (err.syscall === "setns(2)" && err.errno === Errno.EINVAL) return `${quotePath(file)} is not a mount namespace file`;
  if (err.errno === Errno.EPERM) return "entering a mount namespace needs CAP_SYS_ADMIN and CAP_SYS_CHROOT (run as root)";
  if (err.errno === Errno.ENOENT && /^\d+$/.test(ns)) return `no process ${ns}`;
  return undefined;
}
