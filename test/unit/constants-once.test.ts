// Kernel constants have one definition each: the CLONE_* flags in src/sys/namespace.ts, errno
// codes in src/errno.ts (Errno), signal numbers in src/sys/signal-numbers.ts (SIGNALS). A copy
// elsewhere can drift from it unseen.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");

/** Every .ts file under src, as [path relative to src, code without comments]. */
function sources(): [string, string][] {
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  return files.map((f) => [relative(SRC, join(SRC, f)), readFileSync(join(SRC, f), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")]);
}

test("the CLONE_* flags are defined once, in sys/namespace.ts", () => {
  const defining = sources()
    .filter(([, code]) => /\b(const|let|var)\s+CLONE(_[A-Z]+)?\s*=/.test(code))
    .map(([file]) => file);
  expect(defining).toEqual(["sys/namespace.ts"]);
});

test("errno codes are named through Errno, never written as numbers", () => {
  const literal = /\b(const|let|var)\s+E[A-Z0-9]+\s*=\s*\d+|errnos:\s*\[[^\]]*\d+|errno\s*[!=]==?\s*\d+|isErrno\([^,()]+,\s*\d+/;
  const found = sources()
    .filter(([file, code]) => file !== "errno.ts" && literal.test(code))
    .map(([file, code]) => `${file}: ${literal.exec(code)![0]}`);
  expect(found).toEqual([]);
});

test("signal numbers are defined once, in sys/signal-numbers.ts", () => {
  // SIGKILL = 9, SIGHUP: 1, or a table of its own (SIG = { KILL: 9 }); SIG_DFL and SIGSET_BYTES are no signals
  const literal = /\bSIG[A-Z]{2,}[0-9]*\s*[:=]\s*\d|\bSIG\s*=\s*\{/;
  const found = sources()
    .filter(([file, code]) => file !== "sys/signal-numbers.ts" && literal.test(code))
    .map(([file, code]) => `${file}: ${literal.exec(code)![0]}`);
  expect(found).toEqual([]);
});
