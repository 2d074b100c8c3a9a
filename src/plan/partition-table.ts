/**
 * A partition's own names, from its disk's partition table, as blkid reports them for
 * PARTUUID= and PARTLABEL= (fstab, mount, root= of an initramfs): on GPT the entry's unique
 * GUID and its name; on MBR (DOS) the disk signature and the partition number, "1a2b3c4d-02",
 * and no label. Pure: the caller reads the first bytes of the whole disk (PROBE_BYTES covers
 * a GPT's header and its 128 entries for 512- and 4096-byte sectors) and hands them in.
 */

export interface PartitionIds {
  /** blkid's PARTUUID: lower-case */
  readonly uuid: string;
  /** blkid's PARTLABEL: GPT only */
  readonly label?: string;
}

const GPT_SIGNATURE = "EFI PART";
const MBR_PROTECTIVE = 0xee;

/**
 * The ids of partition `number` (1-based, as the kernel numbers them: sdb2 is 2) of the disk
 * whose first bytes these are; undefined when the disk has no table this knows, or no such
 * partition in it.
 */
export function partitionIds(disk: Uint8Array, number: number): PartitionIds | undefined {
  const view = new DataView(disk.buffer, disk.byteOffset, disk.byteLength);
  if (disk.length < 512 || view.getUint16(510, true) !== 0xaa55) return undefined;
  // GPT has a protective MBR (type 0xee) before it; its header is in LBA 1, of either sector size.
  if (disk[446 + 4] === MBR_PROTECTIVE) {
    for (const sector of [512, 4096]) {
      const gpt = gptEntry(disk, view, sector, number);
      if (gpt !== null) return gpt;
    }
    return undefined;
  }
  return mbrIds(disk, view, number);
}

/** The entry of a GPT whose header is at LBA 1 with this sector size; null when no header is there. */
function gptEntry(disk: Uint8Array, view: DataView, sector: number, number: number): PartitionIds | undefined | null {
  if (disk.length < sector + 92 || ascii(disk, sector, 8) !== GPT_SIGNATURE) return null;
  const entriesLba = Number(view.getBigUint64(sector + 72, true));
  const count = view.getUint32(sector + 80, true);
  const size = view.getUint32(sector + 84, true);
  if (number < 1 || number > count || size < 128) return undefined;
  const at = entriesLba * sector + (number - 1) * size;
  if (at + 128 > disk.length) return undefined;
  const typeGuid = disk.subarray(at, at + 16);
  if (typeGuid.every((b) => b === 0)) return undefined; // an unused entry
  const label = utf16Name(view, at + 56, 72);
  return { uuid: guid(disk.subarray(at + 16, at + 32)), ...(label === "" ? {} : { label }) };
}

/**
 * An MBR partition's PARTUUID: the disk signature and the number, as blkid prints it. Numbers
 * past 4 are logical partitions of an extended one; blkid names them the same way.
 */
function mbrIds(disk: Uint8Array, view: DataView, number: number): PartitionIds | undefined {
  if (number < 1) return undefined;
  if (number <= 4 && disk[446 + (number - 1) * 16 + 4] === 0) return undefined; // an empty slot
  const signature = view.getUint32(440, true);
  return { uuid: `${signature.toString(16).padStart(8, "0")}-${number.toString(16).padStart(2, "0")}` };
}

/** A GUID as text: the first three fields little-endian, the rest as stored (RFC 4122 mixed endian). */
function guid(raw: Uint8Array): string {
  const hex = (bytes: Iterable<number>) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const le = (from: number, to: number) => hex(Array.from(raw.subarray(from, to)).reverse());
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex(raw.subarray(8, 10))}-${hex(raw.subarray(10, 16))}`;
}

/** A GPT entry's name: UTF-16LE, NUL-padded. */
function utf16Name(view: DataView, at: number, bytes: number): string {
  const units: number[] = [];
  for (let i = 0; i < bytes; i += 2) {
    const unit = view.getUint16(at + i, true);
    if (unit === 0) break;
    units.push(unit);
  }
  return String.fromCharCode(...units);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + length));
}
