import { describe, expect, test } from "bun:test";
import { mountIdOfStatx, STATX_MNT_ID, STATX_SIZE } from "../../src/sys/stat.ts";

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
