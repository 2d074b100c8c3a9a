/**
 * findmnt's space columns (SIZE USED AVAIL USE%) and its df(1) view (-D): sizes as findmnt
 * prints them, from counts a statfs(2) gave, and which filesystem types it leaves out (the
 * pseudo ones, filesystem-kinds.ts).
 */
import { isPseudoFilesystem } from "./filesystem-kinds.ts";
import type { Columns } from "./findmnt.ts";

/** A filesystem's block counts (statfs's f_frsize, f_blocks, f_bfree, f_bavail). */
export interface SpaceCounts {
  readonly blockSize: bigint;
  readonly blocks: bigint;
  readonly freeBlocks: bigint;
  readonly availableBlocks: bigint;
}

/** findmnt -D's columns (df's, with the source first). */
export const DF_COLUMNS: readonly string[] = ["SOURCE", "FSTYPE", "SIZE", "USED", "AVAIL", "USE%", "TARGET"];

/** The names of the columns spaceColumns makes. */
export const SPACE_COLUMN_NAMES: readonly string[] = ["SIZE", "USED", "AVAIL", "USE%"];

/**
 * SIZE, USED, AVAIL and USE% of a row (a mount, an fstab line), from the counts of the
 * filesystem at its target (undefined when statfs fails: an empty cell, as findmnt leaves it). Sizes are findmnt's
 * "11.8G" text, or with bytes a number ("0" for none either way); USE% is the used share of
 * all blocks, "-" for a filesystem that has none (proc).
 */
export function spaceColumns<T>(countsOf: (row: T) => SpaceCounts | undefined, bytes: boolean): Columns<T> {
  const size = (pick: (c: SpaceCounts) => bigint) => ({
    value: (row: T) => {
      const counts = countsOf(row);
      if (counts === undefined) return null;
      const n = pick(counts);
      return n === 0n ? (bytes ? 0 : "0") : bytes ? Number(n) : humanSize(n);
    },
    right: true,
    widthHint: 5,
  });
  return {
    SIZE: size((c) => c.blockSize * c.blocks),
    USED: size((c) => c.blockSize * (c.blocks - c.freeBlocks)),
    AVAIL: size((c) => c.blockSize * c.availableBlocks),
    "USE%": {
      value: (row) => {
        const counts = countsOf(row);
        return counts === undefined ? null : usePercent(counts);
      },
      right: true,
      widthHint: 3,
    },
  };
}

/**
 * A byte count as util-linux's size_to_human_string writes it with one-letter suffixes: in
 * the largest binary unit it reaches (B K M G T P E), with one decimal rounded half up from
 * the first three digits of the fraction, and no ".0" ("1.1M", "252G", "512B").
 */
export function humanSize(bytes: bigint): string {
  let exp = 0n;
  while (exp < 60n && bytes >= 1n << (exp + 10n)) exp += 10n;
  const letter = "BKMGTPE"[Number(exp / 10n)]!;
  let whole = bytes >> exp;
  let frac = bytes & ((1n << exp) - 1n);
  if (frac !== 0n) {
    // thousandths (computed in two steps where frac * 1000 would not fit in 64 bits, as there)
    frac = frac >= 0xffffffffffffffffn / 1000n ? ((frac / 1024n) * 1000n) / (1n << (exp - 10n)) : (frac * 1000n) / (1n << exp);
    frac = (frac + 50n) / 100n; // tenths, half up
    if (frac === 10n) {
      whole += 1n;
      frac = 0n;
    }
  }
  return frac === 0n ? `${whole}${letter}` : `${whole}.${frac}${letter}`;
}

/** findmnt's USE%: used blocks over all blocks, printf("%.0f%%"): a tie goes to the even number. */
export function usePercent(counts: SpaceCounts): string {
  if (counts.blocks === 0n) return "-";
  const share = (Number(counts.blocks - counts.freeBlocks) / Number(counts.blocks)) * 100;
  let n = Math.round(share);
  if (n - share === 0.5 && n % 2 === 1) n -= 1; // Math.round takes a tie up
  return `${n}%`;
}

/** The types findmnt -D keeps (unless -A): real filesystems, and tmpfs-like ones (devtmpfs too), which hold data. */
export function shownByDf(fstype: string): boolean {
  return holdsData(fstype) || !isPseudoFilesystem(fstype);
}

/** A tmpfs-like type (tmpfs, devtmpfs: findmnt's strstr "tmpfs"), pseudo but holding data: -D keeps it. */
export function holdsData(fstype: string): boolean {
  return fstype.includes("tmpfs");
}
