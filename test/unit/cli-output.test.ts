// reportError: one line on stderr whatever failed while cleaning up; --json keeps every part.
import { expect, test } from "bun:test";
import { chunkedOutput, errorJson, failuresJson, messageLine, oneLine, printResult, reportError, stderrMessages, terminalSafe, warningLine, type Io } from "../../src/cli/output.ts";
import { Errno } from "../../src/errno.ts";
import { BatchError, exitCodeFor, HelperError, PlanError, ReportedError, SyscallError } from "../../src/errors.ts";

function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: "", stderr: "", out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

function failureWithCleanups(): SyscallError {
  const err = new SyscallError("mount(2)", Errno.EINVAL, ["/t"]).withAction("mount overlay on /t", "check the options");
  err.cleanupErrors.push(new SyscallError("umount2(2)", Errno.EBUSY, ["/tmp/a"]).withAction("unmount /tmp/a"));
  err.cleanupErrors.push(new PlanError("rmdir /tmp/b:\nleft in place"));
  err.cleanupErrors.push("not an Error");
  return err;
}

test("cleanup failures follow the error on the same line", () => {
  const io = capture();
  expect(reportError(io, failureWithCleanups(), false)).toBe(32);
  expect(io.stderr).toBe(
    "mountkit: mount overlay on /t: mount(2): EINVAL (Invalid argument) (check the options)" +
      "; while cleaning up: unmount /tmp/a: umount2(2): EBUSY (Device or resource busy)" +
      "; while cleaning up: rmdir /tmp/b:\\nleft in place" +
      "; while cleaning up: not an Error\n",
  );
  expect(io.stdout).toBe("");
});

test("--json: the same one stderr line, and every cleanup error in the error object", () => {
  const io = capture();
  expect(reportError(io, failureWithCleanups(), true)).toBe(32);
  expect(io.stderr.split("\n")).toHaveLength(2);
  const doc = JSON.parse(io.stdout);
  expect(doc).toMatchObject({ ok: false, exitCode: 32, error: { kind: "syscall", hint: "check the options" } });
  expect(doc.error.cleanupErrors).toEqual([
    expect.objectContaining({ kind: "syscall", errnoName: "EBUSY" }),
    expect.objectContaining({ kind: "plan", message: "rmdir /tmp/b:\nleft in place" }),
    "not an Error",
  ]);
});

test("an error rebuilt from a process's --json (mount -a -F's ReportedError) reports as the process did, cleanups included", () => {
  const original = capture();
  reportError(original, failureWithCleanups(), true);
  const reported = new ReportedError(JSON.parse(original.stdout).error);
  expect(reported.kind).toBe("syscall");
  expect(exitCodeFor(reported)).toBe(32);
  expect(reported.cleanupErrors.map((c) => (c instanceof ReportedError ? c.kind : c))).toEqual(["syscall", "plan", "not an Error"]);
  const text = capture();
  const textBefore = capture();
  expect(reportError(text, reported, false)).toBe(32);
  reportError(textBefore, failureWithCleanups(), false);
  expect(text.stderr).toBe(textBefore.stderr);
  const json = capture();
  reportError(json, reported, true);
  expect(JSON.parse(json.stdout).error).toEqual(JSON.parse(original.stdout).error);
  // a kind it does not know is reported as a mount failure (exit 32), never dropped
  expect(new ReportedError({ kind: "weird", message: "m" }).kind).toBe("mount");
  expect(exitCodeFor(new ReportedError({ kind: "plan", message: "refused" }))).toBe(1);
  expect(new ReportedError({ nothing: 1 }).message).toBe('{"nothing":1}');
});

test("without cleanup errors: the message and hint only", () => {
  const io = capture();
  expect(reportError(io, new HelperError("mount.fuse3 failed", "mount.fuse3", [], 1, ""), false)).toBe(32);
  expect(io.stderr).toBe("mountkit: mount.fuse3 failed\n");
  expect(oneLine("a\nb")).toBe("a\\nb");
});

