/**
 * Where the benchmark mounts: a private mount namespace (so the host's mounts are never
 * touched, and whatever is left when the process dies goes with the namespace), and in it a
 * scratch tmpfs mounted over /tmp. The scratch hides /tmp for this namespace only, so the
 * host gets no directory to clean up either, even after a SIGKILL.
 */
import { mkdirSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { PlanError } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import { mount } from "../ops/mount.ts";
import { enterPrivateMountNamespace, type PrivateMountNamespace } from "../ops/namespace.ts";
import { unmount } from "../ops/unmount.ts";
import { mountsAdded, type Leftover } from "./leftovers.ts";

/** Directories the scratch tmpfs may cover, the first that exists. */
const SCRATCH_CANDIDATES = ["/tmp", "/run", "/mnt"];

export interface Sandbox {
  readonly namespace: PrivateMountNamespace;
  /** the scratch tmpfs */
  readonly root: string;
  /** A fresh tmpfs for one workload, at root/<name>. */
  workloadDir(name: string): string;
  /** Detach a workload's tmpfs and everything mounted under it, then remove its directory. */
  releaseWorkloadDir(dir: string): void;
  /** Detach the scratch tmpfs. The namespace itself ends with the process. */
  close(): void;
  /** The mounts the run added to its namespace and did not take down: [] after close() of a clean run. */
  leftovers(): Leftover[];
}

export function enterSandbox(): Sandbox {
  const namespace = enterPrivateMountNamespace();
  const atEntry = readMountInfo("thread-self"); // this thread's namespace: the one it mounts in
  const root = SCRATCH_CANDIDATES.find(isDirectory);
  if (root === undefined) throw new PlanError(`bench: none of ${SCRATCH_CANDIDATES.join(", ")} exists to hold the scratch tmpfs`);
  mount({ type: "tmpfs", source: "mountkit-bench", options: ["mode=0700"] }, root);
  let closed = false;
  return {
    namespace,
    root,
    workloadDir(name) {
      const dir = join(root, name.replace(/[^A-Za-z0-9._-]/g, "_"));
      mkdirSync(dir);
      mount({ type: "tmpfs", source: `mountkit-bench-${name}`, options: [] }, dir);
      return dir;
    },
    releaseWorkloadDir(dir) {
      // MNT_DETACH takes the whole subtree at once; the tmpfs contents go with it.
      unmount(dir, { lazy: true });
      rmdirSync(dir);
    },
    close() {
      if (closed) return;
      closed = true;
      unmount(root, { lazy: true });
    },
    leftovers: () => mountsAdded(atEntry, readMountInfo("thread-self")),
  };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
