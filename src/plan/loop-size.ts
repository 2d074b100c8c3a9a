/**
 * How much of a file a loop device shows, and what losetup warns of it: a device shows whole
 * 512-byte sectors only, so a file (or the part of it after the offset) smaller than one
 * sector makes an empty device, and a tail shorter than a sector is left out. Pure.
 */
import { quotePath } from "../errors.ts";
import type { LoopRange } from "./loop-reuse.ts";

export const SECTOR_BYTES = 512;

/** The bytes of a fileSize-byte file a device over range shows, before rounding to sectors (the kernel's get_size). */
export function loopShownBytes(fileSize: number, range: LoopRange): number {
  const rest = Math.max(0, fileSize - range.offset);
  return range.sizeLimit === 0 ? rest : Math.min(range.sizeLimit, rest);
}

/**
 * What is wrong with the size of a device over range of file, or undefined when it shows whole
 * sectors. losetup's two warnings ("smaller than 512 bytes", "does not fit into a 512-byte
 * sector"), saying which bytes; an offset past the end is named as such.
 */
export function loopSizeProblem(file: string, fileSize: number, range: LoopRange): string | undefined {
  const shown = loopShownBytes(fileSize, range);
  if (range.offset > 0 && range.offset >= fileSize) {
    return `offset=${range.offset} is at or past the end of ${quotePath(file)} (${fileSize} bytes): the loop device is empty`;
  }
  if (shown < SECTOR_BYTES) return `the loop device shows ${shown} bytes of ${quotePath(file)}, less than one ${SECTOR_BYTES}-byte sector: it is empty`;
  const tail = shown % SECTOR_BYTES;
  if (tail !== 0) return `the last ${tail} bytes of ${quotePath(file)} do not fill a ${SECTOR_BYTES}-byte sector: the loop device leaves them out`;
  return undefined;
}
