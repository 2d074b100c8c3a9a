/**
 * Which filesystem a device holds, from the magic numbers of its superblock: what mount(8)
 * asks libblkid when no type is given (-t auto, or none). Names are the ones blkid reports,
 * which are the kernel's type names. Pure: the caller reads the first PROBE_BYTES of the
 * device (fewer when the device is smaller) and hands them in.
 */
import { textFromBytes } from "../path-text.ts";

/** Enough of the device for every superblock below: btrfs's sits at 64 KiB + 64. */
export const PROBE_BYTES = 65536 + 4096;

/** What the first bytes of a device hold. */
export type Superblock =
  /** a filesystem mount(2) takes, under this type name */
  | { readonly kind: "filesystem"; readonly type: string }
  /** something that is not mounted (swap, an encrypted volume, an ext journal device) */
  | { readonly kind: "not-mountable"; readonly what: string; readonly hint: string };

interface Probe {
  readonly name: string;
  readonly identify: (bytes: Uint8Array, view: DataView) => Superblock | undefined;
}

const filesystem = (type: string): Superblock => ({ kind: "filesystem", type });

/** The probes, most specific first: the boot-sector ones (vfat) last, since others share 0x55AA. */
const PROBES: readonly Probe[] = [
  {
    name: "crypto_LUKS",
    identify: (bytes) =>
      hasAscii(bytes, 0, "LUKS\xba\xbe") || hasAscii(bytes, 0, "SKUL\xba\xbe")
        ? { kind: "not-mountable", what: "a LUKS encrypted volume", hint: "open it with cryptsetup open, then mount /dev/mapper/NAME" }
        : undefined,
  },
  {
    name: "swap",
    identify: (bytes) =>
      [4096, 8192, 16384, 32768, 65536].some((page) => hasAscii(bytes, page - 10, "SWAPSPACE2") || hasAscii(bytes, page - 10, "SWAP-SPACE"))
        ? { kind: "not-mountable", what: "a swap area", hint: "swap is enabled with swapon, not mounted" }
        : undefined,
  },
  { name: "xfs", identify: (bytes) => (hasAscii(bytes, 0, "XFSB") ? filesystem("xfs") : undefined) },
  { name: "squashfs", identify: (bytes) => (hasAscii(bytes, 0, "hsqs") ? filesystem("squashfs") : undefined) },
  { name: "ext2/ext3/ext4", identify: (bytes, view) => identifyExt(bytes, view) },
  { name: "erofs", identify: (bytes, view) => (u32(bytes, view, 1024) === 0xe0f5e1e2 ? filesystem("erofs") : undefined) },
  { name: "f2fs", identify: (bytes, view) => (u32(bytes, view, 1024) === 0xf2f52010 ? filesystem("f2fs") : undefined) },
  { name: "btrfs", identify: (bytes) => (hasAscii(bytes, 65536 + 64, "_BHRfS_M") ? filesystem("btrfs") : undefined) },
  { name: "iso9660", identify: (bytes) => (hasAscii(bytes, 32769, "CD001") ? filesystem("iso9660") : undefined) },
  { name: "exfat", identify: (bytes) => (hasAscii(bytes, 3, "EXFAT   ") ? filesystem("exfat") : undefined) },
  { name: "ntfs", identify: (bytes) => (hasAscii(bytes, 3, "NTFS    ") ? filesystem("ntfs") : undefined) },
  { name: "vfat", identify: (bytes) => identifyFat(bytes) },
];

/** The superblock in bytes (the start of a device), or undefined when none is known. */
export function identifySuperblock(bytes: Uint8Array): Superblock | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const probe of PROBES) {
    const found = probe.identify(bytes, view);
    if (found) return found;
  }
  return undefined;
}

/** The names identifySuperblock knows, for messages: made when one is written, not at each start. */
export function knownSuperblocks(): readonly string[] {
  return PROBES.map((p) => p.name);
}

// struct ext2_super_block, from its start at byte 1024: s_magic 0x38 (u16), then the feature
// words s_feature_compat 0x5c, s_feature_incompat 0x60, s_feature_ro_compat 0x64 (u32).
const EXT_SUPERBLOCK = 1024;
const EXT_MAGIC = 0xef53;
const EXT_COMPAT_HAS_JOURNAL = 0x4;
const EXT_INCOMPAT_JOURNAL_DEV = 0x8;
/** what ext3 understands: filetype, recover, meta_bg; anything else makes it ext4 */
const EXT3_INCOMPAT_KNOWN = 0x2 | 0x4 | 0x10;
/** what ext2 understands: sparse_super, large_file, btree_dir */
const EXT2_RO_COMPAT_KNOWN = 0x1 | 0x2 | 0x4;

/**
 * ext2, ext3 or ext4, as blkid tells them apart: features ext3 does not know make it ext4;
 * otherwise a journal makes it ext3. The kernel's ext4 driver mounts all three under each name.
 */
