// The README's Library section names the API users reach for: every name it imports or
// calls must be exported from the package entry point, so the README cannot drift from it.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as mountkit from "../../src/index.ts";

const README = readFileSync(resolve(import.meta.dir, "../../README.md"), "utf8");

function librarySection(): string {
  const start = README.indexOf("\n## Library\n");
  const end = README.indexOf("\n## ", start + 1);
  expect(start).toBeGreaterThan(0);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The names in the example's `import { ... } from "mountkit"`. */
function importedNames(section: string): string[] {
  const match = /import \{([^}]*)\} from "mountkit"/.exec(section);
  expect(match).not.toBeNull();
  return match![1]!.split(",").map((n) => n.trim()).filter((n) => n !== "");
}

/** Code spans the bullets and the example name as functions (`name(` or a lone `name`) or policies (`NAME`). */
function mentionedNames(section: string): string[] {
  const names = new Set<string>();
  const prose = section.replace(/```[\s\S]*?```/g, "");
  for (const [, span] of prose.matchAll(/`([^`]+)`/g)) {
    const call = /^([a-z][A-Za-z]+)\(/.exec(span!);
    if (call) names.add(call[1]!);
    else if (/^[a-z][A-Za-z]+$/.test(span!)) names.add(span!);
    else if (/^[A-Z][A-Z_]+$/.test(span!) && span!.includes("_")) names.add(span!);
  }
  for (const [, name] of section.matchAll(/^(?:const \w+ = )?([a-z][A-Za-z]+)\(/gm)) names.add(name!);
  return [...names];
}

/** Option names and fields the section writes in code spans that are not exports. */
const NOT_EXPORTS = new Set([
  "cleanupErrors", "errnoName", "helperDir", "helperStdio", "targetRoot", "externalHelpers", "noMtab", "noCanonicalize",
  "target", "syscall", "errno", "paths", "hint", "retry", "fd", "close", "recursive",
  "arm", "requested", "reason", "during", "reusedDevice", "noOverlap",
]);

test("every name the README's library example imports is exported", () => {
  const names = importedNames(librarySection());
  expect(names.length).toBeGreaterThan(10);
  const missing = names.filter((n) => !(n in mountkit));
  expect(missing).toEqual([]);
});

test("every function or policy the README's library section names is exported", () => {
  const names = mentionedNames(librarySection()).filter((n) => !NOT_EXPORTS.has(n));
  expect(names.length).toBeGreaterThan(30);
  const missing = names.filter((n) => !(n in mountkit));
  expect(missing).toEqual([]);
});

test("the check sees a name the package does not export", () => {
  expect(mentionedNames("- `mountEverythingTwice(x)` and `UNMOUNT_NEVER`")).toEqual(["mountEverythingTwice", "UNMOUNT_NEVER"]);
  expect("mountEverythingTwice" in mountkit).toBe(false);
});
