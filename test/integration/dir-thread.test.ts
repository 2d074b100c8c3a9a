// The dir thread (src/sys/dir-thread.ts) gives up only on a request it never took: once the
// thread has started a mount(2), the caller waits for it as mount(2) would, so no mount can
// succeed after its caller reported a failure. A real mount(2) is made to block on a target
// under a FUSE mount whose daemon is stopped. Root, private mount namespace.
import { beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { mount } from "../../src/ops/mount.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import { DIR_THREAD_TIMEOUT, DirThread, mountInDir, withDirThread } from "../../src/sys/dir-thread.ts";
import { DIR_THREAD_STATE, type DirMountRequest } from "../../src/sys/dir-thread-protocol.ts";
import { caught } from "../support/caught.ts";
import { daemonsUnder, waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { children } from "../support/processes.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  for (const name of ["mount.fuse3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
});

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/** A shorter start timeout for this test, restored after it. */
function startTimeout(ms: number): void {
  const saved = DIR_THREAD_TIMEOUT.startMs;
  DIR_THREAD_TIMEOUT.startMs = ms;
  cleanups.push(() => void (DIR_THREAD_TIMEOUT.startMs = saved));
}

test("a thread that never takes the request: ETIMEDOUT after the start timeout, the thread ended, nothing mounted", () => {
  const s = ws.fresh("dtstart");
  const target = dir("target");
  // A thread that receives requests and never answers (what a thread that failed to start looks like to the caller).
  const script = s.path("silent-worker.ts");
  writeFileSync(script, "self.onmessage = () => {};\n");
  startTimeout(200);
  const thread = new DirThread(script);
  cleanups.push(() => thread.close());
  const err = caught(() => thread.mount(s.dir, "none", target, "tmpfs", 0, null));
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).errno).toBe(errnoCode("ETIMEDOUT")!);
  expect((err as SyscallError).message).toContain(`the thread mounting from ${s.dir} did not start`);
  expect(thread.closed).toBe(true);
  expect(mountsUnder(target)).toEqual([]);
});

test("a mount(2) that blocks past the start timeout is waited for, not abandoned (target under a stopped FUSE daemon)", async () => {
  const s = ws.fresh("dtblock");
  // lower/sub is never looked up through the FUSE mount: the kernel must ask the daemon for it
  const lower = dir("lower");
  dir("lower", "sub");
  const merged = dir("merged");
  mount({ type: "fuse3.fuse-overlayfs", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${dir("upper")}`, `workdir=${dir("work")}`] }, merged);
  cleanups.push(() => waitForDaemonsGone(s.dir));
  unmountAfter(merged);
  const target = join(merged, "sub");
  unmountAfter(target);
  const [daemon] = daemonsUnder(s.dir);
  expect(daemon).toBeNumber();

  process.kill(daemon!, "SIGSTOP");
  cleanups.push(() => process.kill(daemon!, "SIGCONT"));
  // The resume comes from another process: this thread is blocked in the wait meanwhile.
  const resume = Bun.spawn(["sh", "-c", `sleep 1; kill -CONT ${daemon}`]);
  startTimeout(200);
  withDirThread(() => mountInDir(s.dir, "none", target, "tmpfs", 0, null));
  // It returned only after the daemon was resumed (the resuming shell has exited: a zombie, or
  // reaped already): the mount(2) was blocked all along, for longer than the start timeout.
  const resumer = children().find((c) => c.pid === resume.pid);
  expect(resumer === undefined || resumer.state === "Z").toBe(true);
  expect(await resume.exited).toBe(0);
  expect(mountsUnder(target).map((m) => m.fstype)).toEqual(["tmpfs"]);
});

test("the thread skips a request its caller cancelled before the thread took it, and serves the next", () => {
  // The caller cancels by compare-and-swap only while the request is still "posted"; a thread
  // that gets to such a request afterwards must leave it alone. The real worker script is given
  // a request already cancelled, then a live one: messages are handled in order, so once the
  // live one is answered, the cancelled one has been seen.
  const s = ws.fresh("dtcancel");
  const skipped = dir("skipped");
  const served = dir("served");
  const worker = new Worker(new URL("../../src/sys/dir-thread-worker.ts", import.meta.url).href);
  cleanups.push(() => worker.terminate());
  const request = (target: string, state: number): Int32Array => {
    const reply = new Int32Array(new SharedArrayBuffer(12));
    Atomics.store(reply, 0, state);
    const message: DirMountRequest = { reply: reply.buffer as SharedArrayBuffer, dir: s.dir, source: "none", target, fstype: "tmpfs", flags: 0, data: null };
    worker.postMessage(message);
    return reply;
  };
  const cancelled = request(skipped, DIR_THREAD_STATE.cancelled);
  const live = request(served, DIR_THREAD_STATE.posted);
  unmountAfter(served);
  for (const state of [DIR_THREAD_STATE.posted, DIR_THREAD_STATE.taken]) {
    while (Atomics.load(live, 0) === state) expect(Atomics.wait(live, 0, state, 10_000)).not.toBe("timed-out");
  }
  expect([...live]).toEqual([DIR_THREAD_STATE.answered, 0, 0]);
  expect(mountsUnder(served).map((m) => m.fstype)).toEqual(["tmpfs"]);
  expect([...cancelled]).toEqual([DIR_THREAD_STATE.cancelled, 0, 0]);
  expect(mountsUnder(skipped)).toEqual([]);
});