function identifyExt(bytes: Uint8Array, view: DataView): Superblock | undefined {
  if (bytes.length < EXT_SUPERBLOCK + 0x68 || view.getUint16(EXT_SUPERBLOCK + 0x38, true) !== EXT_MAGIC) return undefined;
  const compat = view.getUint32(EXT_SUPERBLOCK + 0x5c, true);
  const incompat = view.getUint32(EXT_SUPERBLOCK + 0x60, true);
  const roCompat = view.getUint32(EXT_SUPERBLOCK + 0x64, true);
  if (incompat & EXT_INCOMPAT_JOURNAL_DEV) {
    return { kind: "not-mountable", what: "an ext journal device", hint: "it is used by the ext3/ext4 filesystem whose journal it holds (mke2fs -J device=)" };
  }
  if (incompat & ~EXT3_INCOMPAT_KNOWN || roCompat & ~EXT2_RO_COMPAT_KNOWN) return filesystem("ext4");
  return filesystem(compat & EXT_COMPAT_HAS_JOURNAL ? "ext3" : "ext2");
}

/**
 * FAT12/16/32 (vfat): the boot sector's 0x55AA signature and its file system type label
 * ("FAT12   ", "FAT16   " at 54; "FAT32   " at 82), or an MS-DOS OEM name with a sane
 * bytes-per-sector. blkid checks more; this is enough not to mistake other boot sectors.
 */
function identifyFat(bytes: Uint8Array): Superblock | undefined {
  if (bytes.length < 512 || bytes[510] !== 0x55 || bytes[511] !== 0xaa) return undefined;
  if (hasAscii(bytes, 54, "FAT1") || hasAscii(bytes, 82, "FAT32   ")) return filesystem("vfat");
  const bytesPerSector = bytes[11]! | (bytes[12]! << 8);
  const sane = bytesPerSector >= 512 && bytesPerSector <= 4096 && (bytesPerSector & (bytesPerSector - 1)) === 0;
  return sane && (hasAscii(bytes, 3, "MSDOS") || hasAscii(bytes, 3, "MSWIN") || hasAscii(bytes, 3, "mkfs.fat")) ? filesystem("vfat") : undefined;
}

/** bytes holds text (Latin-1, one byte per character) at offset. */
function hasAscii(bytes: Uint8Array, offset: number, text: string): boolean {
  if (offset < 0 || offset + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  return true;
}

function u32(bytes: Uint8Array, view: DataView, offset: number): number | undefined {
  return offset + 4 <= bytes.length ? view.getUint32(offset, true) : undefined;
}

/** A filesystem's own names, as blkid reports them (UUID lower-case hex, vfat's serial XXXX-XXXX). */
export interface SuperblockIds {
  readonly uuid?: string;
  readonly label?: string;
}

/**
 * The UUID and label in bytes (the start of a device) for the filesystems that carry them and
 * mount(8) users name in fstab: ext2/3/4, xfs, btrfs, erofs, vfat. Empty for others.
 */
export function superblockIds(bytes: Uint8Array): SuperblockIds {
  const found = identifySuperblock(bytes);
  if (found?.kind !== "filesystem") return {};
  switch (found.type) {
    case "ext2":
    case "ext3":
    case "ext4": // s_uuid at 0x68, s_volume_name[16] at 0x78
      return ids(uuidAt(bytes, 1024 + 0x68), textAt(bytes, 1024 + 0x78, 16));
    case "xfs": // sb_uuid at 32, sb_fname[12] at 108
      return ids(uuidAt(bytes, 32), textAt(bytes, 108, 12));
    case "btrfs": // fsid at 32, label[256] at 0x12b of the superblock at 64 KiB
      return ids(uuidAt(bytes, 65536 + 32), textAt(bytes, 65536 + 0x12b, 256));
    case "erofs": // uuid at 48, volume_name[16] at 64 of the superblock at 1 KiB
      return ids(uuidAt(bytes, 1024 + 48), textAt(bytes, 1024 + 64, 16));
    case "vfat":
      return fatIds(bytes);
    default:
      return {};
  }
}

function ids(uuid: string | undefined, label: string | undefined): SuperblockIds {
  return { ...(uuid ? { uuid } : {}), ...(label ? { label } : {}) };
}

/** 16 bytes as 8-4-4-4-12 hex; undefined when all zero (no UUID set). */
function uuidAt(bytes: Uint8Array, offset: number): string | undefined {
  if (offset + 16 > bytes.length) return undefined;
  const raw = bytes.subarray(offset, offset + 16);
  if (raw.every((b) => b === 0)) return undefined;
  const hex = Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A NUL-padded UTF-8 field; undefined when empty. */
function textAt(bytes: Uint8Array, offset: number, length: number): string | undefined {
  if (offset + length > bytes.length) return undefined;
  const field = bytes.subarray(offset, offset + length);
  const end = field.indexOf(0);
  const text = textFromBytes(end < 0 ? field : field.subarray(0, end));
  return text === "" ? undefined : text;
}

/**
 * FAT: the volume serial (blkid's UUID, "1A2B-3C4D") and label from the extended boot record,
 * at 67/71 for FAT32 and 39/43 for FAT12/16; the label space-padded, "NO NAME" meaning none.
 */
function fatIds(bytes: Uint8Array): SuperblockIds {
  const fat32 = hasAscii(bytes, 82, "FAT32   ");
  const serialAt = fat32 ? 67 : 39;
  if (bytes[serialAt - 1] !== 0x29) return {}; // no extended boot signature: no serial, no label
  const serial = bytes.slice(serialAt, serialAt + 4).reverse();
  const hex = Array.from(serial, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
  const label = textAt(bytes, serialAt + 4, 11)?.trimEnd();
  return ids(`${hex.slice(0, 4)}-${hex.slice(4)}`, label && label !== "NO NAME" ? label : undefined);
}
