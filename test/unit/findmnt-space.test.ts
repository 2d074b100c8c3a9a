// findmnt's sizes and USE% (util-linux size_to_human_string, printf "%.0f"), and its pseudo types.
import { describe, expect, test } from "bun:test";
import { isPseudoFilesystem } from "../../src/mountinfo/filesystem-kinds.ts";
import { humanSize, shownByDf, usePercent } from "../../src/mountinfo/findmnt-space.ts";

describe("humanSize, as findmnt prints SIZE", () => {
  const cases: [bigint, string][] = [
    [1n, "1B"],
    [1023n, "1023B"],
    [1024n, "1K"],
    [1536n, "1.5K"],
    [1077248n, "1M"], // 1M + 28K: 0.027, no decimal
    [1204224n, "1.1M"], // 1M + 152K = 1.148M: the fraction's first three digits (148) round to .1, not .2
    [1075200n, "1M"], // + 50K = 1.048M: .0, left out
    [2096128n, "2M"], // 2047K = 1.999M rounds to the next whole one
    [270553174016n, "252G"], // these four from findmnt and findmnt -b of one filesystem
    [23821275136n, "22.2G"],
    [85123018752n, "79.3G"],
    [3000000n, "2.9M"],
    [1n << 60n, "1E"],
    [0xffffffffffffffffn, "16E"], // the fraction taken in two steps there, as util-linux does
  ];
  for (const [bytes, text] of cases) test(`${bytes} is ${text}`, () => expect(humanSize(bytes)).toBe(text));
});

describe("usePercent, as findmnt's USE%", () => {
  const counts = (blocks: bigint, freeBlocks: bigint) => ({ blockSize: 4096n, blocks, freeBlocks, availableBlocks: freeBlocks });
  test("no blocks at all (proc): -", () => expect(usePercent(counts(0n, 0n))).toBe("-"));
  test("rounded to the nearest", () => {
    expect(usePercent(counts(294n, 123n))).toBe("58%"); // 58.16
    expect(usePercent(counts(3n, 1n))).toBe("67%"); // 66.67
    expect(usePercent(counts(1000n, 0n))).toBe("100%");
  });
  test("a tie goes to the even number, as printf's %.0f", () => {
    expect(usePercent(counts(8n, 7n))).toBe("12%"); // 12.5 exactly
    expect(usePercent(counts(8n, 5n))).toBe("38%"); // 37.5 exactly
    expect(usePercent(counts(200n, 199n))).toBe("0%"); // 0.5
  });
});

test("pseudo filesystems as libmount names them; -D keeps tmpfs and devtmpfs among them", () => {
  for (const t of ["proc", "sysfs", "tmpfs", "devtmpfs", "overlay", "cgroup2", "tracefs", "bpf", "ramfs", "fuse.lxcfs"]) expect([t, isPseudoFilesystem(t)]).toEqual([t, true]);
  for (const t of ["ext4", "xfs", "fuse.sshfs", "nfs", "fuse-overlayfs", "squashfs"]) expect([t, isPseudoFilesystem(t)]).toEqual([t, false]);
  expect([shownByDf("tmpfs"), shownByDf("devtmpfs"), shownByDf("ext4"), shownByDf("proc"), shownByDf("overlay")]).toEqual([true, true, true, false, false]);
});
