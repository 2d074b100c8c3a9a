// The binary started with stdout (or stdin, stderr) closed outright (`mountkit ... >&-`), not
// redirected: what it prints is dropped and its status is its own, as util-linux 2.38's
// findmnt and losetup (close_stdout lets EBADF pass); and no process it starts begins with one
// of those fds closed, where the first file it opened would become its stdout. Root, private
// mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

let s: ReturnType<typeof scratch> | undefined;
afterEach(() => {
  s?.dispose();
  s = undefined;
});

/**
 * Run argv with the fds `closed` names closed by the shell that execs it (`>&-`), and the rest
 * piped (stdin: /dev/null); `prefix` runs before the exec (a `trap`).
 */
function runClosed(argv: readonly string[], closed = ">&-", prefix = "") {
  const proc = Bun.spawnSync(["/bin/sh", "-c", `${prefix}exec "$0" "$@" ${closed}`, ...argv], { stdin: "ignore", env: { ...process.env, MOUNTKIT_STRATEGY: "" } });
  if (proc.exitCode === null) throw new Error(`${argv.join(" ")}: killed by ${proc.signalCode}`);
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

const silentSuccess = { code: 0, stdout: "", stderr: "" };

/** A script that writes where its fds 0, 1 and 2 lead ("closed" for none) to `log`, one per line. */
function fdReporter(path: string, log: string): void {
  const lines = [
    "#!/bin/sh",
    // read from the shell's own /proc entry by a child, so no redirection of ours is seen
    "a=$(/usr/bin/readlink /proc/$$/fd/0) || a=closed",
    "b=$(/usr/bin/readlink /proc/$$/fd/1) || b=closed",
    "c=$(/usr/bin/readlink /proc/$$/fd/2) || c=closed",
    `printf '%s\\n' "$a" "$b" "$c" > ${log}`,
    "",
  ];
  writeFileSync(path, lines.join("\n"));
  chmodSync(path, 0o755);
}

test("stdout closed: util-linux findmnt and losetup exit 0 in silence, and so does mountkit, work done", () => {
  expect(runClosed(["findmnt"])).toEqual(silentSuccess);
  expect(runClosed(["losetup", "--list"])).toEqual(silentSuccess);

  for (const args of [["--version"], ["findmnt"], ["findmnt", "--json"], ["loop", "list"], ["loop", "list", "--json"], ["features"], ["features", "--json"]]) {
    expect({ args, ...runClosed([BINARY, ...args]) }).toEqual({ args, ...silentSuccess });
  }
  // a command that fails keeps its status and its message
  expect(runClosed([BINARY, "findmnt", "/nonexistent-mountkit-path"]).code).toBe(1);

  s = scratch("closed-stdout");
  const target = s.path("t");
  mkdirSync(target);
  expect(runClosed([BINARY, "mount", "--json", "-t", "tmpfs", "closed-stdout", target])).toEqual(silentSuccess);
  expect(mountsUnder(s.dir).map((m) => m.source)).toEqual(["closed-stdout"]);
  expect(runClosed([BINARY, "umount", target])).toEqual(silentSuccess);
  expect(mountsUnder(s.dir)).toEqual([]);
});

test("stdout closed: mountkit's own fd 1 is /dev/null (Bun's, at start-up), so nothing it opens becomes its stdout; COMMAND gets /dev/null too", () => {
  s = scratch("closed-self");
  const list = s.path("empty.json");
  writeFileSync(list, "[]");
  const log = s.path("fds.log");
  // with-mounts runs COMMAND by Bun.spawn: its parent is mountkit itself
  const script = `m=$(/usr/bin/readlink /proc/$PPID/fd/1); c=$(/usr/bin/readlink /proc/$$/fd/1); printf '%s\\n' "$m" "$c" > ${log}`;
  expect(runClosed([BINARY, "with-mounts", list, "--", "/bin/sh", "-c", script])).toEqual(silentSuccess);
  expect(readFileSync(log, "utf8")).toBe("/dev/null\n/dev/null\n");
});

test("a mount.TYPE helper run while stdin, stdout or stderr is closed gets /dev/null there, not a closed fd", () => {
  s = scratch("closed-helper");
  const helpers = s.path("helpers");
  mkdirSync(helpers);
  const log = s.path("fds.log");
  // exits 0 without mounting: mountkit takes the helper's word, as mount(8)
  fdReporter(`${helpers}/mount.mkclosed`, log);
  const target = s.path("t");
  mkdirSync(target);
  const argv = [BINARY, "mount", "--helper-dir", helpers, "-t", "mkclosed", "src", target];

  // Bun stands /dev/null in O_CLOEXEC for what the caller closed: posix_spawn's child lost it
  expect(runClosed(argv, "<&- >&- 2>&-").code).toBe(0);
  expect(readFileSync(log, "utf8")).toBe("/dev/null\n/dev/null\n/dev/null\n");
  // --json: the helper's stdout is mountkit's stderr (dup2(2, 1)), here closed too
  expect(runClosed([...argv.slice(0, 2), "--json", ...argv.slice(2)], ">&- 2>&-").code).toBe(0);
  expect(readFileSync(log, "utf8")).toBe("/dev/null\n/dev/null\n/dev/null\n");
  // stdout only: stderr is still the test's pipe (a socket pair, as Bun makes them)
  const run = runClosed(argv);
  expect(run).toEqual(silentSuccess);
  expect(readFileSync(log, "utf8")).toMatch(/^\/dev\/null\n\/dev\/null\n(pipe|socket):\[\d+\]\n$/);
  expect(mountsUnder(s.dir)).toEqual([]);
});

test("with-mounts' COMMAND started through posix_spawnp (a signal ignored: nohup) gets /dev/null for a closed stdout", () => {
  s = scratch("closed-command");
  const list = s.path("empty.json");
  writeFileSync(list, "[]");
  const log = s.path("fds.log");
  fdReporter(s.path("report"), log);
  expect(runClosed([BINARY, "with-mounts", list, "--", s.path("report")], ">&-", "trap '' HUP; ")).toEqual(silentSuccess);
  expect(readFileSync(log, "utf8")).toMatch(/^\/dev\/null\n\/dev\/null\n(pipe|socket):\[\d+\]\n$/);
});
