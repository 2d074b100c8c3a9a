/**
 * The one error hierarchy of mountkit. Every failure the library raises is a MountkitError;
 * the CLI maps it to an exit code with exitCodeFor() and prints toJSON() under --json.
 *
 * Grammar of messages: "<action that failed>: <detail>", one line, paths quoted when they
 * hold characters that would break the line.
 */
import { errnoMessage, errnoName } from "./errno.ts";
import { escapeControls } from "./control-escapes.ts";
import { isWhiteSpace } from "./white-space.ts";

/** util-linux exit codes, as mount(8), umount(8) and findmnt(8) document them. */
export const ExitCode = {
  ok: 0,
  usage: 1,
  system: 2,
  /** mount(8)'s "internal mount bug": a link named mount exits so for mountkit's internal errors (mountkit mount: 2) */
  internalBug: 4,
  mountFailed: 32,
  someFailed: 64,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class MountkitError extends Error {
  abstract readonly kind: "plan" | "syscall" | "helper" | "batch" | "mount";
  /** A hint for the user: what probably went wrong and what to try. */
  hint: string | undefined;
  /** Failures while undoing a failed operation: kept, never allowed to hide the first error. */
  cleanupErrors: unknown[] = [];

  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }

  toJSON(): Record<string, unknown> {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.cleanupErrors.length
        ? { cleanupErrors: this.cleanupErrors.map((e) => (e instanceof MountkitError ? e.toJSON() : String(e))) }
        : {}),
    };
  }
}

/** Bad input or a request that cannot be planned. Raised before any syscall is made. */
export class PlanError extends MountkitError {
  readonly kind = "plan";

  override toJSON(): Record<string, unknown> {
    // bad input a syscall found (an input file that cannot be read): that call's fields too
    return this.cause instanceof SyscallError ? { ...super.toJSON(), ...this.cause.callFields() } : super.toJSON();
  }
}

/**
 * A plan refused because its source names nothing to mount: a device that does not exist, or a
 * directory mounted with no type. The host's state rather than the command line, so exit 32 as
 * mount(8) ("special device ... does not exist"), though no syscall was made.
 */
export class SourceUnusableError extends PlanError {}

/**
 * Bad input that names nothing to mount with or on (an empty mount point or type, a move or loop
 * mount of "", a loop= that is no loop device, a --target-prefix that does not exist): refused
 * before any syscall, exit 1, as DESIGN.md's contract has it. mount(8) does not check it: it
 * makes the call, which fails, and exits 32; the CLI exits so through a link named mount
 * (cli/mount8-exit.ts). failsFake: mount(8) -f fails it too, in the loop device set-up its fake
 * makes.
 */
export class MountWouldFailError extends PlanError {
  readonly failsFake: boolean;
  constructor(message: string, options?: { hint?: string; failsFake?: boolean }) {
    super(message, options);
    this.failsFake = options?.failsFake ?? false;
  }
}

/**
 * A mount given no filesystem type and no source to read one from (`mount '' /dir`): mount(8)
 * tries it under each type it knows and exits 32 when all fail.
 */
export class NoSourceToProbeError extends MountWouldFailError {}

/** Raised when a feature is recognised but not built yet (never silently ignored). */
export class NotSupportedError extends PlanError {}

/** A syscall failed. Carries the syscall, errno (code and name) and the paths involved. */
export class SyscallError extends MountkitError {
  readonly kind = "syscall";
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;
  readonly paths: readonly string[];
  /** What mountkit was doing, such as "mount tmpfs on /x". Set by ops/. */
  action: string | undefined;
  /**
   * What the errno alone does not say, appended to the message: the parameter that failed,
   * the kernel's own messages from an fs context ("overlay: failed to resolve '/x': -2").
   */
  details: string[] = [];

  constructor(syscall: string, errno: number, paths: readonly string[] = [], action?: string) {
    super("");
    this.syscall = syscall;
    this.errno = errno;
    this.errnoName = errnoName(errno);
    this.paths = paths;
    this.action = action;
    this.message = this.describe();
  }

