/**
 * A second mount namespace for -N tests: a `sleep` that unshare(1) started in a new private
 * mount namespace (a copy of the test's own). Killed in the test's cleanups; the namespace, and
 * whatever was mounted in it, go with it.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";
import { eventually } from "./resources.ts";

/** Start the holder, register its kill in cleanups; resolves to its pid once it is in its own namespace. */
export async function namespaceHolder(cleanups: (() => void)[]): Promise<number> {
  const holder = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sleep", "600"]);
  cleanups.push(() => holder.kill("SIGKILL"));
  // unshare(1) execs sleep once it is in the new namespace
  await eventually("the holder in its own namespace", () => namespaceOf(holder.pid) !== namespaceOf(process.pid) && comm(holder.pid) === "sleep");
  return holder.pid;
}

/** The mount namespace of a process ("mnt:[4026532178]"), "" when it is gone. */
export function namespaceOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return "";
  }
}

/** The mounts at exactly path in a process's mount namespace, bottom first. */
export function mountsOf(pid: number, path: string): MountInfo[] {
  return parseMountInfo(readFileSync(`/proc/${pid}/mountinfo`, "utf8")).filter((m) => m.mountpoint === path);
}

function comm(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
}
