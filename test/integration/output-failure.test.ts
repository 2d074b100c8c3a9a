// The binary's output when stdout cannot be written (/dev/full: ENOSPC): the work is done all
// the same, the loss is reported once at the end ("write error", as util-linux says it) and a
// success becomes exit 2; a full stderr changes nothing. Root, private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch> | undefined;
afterEach(() => {
  s?.dispose();
  s = undefined;
});

const WRITE_ERROR = "mountkit: write error: ENOSPC (No space left on device)\n";

/** Run the binary with its stdout (or stderr) on /dev/full. */
function toFull(args: readonly string[], stream: "stdout" | "stderr" = "stdout") {
  const full = Bun.file("/dev/full");
  const proc = Bun.spawnSync([BINARY, ...args], { stdin: "ignore", stdout: stream === "stdout" ? full : "pipe", stderr: stream === "stderr" ? full : "pipe" });
  return { code: proc.exitCode, stdout: proc.stdout?.toString() ?? "", stderr: proc.stderr?.toString() ?? "" };
}

test("--version and findmnt with stdout on a full device: exit 2 and one line on stderr, not a stack trace", () => {
  expect(toFull(["--version"])).toEqual({ code: 2, stdout: "", stderr: WRITE_ERROR });
  expect(toFull(["findmnt", "-n", "-o", "TARGET", "/"])).toEqual({ code: 2, stdout: "", stderr: WRITE_ERROR });
  // nothing to write, nothing lost: the command's own status
  expect(toFull(["findmnt", "/nonexistent-mountkit-path"]).code).toBe(1);
});

test("apply --json with stdout on a full device mounts every entry and keeps them (the result is lost, not the work)", () => {
  s = scratch("output-full");
  const list = s.path("list.json");
  writeFileSync(list, JSON.stringify(["a", "b", "c"].map((n) => ({ type: "tmpfs", source: `full-${n}`, target: `/${n}`, options: [] }))));
  const result = toFull(["apply", "--root", s.dir, "--mkdir", "--json", list]);
  expect(result).toEqual({ code: 2, stdout: "", stderr: WRITE_ERROR });
  expect(mountsUnder(s.dir).map((m) => m.source)).toEqual(["full-a", "full-b", "full-c"]);
  for (const n of ["c", "b", "a"]) expect(Bun.spawnSync([BINARY, "umount", s.path(n)]).exitCode).toBe(0);
});

test("a full stderr changes no status", () => {
  expect(toFull(["findmnt", "/nonexistent-mountkit-path"], "stderr").code).toBe(1);
  expect(toFull(["mount", "-t", "tmpfs", "x", "/nonexistent-mountkit-path"], "stderr").code).toBe(32);
  const ok = toFull(["--version"], "stderr");
  expect(ok.code).toBe(0);
  expect(ok.stdout).toStartWith("mountkit ");
});
