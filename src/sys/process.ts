/**
 * Running a helper program (mount.TYPE, umount.TYPE, mount.fuse3, fusermount3) and waiting for
 * it, bound from libc (and startProcess/processExit: a command with-mounts runs when Bun.spawn
 * cannot pass its bytes, or must keep signals the caller ignores ignored):
 *   posix_spawn(&pid, path, actions, attr, argv, envp)   no shell; stdout+stderr into one memfd
 *                                                         (stdin /dev/null), or one each, or
 *                                                         this process's own stdio: ProcessStdio
 *                                                         (/dev/null for one of those that is closed)
 *   waitpid(pid, &status, 0)                              its errno reaches the caller
 *
 * Why not Bun.spawnSync: it hides ECHILD (exitCode null, no signal), and ECHILD is the one
 * wait failure the FUSE mount path must see (containerd#4387). Why not Bun.spawn: it is
 * async, and mount() is synchronous for every other filesystem. Our own waitpid reports the
 * kernel's answer, and Bun never reaps children it did not spawn.
 *
 * Output goes to a memfd, not a pipe: a helper that daemonizes (fuse-overlayfs) may keep the
 * write end, and a pipe that fills while we block in waitpid would deadlock.
 */
import { ptr } from "bun:ffi";
import { Errno } from "../errno.ts";
import { PlanError, shownValue, SyscallError } from "../errors.ts";
import { FD_CLOEXEC, fdFlags, O, writeAll } from "./fd.ts";
import { bindLibc, lastErrno, nulRefused, syscallFailure } from "./libc.ts";
import { SIGSET_BYTES } from "./sigset.ts";
import { bytesFromText, cText, textFromBytes } from "../path-text.ts";
import { environment } from "./command-line.ts";

