// The free device LOOP_CTL_GET_FREE gives held open exclusively (O_EXCL) by another process that
// attached nothing to it: the kernel gives it to every ask and refuses every bind of it (EBUSY).
// A real holder (support/loop-holder.ts) holds it; an attach that names no device takes another
// at once, or fails at once saying which device is held. Root, private mount namespace.
//
// Faked at the seam, what the kernel cannot be made to show on demand on a machine other
// processes share: that GET_FREE gives the held device (it does while that is the lowest free
// one, but another process may free a lower one between the holder's ask and the attach's); a
// /dev without the other devices' nodes, or with every other device attached (/dev's listing,
// the opens of its loop nodes). The binary, which takes no seam, is traced instead, and its run
// made again with a new holder when GET_FREE gave it another device.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, SyscallError } from "../../src/errors.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { O } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { LOOP_CONTROL_PATH } from "../../src/sys/loop.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { BINARY } from "../support/cli.ts";
import { ensureAnotherFreeLoopDevice, whileFreeDeviceHeld } from "../support/loop-holder.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { detachLoopDevicesOf, expectFreed, loopDevicesOf, newFds, openFds } from "../support/resources.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, image, unmountAfter } = ws;
const sourceAt = (target: string) => mountsUnder(target).find((m) => m.mountpoint === target)?.source;
const isLoopNode = (path: string) => /^\/dev\/loop\d+$/.test(path);
const loopNumber = (device: string) => Number(device.slice("/dev/loop".length));

/**
 * The real seam but for LOOP_CTL_GET_FREE, which gives held, as the kernel does while held is
 * the lowest free device; recording how often it was asked, and which devices LOOP_CTL_ADD added
 * and LOOP_CTL_REMOVE removed. Every device added and not removed is removed after the test
 * (detached first if a failed test left it attached), so no device node this test made is left.
 */
function givingHeld(held: string, real: Syscalls = libcSyscalls) {
  const counts = { getFree: 0 };
  const added: number[] = [];
  const removed: number[] = [];
  cleanups.push(() => {
    const control = libcSyscalls.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
    try {
      for (const n of added.filter((n) => !removed.includes(n))) {
        if (existsSync(`/sys/block/loop${n}/loop`)) detachLoop(`/dev/loop${n}`);
        libcSyscalls.loopCtlRemove(control, n);
      }
    } finally {
      libcSyscalls.close(control);
    }
  });
  const sys: Syscalls = {
    ...real,
    loopCtlGetFree: () => {
      counts.getFree++;
      return loopNumber(held);
    },
    loopCtlAdd: (fd, n) => {
      const got = real.loopCtlAdd(fd, n);
      added.push(got);
      return got;
    },
    loopCtlRemove: (fd, n) => {
      real.loopCtlRemove(fd, n);
      removed.push(n);
    },
  };
  return { sys, counts, added, removed };
}

/**
 * /dev as the attach sees it: no loop node but held listed (every other device attached, or a
 * static /dev that has only held's); with noNodes, every other loop node's open is ENOENT too
 * (a container's static /dev: one the kernel adds gets no node either).
 */
function devWithOnly(held: string, noNodes: boolean, real: Syscalls = libcSyscalls): Syscalls {
  return {
    ...real,
    readDirFd: (fd, path) => {
      const names = real.readDirFd(fd, path);
      return path === "/dev" ? names.filter((name) => !isLoopNode(`/dev/${name}`) || `/dev/${name}` === held) : names;
    },
    open: (path, flags, mode) => {
      if (noNodes && isLoopNode(path) && path !== held) throw new SyscallError("open(2)", Errno.ENOENT, [path]);
      return real.open(path, flags, mode);
    },
  };
}

interface TracedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** each N LOOP_CTL_GET_FREE answered, from strace */
  given: number[];
}

