/**
 * The setup a batch shares between its entries, so that 200 entries cost one of each:
 *   facts       the kernel probe (features.ts caches it per process; a batch reads it once)
 *   mountTable  /proc/thread-self/mountinfo, read on first use and kept for the batch
 *   deviceOfTag the device of each UUID=/LABEL=/PART... tag, found once (planning the entry
 *               and mount -a's "already mounted" both ask; on a host without udev each
 *               finding reads every device's first bytes)
 *
 * A step runner finds it as ctx.batch (ops/context.ts); outside a batch ctx.batch is
 * undefined. Resources a feature wants once for many mounts are cached by the feature itself
 * (the idmap feature keeps one user namespace per mapping for the process, ops/userns.ts).
 */
import type { MountInfo } from "../mountinfo/types.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { DeviceTag } from "../plan/device-tag.ts";
import type { KernelFacts } from "../plan/facts.ts";
import { deviceOfTag as findDeviceOfTag } from "./block-devices.ts";

export interface BatchShared {
  /** the kernel facts every entry is planned with */
  readonly facts: KernelFacts;
  /** the mount table as it was when first asked for in this batch (not updated by its mounts) */
  mountTable(): readonly MountInfo[];
  /** the device a tag names (ops/block-devices.ts deviceOfTag), each tag looked for once */
  deviceOfTag(tag: DeviceTag): string | undefined;
}

/** The owner's handle: the shared view plus what tests count. */
export interface BatchSharedOwner extends BatchShared {
  /** how many times the mount table was read (tests assert one read per batch) */
  readonly mountTableReads: number;
}

export function openBatchShared(
  facts: KernelFacts,
  readTable: () => MountInfo[] = readMountInfo,
  findTag: (tag: DeviceTag) => string | undefined = findDeviceOfTag,
): BatchSharedOwner {
  let table: readonly MountInfo[] | undefined;
  let reads = 0;
  const devices = new Map<string, string | undefined>();
  return {
    facts,
    deviceOfTag(tag) {
      const key = `${tag.name}=${tag.value}`;
      if (!devices.has(key)) devices.set(key, findTag(tag));
      return devices.get(key);
    },
    mountTable() {
      if (table === undefined) {
        reads++;
        table = readTable();
      }
      return table;
    },
    get mountTableReads() {
      return reads;
    },
  };
}