  /** "mount(2): EBUSY (Device or resource busy)": the call and its errno, without what was being done */
  get callFailure(): string {
    return `${this.syscall}: ${this.errnoName} (${errnoMessage(this.errno)})`;
  }

  /** "mount tmpfs on /x: mount(2): EBUSY (Device or resource busy)" */
  describe(): string {
    const detail = [this.callFailure, ...(this.details ?? [])].join(": ");
    if (this.action) return `${this.action}: ${detail}`;
    const where = this.paths.length ? `${this.paths.map(quotePath).join(", ")}: ` : "";
    return `${where}${detail}`;
  }

  /** Name what was being done; the message is rebuilt to start with it. */
  withAction(action: string, hint?: string): this {
    this.action = action;
    if (hint !== undefined) this.hint = hint;
    this.message = this.describe();
    return this;
  }

  /** Add details after the errno; the message is rebuilt. */
  withDetails(...details: string[]): this {
    this.details.push(...details);
    this.message = this.describe();
    return this;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), ...this.callFields() };
  }

  /** The failed call, as --json gives it: syscall, errno, errnoName, paths, details. */
  callFields(): Record<string, unknown> {
    return {
      syscall: this.syscall,
      errno: this.errno,
      errnoName: this.errnoName,
      paths: this.paths,
      ...(this.details.length ? { details: this.details } : {}),
    };
  }
}

/**
 * A copy of err whose paths in `from` (an fd's /proc/self/fd/N path, a path relative to a
 * directory fd) read `target` instead: messages name the path the user knows.
 */
export function renamedPaths(err: SyscallError, from: readonly string[], target: string): SyscallError {
  if (!err.paths.some((p) => from.includes(p))) return err;
  const copy = new SyscallError(err.syscall, err.errno, err.paths.map((p) => (from.includes(p) ? target : p)), err.action);
  copy.hint = err.hint;
  copy.cleanupErrors.push(...err.cleanupErrors);
  return err.details.length > 0 ? copy.withDetails(...err.details) : copy;
}

/** A mount helper (mount.fuse3, fusermount) failed. */
export class HelperError extends MountkitError {
  readonly kind = "helper";
  constructor(
    message: string,
    readonly helper: string,
    readonly argv: readonly string[],
    readonly exitStatus: number | null,
    readonly output: string,
    options?: { cause?: unknown; hint?: string },
  ) {
    super(message, options);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), helper: this.helper, argv: this.argv, exitStatus: this.exitStatus, output: this.output };
  }
}

/** Several operations failed; every failure is kept (containerd reports only one). */
export class BatchError extends MountkitError {
  readonly kind = "batch";
  constructor(
    message: string,
    readonly errors: readonly MountkitError[],
    /** How many operations succeeded alongside the failures. */
    readonly succeeded: number,
  ) {
    // each error names the action already ("mount all: entry 3: ..."): said once, first
    const prefix = `${message}: `;
    super(`${prefix}${errors.map((e) => (e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message)).join("; ")}`);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), succeeded: this.succeeded, errors: this.errors.map((e) => e.toJSON()) };
  }
}

/**
 * A failure another mountkit process reported in its --json output (mount -a -F runs one per
 * fstab line): its message, hint and JSON as that process printed them.
 */
export class ReportedError extends MountkitError {
  readonly kind: MountkitError["kind"];
  constructor(readonly reported: Readonly<Record<string, unknown>>) {
    super(typeof reported.message === "string" ? reported.message : JSON.stringify(reported), {
      hint: typeof reported.hint === "string" ? reported.hint : undefined,
    });
    const kinds: readonly string[] = ["plan", "syscall", "helper", "batch", "mount"];
    this.kind = kinds.includes(reported.kind as string) ? (reported.kind as MountkitError["kind"]) : "mount";
    if (Array.isArray(reported.cleanupErrors)) {
      this.cleanupErrors = reported.cleanupErrors.map((c) => (typeof c === "object" && c !== null ? new ReportedError(c as Record<string, unknown>) : String(c)));
    }
  }

  override toJSON(): Record<string, unknown> {
    return { ...this.reported };
  }
}