/** The binary under strace -e trace=ioctl (its trace in log): what it said and what GET_FREE gave it. */
function tracedRun(log: string, argv: readonly string[], env: Record<string, string | undefined>): TracedRun {
  const run = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=ioctl", "-o", log, BINARY, ...argv], { env, stdin: "ignore" });
  const given = [...readFileSync(log, "utf8").matchAll(/LOOP_CTL_GET_FREE\) += (\d+)/g)].map((m) => Number(m[1]));
  return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString(), given };
}

/**
 * run(held) with the free device held; made again with a new holder (5 times at most) while
 * GET_FREE gave the run another device first (then it was not the case under test: undo() takes
 * back what it did). The held device and the run that was given it.
 */
async function runGivenHeld(run: (held: string) => TracedRun, undo: () => void): Promise<{ held: string; result: TracedRun }> {
  for (let round = 1; ; round++) {
    const outcome = await whileFreeDeviceHeld((held) => ({ held, result: run(held) }));
    if (outcome.result.given[0] === loopNumber(outcome.held) || round === 5) return outcome;
    undo();
  }
}

for (const strategy of ["fd", "legacy"] as Strategy[]) {
  const facts = probeKernelFacts(strategy);
  const bind = strategy === "fd" ? "ioctl(LOOP_CONFIGURE)" : "ioctl(LOOP_SET_FD)";

  describe(`with ${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_FD"} attaching`, () => {
    test("the free device is held: attachLoop and a loop mount take another device at once, trying the held one once; the held one is left as it was", async () => {
      ws.fresh(`held-other-${strategy}`);
      const img = image();
      const t = dir("m");
      unmountAfter(t);
      await whileFreeDeviceHeld(async (held) => {
        // the case: another device is free (a machine that makes them only as GET_FREE asks may have none)
        cleanups.push(ensureAnotherFreeLoopDevice(held));
        // before, each of LOOP_ATTACH_BUSY's 99 tries got the held device again (EBUSY), ~25 s
        const rec = givingHeld(held);
        const sys = injectFaults(rec.sys, {});
        const attached = attachLoop(img, { facts, sys, autoclear: true });
        try {
          expect(attached.device).not.toBe(held);
          expect(loopDevicesOf(img).sysfs).toEqual([attached.device]);
        } finally {
          attached.close();
        }
        // GET_FREE asked once; the held device opened once to bind, once O_EXCL to tell why
        expect(rec.counts.getFree).toBe(1);
        expect(sys.log.filter((c) => c[0] === "open" && c[1] === held).map((c) => (Number(c[2]) & O.EXCL) !== 0)).toEqual([false, true]);
        // another device was free: none added
        expect(rec.added).toEqual([]);
        await expectFreed(img);

        const again = givingHeld(held);
        mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts, sys: again.sys });
        expect(again.counts.getFree).toBe(1);
        expect(sourceAt(t)).toMatch(/^\/dev\/loop\d+$/);
        expect(sourceAt(t)).not.toBe(held);
        unmountAll(t);
        await expectFreed(img);
        expect(existsSync(`/sys/block/loop${loopNumber(held)}/loop`)).toBe(false); // attached to nothing still
      });
    });

    test("the binary: loop attach FILE and mount -o loop, given the held device, take another and exit 0", async () => {
      const s = ws.fresh(`held-cli-${strategy}`);
      const img = image();
      const t = dir("m");
      unmountAfter(t);
      const env = { ...process.env, MOUNTKIT_STRATEGY: strategy };
      const log = s.path("strace.log");

      const attach = await runGivenHeld(
        () => tracedRun(log, ["loop", "attach", img], env),
        () => detachLoopDevicesOf(img),
      );
      const device = attach.result.stdout.trim(); // detached after the test if not here (image())
      // it was exit 32 after ~25 s: "another process bound each free loop device first"
      expect({ code: attach.result.code, stderr: attach.result.stderr, given: attach.result.given }).toEqual({ code: 0, stderr: "", given: [loopNumber(attach.held)] });
      expect(device).toMatch(/^\/dev\/loop\d+$/);
      expect(device).not.toBe(attach.held);
      expect(loopDevicesOf(img).sysfs).toEqual([device]);
      detachLoop(device);
      await expectFreed(img);

      // -v: the log says the held device was the one given, and passed over
      const mounted = await runGivenHeld(
        () => tracedRun(log, ["mount", "-v", "-t", "ext4", "-o", "loop", img, t], env),
        () => unmountAll(t),
      );
      const held = mounted.held;
      expect({ code: mounted.result.code, given: mounted.result.given }).toEqual({ code: 0, given: [loopNumber(held)] });
      expect(mounted.result.stderr).toContain(
        `mountkit: loop: LOOP_CTL_GET_FREE gave N = ${loopNumber(held)}: ${held}\nmountkit: loop: ${held} is attached to no file but held open exclusively (O_EXCL) by another process: looking for another device\n`,
      );
      expect(sourceAt(t)).not.toBe(held);
      unmountAll(t);
      await expectFreed(img);
    });

    test("no other device to be had (a static /dev with only the held node): fails at once, naming the held device; the device added for it is removed again", async () => {
      ws.fresh(`held-none-${strategy}`);
      const img = image();
      const t = dir("m");
      await whileFreeDeviceHeld(async (held) => {
        for (const run of ["attachLoop", "mount"] as const) {
          const rec = givingHeld(held, devWithOnly(held, true));
          const before = openFds();
          const err = caught(() =>
            run === "attachLoop" ? attachLoop(img, { facts, sys: rec.sys }) : mount({ type: "ext4", source: img, options: ["loop"] }, t, { facts, sys: rec.sys }),
          ) as SyscallError;
          expect(err).toBeInstanceOf(SyscallError);
          // one device added, whose node is missing, and removed again: the kernel no longer has it
          expect(rec.added).toHaveLength(1);
          const added = `/dev/loop${rec.added[0]}`;
          expect(rec.removed).toEqual(rec.added);
          expect(existsSync(`/sys/block/loop${rec.added[0]}`)).toBe(false);
          expect(rec.counts.getFree).toBe(1);
          expect({ syscall: err.syscall, errno: err.errnoName, paths: [...err.paths, ...err.details].filter(isLoopNode), exit: exitCodeFor(err) }).toEqual({ syscall: bind, errno: "EBUSY", paths: [held], exit: 32 });
          expect(err.hint).toBe(
            `${held} is attached to no file, but another process holds it open exclusively (O_EXCL), which keeps the kernel from attaching one, and LOOP_CTL_GET_FREE gives ${held} as the free device each time; no other device could be had (the one added for it, ${added}, has no node in /dev: a static /dev, as in a container): wait until that process closes it (fuser -v ${held} names it), or detach a loop device not in use`,
          );
          expect(newFds(before)).toEqual([]);
        }
        expect(loopDevicesOf(img).sysfs).toEqual([]);
        expect(mountsUnder(t)).toEqual([]);
      });
    });

    test("every other device attached (none listed free): the kernel adds one (LOOP_CTL_ADD) and the file is attached to it", async () => {
      ws.fresh(`held-add-${strategy}`);
      const img = image();
      await whileFreeDeviceHeld(async (held) => {
        const rec = givingHeld(held, devWithOnly(held, false));
        const attached = attachLoop(img, { facts, sys: rec.sys, autoclear: true });
        try {
          expect(rec.added).toHaveLength(1);
          expect(attached.device).toBe(`/dev/loop${rec.added[0]}`);
          expect(loopDevicesOf(img).sysfs).toEqual([attached.device]);
        } finally {
          attached.close();
        }
        await expectFreed(img);
        // attached, it is kept, as a device LOOP_CTL_GET_FREE adds is (the test's cleanup removes it)
        expect(rec.removed).toEqual([]);
      });
    });
  });
}

