// Filesystem types from superblock magic numbers (mount(8)'s libblkid step). Pure: each case
// builds the first bytes of a device with its magic where the on-disk format puts it.
import { describe, expect, test } from "bun:test";
import { identifySuperblock, PROBE_BYTES } from "../../src/plan/superblock.ts";

function device(...writes: [offset: number, bytes: number[] | string][]): Uint8Array {
  const bytes = new Uint8Array(PROBE_BYTES);
  for (const [offset, what] of writes) {
    bytes.set(typeof what === "string" ? [...what].map((c) => c.charCodeAt(0)) : what, offset);
  }
  return bytes;
}
const le16 = (n: number) => [n & 0xff, n >>> 8];
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

/** An ext superblock at 1024: the magic and the three feature words. */
function ext(compat: number, incompat: number, roCompat: number): Uint8Array {
  return device([1024 + 0x38, le16(0xef53)], [1024 + 0x5c, le32(compat)], [1024 + 0x60, le32(incompat)], [1024 + 0x64, le32(roCompat)]);
}
const typeOf = (bytes: Uint8Array) => {
  const found = identifySuperblock(bytes);
  return found?.kind === "filesystem" ? found.type : found?.kind;
};

describe("identifySuperblock", () => {
  test("ext2, ext3, ext4 told apart by their features, as blkid does", () => {
    expect(typeOf(ext(0, 0x2, 0x1 | 0x2))).toBe("ext2"); // filetype; sparse_super, large_file
    expect(typeOf(ext(0x4, 0x2, 0x1))).toBe("ext3"); // has_journal
    expect(typeOf(ext(0x4, 0x2 | 0x40, 0x1))).toBe("ext4"); // + extents
    expect(typeOf(ext(0, 0x2 | 0x40 | 0x80 | 0x200, 0x1))).toBe("ext4"); // no journal, 64bit, flex_bg
    expect(typeOf(ext(0x4, 0x2, 0x1 | 0x8))).toBe("ext4"); // huge_file: a read-only compat feature ext2/3 lack
    expect(identifySuperblock(ext(0, 0x8, 0))).toMatchObject({ kind: "not-mountable", what: "an ext journal device" });
  });

  test("the other filesystems, each at its own offset", () => {
    expect(typeOf(device([0, "XFSB"]))).toBe("xfs");
    expect(typeOf(device([0, "hsqs"]))).toBe("squashfs");
    expect(typeOf(device([1024, le32(0xe0f5e1e2)]))).toBe("erofs");
    expect(typeOf(device([1024, le32(0xf2f52010)]))).toBe("f2fs");
    expect(typeOf(device([65536 + 64, "_BHRfS_M"]))).toBe("btrfs");
    expect(typeOf(device([32769, "CD001"]))).toBe("iso9660");
    expect(typeOf(device([3, "EXFAT   "], [510, [0x55, 0xaa]]))).toBe("exfat");
    expect(typeOf(device([3, "NTFS    "], [510, [0x55, 0xaa]]))).toBe("ntfs");
  });

  test("FAT: the boot signature and a FAT type label, or an MS-DOS OEM name with a sane sector size", () => {
    const signature: [number, number[]] = [510, [0x55, 0xaa]];
    expect(typeOf(device(signature, [54, "FAT16   "]))).toBe("vfat");
    expect(typeOf(device(signature, [54, "FAT12   "]))).toBe("vfat");
    expect(typeOf(device(signature, [82, "FAT32   "]))).toBe("vfat");
    expect(typeOf(device(signature, [3, "MSDOS5.0"], [11, le16(512)]))).toBe("vfat");
    expect(typeOf(device(signature, [3, "MSDOS5.0"], [11, le16(500)]))).toBeUndefined();
    expect(typeOf(device([54, "FAT16   "]))).toBeUndefined(); // no 0x55AA
    expect(typeOf(device(signature))).toBeUndefined(); // an MBR: a boot sector, no filesystem
  });

  test("swap and LUKS are named and not mountable, with what to do instead", () => {
    for (const page of [4096, 16384, 65536]) {
      expect(identifySuperblock(device([page - 10, "SWAPSPACE2"]))).toMatchObject({ kind: "not-mountable", what: "a swap area", hint: expect.stringMatching(/swapon/) });
    }
    expect(identifySuperblock(device([0, "LUKS\xba\xbe"]))).toMatchObject({ kind: "not-mountable", hint: expect.stringMatching(/cryptsetup open/) });
  });

  test("zeros, random text and short reads: nothing known, never a throw", () => {
    expect(identifySuperblock(new Uint8Array(PROBE_BYTES))).toBeUndefined();
    expect(identifySuperblock(new TextEncoder().encode("just some text\n".repeat(100)))).toBeUndefined();
    expect(identifySuperblock(new Uint8Array(0))).toBeUndefined();
    // the ext magic, cut before the feature words: not guessed
    expect(identifySuperblock(ext(0x4, 0x2, 0).subarray(0, 1100))).toBeUndefined();
    // a device smaller than btrfs's offset, holding ext4
    expect(typeOf(ext(0, 0x40, 0).subarray(0, 4096))).toBe("ext4");
  });

  test("a view into a larger buffer reads at its own offsets", () => {
    const whole = new Uint8Array(PROBE_BYTES + 100);
    whole.set(ext(0x4, 0x2, 0x1), 100);
    expect(typeOf(whole.subarray(100))).toBe("ext3");
  });
});