/**
 * A mount operation failed after it had begun (exit 32), for a reason that is no syscall's
 * errno: a batch entry whose target only fails to resolve once earlier entries are mounted
 * (they are rolled back), a device whose superblock names no filesystem. The cause, a
 * PlanError, says why; it is not one itself, since exit 1 means "refused before any mount".
 */
export class MountFailedError extends MountkitError {
  readonly kind = "mount";
  /** What mountkit was doing, once named (by the constructor, or ops/ with withAction). */
  action: string | undefined;
  constructor(message: string, override readonly cause: MountkitError, options?: { hint?: string; action?: string }) {
    super(options?.action === undefined ? message : `${options.action}: ${message}`, { cause, hint: options?.hint });
    this.action = options?.action;
  }

  /** Name what was being done: the message then starts with it. */
  withAction(action: string): this {
    this.action = action;
    this.message = `${action}: ${this.message}`;
    return this;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), cause: this.cause.toJSON() };
  }
}

/** True when err is a SyscallError with this errno. Compare codes, never message text. */
export function isErrno(err: unknown, code: number): err is SyscallError {
  // "EBUSY" or undefined compared false with every error: a retry that never retried
  if (!Number.isInteger(code)) throw new PlanError(`is errno: code must be an errno code (a whole number: Errno.EBUSY), got ${shownValue(code)}`);
  return err instanceof SyscallError && err.errno === code;
}

/** The util-linux exit code for a failure. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof SourceUnusableError) return ExitCode.mountFailed;
  if (err instanceof PlanError) return ExitCode.usage;
  if (err instanceof BatchError) return err.succeeded > 0 ? ExitCode.someFailed : ExitCode.mountFailed;
  if (err instanceof SyscallError || err instanceof HelperError || err instanceof MountFailedError) return ExitCode.mountFailed;
  // another process's error: its kind says which of the above it was
  if (err instanceof ReportedError) return err.kind === "plan" ? ExitCode.usage : ExitCode.mountFailed;
  return ExitCode.system;
}

/**
 * A failed helper's own exit status (1 to 255), which mount(8) and umount(8) exit with when
 * they ran one for a single mount or unmount; undefined for any other error (a helper not
 * found, killed by a signal, or whose wait was lost).
 */
export function helperExitStatus(err: unknown): number | undefined {
  return err instanceof HelperError && err.exitStatus !== null && err.exitStatus !== 0 ? err.exitStatus : undefined;
}

/**
 * A path as it may appear inside a one-line message: unchanged when it is plain, quoted when it
 * is empty (`""`, not nothing) or holds a newline, tab, control character, backslash, quote or
 * leading/trailing space: in double quotes, a quote or backslash after a backslash, and what a
 * terminal acts on escaped as escapeControls shows it everywhere (\n, \u001b, \u009b for C1,
 * \x9b for a held byte 0x9b; a held byte 0xa0-0xff as it is, as it is in a path left unquoted).
 */
export function quotePath(path: string): string {
  if (path !== "" && !needsQuotes(path)) return path;
  return quoted(path);
}

/**
 * /[\x00-\x1f\x7f-\x9f"\\]|^\s|\s$/.test(path), walked by code unit: most commands quote a
 * path in every plan's action, and the pattern would be the process's first (docs/bench.md).
 */
function needsQuotes(path: string): boolean {
  if (isWhiteSpace(path.charCodeAt(0)) || isWhiteSpace(path.charCodeAt(path.length - 1))) return true;
  for (let i = 0; i < path.length; i++) {
    const code = path.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x22 || code === 0x5c) return true;
  }
  return false;
}

/**
 * A value a caller passed, as a message shows it: a string quoted (JSON), anything else by what
 * it is ("5", "null", "an object"), never its contents: a message about the wrong kind of value
 * stays one line.
 */
export function shownValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

/** text in double quotes as quotePath quotes a path, whatever it holds. */
export function quoted(text: string): string {
  return `"${escapeControls(text.replace(/["\\]/g, "\\$&"))}"`;
}
