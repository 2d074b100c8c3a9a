/**
 * Output for the CLI: results on stdout, one-line errors on stderr, JSON on request.
 */
import { exitCodeFor, MountkitError, SyscallError, type ExitCode } from "../errors.ts";
import { isTerminal, writeAll } from "../sys/fd.ts";
import { escapeControls } from "../control-escapes.ts";


export interface Io {
  /** results on stdout (processIo escapes the control characters in them: terminalSafe) */
  out(text: string): void;
  /** a message on stderr (processIo escapes the control characters in it too) */
  err(text: string): void;
  /** a progress line's terminal control on stderr ("\r\x1b[K..."), written as it is; err when absent */
  draw?(text: string): void;
  /** stderr is a terminal: progress lines may be drawn there */
  readonly errIsTerminal?: boolean;
}

/**
 * Plain write(2)s to fds 1 and 2 through libc. process.stdout/stderr are Node streams whose
 * first use costs about 10 ms of start-up in the compiled binary, and importing node:fs for
 * writeSync about 1 ms (docs/bench.md).
 * A failed write never stops the work under way (a batch half mounted because its progress
 * could not be printed): as util-linux's close_stdout, the first failure on stdout is kept and
 * reported once the command is done (main.ts), and nothing more is written there; a failure on
 * stderr has nowhere to be reported.
 */
export const processIo: Io = {
  out: (text) => {
    if (stdoutFailure !== undefined) return;
    wroteStdout ||= text !== "";
    try {
      writeAll(1, terminalSafe(text, false));
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      stdoutFailure = err;
    }
  },
  err: (text) => writeStderr(terminalSafe(text)),
  draw: (text) => writeStderr(text),
  get errIsTerminal() {
    // Asked once per process, of libc: node:tty costs about 3 ms of start-up, and
    // process.stderr more (docs/bench.md). Only batch progress lines ask.
    return (stderrIsTerminal ??= isTerminal(2));
  },
};
let stderrIsTerminal: boolean | undefined;
let stdoutFailure: SyscallError | undefined;
let wroteStdout = false;

/** Whether anything was written (or tried) to stdout: a --json document must be the only one. */
export function stdoutWritten(): boolean {
  return wroteStdout;
}

function writeStderr(text: string): void {
  try {
    writeAll(2, text);
  } catch {
    // stderr is gone or full: there is nowhere left to say so
  }
}

/**
 * text with what a terminal would act on escaped, for stdout and stderr: results and messages
 * carry paths others chose (an fstab line, a container's config, a directory's entries), and an ESC in one
 * recolours the terminal, moves its cursor or sets its title, a carriage return rewrites the
 * line. The C0 controls but tab and newline, DEL and the C1 controls (U+0080-U+009F; CSI is
 * U+009B) are escaped as escapeControls shows them, as quotePath does (\r, \u001b, \u009b); a
 * byte 0x80-0x9f that is not UTF-8 (held as path-text.ts says, and printed as that byte, which a
 * terminal set to 8 bits takes for C1) becomes \xXX on stderr (heldBytes); stdout keeps such a
 * byte, as util-linux's findmnt -J writes it. Newlines are left: the lines are made one per
 * message where they are written. JSON stays JSON: it holds no raw C0 control, and a raw DEL or
 * C1 in a string becomes the same character's \u escape. (findmnt escapes its own fields, as
 * util-linux does.)
 */
export function terminalSafe(text: string, heldBytes = true): string {
  return escapeControls(text, { keepTabAndNewline: true, heldBytes });
}

/** The first write to stdout that failed (other than to a reader that is gone), if one did. */
export function stdoutWriteFailure(): SyscallError | undefined {
  return stdoutFailure;
}

/**
 * Output written as it is made (findmnt's listings), passed to io.out in chunks of about 64 KB:
 * a table of tens of thousands of mounts is never held as one string, nor as its bytes. What is
 * written goes out whole by end().
 */
export function chunkedOutput(io: Io): { write: (text: string) => void; end(): void } {
  let pending: string[] = [];
  let length = 0;
  let chunks = 0;
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    length = 0;
    io.out(text);
    // Each row makes garbage (its values' strings, its line), and JavaScriptCore lets its heap
    // grow to about twice what is live before it collects: findmnt --json of a table of 376 000
    // mounts peaked at 950 MB, 390 MB with a collection asked for every few MB written, in the
    // same time (docs/bench.md). A listing of a real table writes less than one chunk.
    if (++chunks % CHUNKS_PER_COLLECTION === 0) Bun.gc(false);
  };
  return {
    write: (text) => {
      pending.push(text);
      length += text.length;
      if (length >= OUTPUT_CHUNK) flush();
    },
    end: flush,
  };
}

