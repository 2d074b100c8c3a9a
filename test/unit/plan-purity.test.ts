// src/plan must not touch the system: no FFI, no fs, no processes, no environment.
// Checked over the transitive closure of what src/plan imports.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
const FORBIDDEN_SPECIFIERS = /^(bun:ffi|bun:sqlite|node:(fs|fs\/promises|child_process|os|worker_threads|net|dgram)|fs|child_process|os)$/;
const FORBIDDEN_CODE = /\b(Bun\.(spawn|spawnSync|file|write|sleep|sleepSync|\$)|process\.(env|cwd|chdir|exit)|require\()/;

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
