/**
 * How much of a file a loop device shows, and what losetup warns of it: a device shows whole
 * sectors only (512 bytes, or the sector size it was given), so a file (or the part of it
 * after the offset) smaller than one sector makes an empty device, and a tail shorter than a
 * sector is left out. Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import type { LoopRange } from "./loop-reuse.ts";

export const SECTOR_BYTES = 512;

/**
 * A loop device's logical sector size as losetup -b takes it: 0 (the kernel's default, 512), or
 * a power of two from 512. The largest depends on the kernel (64 KiB on 6.18, the page size
 * on older ones), so that limit is the kernel's to refuse (EINVAL).
 */
export function checkSectorSize(bytes: number, given: string): number {
  if (bytes === 0 || (bytes >= SECTOR_BYTES && (bytes & (bytes - 1)) === 0)) return bytes;
  throw new PlanError(`sector-size: ${given} is not a sector size`, { hint: "give a power of two from 512: 512, 1024, 2048, 4096, ..." });
}

/** The bytes of a fileSize-byte file a device over range shows, before rounding to sectors (the kernel's get_size). */
export function loopShownBytes(fileSize: number, range: LoopRange): number {
  const rest = Math.max(0, fileSize - range.offset);
  return range.sizeLimit === 0 ? rest : Math.min(range.sizeLimit, rest);
}

/**
 * What is wrong with the size of a device over range of file, or undefined when it shows whole
 * sectors. losetup's two warnings ("smaller than 512 bytes", "does not fit into a 512-byte
 * sector"), saying which bytes; an offset past the end is named as such. With a larger sector
 * size the kernel still counts the device's size in 512-byte units, but reads stop at the last
 * whole sector (a 6000-byte file with 4096-byte sectors reads 4096): that size is the one meant.
 */
export function loopSizeProblem(file: string, fileSize: number, range: LoopRange, sectorSize = SECTOR_BYTES): string | undefined {
  const sector = sectorSize || SECTOR_BYTES;
  const shown = loopShownBytes(fileSize, range);
  if (range.offset > 0 && range.offset >= fileSize) {
    return `offset=${range.offset} is at or past the end of ${quotePath(file)} (${fileSize} bytes): the loop device is empty`;
  }
  if (shown < sector) return `the loop device shows ${shown} bytes of ${quotePath(file)}, less than one ${sector}-byte sector: it is empty`;
  const tail = shown % sector;
  if (tail !== 0) return `the last ${tail} bytes of ${quotePath(file)} do not fill a ${sector}-byte sector: the loop device leaves them out`;
  return undefined;
}
