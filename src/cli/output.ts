/**
 * Output for the CLI: results on stdout, one-line errors on stderr, JSON on request.
 */
import { exitCodeFor, MountkitError, type ExitCode } from "../errors.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress lines may be drawn there */
  readonly errIsTerminal?: boolean;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  get errIsTerminal() {
    return process.stderr.isTTY === true;
  },
};

export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Print a failure and return its exit code. With --json the result object goes to stdout too. */
export function reportError(io: Io, err: unknown, json: boolean): ExitCode {
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  const hint = err instanceof MountkitError && err.hint ? ` (${err.hint})` : "";
  io.err(`mountkit: ${oneLine(message)}${oneLine(hint)}\n`);
  if (err instanceof MountkitError) {
    for (const cleanup of err.cleanupErrors) io.err(`mountkit: while cleaning up: ${oneLine(String((cleanup as Error).message ?? cleanup))}\n`);
  }
  if (json) {
    const error = err instanceof MountkitError ? err.toJSON() : { kind: "internal", message };
    printJson(io, { ok: false, exitCode: code, error });
  }
  return code;
}

/** Messages are one line whatever the paths in them hold. */
export function oneLine(text: string): string {
  return text.replace(/\n/g, "\\n");
}
