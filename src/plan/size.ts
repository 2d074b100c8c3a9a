/**
 * Sizes as util-linux's loop options take them (offset=, sizelimit=, losetup -o, --sizelimit;
 * its parse_size): after blanks and an optional +, a number as C's strtoumax reads one (0x hex,
 * a leading 0 octal, else decimal), then optionally a unit: K, M, G, T, P, E (Z, Y: too large)
 * in either case, alone or with iB (powers of 1024) or with B (powers of 1000). A decimal
 * number may have a fraction when a unit follows ("1.5M"). Pure.
 */
import { PlanError } from "../errors.ts";
import { requireString } from "./caller-input.ts";

const UNITS = "KMGTPEZY";
const SIZE_SYNTAX = /^[ \t\n\v\f\r]*\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]+)|(0|[1-9][0-9]*)(?:\.([0-9]*))?)(?:([KMGTPEZYkmgtpezy])(i[Bb]|[Bb])?)?$/;

/**
 * "4096" -> 4096, "0x1000" -> 4096, "010" -> 8, "1MiB" -> 1048576, "2KB" -> 2000, "1.5K" ->
 * 1536. A PlanError names the option otherwise, and for more than 2^53 bytes. A fraction is
 * exact, rounded down: util-linux 2.38 adds it digit by digit, rounding each down, and reads
 * a fraction ending in 0 wrongly ("1.10M" is 2 MiB there, 1153433 bytes here).
 */
export function parseSize(option: string, text: string): number {
  // a number's digits were read as its text: parseSize("offset", 5) gave 5
  if (typeof option !== "string") requireString(option, "option", "parse size");
  if (typeof text !== "string") requireString(text, "text", `parse size (${option})`);
  const m = SIZE_SYNTAX.exec(text);
  const [, hex, octal, decimal, fraction, unit, kind] = m ?? [];
  if (!m || (fraction !== undefined && unit === undefined)) {
    throw new PlanError(`${option}: ${JSON.stringify(text)} is not a size in bytes (e.g. 4096, 1MiB, 2KB)`);
  }
  const whole = BigInt(hex !== undefined ? `0x${hex}` : octal !== undefined ? `0o${octal.slice(1)}` : decimal!);
  const base = kind === "B" || kind === "b" ? 1000n : 1024n;
  const scale = unit === undefined ? 1n : base ** BigInt(UNITS.indexOf(unit.toUpperCase()) + 1);
  const part = fraction ? (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length) : 0n;
  const value = whole * scale + part;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PlanError(`${option}: ${text} is too large (at most 2^53 - 1 bytes)`);
  return Number(value);
}

/**
 * Sizes as containerd's options take them (go-units RAMInBytes: X-containerd.mkfs.size=):
 * a number, a fraction allowed, then optionally a space and k, m, g, t or p, each a power of
 * 1024 whether or not "i" and "b" follow ("64MiB", "64MB", "64m" are all 64 * 2^20).
 */
export function parseBinarySize(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text);
  if (!m) throw new PlanError(`${option}: ${JSON.stringify(text)} is not a size (e.g. 67108864, 64MiB, 1g)`);
  const power = m[2] === undefined ? 0 : "kmgtp".indexOf(m[2].toLowerCase()) + 1;
  const value = Math.trunc(Number(m[1]) * 1024 ** power);
  if (!Number.isSafeInteger(value)) throw new PlanError(`${option}: ${text} is too large`);
  return value;
}
