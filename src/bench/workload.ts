/**
 * What a benchmark workload is. Each feature contributes its workloads in one file under
 * src/bench/workloads/ and one line in registry.ts.
 *
 * A workload runs inside the private mount namespace, in a directory of its own on which the
 * runner has mounted a fresh tmpfs: setup() prepares what the operation needs there, op() is one
 * measured operation through the library (mount and unmount, a lookup...), and teardown() releases
 * what the runner cannot: the runner detaches the workload's tmpfs, and every mount under it,
 * by itself.
 */
import type { KernelFacts } from "../plan/facts.ts";

export type WorkloadGroup = "plain" | "mountinfo" | "overlay" | "loop" | "idmap" | "apply" | "fuse";

/** What a workload may ask about the host before it runs. */
export interface BenchHost {
  readonly facts: KernelFacts;
  /** an executable on PATH (or in /sbin, /usr/sbin), or undefined */
  which(command: string): string | undefined;
}

/** The command-line tools that scripts/bench.ts runs once per operation. */
export type CliTool = "util-linux" | "busybox" | "mountkit";

/**
 * A command of a CLI contender: the tool's applet ("mount", "umount", "findmnt"), which
 * scripts/bench.ts resolves for each tool, then its arguments. Leading NAME=VALUE items are
 * added to that command's environment (`MOUNTKIT_STRATEGY=legacy`), as a shell would.
 */
export type CliCommand = readonly string[];

export interface PreparedWorkload {
  /** One measured operation through the library. Throws on failure. */
  op(): void;
  /** Release what setup made beyond mounts under the workload's directory (loop devices, processes). */
  teardown?(): void;
  /** The same operation as raw syscalls in scripts/bench/mountbench.c: its mode and arguments. */
  readonly c?: { readonly mode: string; readonly args: readonly string[] };
  /** The same operation per command-line tool: the commands that one operation runs, in order. */
  readonly cli?: Partial<Record<CliTool, readonly CliCommand[]>>;
  /** The kinds of step the library's mount plans, each once, in order of first use (["userns", "open_tree", ...]), for reports. */
  readonly steps?: readonly string[];
}

export interface Workload {
  /** unique, used by --workload: "tmpfs", "bind+ro", "mountinfo-lookup-1000" */
  readonly name: string;
  readonly group: WorkloadGroup;
  /** one line: what one operation does */
  readonly summary: string;
  /** why it cannot run on this host, or undefined when it can */
  unavailable(host: BenchHost): string | undefined;
  /** Prepare in dir, a fresh tmpfs owned by this workload. */
  setup(dir: string, host: BenchHost): PreparedWorkload;
}
