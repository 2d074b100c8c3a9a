/**
 * util-linux findmnt's own match, its tests tried in turn: the rows it finds (a link named
 * findmnt's), and with -i (--invert) the rows it turns down. Pure: rows and tests in, rows out.
 * Checked against util-linux 2.38 findmnt by test/integration/findmnt-more.test.ts (-i) and
 * findmnt-link-parity.test.ts.
 */

/** A test of findmnt's match (-t, -O, -S, a mount point...): a row passes or fails it. */
export type RowTest<T> = (row: T) => boolean;

/**
 * findmnt -i: the rows, in table order, that fail at least one test (util-linux's match_func
 * returns the opposite of its answer: a row is found when any one filter turns it down).
 * attempts: the sets of tests findmnt tries in turn while it has found nothing, as it looks
 * again after finding nothing (a PATH operand matched as a source, then as a mount point; -T's
 * path, then the mount point holding it). None found by any: an empty list.
 */
export function invertedMatches<T>(rows: readonly T[], attempts: readonly (readonly RowTest<T>[])[]): T[] {
  return firstFinding(rows, attempts, true);
}

/**
 * findmnt's match without -i: the rows, in table order, that pass every test of the first
 * attempt that finds any, as findmnt looks again while it has found nothing (a PATH operand as
 * a source, then as a mount point).
 */
export function findmntMatches<T>(rows: readonly T[], attempts: readonly (readonly RowTest<T>[])[]): T[] {
  return firstFinding(rows, attempts, false);
}

/** The rows the first attempt that finds any finds: those passing all its tests, or with invert those failing one. */
function firstFinding<T>(rows: readonly T[], attempts: readonly (readonly RowTest<T>[])[], invert: boolean): T[] {
  for (const tests of attempts) {
    const found = rows.filter((row) => tests.every((test) => test(row)) !== invert);
    if (found.length > 0) return found;
  }
  return [];
}

/**
 * Whether findmnt would look a PATH operand up again as a mount point after it matched no
 * source: not for a tag (LABEL=, UUID=, PARTLABEL=, PARTUUID=), as findmnt's main() decides.
 */
export function operandMayBeTarget(operand: string): boolean {
  return !/^(LABEL|UUID|PARTLABEL|PARTUUID)=/.test(operand);
}