test("terminalSafe escapes what a terminal acts on: C0 but tab and newline, DEL, C1, and a held byte 0x80-0x9f", () => {
  expect(terminalSafe("mountkit: /a\u001b[31mred\u001b]0;title\u0007\r\u007f\u009b2J\tok\n")).toBe(
    // a carriage return as quotePath writes it (JSON's \r; it was \u000d here)
    "mountkit: /a\\u001b[31mred\\u001b]0;title\\u0007\\r\\u007f\\u009b2J\tok\n",
  );
  // a byte that is not UTF-8, as path-text.ts holds it: 0x9b (CSI to an 8-bit terminal) escaped, 0xe9 kept
  expect(terminalSafe("caf\udce9 \udc9b")).toBe("caf\udce9 \\x9b");
  // stdout keeps such a byte, as findmnt -J writes it; characters are escaped all the same
  expect(terminalSafe("caf\udce9 \udc9b \u009b", false)).toBe("caf\udce9 \udc9b \\u009b");
  // text that is plain, and valid characters beyond (one whose low surrogate is \udc80), unchanged
  expect(terminalSafe("/mnt/données/💀 é ü\n")).toBe("/mnt/données/💀 é ü\n");
});

test("printResult: ok is exitCode 0; a field left undefined is left out", () => {
  const io = capture();
  printResult(io, 0, { device: "/dev/loop0", error: undefined });
  printResult(io, 64, { results: [] });
  const [ok, partial] = io.stdout.split(/\n(?=\{)/).map((doc) => JSON.parse(doc));
  expect(ok).toEqual({ ok: true, exitCode: 0, device: "/dev/loop0" });
  expect(partial).toEqual({ ok: false, exitCode: 64, results: [] });
});

test("failuresJson: the one failure itself when it was all that was tried, else a batch error shaped as BatchError's", () => {
  const a = new SyscallError("umount2(2)", Errno.EINVAL, ["/a"]).withAction("unmount /a", "not mounted");
  const b = new PlanError("unmount /b: not mounted");
  expect(failuresJson("umount", [], 2)).toBeUndefined();
  expect(failuresJson("umount", [a], 0)).toEqual(a.toJSON());
  expect(failuresJson("umount", [a], 1)).toEqual(new BatchError("umount", [a], 1).toJSON());
  expect(failuresJson("umount", [a, b], 0)).toEqual(new BatchError("umount", [a, b], 0).toJSON());
  // what is no MountkitError (a bug) is an internal error, its message kept
  expect(errorJson(new TypeError("x is undefined"))).toEqual({ kind: "internal", message: "x is undefined" });
  expect(failuresJson("loop detach", [a, "boom"], 0)).toMatchObject({ kind: "batch", errors: [a.toJSON(), { kind: "internal", message: "boom" }] });
});

test("messageLine and stderrMessages: mountkit's one line on stderr, a command's label after its name", () => {
  expect(messageLine("/a\nb: busy - remounted read-only")).toBe("mountkit: /a\\nb: busy - remounted read-only\n");
  const io = capture();
  stderrMessages(io)("in mount namespace 1 (was 2)");
  stderrMessages(io, "mount -a")("/m: WARNING: source write-protected, mounted read-only");
  expect(io.stderr).toBe("mountkit: in mount namespace 1 (was 2)\nmountkit: mount -a: /m: WARNING: source write-protected, mounted read-only\n");
  expect(io.stdout).toBe("");
});

test("warningLine: a failure's line, said as a warning (hint and cleanups included)", () => {
  expect(warningLine(failureWithCleanups())).toStartWith("mountkit: warning: mount overlay on /t: mount(2): EINVAL (Invalid argument) (check the options); while cleaning up: ");
});

test("chunkedOutput: what is written goes out in pieces of about 64 KB, in order, and the rest at end()", () => {
  const pieces: string[] = [];
  const { write, end } = chunkedOutput({ out: (t) => void pieces.push(t), err: () => {} });
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"x".repeat(i % 50)}\n`);
  for (const l of lines) write(l);
  const before = pieces.length;
  end();
  expect(pieces.join("")).toBe(lines.join(""));
  expect(before).toBeGreaterThan(5);
  expect(pieces.length).toBe(before + 1);
  for (const p of pieces.slice(0, -1)) expect(p.length).toBeGreaterThanOrEqual(64 * 1024);
  const small: string[] = [];
  const one = chunkedOutput({ out: (t) => void small.push(t), err: () => {} });
  one.write("a\n");
  one.write("b\n");
  expect(small).toEqual([]);
  one.end();
  one.end();
  expect(small).toEqual(["a\nb\n"]);
});
