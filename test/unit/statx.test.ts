import { describe, expect, test } from "bun:test";
import { identityOfStatx, mountIdOfStatx, mountRootOfStatx, sameFile, STATX_ATTR_MOUNT_ROOT, STATX_MNT_ID, STATX_SIZE } from "../../src/sys/stat.ts";

/** A struct statx as the kernel fills it: stx_mask (u32 at 0), stx_mnt_id (u64 at 144). */
function statx(mask: number, mountId: number): DataView {
  const view = new DataView(new ArrayBuffer(STATX_SIZE));
  view.setUint32(0, mask, true);
  view.setBigUint64(144, BigInt(mountId), true);
  return view;
}

describe("the mount ID of a struct statx", () => {
  test("stx_mnt_id when stx_mask has STATX_MNT_ID", () => {
    expect(mountIdOfStatx(statx(0x7ff | STATX_MNT_ID, 4321))).toBe(4321);
  });

  test("none when the kernel left STATX_MNT_ID out of stx_mask (before Linux 5.8), whatever stx_mnt_id holds", () => {
    expect(mountIdOfStatx(statx(0x7ff, 0))).toBeUndefined();
    expect(mountIdOfStatx(statx(0x7ff, 99))).toBeUndefined();
  });
});

describe("the identity of a struct statx", () => {
  /** stx_ino (u64 at 32), stx_dev_major/minor (u32 at 136, 140), stx_mnt_id with its mask bit */
  function statxOf(ino: bigint, major = 0, minor = 44, mountId = 7): DataView {
    const view = statx(STATX_MNT_ID, mountId);
    view.setBigUint64(32, ino, true);
    view.setUint32(136, major, true);
    view.setUint32(140, minor, true);
    return view;
  }

  test("inode numbers above 2^53 stay exact: overlay's xino puts the layer in the top bits", () => {
    const a = identityOfStatx(statxOf(2n ** 63n + 100n));
    const b = identityOfStatx(statxOf(2n ** 63n + 200n));
    expect(Number(2n ** 63n + 100n)).toBe(Number(2n ** 63n + 200n)); // what one number would compare
    expect(sameFile(a, b)).toBe(false);
    expect(sameFile(a, identityOfStatx(statxOf(2n ** 63n + 100n)))).toBe(true);
    expect(a).toEqual({ mountId: 7, device: 44, inoHigh: 2 ** 31, inoLow: 100 });
  });

  test("the same inode on another device is another file", () => {
    expect(sameFile(identityOfStatx(statxOf(12n, 0, 44)), identityOfStatx(statxOf(12n, 0, 45)))).toBe(false);
    expect(sameFile(identityOfStatx(statxOf(12n, 8, 1)), identityOfStatx(statxOf(12n, 9, 1)))).toBe(false);
  });

  test("a mount ID above 2^32 is read whole", () => {
    expect(mountIdOfStatx(statx(STATX_MNT_ID, 2 ** 40 + 3))).toBe(2 ** 40 + 3);
  });
});

describe("whether a struct statx is of a mount's root (mountpoint(1)'s question)", () => {
  /** stx_attributes (u64 at 8), stx_attributes_mask (u64 at 56), stx_mode (u16 at 28), stx_rdev and stx_dev (u32s at 128-140) */
  function statxOf({ attributes = 0, attributesMask = STATX_ATTR_MOUNT_ROOT, mode = 0o040755, mountId = 7 } = {}): DataView {
    const view = statx(STATX_MNT_ID | 0x7ff, mountId);
    view.setBigUint64(8, BigInt(attributes), true);
    view.setBigUint64(56, BigInt(attributesMask), true);
    view.setUint16(28, mode, true);
    view.setUint32(128, 7, true);
    view.setUint32(132, 3, true);
    view.setUint32(136, 0, true);
    view.setUint32(140, 38, true);
    return view;
  }

  test("STATX_ATTR_MOUNT_ROOT set: a mount's root; clear: none", () => {
    expect(mountRootOfStatx(statxOf({ attributes: STATX_ATTR_MOUNT_ROOT })).mountRoot).toBe(true);
    expect(mountRootOfStatx(statxOf({ attributes: 0x20 })).mountRoot).toBe(false); // STATX_ATTR_AUTOMOUNT alone
  });

  test("a kernel that does not report it (stx_attributes_mask without it, before Linux 5.8) says nothing, whatever the bit", () => {
    expect(mountRootOfStatx(statxOf({ attributes: STATX_ATTR_MOUNT_ROOT, attributesMask: 0x20 })).mountRoot).toBeUndefined();
    expect(mountRootOfStatx(statxOf({ attributesMask: 0 })).mountRoot).toBeUndefined();
  });

  test("the type, the devices as mountinfo writes them, and the mount ID come with it", () => {
    expect(mountRootOfStatx(statxOf({ mode: 0o060660, mountId: 2 ** 33 }))).toEqual({ type: "block", rdev: "7:3", dev: "0:38", mountId: 2 ** 33, mountRoot: false });
    expect(mountRootOfStatx(statxOf({ mode: 0o120777 })).type).toBe("link");
  });
});
