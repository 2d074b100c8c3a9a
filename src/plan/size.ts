/**
 * Sizes as util-linux's loop options take them (offset=, sizelimit=): a decimal or 0x-hex
 * number of bytes, optionally with a suffix: K, M, G, T, P, E or KiB, MiB, ... (powers of
 * 1024), KB, MB, ... (powers of 1000). Pure.
 */
import { PlanError } from "../errors.ts";

const POWERS = "KMGTPE";

/** "4096" -> 4096, "1MiB" -> 1048576, "2KB" -> 2000. A PlanError names the option otherwise. */
export function parseSize(option: string, text: string): number {
  const m = /^(0x[0-9a-f]+|\d+)(?:([KMGTPE])(iB|B)?)?$/i.exec(text.trim());
  if (!m) throw new PlanError(`${option}: ${JSON.stringify(text)} is not a size in bytes (e.g. 4096, 1MiB, 2KB)`);
  let value = BigInt(m[1]!.toLowerCase());
  if (m[2]) {
    const base = m[3]?.toUpperCase() === "B" ? 1000n : 1024n;
    value *= base ** BigInt(POWERS.indexOf(m[2].toUpperCase()) + 1);
  }
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PlanError(`${option}: ${text} is too large`);
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