const libc = bindLibc({
  posix_spawn: { args: ["ptr", "cstring", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
  posix_spawnp: { args: ["ptr", "cstring", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
  posix_spawn_file_actions_init: { args: ["ptr"], returns: "i32" },
  posix_spawn_file_actions_destroy: { args: ["ptr"], returns: "i32" },
  posix_spawn_file_actions_adddup2: { args: ["ptr", "i32", "i32"], returns: "i32" },
  posix_spawn_file_actions_addopen: { args: ["ptr", "i32", "cstring", "i32", "u32"], returns: "i32" },
  posix_spawn_file_actions_addclosefrom_np: { args: ["ptr", "i32"], returns: "i32" },
  posix_spawnattr_init: { args: ["ptr"], returns: "i32" },
  posix_spawnattr_destroy: { args: ["ptr"], returns: "i32" },
  posix_spawnattr_setflags: { args: ["ptr", "i16"], returns: "i32" },
  posix_spawnattr_setsigmask: { args: ["ptr", "ptr"], returns: "i32" },
  posix_spawnattr_setsigdefault: { args: ["ptr", "ptr"], returns: "i32" },
  sigemptyset: { args: ["ptr"], returns: "i32" },
  sigfillset: { args: ["ptr"], returns: "i32" },
  sigdelset: { args: ["ptr", "i32"], returns: "i32" },
  waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  memfd_create: { args: ["cstring", "u32"], returns: "i32" },
  pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
  close: { args: ["i32"], returns: "i32" },
});

/**
 * Buffer sizes for glibc's opaque types: posix_spawn_file_actions_t is 80 bytes and
 * posix_spawnattr_t 336 on x86_64 and arm64, so these leave room; sigset_t is 1024 bits.
 * A test compares them and the flags with this machine's headers.
 */
export const SPAWN_LAYOUT = {
  fileActionsBytes: 256,
  spawnattrBytes: 512,
  sigsetBytes: SIGSET_BYTES,
  POSIX_SPAWN_SETSIGDEF: 0x04,
  POSIX_SPAWN_SETSIGMASK: 0x08,
  MFD_CLOEXEC: 0x1,
} as const;
const FILE_ACTIONS_SIZE = SPAWN_LAYOUT.fileActionsBytes;
const SPAWNATTR_SIZE = SPAWN_LAYOUT.spawnattrBytes;
const SIGSET_SIZE = SPAWN_LAYOUT.sigsetBytes;
const { POSIX_SPAWN_SETSIGDEF, POSIX_SPAWN_SETSIGMASK, MFD_CLOEXEC } = SPAWN_LAYOUT;

/** Output kept from a helper; the rest is dropped (a helper's diagnostics are short). */
export const PROCESS_OUTPUT_LIMIT = 64 * 1024;

export interface ProcessExit {
  readonly pid: number;
  /** the exit status when it exited, else null */
  readonly exitCode: number | null;
  /** the signal that killed it, else null */
  readonly signal: number | null;
  /**
   * stdout and stderr, at most PROCESS_OUTPUT_LIMIT bytes each: interleaved as written
   * ("capture"), or stdout's then stderr's ("capture-each"); "" unless captured
   */
  readonly output: string;
  /** what it wrote to stdout and to stderr, apart: "capture-each" only */
  readonly stdout?: string;
  readonly stderr?: string;
}

/**
 * Where a helper's stdin, stdout and stderr go:
 *   "capture"           stdin /dev/null, stdout and stderr into ProcessExit.output
 *   "capture-each"      as capture, each into a memfd of its own: ProcessExit.stdout and .stderr
 *                       (to be written out later, writeProcessOutput), output both
 *   "inherit"           this process's stdin, stdout and stderr (mount(8) runs its helpers so)
 *   "stdout-to-stderr"  as inherit, but its stdout is this process's stderr (dup2(2, 1))
 */
export type ProcessStdio = "capture" | "capture-each" | "inherit" | "stdout-to-stderr";

/** Every ProcessStdio, for the checks of a caller's value (runProcess, OpsOptions.helperStdio). */
export const PROCESS_STDIO: readonly ProcessStdio[] = ["capture", "capture-each", "inherit", "stdout-to-stderr"];

/** "capture", "capture-each", "inherit" or "stdout-to-stderr": the values, for a message. */
export function stdioNames(): string {
  return `${PROCESS_STDIO.slice(0, -1).map((s) => JSON.stringify(s)).join(", ")} or ${JSON.stringify(PROCESS_STDIO.at(-1))}`;
}

/**
 * Run path with argv (argv[0] included) and env ("NAME=value" items; this process's
 * environment when omitted), and wait for it; its stdio as `stdio` says. What a helper's
 * environment should hold is ops/'s decision (ops/helper-env.ts).
 * Signal dispositions and the mask are reset to defaults in the child, and every fd above 2
 * is closed, so a daemonizing helper holds nothing of ours.
 * Throws SyscallError: posix_spawn(3) (ENOENT, EACCES, ...), or waitpid(2) with ECHILD when
 * the child was reaped by someone else, so its status is lost.
 */
export function runProcess(path: string, argv: readonly string[], env: readonly string[] = currentEnvironment(), stdio: ProcessStdio = "capture"): ProcessExit {
  checkSpawnStrings(path, argv, env);
  if (!PROCESS_STDIO.includes(stdio)) {
    // anything else was read as "capture": a caller's "pipe" kept the output it meant to show
    throw new PlanError(`run ${path}: stdio must be ${stdioNames()}, got ${shownValue(stdio)}`);
  }
  if (stdio === "inherit" || stdio === "stdout-to-stderr") {
    const pid = spawn(path, argv, env, { stdoutToStderr: stdio === "stdout-to-stderr" });
    return { pid, ...decodeStatus(waitFor(pid, path)), output: "" };
  }
  const c = libc();
  const stdoutFd = memfd("mountkit-helper-output");
  // capture: one memfd for both, so the output keeps the order it was written in
  let stderrFd = stdoutFd;
  try {
    if (stdio === "capture-each") stderrFd = memfd("mountkit-helper-stderr");
    const pid = spawn(path, argv, env, { output: { stdout: stdoutFd, stderr: stderrFd } });
    const status = waitFor(pid, path);
    if (stderrFd === stdoutFd) return { pid, ...decodeStatus(status), output: readOutput(stdoutFd) };
    const [stdout, stderr] = [readOutput(stdoutFd), readOutput(stderrFd)];
    return { pid, ...decodeStatus(status), output: stdout + stderr, stdout, stderr };
  } finally {
    c.close(stdoutFd);
    if (stderrFd !== stdoutFd) c.close(stderrFd);
  }
}

/**
 * Write what a "capture-each" run kept, as if the process had written it itself: its stdout to
 * stdoutFd (1, or 2 where stdout is kept for a result), its stderr to 2. A write that fails is
 * dropped, as the process's own would have failed without failing anything of ours.
 */
export function writeProcessOutput(exit: ProcessExit, stdoutFd: 1 | 2): void {
  for (const [fd, text] of [[stdoutFd, exit.stdout], [2, exit.stderr]] as const) {
    try {
      if (text) writeAll(fd, text);
    } catch {
      // stdout or stderr closed or full: the output is lost, the helper's work is not
    }
  }
}

function memfd(name: string): number {
  const fd = libc().memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) throw syscallFailure("memfd_create(2)");
  return fd;
}

/** This process's environment as "NAME=value" items (values with their bytes: command-line.ts). */
export function currentEnvironment(): string[] {
  return Object.entries(environment()).map(([k, v]) => `${k}=${v ?? ""}`);
}

/**
 * Start file (looked up in PATH when it holds no slash, as a shell does: posix_spawnp) with argv
 * and env, stdin, stdout and stderr inherited, signals reset but those of keepIgnored, which stay
 * ignored when this process ignores them (ignored-signals.ts); its pid, for processExit. For
 * what Bun.spawn cannot do: pass an argument or variable that is not UTF-8, of which Bun would
 * pass U+FFFD's bytes (path-text.ts), or leave a signal ignored (it resets every one).
 */
export function startProcess(file: string, argv: readonly string[], env: readonly string[], keepIgnored: readonly number[] = []): number {
  checkSpawnStrings(file, argv, env);
  return spawn(file, argv, env, { searchPath: true, keepIgnored });
}

/** waitpid(pid, WNOHANG): how the process ended (it is reaped then), or undefined while it runs. */
export function processExit(pid: number): { exitCode: number | null; signal: number | null } | undefined {
  const status = new Int32Array(1);
  const WNOHANG = 1;
  for (;;) {
    const got = libc().waitpid(pid, status, WNOHANG);
    if (got === pid) return decodeStatus(status[0]!);
    if (got === 0) return undefined;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SyscallError("waitpid(2)", errno, []);
  }
}

/** posix_spawn(p): stdout and stderr to the output fds (stdin /dev/null) when given, else stdio inherited (stdout onto stderr when asked). */
function spawn(
  path: string,
  argv: readonly string[],
  envItems: readonly string[],
  how: { output?: { stdout: number; stderr: number }; stdoutToStderr?: boolean; searchPath?: boolean; keepIgnored?: readonly number[] },
): number {
  const c = libc();
  const actions = new Uint8Array(FILE_ACTIONS_SIZE);
  const attr = new Uint8Array(SPAWNATTR_SIZE);
  const noSignals = new Uint8Array(SIGSET_SIZE);
  const allSignals = new Uint8Array(SIGSET_SIZE);
  c.posix_spawn_file_actions_init(actions);
  c.posix_spawnattr_init(attr);
  try {
    // The actions run in order in the child: stdio first, then everything else closed.
    if (how.output !== undefined) {
      expectZero(c.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O.RDONLY, 0), path);
      expectZero(c.posix_spawn_file_actions_adddup2(actions, how.output.stdout, 1), path);
      expectZero(c.posix_spawn_file_actions_adddup2(actions, how.output.stderr, 2), path);
    } else {
      // an inherited stream the child would start without gets /dev/null (standardFdsNotInherited)
      for (const fd of standardFdsNotInherited()) expectZero(c.posix_spawn_file_actions_addopen(actions, fd, "/dev/null", O.RDWR, 0), path);
      if (how.stdoutToStderr) expectZero(c.posix_spawn_file_actions_adddup2(actions, 2, 1), path);
    }
    expectZero(c.posix_spawn_file_actions_addclosefrom_np(actions, 3), path);
    // Bun ignores or blocks some signals; a helper (and the daemon it leaves) must not inherit that.
    c.sigemptyset(noSignals);
    c.sigfillset(allSignals);
    // ...but those of keepIgnored, which this process's caller ignores (nohup), stay ignored
    for (const signal of how.keepIgnored ?? []) if (c.sigdelset(allSignals, signal) !== 0) throw syscallFailure("sigdelset(3)");
    expectZero(c.posix_spawnattr_setsigmask(attr, noSignals), path);
    expectZero(c.posix_spawnattr_setsigdefault(attr, allSignals), path);
    expectZero(c.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), path);

    const args = cStringArray(argv);
    const env = cStringArray(envItems);
    const pid = new Int32Array(1);
    // posix_spawn returns the error number; it does not set errno.
    const rc = (how.searchPath ? c.posix_spawnp : c.posix_spawn)(pid, cText(path), actions, attr, args.array, env.array);
    heldForLastSpawn = [args.buffers, env.buffers];
    if (rc !== 0) throw new SyscallError("posix_spawn(3)", rc, [path]);
    return pid[0]!;
  } finally {
    c.posix_spawn_file_actions_destroy(actions);
    c.posix_spawnattr_destroy(attr);
  }
}

/**
 * Fds 0-2 that a child would start without: closed, or close-on-exec. Bun opens /dev/null
 * O_CLOEXEC onto each one its caller closed (`mountkit mount ... >&-`), so nothing mountkit
 * opens becomes its stdout; a child given its stdio would start with that fd closed all the
 * same, and the first file it opens (a FUSE daemon's /dev/fuse, a log) would be its stdout and
 * take what it prints. Such an fd is /dev/null in the child, as Bun.spawn does for with-mounts'
 * COMMAND.
 */
function standardFdsNotInherited(): number[] {
  return [0, 1, 2].filter((fd) => {
    const flags = fdFlags(fd);
    return flags === undefined || (flags & FD_CLOEXEC) !== 0;
  });
}

/** waitpid(pid, &status, 0), restarted on EINTR (a signal handler ran; the child is still ours). */
function waitFor(pid: number, path: string): number {
  const status = new Int32Array(1);
  for (;;) {
    if (libc().waitpid(pid, status, 0) === pid) return status[0]!;
    const errno = lastErrno();
    if (errno !== Errno.EINTR) throw new SyscallError("waitpid(2)", errno, [path]);
  }
}

/** WIFEXITED/WEXITSTATUS and WIFSIGNALED/WTERMSIG from <sys/wait.h>. */
export function decodeStatus(status: number): { exitCode: number | null; signal: number | null } {
  const low = status & 0x7f;
  if (low === 0) return { exitCode: (status >> 8) & 0xff, signal: null };
  if (low !== 0x7f) return { exitCode: null, signal: low };
  return { exitCode: null, signal: null }; // stopped: waitpid without WUNTRACED does not report it
}

function readOutput(fd: number): string {
  const buffer = new Uint8Array(PROCESS_OUTPUT_LIMIT);
  const n = Number(libc().pread(fd, buffer, buffer.byteLength, 0));
  return n > 0 ? textFromBytes(buffer.subarray(0, n)) : "";
}

function expectZero(rc: number, path: string): void {
  if (rc !== 0) throw new SyscallError("posix_spawn(3)", rc, [path]);
}

/**
 * What posix_spawn is given, before anything is made for it (a memfd for the output): strings in
 * lists, each passed to C whole. A NUL byte would end an argument there, and the path (a helper
 * run with less than asked, another file run): refused, naming the call and the path. A value of
 * another kind is the caller's mistake (a PlanError), where `${5}` would have passed "5".
 */
function checkSpawnStrings(path: unknown, argv: unknown, env: unknown): void {
  if (typeof path !== "string") throw new PlanError(`run a process: path must be a string, got ${shownValue(path)}`);
  if (path.includes("\0")) throw nulRefused("posix_spawn(3)", "path", [path]);
  for (const [name, list] of [["argv", argv], ["env", env]] as const) {
    if (!Array.isArray(list)) throw new PlanError(`run ${path}: ${name} must be a list of strings, got ${shownValue(list)}`);
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      if (typeof item !== "string") throw new PlanError(`run ${path}: ${name}[${i}] must be a string, got ${shownValue(item)}`);
      if (item.includes("\0")) throw nulRefused("posix_spawn(3)", `${name}[${i}]`, [path]);
    }
  }
}

/** A NULL-terminated char *[] and the buffers its pointers point into (keep them alive). */
function cStringArray(strings: readonly string[]): { array: BigUint64Array; buffers: Uint8Array[] } {
  const buffers = strings.map((s) => bytesFromText(`${s}\0`));
  const array = new BigUint64Array(strings.length + 1);
  buffers.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, buffers };
}

/**
 * The raw pointers in a char *[] do not keep their buffers alive; this reference does, from
 * before the call until the next spawn.
 */
let heldForLastSpawn: Uint8Array[][] = [];
