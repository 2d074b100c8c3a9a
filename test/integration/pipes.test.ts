// Reading and writing whole texts through pipes as the CLI meets them: a non-blocking stdin
// whose writer is slow, a non-blocking stdout whose reader is slow (EAGAIN until it reads), a
// reader that is gone (EPIPE), an fd that cannot be written (EBADF). Real pipes, real children.
import { expect, test } from "bun:test";
import { dlopen } from "bun:ffi";
import { writeAll } from "../../src/sys/fd.ts";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { readTextFd } from "../../src/sys/file.ts";
import { close, isTerminal, O, open } from "../../src/sys/fd.ts";
import { caught } from "../support/caught.ts";

const libc = dlopen("libc.so.6", {
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" },
}).symbols;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const F_SETFL = 4;

/** A pipe [read end, write end], close-on-exec, with O_NONBLOCK on the chosen end only. */
function pipe(nonBlocking: "read" | "write"): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe2(fds, O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  const [r, w] = [fds[0]!, fds[1]!];
  // Only our end: the child's end is its own open file, blocking as a program expects.
  if (libc.fcntl(nonBlocking === "read" ? r : w, F_SETFL, O_NONBLOCK) !== 0) throw new Error("fcntl failed");
  return [r, w];
}

test("readTextFd waits on a non-blocking pipe until its slow writer writes and closes (EAGAIN meanwhile)", async () => {
  const [r, w] = pipe("read");
  try {
    const child = Bun.spawn(["sh", "-c", "sleep 0.2; printf 'late '; sleep 0.1; printf text"], { stdin: "ignore", stdout: w });
    close(w); // the child holds the only write end: EOF comes when it exits
    expect(readTextFd(r, "stdin")).toBe("late text");
    expect(await child.exited).toBe(0);
  } finally {
    close(r);
  }
});

test("writeAll waits on a full non-blocking pipe until its slow reader has taken everything", async () => {
  const [r, w] = pipe("write");
  let writeOpen = true;
  try {
    const child = Bun.spawn(["sh", "-c", "sleep 0.2; wc -c"], { stdin: r, stdout: "pipe" });
    close(r);
    const text = "mountkit\n".repeat(40_000); // 360,000 bytes: several times a pipe's 64 KiB
    writeAll(w, text);
    close(w);
    writeOpen = false;
    expect((await new Response(child.stdout).text()).trim()).toBe(String(text.length));
    expect(await child.exited).toBe(0);
  } finally {
    if (writeOpen) close(w);
  }
});

test("writeAll ends quietly when the reader is gone (EPIPE), and names any other failure", () => {
  const [r, w] = pipe("write");
  close(r);
  try {
    expect(() => writeAll(w, "nobody reads this\n")).not.toThrow(); // SIGPIPE is ignored in Bun
  } finally {
    close(w);
  }
  const readOnly = open("/dev/null", O.RDONLY | O.CLOEXEC);
  try {
    const err = caught(() => writeAll(readOnly, "x"));
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).toMatchObject({ syscall: "write(2)", errno: Errno.EBADF });
  } finally {
    close(readOnly);
  }
});

test("isTerminal: a pty is a terminal (what draws a batch's progress line), a pipe and a file are not", () => {
  const pty = open("/dev/ptmx", O.RDWR | O.CLOEXEC); // the master side of a new pseudo-terminal
  const [r, w] = pipe("read");
  const file = open("/dev/null", O.RDONLY | O.CLOEXEC);
  try {
    expect(isTerminal(pty)).toBe(true);
    expect(isTerminal(r)).toBe(false);
    expect(isTerminal(w)).toBe(false);
    expect(isTerminal(file)).toBe(false);
    expect(isTerminal(-1)).toBe(false);
  } finally {
    for (const fd of [pty, r, w, file]) close(fd);
  }
});