const OUTPUT_CHUNK = 64 * 1024;
const CHUNKS_PER_COLLECTION = 64;

export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * mountkit's own --json document, the one thing it prints on stdout: {ok, exitCode, ...fields},
 * ok true exactly when exitCode (the process's exit status) is 0. A command that failed, in
 * whole or in part, gives its failure as `error` (errorJson's object) among the fields.
 * (findmnt and loop list print util-linux's documents instead, on success.)
 */
export function printResult(io: Io, exitCode: number, fields: Record<string, unknown>): void {
  printJson(io, { ok: exitCode === 0, exitCode, ...fields });
}

/**
 * A failure as --json's error object, the same for every command and for each entry or operand:
 * the error's toJSON() ({kind, message, hint?, cleanupErrors?} and its kind's own fields:
 * syscall, errno, errnoName, paths for a syscall...), or {kind: "internal", message} for what is
 * no MountkitError (a bug).
 */
export function errorJson(err: unknown): Record<string, unknown> {
  return err instanceof MountkitError ? err.toJSON() : { kind: "internal", message: err instanceof Error ? err.message : String(err) };
}

/**
 * The error of a command whose operands fail one by one (umount, loop detach, cleanup), as its
 * --json `error`: the failure itself when it was the one thing tried, else a batch error holding
 * each failure, shaped as BatchError's ({kind: "batch", message, succeeded, errors}), as apply's
 * and mount -a's are; undefined (a field JSON leaves out) when none failed.
 */
export function failuresJson(label: string, failures: readonly unknown[], succeeded: number): Record<string, unknown> | undefined {
  if (failures.length === 0) return undefined;
  if (failures.length === 1 && succeeded === 0) return errorJson(failures[0]);
  const messages = failures.map((f) => (f instanceof Error ? f.message : String(f)));
  return { kind: "batch", message: `${label}: ${messages.join("; ")}`, succeeded, errors: failures.map(errorJson) };
}

/**
 * Print a failure, one line on stderr, and return its exit code (exitCodeFor's unless the
 * caller gives one: a helper's own status). With --json the result document, {ok: false,
 * exitCode, error}, goes to stdout too.
 */
export function reportError(io: Io, err: unknown, json: boolean): ExitCode;
export function reportError(io: Io, err: unknown, json: boolean, code: ExitCode): ExitCode;
export function reportError(io: Io, err: unknown, json: boolean, code: number): number;
export function reportError(io: Io, err: unknown, json: boolean, code: number = exitCodeFor(err)): number {
  io.err(errorLine(err));
  if (json) printResult(io, code, { error: errorJson(err) });
  return code;
}

/**
 * A failure as its one stderr line: the message, the hint, then what failed while cleaning up
 * ("mountkit: ... (hint); while cleaning up: ...").
 */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const hint = err instanceof MountkitError && err.hint ? ` (${err.hint})` : "";
  const cleanups = err instanceof MountkitError ? err.cleanupErrors.map((c) => `; while cleaning up: ${c instanceof Error ? c.message : String(c)}`) : [];
  return messageLine(`${message}${hint}${cleanups.join("")}`);
}

/** A problem that is not the command's failure, said as a failure is: "mountkit: warning: MESSAGE (HINT)...". */
export function warningLine(err: unknown): string {
  return `mountkit: warning: ${errorLine(err).slice("mountkit: ".length)}`;
}

/** A message as its one line on stderr: "mountkit: MESSAGE". */
export function messageLine(message: string): string {
  return `mountkit: ${oneLine(message)}\n`;
}

/**
 * Each message on stderr as messageLine prints it, after "LABEL: " when a label is given: the
 * warn and log callbacks the operations take.
 */
export function stderrMessages(io: Io, label?: string): (message: string) => void {
  return label === undefined ? (message) => io.err(messageLine(message)) : (message) => io.err(messageLine(`${label}: ${message}`));
}

/** Messages are one line whatever the paths in them hold. */
export function oneLine(text: string): string {
  return text.replace(/\n/g, "\\n");
}
