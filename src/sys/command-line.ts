/**
 * The command line and environment as the bytes they were given. Bun decodes argv and environ
 * as UTF-8, with U+FFFD where a byte is not UTF-8, so `mountkit umount /mnt/caf\xe9` would
 * name another path. /proc/self/cmdline and /proc/self/environ still hold the bytes; they are
 * read only when a U+FFFD shows that Bun lost some, and each value taken from them only when it
 * decodes to what Bun gave (so nothing changed since, and the two line up).
 */
import { bytesFromText } from "../path-text.ts";
import { readTextFile } from "./file.ts";

const replacing = new TextDecoder("utf-8");

/** What Bun made of text's bytes. */
const asBunDecodes = (text: string) => (text.isWellFormed() ? text : replacing.decode(bytesFromText(text)));

/** The NUL-separated items of a /proc file, bytes held (path-text.ts); [] when it cannot be read. */
function procItems(path: string): string[] {
  try {
    return readTextFile(path).split("\0").slice(0, -1);
  } catch {
    return [];
  }
}

/**
 * The last args.length arguments of this process with their bytes (args: process.argv's tail,
 * the arguments after the program and script names).
 */
export function commandLineArguments(args: readonly string[]): readonly string[] {
  if (!args.some((a) => a.includes("\uFFFD"))) return args;
  const raw = procItems("/proc/self/cmdline").slice(-args.length);
  if (raw.length !== args.length || raw.some((r, i) => asBunDecodes(r) !== args[i])) return args;
  return raw;
}

/** The value of environment variable name with its bytes, as process.env has it otherwise. */
export function environmentValue(name: string): string | undefined {
  const value = process.env[name];
  if (value === undefined || !value.includes("\uFFFD")) return value;
  for (const item of procItems("/proc/self/environ")) {
    if (item.startsWith(`${name}=`) && asBunDecodes(item.slice(name.length + 1)) === value) return item.slice(name.length + 1);
  }
  return value;
}

/** This process's environment, values with their bytes. */
export function environment(): Record<string, string | undefined> {
  const values = { ...process.env };
  for (const name in values) if (values[name]?.includes("\uFFFD")) values[name] = environmentValue(name);
  return values;
}
