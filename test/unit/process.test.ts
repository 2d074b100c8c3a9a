// The helper runner (posix_spawn + waitpid through bun:ffi) and the "after" fault mode.
// Runs real processes; needs no root.
import { describe, expect, test } from "bun:test";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { close, O, open } from "../../src/sys/fd.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { decodeStatus, PROCESS_OUTPUT_LIMIT, runProcess } from "../../src/sys/process.ts";
import type { Syscalls } from "../../src/sys/seam.ts";

describe("runProcess", () => {
  test("argv reaches the program item by item; stdout and stderr are captured together, in order", () => {
    const exit = runProcess("/bin/sh", ["sh", "-c", 'echo "$#:$1|$2"; echo err >&2; echo out; exit 7', "x", "a b", "$(no shell)"]);
    expect(exit.exitCode).toBe(7);
    expect(exit.signal).toBeNull();
    expect(exit.output).toBe("2:a b|$(no shell)\nerr\nout\n");
    expect(exit.pid).toBeGreaterThan(0);
  });

  test("capture-each: stdout and stderr kept apart (stdin /dev/null); output holds both, stdout's first", () => {
    const exit = runProcess("/bin/sh", ["sh", "-c", "echo err >&2; echo out; readlink /proc/self/fd/0; echo more >&2; exit 4"], [], "capture-each");
    expect(exit).toMatchObject({ exitCode: 4, stdout: "out\n/dev/null\n", stderr: "err\nmore\n", output: "out\n/dev/null\nerr\nmore\n" });
    expect(runProcess("/bin/sh", ["sh", "-c", "echo both"], [])).not.toHaveProperty("stdout");
  });

  test("stdin is /dev/null; no fd above 2 is inherited; signals are unblocked and at their defaults", () => {
    const held = open("/proc/self/status", O.RDONLY); // open(2) without O_CLOEXEC: inheritable
    try {
      const exit = runProcess("/bin/sh", [
        "sh",
        "-c",
        "readlink /proc/self/fd/0; ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; grep -E '^Sig(Blk|Ign)' /proc/self/status",
      ]);
      const [stdin, fds, blocked, ignored] = exit.output.trim().split("\n");
      expect(stdin).toBe("/dev/null");
      expect(fds!.trim()).toBe("0 1 2 3"); // 3 is ls's own directory fd
      expect(blocked).toBe("SigBlk:\t0000000000000000");
      // glibc keeps its two internal real-time signals ignored; nothing else is
      expect(BigInt(`0x${ignored!.split("\t")[1]}`) & ~0x180000000n).toBe(0n);
    } finally {
      close(held);
    }
  });

  test("env is the child's whole environment; without it the child gets this process's", () => {
    expect(runProcess("/usr/bin/env", ["env"], ["A=1", "B=two words"]).output).toBe("A=1\nB=two words\n");
    process.env.MOUNTKIT_TEST_INHERITED = "yes";
    try {
      expect(runProcess("/usr/bin/env", ["env"]).output).toContain("MOUNTKIT_TEST_INHERITED=yes\n");
    } finally {
      delete process.env.MOUNTKIT_TEST_INHERITED;
    }
  });

  test("a signal death is reported as the signal", () => {
    const exit = runProcess("/bin/sh", ["sh", "-c", "kill -TERM $$"]);
    expect(exit).toMatchObject({ exitCode: null, signal: 15 });
  });

  test("output past the limit is cut, not read forever", () => {
    const exit = runProcess("/bin/sh", ["sh", "-c", `head -c ${PROCESS_OUTPUT_LIMIT * 2} /dev/zero | tr '\\0' x`]);
    expect(exit.exitCode).toBe(0);
    expect(exit.output.length).toBe(PROCESS_OUTPUT_LIMIT);
  });

  test("a program that does not exist is a posix_spawn ENOENT naming it", () => {
    let err: unknown;
    try {
      runProcess("/nonexistent/mount.fuse3", ["mount.fuse3"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errno).toBe(Errno.ENOENT);
    expect((err as SyscallError).message).toBe("/nonexistent/mount.fuse3: posix_spawn(3): ENOENT (No such file or directory)");
  });

  test("decodeStatus follows <sys/wait.h>", () => {
    expect(decodeStatus(0)).toEqual({ exitCode: 0, signal: null });
    expect(decodeStatus(3 << 8)).toEqual({ exitCode: 3, signal: null });
    expect(decodeStatus(9)).toEqual({ exitCode: null, signal: 9 });
    expect(decodeStatus(0x80 | 11)).toEqual({ exitCode: null, signal: 11 }); // core dumped
  });
});

describe("fault injection after the real call", () => {
  test('"after" makes the call, then replaces its result; "before" does not make it', () => {
    const made: string[] = [];
    const fake = {
      runProcess: (path: string) => {
        made.push(path);
        return { pid: 1, exitCode: 0, signal: null, output: "" };
      },
    } as unknown as Syscalls;
    const after = injectFaults(fake, { runProcess: { calls: [1], errno: Errno.ECHILD, when: "after" } });
    expect(() => after.runProcess("/h", ["h"], [])).toThrow(/ECHILD/);
    expect(made).toEqual(["/h"]);
    expect(after.runProcess("/h", ["h"], []).exitCode).toBe(0);
    expect(made).toEqual(["/h", "/h"]);

    const before = injectFaults(fake, { runProcess: { calls: [1], errno: Errno.ECHILD } });
    expect(() => before.runProcess("/b", ["b"], [])).toThrow(/runProcess\(2\): ECHILD/);
    expect(made).toEqual(["/h", "/h"]);
  });
});
