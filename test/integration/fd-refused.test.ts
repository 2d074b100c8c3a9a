// An fd argument of the syscall seam that no C int holds as that fd: bun:ffi passes NaN,
// undefined, null, 0.5 and 2^32 as 0 (stdin), so close(NaN) closed stdin and a stat of a bad
// dfd answered for /dev/null; a string was a TypeError from inside bun:ffi. Each is refused
// before the call (EBADF, naming the call, the argument and the value), run in a child whose
// stdin is /dev/null (support/fixtures/bad-fd-calls.ts): were one made, it would act on that.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { readdirSync } from "node:fs";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s?.dispose());

const FIXTURE = join(import.meta.dir, "../support/fixtures/bad-fd-calls.ts");

interface Outcome {
  call: string;
  argument: string;
  /** a directory fd argument, which AT_FDCWD may be */
  directory: boolean;
  value: string;
  syscall?: string;
  errnoName?: string;
  details?: string[];
  returned?: string;
  threw?: string;
}

test("every fd and directory fd argument of the seam: a value that is no fd is refused before the call, EBADF naming it", () => {
  s = scratch("badfd");
  const child = Bun.spawnSync([process.execPath, FIXTURE], { cwd: s.dir, stdin: "ignore", stderr: "pipe" });
  expect(child.stderr.toString()).toBe("");
  expect(child.exitCode).toBe(0);
  const outcomes = child.stdout.toString().trim().split("\n").map((line) => JSON.parse(line) as Outcome);
  // 14 directory fd arguments with 9 values, 33 fd arguments with 8
  expect(outcomes).toHaveLength(14 * 9 + 33 * 8);
  for (const o of outcomes) {
    const range = o.directory ? "a whole number from 0 to 2147483647, or AT_FDCWD" : "a whole number from 0 to 2147483647";
    expect({ call: o.call, argument: o.argument, value: o.value, errnoName: o.errnoName, details: o.details }).toEqual({
      call: o.call,
      argument: o.argument,
      value: o.value,
      errnoName: "EBADF",
      details: [`not called: its ${o.argument} ${o.value} is no file descriptor (${range})`],
    });
    expect(o.syscall).toMatch(/^[a-z_0-9]+\(2\)$|^ioctl\([A-Z_0-9]+\)$/);
  }
  // the calls' own names, as their failures name them
  const named = new Map(outcomes.map((o) => [o.call, o.syscall]));
  expect(Object.fromEntries(["close", "readAt", "fsContextMessages", "loopSetFd", "statxNode", "moveMount", "waitPidfd"].map((c) => [c, named.get(c)]))).toEqual({
    close: "close(2)",
    readAt: "pread(2)",
    fsContextMessages: "read(2)",
    loopSetFd: "ioctl(LOOP_SET_FD)",
    statxNode: "statx(2)",
    moveMount: "move_mount(2)",
    waitPidfd: "waitid(2)",
  });
  // nothing made in the working directory (mkdirat, mknodat, symlinkat at a dfd read as AT_FDCWD) but the fixture's file
  expect(readdirSync(s.dir)).toEqual(["file"]);
  expect(mountsUnder(s.dir)).toEqual([]);
});
