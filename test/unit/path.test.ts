import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "../../src/path.ts";

// Paths built from every mix of these parts, slashes around them included.
const PARTS = ["", "/", "//", "a", "bc", ".", "..", "a/", "/a", "a/..", "../b", "./c", "x//y", "/..", "é"];
const CORPUS = [...new Set(PARTS.flatMap((x) => PARTS.map((y) => x + y)).concat(PARTS.flatMap((x) => PARTS.map((y) => `${x}/${y}`))))];

describe("src/path.ts gives what node:path's posix functions give for well-formed text", () => {
  test("normalize, isAbsolute, dirname, basename", () => {
    expect(CORPUS.length).toBeGreaterThan(300);
    for (const p of CORPUS) {
      expect([p, normalize(p)]).toEqual([p, posix.normalize(p)]);
      expect([p, isAbsolute(p)]).toEqual([p, posix.isAbsolute(p)]);
      expect([p, basename(p)]).toEqual([p, posix.basename(p)]);
      expect([p, dirname(p)]).toEqual([p, posix.dirname(p)]);
    }
  });

  test("join and resolve", () => {
    for (const a of CORPUS) {
      for (const b of PARTS) {
        expect([a, b, join(a, b)]).toEqual([a, b, posix.join(a, b)]);
        expect([a, b, resolve("/base/dir", a, b)]).toEqual([a, b, posix.resolve("/base/dir", a, b)]);
      }
    }
    expect(join()).toBe(".");
    expect(join("", "")).toBe(".");
  });

  test("resolve never reads the working directory: some part must be absolute", () => {
    expect(() => resolve("a", "b")).toThrow(/no absolute path/);
  });
});

test("a held byte (a name that is not UTF-8) survives every function, where node:path loses it", () => {
  const held = "/tmp/caf\uDCE9";
  expect(posix.join(held, "x")).toBe("/tmp/caf\uFFFD/x"); // why this module exists (Bun's node:path)
  expect(join(held, "x")).toBe("/tmp/caf\uDCE9/x");
  expect(resolve(held, "../d\uDCE9")).toBe("/tmp/d\uDCE9");
  expect(normalize(`${held}//./y/`)).toBe("/tmp/caf\uDCE9/y/");
  expect(dirname(`${held}/z`)).toBe(held);
  expect(basename(held)).toBe("caf\uDCE9");
});
