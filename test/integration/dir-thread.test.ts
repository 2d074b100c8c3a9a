// The dir thread (src/sys/dir-thread.ts) gives up only on a request it never took: once the
// thread has started a mount(2), the caller waits for it as mount(2) would, so no mount can
// succeed after its caller reported a failure. A real mount(2) is made to block on a target
// under a FUSE mount whose daemon is stopped. Root, private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { locateHelper } from "../../src/ops/helpers.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import { DIR_THREAD_TIMEOUT, DirThread, mountInDir, withDirThread } from "../../src/sys/dir-thread.ts";
import { caught } from "../support/caught.ts";
import { children } from "../support/processes.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(() => {
  requireRootNamespace();
  for (const name of ["mount.fuse3", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
});

const START_MS = DIR_THREAD_TIMEOUT.startMs;
const cleanups: (() => void)[] = [];
afterEach(() => {
  DIR_THREAD_TIMEOUT.startMs = START_MS;
  let first: unknown;
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
});

function fresh(label: string) {
  const s = scratch(label);
  cleanups.push(() => s.dispose());
  return s;
}

/** fuse-overlayfs daemons serving a mount under dir. */
function daemonsUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        return argv[0]?.endsWith("fuse-overlayfs") && argv.some((a) => a.startsWith(dir));
      } catch {
        return false;
      }
    })
    .map(Number);
}

test("a thread that never takes the request: ETIMEDOUT after the start timeout, the thread ended, nothing mounted", () => {
  const s = fresh("dtstart");
  const target = join(s.dir, "target");
  mkdirSync(target);
  // A thread that receives requests and never answers (what a thread that failed to start looks like to the caller).
  const script = join(s.dir, "silent-worker.ts");
  writeFileSync(script, "self.onmessage = () => {};\n");
  DIR_THREAD_TIMEOUT.startMs = 200;
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
  const s = fresh("dtblock");
  const lower = join(s.dir, "lower");
  const merged = join(s.dir, "merged");
  for (const d of ["lower/sub", "upper", "work", "merged"]) mkdirSync(join(s.dir, d), { recursive: true });
  // lower/sub is never looked up through the FUSE mount: the kernel must ask the daemon for it
  mount({ type: "fuse3.fuse-overlayfs", source: "overlay", options: [`lowerdir=${lower}`, `upperdir=${s.path("upper")}`, `workdir=${s.path("work")}`] }, merged);
  cleanups.push(() => {
    for (let i = 0; i < 100 && daemonsUnder(s.dir).length > 0; i++) Bun.sleepSync(50);
    expect(daemonsUnder(s.dir)).toEqual([]);
  });
  cleanups.push(() => void unmountAll(merged));
  const [daemon] = daemonsUnder(s.dir);
  expect(daemon).toBeNumber();
  const target = join(merged, "sub");
  cleanups.push(() => void unmountAll(target));

  process.kill(daemon!, "SIGSTOP");
  // The resume comes from another process: this thread is blocked in the wait meanwhile.
  const resume = Bun.spawn(["sh", "-c", `sleep 1; kill -CONT ${daemon}`]);
  cleanups.push(() => {
    process.kill(daemon!, "SIGCONT");
  });
  DIR_THREAD_TIMEOUT.startMs = 200;
  withDirThread(() => mountInDir(s.dir, "none", target, "tmpfs", 0, null));
  // It returned only after the daemon was resumed (the resuming shell has exited: a zombie, or
  // reaped already): the mount(2) was blocked all along, for longer than the start timeout.
  const resumer = children().find((c) => c.pid === resume.pid);
  expect(resumer === undefined || resumer.state === "Z").toBe(true);
  expect(await resume.exited).toBe(0);
  expect(mountsUnder(target).map((m) => m.fstype)).toEqual(["tmpfs"]);
});
