/**
 * Which filesystem a device holds, from the magic numbers of its superblock: what mount(8)
 * asks libblkid when no type is given (-t auto, or none). Names are the ones blkid reports,
 * which are the kernel's type names. Pure: the caller reads the first PROBE_BYTES of the
 * device (fewer when the device is smaller) and hands them in.
 */

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

/** The names identifySuperblock knows, for messages. */
export const KNOWN_SUPERBLOCKS: readonly string[] = PROBES.map((p) => p.name);

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
