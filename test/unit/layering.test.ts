// Layering (DESIGN.md): src/plan must not touch the system (no FFI, fs, processes or
// environment, over the transitive closure of what it imports), and src/sys imports nothing above it.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
const FORBIDDEN_SPECIFIERS = /^(bun:ffi|bun:sqlite|node:(fs|fs\/promises|child_process|os|worker_threads|net|dgram)|fs|child_process|os)$/;
const FORBIDDEN_CODE = /\b(Bun\.(spawn|spawnSync|file|write|sleep|sleepSync|\$)|process\.(env|cwd|chdir|exit)|require\()/;

/** Node modules that cost the binary's start-up milliseconds to load. */
const SLOW_TO_LOAD = /^(node:)?(fs(\/promises)?|tty)$/;

/** Files whose require() of such a module runs only for work that takes far longer anyway. */
const LOADED_ONLY_FOR_RARE_WORK = new Set([
  "sys/dir-thread.ts", // starts a thread for a compacted legacy overlay
]);

/** The Node modules a file require()s (commands are required too, lazily: not followed here). */
function requiredNodeModules(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/\brequire\("([^".][^"]*)"\)/g)].map((m) => m[1]!);
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
}

test("src/plan and everything it imports stay pure", () => {
  const planFiles = readdirSync(join(SRC, "plan")).filter((f) => f.endsWith(".ts")).map((f) => join(SRC, "plan", f));
  expect(planFiles.length).toBeGreaterThan(3);
  const seen = new Set<string>();
  const queue = [...planFiles];
  const problems: string[] = [];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    const bad = FORBIDDEN_CODE.exec(code);
    if (bad) problems.push(`${file}: uses ${bad[0]}`);
    for (const spec of importsOf(file)) {
      if (FORBIDDEN_SPECIFIERS.test(spec)) problems.push(`${file}: imports ${spec}`);
      else if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (target.startsWith(join(SRC, "sys")) || target.startsWith(join(SRC, "ops")) || target.startsWith(join(SRC, "cli"))) {
          problems.push(`${file}: imports ${spec}`);
        }
        queue.push(target);
      }
    }
  }
  expect(problems).toEqual([]);
  expect(seen.size).toBeGreaterThan(planFiles.length - 1);
});

test("the purity check itself catches a forbidden import", () => {
  expect(FORBIDDEN_SPECIFIERS.test("bun:ffi")).toBe(true);
  expect(FORBIDDEN_SPECIFIERS.test("node:fs")).toBe(true);
  expect(FORBIDDEN_CODE.test("const x = Bun.spawnSync(['x'])")).toBe(true);
  expect(FORBIDDEN_CODE.test("process.env.HOME")).toBe(true);
});

test("src/sys imports nothing above it but the pure constant tables of src/plan", () => {
  // Dependencies point down (DESIGN.md). The kernel ABI constants that plans print live in
  // src/plan (pure); src/sys may read them, and nothing else from the layers above it.
  const allowed = new Set([join(SRC, "plan/flags.ts"), join(SRC, "plan/mount-api-flags.ts"), join(SRC, "errors.ts"), join(SRC, "errno.ts"), join(SRC, "path-text.ts"), join(SRC, "path.ts")]);
  const problems: string[] = [];
  const files = readdirSync(join(SRC, "sys")).filter((f) => f.endsWith(".ts"));
  expect(files.length).toBeGreaterThan(5);
  for (const f of files) {
    const file = join(SRC, "sys", f);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(join(SRC, "sys")) && !allowed.has(target)) problems.push(`${file}: imports ${spec}`);
    }
  }
  expect(problems).toEqual([]);
});

test("the CLI's start-up and its mount, umount, findmnt, mountpoint, losetup and apply commands import no node:fs or node:tty", () => {
  // Importing node:fs costs about 1 ms of each start of the binary, node:tty (which loads Node's
  // streams) about 3 ms (docs/bench.md): these paths use src/sys/file.ts, stat.ts, realpath.ts
  // and fd.ts instead, and require() them nowhere either.
  const entries = ["cli/main.ts", "cli/commands/mount.ts", "cli/commands/umount.ts", "cli/commands/findmnt.ts", "cli/commands/mountpoint.ts", "cli/commands/losetup.ts", "cli/commands/apply.ts"];
  const seen = new Set<string>();
  const queue = entries.map((e) => join(SRC, e));
  const problems: string[] = [];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const name = file.slice(SRC.length + 1);
    // a require() of a Node module on these paths loads it on first use: as costly, later
    for (const spec of requiredNodeModules(file)) {
      if (SLOW_TO_LOAD.test(spec) && !LOADED_ONLY_FOR_RARE_WORK.has(name)) problems.push(`${name}: requires ${spec}`);
    }
    for (const spec of importsOf(file)) {
      if (SLOW_TO_LOAD.test(spec)) problems.push(`${name}: imports ${spec}`);
      else if (spec.startsWith(".")) queue.push(resolve(dirname(file), spec));
    }
  }
  expect(seen.size).toBeGreaterThan(50);
  expect(problems).toEqual([]);
});

test("the start-up check sees a require() of node:tty as well as an import", () => {
  expect(SLOW_TO_LOAD.test("node:tty")).toBe(true);
  expect(SLOW_TO_LOAD.test("fs")).toBe(true);
  expect(SLOW_TO_LOAD.test("node:path")).toBe(false);
  expect(requiredNodeModules(join(SRC, "sys/dir-thread.ts"))).toContain("node:fs");
  expect(requiredNodeModules(join(SRC, "cli/main.ts"))).toEqual([]); // its commands are relative
});
