/**
 * For tests that run a command in a shell of a private mount namespace of its own, beside
 * util-linux: the shell prints `exit=N` for the command, then each mount left under $D (the
 * test's scratch dir) as "TARGET SOURCE", $D written as D, in table order, read from mountinfo
 * itself (no findmnt in the measurement).
 */
import { expect } from "bun:test";

/** The shell lines that print the command's `exit=$?` and the mounts left under $D; run right after it. */
export const PRINT_EXIT_AND_MOUNTS_LEFT = [
  'echo "exit=$?"',
  `awk -v d="$D" '$5 == d || index($5, d "/") == 1 { sub("^" d, "D", $5); print $5, $(NF-1) }' /proc/self/mountinfo`,
].join("\n");

/** What PRINT_EXIT_AND_MOUNTS_LEFT printed (output): the exit code and the mounts left. */
export function exitAndMountsLeft(output: string): { code: number; left: string[] } {
  const [first, ...left] = output.split("\n").slice(0, -1);
  expect(first).toMatch(/^exit=\d+$/);
  return { code: Number(first!.slice(5)), left };
}
