// User namespace fds from a child that exits at once: real kernel, root, private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { closeUsernsFds, usernsFd } from "../../src/ops/idmap.ts";
import { closeUsernsCache, createUsernsFd, USERNS_CACHE_LIMIT, usernsCacheSize, usernsFdFor } from "../../src/ops/userns.ts";
import { idMappingPair, type IdMappingPair } from "../../src/plan/idmap-mapping.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { SIGNALS } from "../../src/sys/signal-numbers.ts";
import { children, notOurChild, recordingChildren } from "../support/processes.ts";
import { caught } from "../support/caught.ts";
import { fdChanges, openFds } from "../support/resources.ts";
import { requireRootNamespace } from "../support/root.ts";

beforeAll(requireRootNamespace);
afterEach(() => closeUsernsCache(libcSyscalls));

/** SigBlk of /proc/.../status as a bit set: bit n-1 is signal n. */
function sigBlk(statusPath: string): bigint {
  const line = readFileSync(statusPath, "utf8").split("\n").find((l) => l.startsWith("SigBlk:"))!;
  return BigInt(`0x${line.split(/\s+/)[1]}`);
}

const pair = (uid: string, gid = uid): IdMappingPair => idMappingPair(uid, gid, 4096, "test");

function expectNoChildLeft(cloned: readonly { pid: number }[], before: ReturnType<typeof children>) {
  expect(cloned.length).toBeGreaterThan(0);
  for (const c of cloned) expect(notOurChild(c.pid)).toBe(true);
  expect(children().filter((c) => c.state === "Z")).toEqual([]);
  expect(children().map((c) => c.pid).sort()).toEqual(before.map((c) => c.pid).sort());
}

