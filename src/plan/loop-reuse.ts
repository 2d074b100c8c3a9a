/**
 * A loop mount of a file that a loop device is attached to already, as mount(8) has done it
 * since util-linux 2.29: the device over the same range of the file (offset and size limit) is
 * mounted again rather than a second device attached. Two devices over one file are two block
 * caches: a filesystem mounted read-write through both is corrupted. A device over an
 * overlapping range is refused for the same reason; one over a separate range does not
 * matter. (containerd attaches a new device every time.) Pure.
 */
import { partitionNames } from "./proc-partitions.ts";

/** The part of a file a loop device shows. */
export interface LoopRange {
  /** bytes into the file */
  readonly offset: number;
  /** bytes shown; 0 for the rest of the file */
  readonly sizeLimit: number;
}

/** How a device attached to a file stands to the range a mount asks of the same file. */
export type LoopRangeRelation = "same" | "overlapping" | "apart";

/** util-linux's test (loopcxt_find_overlap): the same offset and size limit, as given, is "same". */
export function loopRangeRelation(attached: LoopRange, wanted: LoopRange): LoopRangeRelation {
  if (attached.offset === wanted.offset && attached.sizeLimit === wanted.sizeLimit) return "same";
  if (attached.sizeLimit !== 0 && wanted.offset >= attached.offset + attached.sizeLimit) return "apart";
  if (wanted.sizeLimit !== 0 && wanted.offset + wanted.sizeLimit <= attached.offset) return "apart";
  return "overlapping";
}

/**
 * The loop devices (loopN, no partitions) /proc/partitions lists: the attached ones, since the
 * kernel lists no device without a size and a free loop device has none. One read, so a loop
 * mount on a host with no attached device pays for nothing more.
 */
export function attachedLoopNames(partitions: string): string[] {
  if (!partitions.includes(" loop")) return []; // the usual answer, without parsing
  return partitionNames(partitions).filter((name) => /^loop\d+$/.test(name));
}

/** "offset 1048576, sizelimit 0" for messages */
export function describeLoopRange(range: LoopRange): string {
  return `offset ${range.offset}, sizelimit ${range.sizeLimit}`;
}

/** What a loop device does beyond its range, as far as a request can ask for it. */
export interface LoopFeatures {
  readonly directIo: boolean;
  readonly partscan: boolean;
  /** logical sector size in bytes; 0 in a request: the kernel's default */
  readonly sectorSize: number;
}

/**
 * What a device attached already lacks of what was asked ("direct I/O", "a partition scan",
 * "4096-byte sectors (it has 512)"): reusing it, as mount(8) does, gives the device as it is,
 * and the caller says so. What it has beyond the request is no shortfall.
 */
export function reuseShortfalls(asked: LoopFeatures, found: LoopFeatures): string[] {
  const missing: string[] = [];
  if (asked.directIo && !found.directIo) missing.push("direct I/O");
  if (asked.partscan && !found.partscan) missing.push("a partition scan");
  if (asked.sectorSize !== 0 && asked.sectorSize !== found.sectorSize) missing.push(`${asked.sectorSize}-byte sectors (it has ${found.sectorSize})`);
  return missing;
}
