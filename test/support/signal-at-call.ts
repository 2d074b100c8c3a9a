/**
 * The binary with a stop signal sent at a chosen syscall, a point made exact: strace's
 * `inject=SYSCALL:signal=SIG:when=N` raises it as the Nth call of SYSCALL is entered, and the
 * process takes it as that call returns (the call itself is made). So a signal lands between
 * two steps of a plan, or in one of them, every run.
 */
import { readFileSync } from "node:fs";
import { BINARY } from "./cli.ts";

export interface SignalledRun {
  exitCode: number | null;
  /** strace dies of the signal its tracee died of: this is the binary's death */
  signalCode: string | number | null;
  stderr: string;
  /** the traced calls (of traced), one per line */
  calls: string[];
}

/**
 * `mountkit ARGV` under strace, the signal raised at the when-th call of syscall by its main
 * thread (where mountkit makes its mounts); the calls of traced are logged. Not its children:
 * a process mountkit leaves behind would keep strace -f waiting. pokeExit ("@argN=HEX"): what
 * that call returns in memory rewritten too, as it exits (strace's poke_exit), for an answer no
 * kernel gives; with no signal, that alone. error ("EMFILE"): the call is not made, and fails
 * with that errno instead (strace's error=), for a failure the kernel gives on no demand of ours.
 * how.stdout: the file its stdout writes to (/dev/full); /dev/null by default. how.bin: the
 * binary, or a link to it (named mount).
 */
export function signalledAt(
  log: string,
  argv: readonly string[],
  at: { syscall: string; when: number; signal?: string; traced?: readonly string[]; pokeExit?: string; error?: string },
  env?: Record<string, string | undefined>,
  how: { stdout?: string; bin?: string } = {},
): SignalledRun {
  const { stdout, bin = BINARY } = how;
  const traced = [...new Set([at.syscall, ...(at.traced ?? [])])].join(",");
  const signal = at.signal === undefined ? "" : `:signal=${at.signal}`;
  const result = (at.pokeExit === undefined ? "" : `:poke_exit=${at.pokeExit}`) + (at.error === undefined ? "" : `:error=${at.error}`);
  const run = Bun.spawnSync(
    ["strace", "-qq", "-o", log, "-e", `trace=${traced}`, "-e", `inject=${at.syscall}${signal}${result}:when=${at.when}`, bin, ...argv],
    // stderr to a file: a process left behind holding a pipe would keep this waiting for good
    { env: env ?? { ...process.env, MOUNTKIT_STRATEGY: "" }, stdin: "ignore", stdout: stdout === undefined ? "ignore" : Bun.file(stdout), stderr: Bun.file(`${log}.stderr`) },
  );
  return {
    exitCode: run.exitCode,
    signalCode: run.signalCode ?? null,
    stderr: readFileSync(`${log}.stderr`, "utf8"),
    calls: readFileSync(log, "utf8").split("\n").filter((l) => l !== ""),
  };
}

/**
 * Which call of syscall by the main thread (1-based, as signalledAt's when= counts them) is the
 * first whose traced line matches: `mountkit ARGV` run once under strace, with no signal. The
 * caller undoes what that run did.
 */
export function callNumber(log: string, argv: readonly string[], syscall: string, match: RegExp, env?: Record<string, string | undefined>, bin = BINARY): number {
  const lines = callsOf(log, argv, syscall, env, bin);
  const index = lines.findIndex((l) => match.test(l));
  if (index < 0) throw new Error(`no ${syscall} call matching ${match} in:\n${lines.join("\n")}`);
  return index + 1;
}

/**
 * The calls of syscall by the main thread, one traced line each, in order (the when-th is
 * signalledAt's when=N): `mountkit ARGV` run once under strace, with no signal. The caller
 * undoes what that run did.
 */
export function callsOf(log: string, argv: readonly string[], syscall: string, env?: Record<string, string | undefined>, bin = BINARY): string[] {
  const run = Bun.spawnSync(["strace", "-qq", "-o", log, "-e", `trace=${syscall}`, bin, ...argv], { env: env ?? { ...process.env, MOUNTKIT_STRATEGY: "" }, stdin: "ignore" });
  if (run.exitCode !== 0) throw new Error(`mountkit ${argv.join(" ")} under strace: exit ${run.exitCode}: ${run.stderr.toString()}`);
  return readFileSync(log, "utf8").split("\n").filter((l) => l.startsWith(`${syscall}(`));
}

/**
 * For pokeExit: the first 30 bytes of the struct statx a statx(2) fills, up to stx_mode, with
 * S_IFMT all ones (0170000), which is no file type a kernel gives: an internal error (a bug, no
 * mount failure) at a chosen call.
 */
export const STATX_OF_NO_TYPE = `@arg5=${["ff170000", "00100000", "0000000000000000", "02000000", "00000000", "00000000", "edf1"].join("")}`;

/**
 * signalledAt at the first call of syscall whose traced line matches, counted in a run with no
 * signal (callNumber), whose effects undo() takes back before the signalled run. The count can
 * differ between two runs where the calls before that one depend on the machine: a loop mount
 * asks LOOP_GET_STATUS64 of every loop device /proc/partitions lists, which another process (or
 * a detach the kernel made at a last close, after udev's probe) changes between the runs, and a
 * free device another process took first is asked for again. A run whose signal landed on
 * another call is undone, counted and made again, 5 times at most; the run returned is the last.
 */
export async function signalledAtFirst(
  logs: { count: string; signalled: string },
  argv: readonly string[],
  at: { syscall: string; match: RegExp; signal: string },
  undo: () => void | Promise<void>,
  env?: Record<string, string | undefined>,
): Promise<SignalledRun & { when: number }> {
  for (let attempt = 1; ; attempt++) {
    const when = callNumber(logs.count, argv, at.syscall, at.match, env);
    await undo();
    const run = signalledAt(logs.signalled, argv, { syscall: at.syscall, when, signal: at.signal }, env);
    if (at.match.test(run.calls[when - 1] ?? "") || attempt === 5) return { ...run, when };
    await undo();
  }
}
