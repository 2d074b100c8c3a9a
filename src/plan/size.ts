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
