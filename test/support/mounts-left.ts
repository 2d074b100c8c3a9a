/**
 * For tests that run a command in a shell of a private mount namespace of its own, beside
 * util-linux: the shell prints `exit=N` for the command, then each mount left under $D (the
 * test's scratch dir) as "TARGET SOURCE", $D written as D, in table order, read from mountinfo
 * itself (no findmnt in the measurement).
 */
import { expect } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "./cli.ts";

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

/**
 * The mounts left as two runs are compared: each got the loop device free at its moment (the
 * first one's device may still be going when the second asks, its last close deferred), so
 * /dev/loopN reads alike.
 */
export const withAnyLoopDevice = (left: readonly string[]): string[] => left.map((l) => l.replace(/\/dev\/loop\d+/g, "/dev/loopN"));

/** What runToolIn's tool said and left. */
export interface ToolOutcome {
  code: number;
  stderr: string;
  /** a line per mount left under $D, as the print script wrote it ("TARGET SOURCE" by default), $D written as D */
  left: string[];
}

/**
 * setup then `TOOL 'ARG'...` in a shell (cwd $D, which is dir; $MK the binary) in a private mount
 * namespace of its own: its exit code, its stderr and the mounts it left, as print prints them
 * after it (PRINT_EXIT_AND_MOUNTS_LEFT, or a script printing `exit=N` then a line per mount).
 * With expand, `TOOL "ARG"...`: a variable in an argument ($D, or $L that setup set) is its value.
 */
export function runToolIn(dir: string, setup: string, tool: string, args: readonly string[], print = PRINT_EXIT_AND_MOUNTS_LEFT, expand = false): ToolOutcome {
  // in single quotes, as given: a double quote or $ in an argument is the argument's; in double
  // quotes (expand), $ alone is the shell's
  const quoted = args.map((a) => (expand ? `"${a.replace(/["\\`]/g, "\\$&")}"` : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
  // \040 and the like stay escaped, as mountinfo writes them
  const script = ["set -u", `cd "$D"`, setup, `${tool} ${quoted} 2>"$D/.stderr"`, print, `cat "$D/.stderr" >&2; rm "$D/.stderr"`].join("\n");
  const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, D: dir, MK: BINARY } });
  expect(proc.exitCode).toBe(0);
  return { ...exitAndMountsLeft(proc.stdout.toString()), stderr: proc.stderr.toString() };
}

/** What runInOwnNamespace's command said and left. */
export interface NamespaceOutcome {
  code: number;
  stdout: string;
  stderr: string;
  /** "TARGET SOURCE" of each mount left under $D, in table order, $D written as D */
  left: string[];
}

/**
 * setup, then command, in a shell (cwd $D, which is dir; $MK the binary; env added) in a
 * private mount namespace of its own (unshare -m inside the test's): what command said, its exit
 * code and the mounts it left. A setup that fails fails the test, with what it said.
 */
export function runInOwnNamespace(dir: string, setup: string, command: string, env: Record<string, string> = {}): NamespaceOutcome {
  const script = ["set -eu", `cd "$D"`, setup, "set +e", `${command} >"$D/.stdout" 2>"$D/.stderr"`, PRINT_EXIT_AND_MOUNTS_LEFT].join("\n");
  const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, D: dir, MK: BINARY, ...env } });
  expect([proc.stderr.toString(), proc.exitCode]).toEqual(["", 0]);
  const { code, left } = exitAndMountsLeft(proc.stdout.toString());
  return { code, stdout: takeFile(dir, ".stdout"), stderr: takeFile(dir, ".stderr"), left };
}

/** The text of a file the shell wrote in dir, which is removed; "" when it wrote none. */
export function takeFile(dir: string, name: string): string {
  const path = join(dir, name);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  rmSync(path, { force: true });
  return text;
}
