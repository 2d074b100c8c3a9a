/**
 * Version order of names, as glibc's strverscmp(3) sorts them, which libmount uses for the
 * files of an fstab directory (`mount -T DIR`): runs of digits compare as numbers
 * ("b2.fstab" before "b10.fstab"), and a run with leading zeros as a fraction, smaller than
 * any integer (000 < 00 < 01 < 010 < 09 < 0 < 1 < 9 < 10). Compared byte by byte, the bytes
 * the names stand for (path-text.ts), as C compares them. Pure.
 */
import { bytesFromText } from "../path-text.ts";

const ZERO = 0x30;
const isDigit = (c: number) => c >= ZERO && c <= 0x39;

/** What the digits the two names share just before their first difference are. */
type SharedDigits = "none" | "integer" | "zeros" | "fraction";

/** Negative, zero or positive, as strverscmp(a, b) returns. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const x = bytesFromText(a);
  const y = bytesFromText(b);
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  const cx = x[i] ?? 0; // C's NUL at the end
  const cy = y[i] ?? 0;
  const byteOrder = cx - cy;
  const digitX = isDigit(cx);
  const digitY = isDigit(cy);
  switch (sharedDigitsBefore(x, i)) {
    case "none":
      // two numbers starting here: the longer is larger, unless either starts with a zero
      return digitX && digitY && cx !== ZERO && cy !== ZERO ? byLength(x, y, i, byteOrder) : byteOrder;
    case "integer":
      if (digitX && digitY) return byLength(x, y, i, byteOrder);
      if (digitX) return 1; // x's number goes on: larger
      if (digitY) return -1;
      return byteOrder;
    case "zeros":
      // only zeros so far: the run that goes on with digits is the smaller fraction
      if (digitX && digitY) return byteOrder;
      if (digitX) return -1;
      if (digitY) return 1;
      return byteOrder;
    case "fraction":
      return byteOrder;
  }
}

/** The run of digits both names have right before index i, classified. */
function sharedDigitsBefore(x: Uint8Array, i: number): SharedDigits {
  let start = i;
  while (start > 0 && isDigit(x[start - 1]!)) start--;
  if (start === i) return "none";
  if (x[start] !== ZERO) return "integer";
  for (let j = start; j < i; j++) if (x[j] !== ZERO) return "fraction";
  return "zeros";
}

/** Two numbers that differ at i: the one with more digits from i on is larger, else byte order. */
function byLength(x: Uint8Array, y: Uint8Array, i: number, byteOrder: number): number {
  let ex = i;
  while (isDigit(x[ex] ?? 0)) ex++;
  let ey = i;
  while (isDigit(y[ey] ?? 0)) ey++;
  return ex !== ey ? ex - ey : byteOrder;
}