test("the device added for it refuses the file (EINVAL): that error, not the held one's, and the added device removed again", async () => {
  ws.fresh("held-add-refused");
  const img = image();
  await whileFreeDeviceHeld(async (held) => {
    const rec = givingHeld(held, devWithOnly(held, false));
    // the first LOOP_CONFIGURE is the held device's (the kernel's EBUSY), the second the added one's
    const sys = injectFaults(rec.sys, { loopConfigure: { calls: [2], errno: Errno.EINVAL, syscall: "ioctl(LOOP_CONFIGURE)" } });
    const before = openFds();
    const err = caught(() => attachLoop(img, { facts: probeKernelFacts("fd"), sys })) as SyscallError;
    expect({ syscall: err.syscall, errno: err.errnoName }).toEqual({ syscall: "ioctl(LOOP_CONFIGURE)", errno: "EINVAL" });
    expect(rec.added).toHaveLength(1);
    expect(err.details).toContain(`/dev/loop${rec.added[0]}`);
    expect(rec.removed).toEqual(rec.added);
    expect(existsSync(`/sys/block/loop${rec.added[0]}`)).toBe(false);
    expect(newFds(before)).toEqual([]);
    expect(loopDevicesOf(img).sysfs).toEqual([]);
  });
});

test("the added device's removal refused (EBUSY each time: another process keeps it open): the bind's error still ends the attach, the device is left and said so", async () => {
  ws.fresh("held-add-remove-refused");
  const img = image();
  await whileFreeDeviceHeld(async (held) => {
    const rec = givingHeld(held, devWithOnly(held, false));
    const sys = injectFaults(rec.sys, {
      loopConfigure: { calls: [2], errno: Errno.EINVAL, syscall: "ioctl(LOOP_CONFIGURE)" },
      loopCtlRemove: { calls: "always", errno: Errno.EBUSY, syscall: "ioctl(LOOP_CTL_REMOVE)" },
    });
    const log: string[] = [];
    const err = caught(() => attachLoop(img, { facts: probeKernelFacts("fd"), sys, log: (line) => log.push(line) })) as SyscallError;
    expect({ syscall: err.syscall, errno: err.errnoName }).toEqual({ syscall: "ioctl(LOOP_CONFIGURE)", errno: "EINVAL" });
    expect(rec.added).toHaveLength(1);
    expect(rec.removed).toEqual([]); // the refusal came before the real call: givingHeld's cleanup removes it
    expect(log).toContain(`loop: /dev/loop${rec.added[0]} not removed: ioctl(LOOP_CTL_REMOVE): EBUSY: another process has it`);
    expect(loopDevicesOf(img).sysfs).toEqual([]);
  });
});

