// The buffer sizes and constants of the helper runner, the FUSE check, dying of a signal, watching one and the signal numbers, against the C headers.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FUSE_SUPER_MAGIC } from "../../src/plan/fuse.ts";
import { SPAWN_LAYOUT } from "../../src/sys/process.ts";
import { SIGNAL_DEATH_LAYOUT } from "../../src/sys/signal-death.ts";
import { SIGNALS } from "../../src/sys/signal-numbers.ts";
import { SIGACTION_LAYOUT } from "../../src/sys/signal-watch.ts";

const work = mkdtempSync(join(tmpdir(), "mountkit-test-process-layout-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function headerValues(): Map<string, number> {
  const exe = join(work, "process-layout");
  const cc = Bun.spawnSync(["cc", "-o", exe, join(import.meta.dir, "../support/c/process-layout.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc failed (a C compiler is needed for this test): ${cc.stderr}`);
  const out = Bun.spawnSync([exe]).stdout.toString();
  return new Map(out.trim().split("\n").map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]));
}

test("posix_spawn buffers hold glibc's types; spawn flags, MFD_CLOEXEC and FUSE_SUPER_MAGIC match", () => {
  const c = headerValues();
  expect(c.get("sizeof.posix_spawn_file_actions_t")).toBeLessThanOrEqual(SPAWN_LAYOUT.fileActionsBytes);
  expect(c.get("sizeof.posix_spawnattr_t")).toBeLessThanOrEqual(SPAWN_LAYOUT.spawnattrBytes);
  expect(c.get("sizeof.sigset_t")).toBe(SPAWN_LAYOUT.sigsetBytes);
  expect({
    POSIX_SPAWN_SETSIGDEF: c.get("POSIX_SPAWN_SETSIGDEF"),
    POSIX_SPAWN_SETSIGMASK: c.get("POSIX_SPAWN_SETSIGMASK"),
    MFD_CLOEXEC: c.get("MFD_CLOEXEC"),
    FUSE_SUPER_MAGIC: c.get("FUSE_SUPER_MAGIC"),
  }).toEqual({
    POSIX_SPAWN_SETSIGDEF: SPAWN_LAYOUT.POSIX_SPAWN_SETSIGDEF,
    POSIX_SPAWN_SETSIGMASK: SPAWN_LAYOUT.POSIX_SPAWN_SETSIGMASK,
    MFD_CLOEXEC: SPAWN_LAYOUT.MFD_CLOEXEC,
    FUSE_SUPER_MAGIC,
  });
});

test("dying of a signal: prctl and sigprocmask constants, sigset_t", () => {
  const c = headerValues();
  const { sigsetBytes, ...constants } = SIGNAL_DEATH_LAYOUT;
  expect(c.get("sizeof.sigset_t")).toBe(sigsetBytes);
  expect(Object.fromEntries(Object.keys(constants).map((n) => [n, c.get(n)]))).toEqual(constants);
});

test("watching a signal: struct sigaction's size and fields, SA_RESTART, SA_RESETHAND, SIG_DFL, SIG_IGN", () => {
  const c = headerValues();
  expect(Object.fromEntries(Object.keys(SIGACTION_LAYOUT).map((n) => [n, c.get(n)]))).toEqual(SIGACTION_LAYOUT);
});

test("every signal number in sys/signal-numbers.ts is <signal.h>'s", () => {
  const c = headerValues();
  expect(Object.fromEntries(Object.keys(SIGNALS).map((n) => [n, c.get(n)]))).toEqual(SIGNALS);
});
