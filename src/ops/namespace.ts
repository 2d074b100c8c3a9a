/**
 * A private mount namespace for the calling thread, so that what it mounts never reaches the
 * host. unshare(CLONE_NEWNS) works in the multi-threaded Bun process (CLONE_NEWUSER does not):
 * the kernel gives the calling thread its own fs_struct and mount namespace. Threads that exist
 * already stay in the old namespace; threads and processes started from this thread afterwards
 * are born in the new one. Everything that mounts must therefore run on this thread or in
 * processes it spawns (docs/bench.md has the measurements).
 */
import { readlinkSync } from "node:fs";
import { MountkitError, PlanError, SyscallError } from "../errors.ts";
import { CLONE } from "../sys/namespace.ts";
import { NO_OPTIONS, opsContext, type OpsOptions } from "./context.ts";
import { mount } from "./mount.ts";

export interface PrivateMountNamespace {
  /** the namespace left behind, as /proc/thread-self/ns/mnt names it ("mnt:[4026531841]") */
  readonly previous: string;
  /** the calling thread's new namespace */
  readonly current: string;
}

const NS_LINK = "/proc/thread-self/ns/mnt";

/**
 * unshare(CLONE_NEWNS), then mount --make-rprivate / in the new namespace: without it, mounts
 * under a shared mount (systemd makes / shared) would propagate back to the host.
 */
export function enterPrivateMountNamespace(options: OpsOptions = NO_OPTIONS): PrivateMountNamespace {
  const ctx = opsContext(options);
  const action = "enter a private mount namespace";
  const previous = namespaceOf(action);
  try {
    ctx.sys.unshare(CLONE.NEWNS);
  } catch (err) {
    if (err instanceof SyscallError) {
      err.withAction(action, "a new mount namespace needs CAP_SYS_ADMIN (run as root)");
    }
    throw err;
  }
  const current = namespaceOf(action);
  if (current === previous) throw new PlanError(`${action}: unshare(2) succeeded but ${NS_LINK} is still ${previous}`);
  try {
    mount({ type: "", source: "", options: ["rprivate"] }, "/", options);
  } catch (err) {
    if (err instanceof MountkitError) err.message = `${action}: ${err.message}`;
    throw err;
  }
  return { previous, current };
}

function namespaceOf(action: string): string {
  try {
    return readlinkSync(NS_LINK);
  } catch (err) {
    throw new PlanError(`${action}: cannot read ${NS_LINK} (is /proc mounted?)`, { cause: err });
  }
}