test("a free device of the look that this process may not open (EACCES, injected: its mode or an LSM's policy) is passed over: the attach goes on to another", async () => {
  ws.fresh("held-other-refused-open");
  const img = image();
  await whileFreeDeviceHeld(async (held) => {
    cleanups.push(ensureAnotherFreeLoopDevice(held));
    // every loop node /dev has now but the held one refuses this process; one the kernel adds does not
    const existing = new Set(readdirSync("/dev").map((name) => `/dev/${name}`).filter((path) => isLoopNode(path) && path !== held));
    const rec = givingHeld(held);
    const sys: Syscalls = {
      ...rec.sys,
      open: (path, flags, mode) => {
        if (existing.has(path)) throw new SyscallError("open(2)", Errno.EACCES, [path]);
        return rec.sys.open(path, flags, mode);
      },
    };
    const log: string[] = [];
    // before, the first refused open ended the attach with its EACCES
    const attached = attachLoop(img, { facts: probeKernelFacts("fd"), sys, autoclear: true, log: (line) => log.push(line) });
    try {
      expect(rec.added).toHaveLength(1);
      expect(attached.device).toBe(`/dev/loop${rec.added[0]}`);
      expect(loopDevicesOf(img).sysfs).toEqual([attached.device]);
      expect(log.some((line) => /^loop: \/dev\/loop\d+: open\(2\): EACCES: not to be opened by this process, passed over$/.test(line))).toBe(true);
    } finally {
      attached.close();
    }
    await expectFreed(img);
  });
});
