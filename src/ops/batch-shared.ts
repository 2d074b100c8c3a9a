/**
 * The setup a batch shares between its entries, so that 200 entries cost one of each:
 *   facts       the kernel probe (features.ts caches it per process; a batch reads it once)
 *   mountTable  /proc/thread-self/mountinfo, read on first use and kept for the batch
 *   shared      any resource a feature wants once per batch and key, such as one user
 *               namespace per distinct uid/gid mapping for idmapped mounts; it is made on
 *               first use and released when the batch ends, success or failure
 *
 * A feature's step runner finds it as ctx.batch (ops/context.ts); outside a batch ctx.batch
 * is undefined and the runner makes and releases its resource around its own plan. How a
 * feature uses it is written down in docs/apply.md.
 */
import type { MountInfo } from "../mountinfo/types.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { KernelFacts } from "../plan/facts.ts";

/** What a feature hands to shared(): the value, and how to release it at the end of the batch. */
export interface SharedResource<T> {
  readonly value: T;
  readonly release?: () => void;
}

export interface BatchShared {
  /** the kernel facts every entry is planned with */
  readonly facts: KernelFacts;
  /** the mount table as it was when first asked for in this batch (not updated by its mounts) */
  mountTable(): readonly MountInfo[];
  /**
   * The resource for key, made by make() the first time key is asked for. Keys are namespaced
   * by the feature ("idmap:userns:0:1000:65536|0:1000:65536"). A make() that throws is not
   * cached: the entry that asked fails, and a later entry may try again.
   */
  shared<T>(key: string, make: () => SharedResource<T>): T;
}

/** The owner's handle: the shared view plus the release of everything made. */
export interface BatchSharedOwner extends BatchShared {
  /** release every shared resource, newest first; the failures are returned, not thrown */
  release(): unknown[];
  /** how many times the mount table was read (tests assert one read per batch) */
  readonly mountTableReads: number;
}

export function openBatchShared(facts: KernelFacts, readTable: () => MountInfo[] = readMountInfo): BatchSharedOwner {
  let table: readonly MountInfo[] | undefined;
  let reads = 0;
  const resources = new Map<string, SharedResource<unknown>>();
  return {
    facts,
    mountTable() {
      if (table === undefined) {
        reads++;
        table = readTable();
      }
      return table;
    },
    shared<T>(key: string, make: () => SharedResource<T>): T {
      const known = resources.get(key);
      if (known) return known.value as T;
      const made = make();
      resources.set(key, made);
      return made.value;
    },
    release() {
      const failures: unknown[] = [];
      for (const resource of [...resources.values()].reverse()) {
        try {
          resource.release?.();
        } catch (err) {
          failures.push(err);
        }
      }
      resources.clear();
      return failures;
    },
    get mountTableReads() {
      return reads;
    },
  };
}
