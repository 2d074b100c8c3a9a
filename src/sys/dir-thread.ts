/**
 * mount(2) made from another working directory without moving the process's own: the call
 * runs on a dir thread, a Worker that did unshare(CLONE_FS) and then chdir(dir). This is
 * containerd's mountAt (a locked OS thread after unshare(CLONE_FS)). The caller blocks on a
 * shared buffer until the thread answers, so the call is synchronous like every other.
 *
 * Threads are owned here. mountInDir() starts one, uses it and terminates it (about 3 ms);
 * inside withDirThread() one thread serves every call (about 20 us each) and is terminated
 * when the callback returns. A thread never keeps the process alive (unref) and leaves the
 * directory after each mount so it never holds a filesystem busy.
 */
import { Errno } from "../errno.ts";
import { PlanError, SyscallError } from "../errors.ts";
import { refuseNulArgument } from "./libc.ts";
import { DIR_THREAD_STATE, DIR_THREAD_STEP, type DirMountRequest } from "./dir-thread-protocol.ts";

/**
 * How long to wait for the thread to take a request up: a thread that cannot start never does,
 * and a blocked caller cannot see the Worker's error event. Once the request is taken, the
 * caller waits for the answer as long as mount(2) itself would block (a target under a FUSE
 * mount whose daemon hangs): giving up then would leave a mount that may still succeed, with
 * nobody to undo it. Settable for tests.
 */
export const DIR_THREAD_TIMEOUT = { startMs: 10_000 };

/** The worker's script: beside this file, or in the compiled binary's embedded files. */
function workerUrl(): string {
  if (!import.meta.url.includes("/$bunfs/")) return new URL("./dir-thread-worker.ts", import.meta.url).href;
  // scripts/build.ts adds the worker as an entry point; bun stores entry points under their
  // common root, which is src/ while every entry point lives there.
  const candidates = ["/$bunfs/root/sys/dir-thread-worker.js", "/$bunfs/root/src/sys/dir-thread-worker.js"];
  // node:fs, loaded here only: Bun's embedded files are invisible to libc's stat.
  const { existsSync } = require("node:fs") as typeof import("node:fs");
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error("dir thread: the worker entry point is missing from this binary (scripts/build.ts)");
  return found;
}

export class DirThread {
  readonly #worker: Worker;
  readonly #buffer = new SharedArrayBuffer(12);
  readonly #reply = new Int32Array(this.#buffer);
  #closed = false;

  /** workerScript: the thread's script; the real one unless a test brings its own */
  constructor(workerScript: string = workerUrl()) {
    this.#worker = new Worker(workerScript);
    this.#worker.unref();
  }

  /** [thread] chdir(dir); mount(source, target, fstype, flags, data); chdir("/") */
  mount(dir: string, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
    if (this.#closed) throw new Error("dir thread: used after close");
    const { posted, taken, cancelled } = DIR_THREAD_STATE;
    Atomics.store(this.#reply, 0, posted);
    const request: DirMountRequest = { reply: this.#buffer, dir, source, target, fstype, flags, data };
    this.#worker.postMessage(request);
    const deadline = performance.now() + DIR_THREAD_TIMEOUT.startMs;
    while (Atomics.load(this.#reply, 0) === posted) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.#reply, 0, posted, left) === "timed-out") {
        // Cancelled before the thread took it: nothing was attempted and nothing will be.
        if (Atomics.compareExchange(this.#reply, 0, posted, cancelled) !== posted) break; // taken just now
        this.close();
        throw new SyscallError("mount(2)", Errno.ETIMEDOUT, [target]).withDetails(`the thread mounting from ${dir} did not start`);
      }
    }
    // Taken up: the mount is under way and this waits for it as mount(2) would.
    while (Atomics.load(this.#reply, 0) === taken) Atomics.wait(this.#reply, 0, taken);
    const step = this.#reply[1]!;
    const errno = this.#reply[2]!;
    if (step === DIR_THREAD_STEP.unshare) throw new SyscallError("unshare(2)", errno);
    if (step === DIR_THREAD_STEP.chdir) throw new SyscallError("chdir(2)", errno, [dir]);
    if (step === DIR_THREAD_STEP.mount) throw new SyscallError("mount(2)", errno, [source ?? "", target]);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.terminate();
  }
}

/** The thread of the innermost withDirThread() call, started on first use. */
let session: { thread: DirThread | undefined } | undefined;

/** One mount(2) from dir: on the thread of withDirThread(), or on a thread of its own. */
export function mountInDir(dir: string, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void {
  // The thread passes each string to C (chdir, mount): one holding a NUL is refused here, as
  // mount() refuses it, before the thread starts.
  const call = "mount(2)";
  refuseNulArgument(dir, "chdir(2)", "path", dir);
  refuseNulArgument(source, call, "source", source, target);
  refuseNulArgument(target, call, "target", target);
  refuseNulArgument(fstype, call, "filesystem type", source, target);
  refuseNulArgument(data, call, "data", source, target);
  if (session) {
    // A thread closed by a timeout is replaced, so one lost answer does not fail the session.
    if (session.thread === undefined || session.thread.closed) session.thread = new DirThread();
    return session.thread.mount(dir, source, target, fstype, flags, data);
  }
  const thread = new DirThread();
  try {
    thread.mount(dir, source, target, fstype, flags, data);
  } finally {
    thread.close();
  }
}

/**
 * Run fn with one dir thread serving every mountInDir() it makes (many compacted overlay
 * mounts in a row). The thread starts on first use and is terminated when fn returns, throws,
 * or, when fn returns a promise, when that settles. Nested calls share the outer thread.
 */
export function withDirThread<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new PlanError(`dir thread: fn must be a function, got ${fn === null ? "null" : typeof fn}`);
  if (session) return fn();
  const own = { thread: undefined as DirThread | undefined };
  session = own;
  const end = () => {
    if (session === own) session = undefined;
    own.thread?.close();
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (result instanceof Promise) return result.finally(end) as T;
  end();
  return result;
}
