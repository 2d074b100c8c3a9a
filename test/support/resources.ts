/**
 * What a test checks was not left behind: open file descriptors and Worker threads of this
 * process. Loop devices are checked per device in loop tests (others use loop devices too).
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { loopDevicesOf as loopDevicesInSysfs } from "../../src/bench/workloads/loop.ts";
import { opsContext } from "../../src/ops/context.ts";
import { detachLoop } from "../../src/ops/loop.ts";
import { loopDevicesShowing } from "../../src/ops/loop-reuse.ts";

/** This process's open fds and what each points to (readlink of /proc/self/fd/N). */
export type FdSnapshot = ReadonlyMap<number, string>;

/**
 * Kinds of fd the Bun runtime opens and closes on its own threads at any time (event loop,
 * timers, child-process pipes): never mountkit's, so never counted as a leak or a loss.
 */
const RUNTIME_FD = /^(pipe:|socket:|anon_inode:\[(eventfd|eventpoll|timerfd|signalfd|io_uring)\])/;

/** Snapshot the fds. Take it around synchronous code only, and compare with fdChanges(). */
export function openFds(): FdSnapshot {
  const fds = new Map<number, string>();
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      fds.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the readdir's own fd, gone by now
    }
  }
  return fds;
}

/** The fds of this process open on a path in dir. */
export function fdsInto(dir: string): number[] {
  return [...openFds()].filter(([, path]) => path.startsWith(dir)).map(([fd]) => fd);
}

/**
 * What changed since `before`, runtime fds left out: "+9 /dev/loop0" for an fd opened and
 * kept, "-7 /x" for one that was closed (a double close hits someone else's fd).
 */
export function fdChanges(before: FdSnapshot): string[] {
  const now = openFds();
  const changes: string[] = [];
  for (const [fd, target] of now) {
    if (before.get(fd) !== target && !RUNTIME_FD.test(target)) changes.push(`+${fd} ${target}`);
  }
  for (const [fd, target] of before) {
    if (now.get(fd) !== target && !RUNTIME_FD.test(target)) changes.push(`-${fd} ${target}`);
  }
  return changes;
}

/** The fds opened since `before` and still open (runtime fds left out). */
export function newFds(before: FdSnapshot): string[] {
  return fdChanges(before).filter((c) => c.startsWith("+"));
}

/** Threads of this process named "Worker" (Bun names its Worker threads so). */
export function workerThreads(): number {
  let count = 0;
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() === "Worker") count++;
    } catch {
      // the thread exited while we looked
    }
  }
  return count;
}

/**
 * Wait until cond() holds, for things the kernel finishes shortly after a call returns (a
 * terminated thread exiting). Fails the test, naming what, if it never holds; not a timing check.
 */
export async function eventually(what: string, cond: () => boolean, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`never happened: ${what}`);
    await Bun.sleep(5);
  }
}

/**
 * Loop devices bound to this backing file, from sysfs (/sys/block/loopN/loop/backing_file)
 * and from `losetup -a`; both must agree that a test's own image is attached nowhere.
 */
export function loopDevicesOf(image: string): { sysfs: string[]; losetup: string[] } {
  const sysfs = loopDevicesInSysfs(image); // the bench's own lookup: its teardown relies on it too
  const run = Bun.spawnSync(["losetup", "-a"]);
  if (run.exitCode !== 0) throw new Error(`losetup -a failed: ${run.stderr.toString()}`);
  const losetup = run.stdout
    .toString()
    .split("\n")
    .filter((line) => line.includes(`(${image})`))
    .map((line) => line.slice(0, line.indexOf(":")));
  return { sysfs: sysfs.sort(), losetup: losetup.sort() };
}

/**
 * Detach every loop device still bound to image: a test's cleanup, whatever the test did. By
 * name, and by device and inode while image exists: a device attached in a mount namespace that
 * is gone shows the name from its detached mount's root, which lacks the mount point when the
 * image's directory is on a filesystem of its own (/mountkit-test-x/a where /tmp is a tmpfs).
 */
export function detachLoopDevicesOf(image: string): void {
  const devices = new Set(loopDevicesOf(image).sysfs);
  if (existsSync(image)) for (const device of loopDevicesShowing(image, opsContext())) devices.add(device);
  for (const device of devices) {
    try {
      detachLoop(device);
    } catch {
      // already going away
    }
  }
}

/**
 * A small ext4 image (4 KiB blocks) at path: a file of sizeMiB, extra mkfs.ext4 arguments
 * before the path, and the filesystem's own size after it when it is not the whole file.
 */
export function makeExt4Image(path: string, sizeMiB = 8, extra: string[] = [], fsSize?: string): string {
  const truncate = Bun.spawnSync(["truncate", "-s", `${sizeMiB}M`, path]);
  if (truncate.exitCode !== 0) throw new Error(`truncate: ${truncate.stderr.toString()}`);
  const mkfs = Bun.spawnSync(["mkfs.ext4", "-q", "-F", "-b", "4096", ...extra, path, ...(fsSize ? [fsSize] : [])]);
  if (mkfs.exitCode !== 0) throw new Error(`mkfs.ext4 ${path}: ${mkfs.stderr.toString()}`);
  return path;
}

/**
 * Wait until no loop device is bound to image. The kernel frees an autoclear device when its
 * last user goes, which under load can land just after umount2 returns; fails, naming the
 * devices, if it never happens. Not a timing check.
 */
export async function expectFreed(image: string): Promise<void> {
  const free = () => {
    const { sysfs, losetup } = loopDevicesOf(image);
    return sysfs.length === 0 && losetup.length === 0;
  };
  await eventually(`no loop device bound to ${image}`, free);
}
