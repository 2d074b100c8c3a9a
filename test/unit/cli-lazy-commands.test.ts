// main.ts loads each command's module only when that command runs (start-up cost, docs/bench.md):
// a static import of a command module would load it for every invocation.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../src/cli/main.ts");

function staticImports(source: string): string[] {
  return [...source.matchAll(/^\s*import\s[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
}

test("main.ts imports no command module statically", () => {
  const imports = staticImports(readFileSync(MAIN, "utf8"));
  expect(imports.length).toBeGreaterThan(0);
  expect(imports.filter((spec) => spec.includes("/commands/"))).toEqual([]);
});

test("main.ts loads each command with require(), not await import(), which costs about 1 ms more", () => {
  const source = readFileSync(MAIN, "utf8");
  expect(source.match(/require\("\.\/commands\/[a-z-]+\.ts"\)/g)?.length).toBeGreaterThanOrEqual(8);
  expect(source).not.toMatch(/(?<!typeof )import\(\s*"\.\/commands\//); // a type-only import( ) loads nothing
});

test("the check sees a static import of a command", () => {
  expect(staticImports('import { x } from "./commands/apply.ts";\nconst y = await import("./commands/mount.ts");')).toEqual(["./commands/apply.ts"]);
});

test("mount and umount load the fstab and batch code only for -a, with require()", () => {
  for (const command of ["mount.ts", "umount.ts"]) {
    const imports = staticImports(readFileSync(join(import.meta.dir, "../../src/cli/commands", command), "utf8"));
    expect(imports.length).toBeGreaterThan(3);
    expect(imports.filter((spec) => /fstab|batch|apply/.test(spec))).toEqual([]);
    expect(readFileSync(join(import.meta.dir, "../../src/cli/commands", command), "utf8")).toContain('require("./fstab.ts")');
  }
});
