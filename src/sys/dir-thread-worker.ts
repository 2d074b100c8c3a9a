/**
 * The body of a dir thread (see dir-thread.ts): a Worker that leaves the process's shared
 * filesystem state once (unshare(CLONE_FS)), then for each request chdir(dir) and mount(2).
 * Replies through the request's shared buffer: [state, failed step, errno]; the state says
 * "taken" before the work starts and "answered" when it is done (dir-thread-protocol.ts).
 * Listed as an extra entry point of the compiled binary in scripts/build.ts.
 */
import { bindLibc, lastErrno } from "./libc.ts";
import { DIR_THREAD_STATE, DIR_THREAD_STEP, type DirMountRequest } from "./dir-thread-protocol.ts";
import { CLONE } from "./namespace.ts";
import { cText } from "../path-text.ts";

const libc = bindLibc({
  unshare: { args: ["i32"], returns: "i32" },
  chdir: { args: ["cstring"], returns: "i32" },
  mount: { args: ["cstring", "cstring", "cstring", "u64", "cstring"], returns: "i32" },
});

declare const self: Worker;

let unshared = false;

function serve(request: DirMountRequest): [step: number, errno: number] {
  const c = libc();
  if (!unshared) {
    // CLONE_FS: cwd, root and umask shared with the rest of the process
    if (c.unshare(CLONE.FS) !== 0) return [DIR_THREAD_STEP.unshare, lastErrno()];
    unshared = true;
  }
  if (c.chdir(cText(request.dir)) !== 0) return [DIR_THREAD_STEP.chdir, lastErrno()];
  const failed = c.mount(cText(request.source), cText(request.target), cText(request.fstype), request.flags, cText(request.data)) !== 0 ? lastErrno() : 0;
  // Leave the directory at once: a working directory inside a filesystem keeps it busy.
  c.chdir("/");
  return failed ? [DIR_THREAD_STEP.mount, failed] : [0, 0];
}

self.onmessage = (event: MessageEvent) => {
  const request = event.data as DirMountRequest;
  const reply = new Int32Array(request.reply);
  // The caller may have given up waiting and cancelled: then nothing is done.
  if (Atomics.compareExchange(reply, 0, DIR_THREAD_STATE.posted, DIR_THREAD_STATE.taken) !== DIR_THREAD_STATE.posted) return;
  Atomics.notify(reply, 0);
  const [step, errno] = serve(request);
  reply[1] = step;
  reply[2] = errno;
  Atomics.store(reply, 0, DIR_THREAD_STATE.answered);
  Atomics.notify(reply, 0);
};