describe("createUsernsFd", () => {
  test("an fd of a new user namespace; the child is reaped", () => {
    const sys = recordingChildren(libcSyscalls);
    const before = children();
    const fds = openFds();
    const fd = createUsernsFd(pair("0:100000:65536,65536:200000:1000"), sys);
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      expect(link).toMatch(/^user:\[\d+\]$/);
      expect(link).not.toBe(readlinkSync("/proc/self/ns/user"));
      expect(fdChanges(fds)).toEqual([expect.stringMatching(/^\+\d+ user:\[/)]); // the namespace fd only: the pidfd is closed
    } finally {
      libcSyscalls.close(fd);
    }
    expect(fdChanges(fds)).toEqual([]);
    expectNoChildLeft(sys.cloned, before);
  });

  test("the namespace has the maps and setgroups deny, written through files opened from the child", () => {
    const sys = injectFaults(libcSyscalls, {});
    const fd = createUsernsFd(pair("0:100000:65536,65536:200000:1000", "0:300000:10"), sys);
    try {
      // Seen from inside the namespace by a process that joins it through our fd.
      const inside = (file: string) => {
        const run = Bun.spawnSync(["nsenter", `--user=/proc/${process.pid}/fd/${fd}`, "cat", `/proc/self/${file}`]);
        expect(run.stderr.toString()).toBe("");
        return run.stdout.toString().trim().split("\n").map((line) => line.trim().split(/\s+/).join(" "));
      };
      expect(inside("uid_map")).toEqual(["0 100000 65536", "65536 200000 1000"]);
      expect(inside("gid_map")).toEqual(["0 300000 10"]);
      expect(inside("setgroups")).toEqual(["deny"]);
    } finally {
      libcSyscalls.close(fd);
    }
    const calls = sys.log.map((call) => call[0]);
    expect(calls.lastIndexOf("open")).toBeLessThan(calls.indexOf("writeOnce"));
    expect(calls.filter((c) => c === "writeOnce")).toHaveLength(3);
    expect(calls.lastIndexOf("writeOnce")).toBeLessThan(calls.indexOf("waitPidfd"));
  });

  test("the child runs with every signal blocked (no handler of ours runs in it); our mask is restored", () => {
    let childMask: bigint | undefined;
    const sys = {
      ...libcSyscalls,
      open(path: string, flags: number, mode?: number) {
        if (path.endsWith("/uid_map")) childMask = sigBlk(`${path.slice(0, -"uid_map".length)}status`);
        return libcSyscalls.open(path, flags, mode);
      },
    };
    const before = sigBlk("/proc/thread-self/status");
    libcSyscalls.close(createUsernsFd(pair("0:1000:1"), sys));
    for (const signal of [SIGNALS.SIGINT, SIGNALS.SIGTERM, SIGNALS.SIGCHLD, SIGNALS.SIGUSR1]) expect((childMask! >> BigInt(signal - 1)) & 1n).toBe(1n);
    expect(sigBlk("/proc/thread-self/status")).toBe(before);
  });

  test("each call is a new namespace", () => {
    const a = createUsernsFd(pair("0:1000:1"), libcSyscalls);
    const b = createUsernsFd(pair("0:1000:1"), libcSyscalls);
    try {
      expect(readlinkSync(`/proc/self/fd/${a}`)).not.toBe(readlinkSync(`/proc/self/fd/${b}`));
    } finally {
      libcSyscalls.close(a);
      libcSyscalls.close(b);
    }
  });

  test("200 in a row leave no child, zombie or fd", () => {
    const sys = recordingChildren(libcSyscalls);
    const before = children();
    const fds = openFds();
    for (let i = 0; i < 200; i++) libcSyscalls.close(createUsernsFd(pair(`0:${100000 + i}:1`), sys));
    expect(sys.cloned).toHaveLength(200);
    expect(fdChanges(fds)).toEqual([]);
    expectNoChildLeft(sys.cloned, before);
  });

  test("a map the kernel refuses: the error names the action and the child is gone", () => {
    // Built by hand past the parser, which refuses overlaps before any process exists.
    const overlapping: IdMappingPair = {
      uidmap: [{ containerId: 0, hostId: 1000, size: 10 }, { containerId: 5, hostId: 5000, size: 10 }],
      gidmap: [{ containerId: 0, hostId: 1000, size: 10 }],
    };
    const sys = recordingChildren(libcSyscalls);
    const before = children();
    const fds = openFds();
    let caught: unknown;
    try {
      createUsernsFd(overlapping, sys);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SyscallError);
    const err = caught as SyscallError;
    expect(err.errno).toBe(Errno.EINVAL);
    expect(err.message).toMatch(/^create user namespace uidmap=0:1000:10,5:5000:10 gidmap=0:1000:10: write\(2\): EINVAL/);
    expect(err.paths[0]).toMatch(/^\/proc\/\d+\/uid_map$/);
    expect(fdChanges(fds)).toEqual([]);
    expectNoChildLeft(sys.cloned, before);
  });

  for (const [what, faults] of [
    ["writing gid_map fails", { writeOnce: { calls: [3], errno: Errno.EPERM, syscall: "write(2)" } }],
    ["writing setgroups fails", { writeOnce: { calls: [2], errno: Errno.EACCES, syscall: "write(2)" } }],
    ["opening uid_map fails", { open: { calls: [1], errno: Errno.EACCES } }],
    ["opening gid_map fails", { open: { calls: [3], errno: Errno.EMFILE } }],
    ["opening the namespace fails", { open: { calls: [4], errno: Errno.EMFILE } }],
  ] as const) {
    test(`${what}: nothing is left`, () => {
      const sys = recordingChildren(injectFaults(libcSyscalls, faults));
      const before = children();
      const fds = openFds();
      expect(() => createUsernsFd(pair("0:100000:65536"), sys)).toThrow(/^create user namespace .*: (write|open)\(2\)/);
      expect(fdChanges(fds)).toEqual([]);
      expectNoChildLeft(sys.cloned, before);
    });
  }

  test("closing a map file, the pidfd or the namespace fd failing never replaces the error that ended the call", () => {
    const sys = recordingChildren(
      injectFaults(libcSyscalls, {
        // "after": the real calls are made (the child is reaped, the fds are closed), then fail
        waitPidfd: { calls: [1], errno: Errno.EINVAL, syscall: "waitid(2)", when: "after" },
        close: { calls: [1, 2, 3, 4, 5], errno: Errno.EIO, when: "after" }, // the three map files, the pidfd, the namespace fd
      }),
    );
    const before = children();
    const fds = openFds();
    const err = caught(() => createUsernsFd(pair("0:100000:65536"), sys));
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).message).toMatch(/^create user namespace .*: waitid\(2\): EINVAL/);
    expect(fdChanges(fds)).toEqual([]);
    expectNoChildLeft(sys.cloned, before);
  });

  test("an interrupted waitid is retried until the child is reaped", () => {
    const sys = recordingChildren(injectFaults(libcSyscalls, { waitPidfd: { calls: [1, 2], errno: Errno.EINTR } }));
    const before = children();
    libcSyscalls.close(createUsernsFd(pair("0:100000:65536"), sys));
    expectNoChildLeft(sys.cloned, before);
  });

  test("killed part-way (SIGKILL, which nothing can catch): the child does not live on", async () => {
    const run = Bun.spawn([process.execPath, join(import.meta.dir, "../support/fixtures/userns-stalled-create.ts"), "30"], { stdout: "pipe", stderr: "inherit" });
    let childPid = 0;
    let childStart = "";
    try {
      const reader = run.stdout.getReader();
      [childPid, childStart] = ((line) => [Number(line[0]), line[1]!] as const)(new TextDecoder().decode((await reader.read()).value).trim().split(" "));
      reader.releaseLock();
      expect(childPid).toBeGreaterThan(0);
    } finally {
      run.kill("SIGKILL");
      await run.exited;
    }
    // The child, reparented to init, is dead: reaped, or a zombie if init reaps slowly. A holder
    // that waited to be killed would sleep on (state S) for good.
    const childState = () => {
      try {
        const stat = readFileSync(`/proc/${childPid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return fields[19] === childStart ? fields[0]! : "gone"; // another process has the pid now
      } catch {
        return "gone";
      }
    };
    for (let tries = 0; tries < 100 && !["gone", "Z"].includes(childState()); tries++) await Bun.sleep(20);
    const state = childState();
    if (state !== "gone" && state !== "Z") process.kill(childPid, "SIGKILL"); // the same process still: leave none behind
    expect(["gone", "Z"]).toContain(state);
  });

  test("clone failing is reported with the action", () => {
    const sys = injectFaults(libcSyscalls, { cloneExitingChild: { calls: [1], errno: Errno.ENOSPC, syscall: "clone(2)" } });
    expect(() => createUsernsFd(pair("0:1:1"), sys)).toThrow("create user namespace uidmap=0:1:1 gidmap=0:1:1: clone(2): ENOSPC");
  });
});

describe("the per-process cache", () => {
  test("one namespace per (uidmap, gidmap) pair; closeUsernsFds closes them", () => {
    const sys = recordingChildren(libcSyscalls);
    const fds = openFds();
    const a = usernsFdFor(pair("0:100000:65536"), sys);
    expect(usernsFdFor(pair("0:100000:65536"), sys)).toBe(a);
    expect(usernsFdFor(pair("00:100000:65536"), sys)).toBe(a); // same mapping, other spelling
    const b = usernsFdFor(pair("0:100000:65536", "0:200000:65536"), sys);
    expect(b).not.toBe(a);
    expect(sys.cloned).toHaveLength(2);
    expect(usernsCacheSize()).toBe(2);
    expect(fdChanges(fds)).toEqual([expect.stringMatching(/^\+\d+ user:\[/), expect.stringMatching(/^\+\d+ user:\[/)]);
    expect(closeUsernsFds()).toBe(2);
    expect(usernsCacheSize()).toBe(0);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("a creation that failed caches nothing: the next call for the pair makes the namespace", () => {
    const fds = openFds();
    for (const faults of [
      { cloneExitingChild: { calls: [1], errno: Errno.ENOSPC, syscall: "clone(2)" } },
      { writeOnce: { calls: [3], errno: Errno.EPERM, syscall: "write(2)" } },
    ] as const) {
      expect(() => usernsFd("0:100000:65536", "0:100000:65536", { sys: injectFaults(libcSyscalls, faults) })).toThrow(SyscallError);
      expect(usernsCacheSize()).toBe(0);
      expect(fdChanges(fds)).toEqual([]);
    }
    const sys = recordingChildren(libcSyscalls);
    const fd = usernsFd("0:100000:65536", "0:100000:65536", { sys });
    try {
      expect(sys.cloned).toHaveLength(1);
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^user:\[/);
      expect(usernsCacheSize()).toBe(1);
    } finally {
      libcSyscalls.close(fd);
    }
  });

  test("usernsFd parses the option syntax and refuses bad mappings before any child", () => {
    const sys = recordingChildren(libcSyscalls);
    expect(() => usernsFd("0:1:1", "0:1:-1", { sys })).toThrow(PlanError);
    expect(sys.cloned).toHaveLength(0);
    const fd = usernsFd("0:100000:65536", "0:100000:65536", { sys });
    try {
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toMatch(/^user:/);
    } finally {
      libcSyscalls.close(fd);
    }
  });

  test("usernsFd hands out the caller's own fd: closing it keeps the cache's, and evictions never retarget it", () => {
    const fds = openFds();
    const mine = usernsFd("0:100000:65536", "0:100000:65536");
    const namespace = readlinkSync(`/proc/self/fd/${mine}`);
    const cached = usernsFdFor(pair("0:100000:65536"), libcSyscalls);
    expect(mine).not.toBe(cached);
    expect(readlinkSync(`/proc/self/fd/${cached}`)).toBe(namespace); // the same namespace, another fd
    // Enough other pairs to evict it: the cache closes its fd, and new namespaces take free numbers.
    for (let i = 0; i < USERNS_CACHE_LIMIT; i++) usernsFdFor(pair(`0:${200000 + i}:1`), libcSyscalls);
    expect(readlinkSync(`/proc/self/fd/${mine}`)).toBe(namespace);
    libcSyscalls.close(mine);
    const again = usernsFd("0:100000:65536", "0:100000:65536");
    libcSyscalls.close(again);
    expect(readlinkSync(`/proc/self/fd/${usernsFdFor(pair("0:100000:65536"), libcSyscalls)}`)).toMatch(/^user:/);
    closeUsernsFds();
    expect(fdChanges(fds)).toEqual([]);
  });

  test("the duplicate failing: the error names the action, the cache keeps its fd, no fd is left", () => {
    usernsFdFor(pair("0:100000:65536"), libcSyscalls);
    const fds = openFds();
    const sys = injectFaults(libcSyscalls, { dupCloexec: { calls: [1], errno: Errno.EMFILE, syscall: "fcntl(2)" } });
    expect(() => usernsFd("0:100000:65536", "0:100000:65536", { sys })).toThrow(
      "duplicate the user namespace fd for uidmap=0:100000:65536 gidmap=0:100000:65536: fcntl(2): EMFILE",
    );
    expect(fdChanges(fds)).toEqual([]);
    expect(usernsCacheSize()).toBe(1);
  });

  test("a close that fails while evicting or closing them all loses no fd and stops nothing", () => {
    const fds = openFds();
    for (let i = 0; i < USERNS_CACHE_LIMIT; i++) usernsFdFor(pair(`0:${200000 + i}:1`), libcSyscalls);
    // the eviction's close fails (after closing, as Linux does): the new namespace is still cached
    const evicting = injectFaults(libcSyscalls, { close: { calls: [5], errno: Errno.EIO, when: "after" } });
    const fd = usernsFdFor(pair("0:100000:65536"), evicting);
    expect(evicting.log.filter((c) => c[0] === "close")).toHaveLength(5); // three map files, the pidfd, then the evicted fd
    expect(usernsFdFor(pair("0:100000:65536"), libcSyscalls)).toBe(fd);
    expect(usernsCacheSize()).toBe(USERNS_CACHE_LIMIT);
    const closing = injectFaults(libcSyscalls, { close: { calls: [1], errno: Errno.EIO, when: "after" } });
    expect(closeUsernsCache(closing)).toBe(USERNS_CACHE_LIMIT);
    expect(closing.counts.close).toBe(USERNS_CACHE_LIMIT);
    expect(fdChanges(fds)).toEqual([]);
  });

  test("eviction is least recently used: a hit keeps its namespace cached", () => {
    const sys = recordingChildren(libcSyscalls);
    const kept = usernsFdFor(pair("0:100000:65536"), sys);
    for (let i = 1; i < USERNS_CACHE_LIMIT; i++) usernsFdFor(pair(`0:${200000 + i}:1`), sys);
    expect(usernsCacheSize()).toBe(USERNS_CACHE_LIMIT);
    expect(usernsFdFor(pair("0:100000:65536"), sys)).toBe(kept); // a hit: now the most recently used
    usernsFdFor(pair("0:300000:1"), sys); // one more: the least recently used goes
    expect(usernsCacheSize()).toBe(USERNS_CACHE_LIMIT);
    const clones = sys.cloned.length;
    expect(usernsFdFor(pair("0:100000:65536"), sys)).toBe(kept);
    expect(sys.cloned).toHaveLength(clones); // still cached: no new namespace
    usernsFdFor(pair("0:200001:1"), sys); // the first of the others was the one evicted
    expect(sys.cloned).toHaveLength(clones + 1);
  });
});
