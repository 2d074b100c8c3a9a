// lowerdir= as overlay reads it: ':' separates, '\' escapes, '::' starts data-only layers.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { formatLowerdir, parseLowerdir } from "../../src/plan/lowerdir.ts";

describe("parseLowerdir", () => {
  const cases: [string, string[], number][] = [
    ["/a", ["/a"], 1],
    ["/a:/b:/c", ["/a", "/b", "/c"], 3],
    ["/with\\:colon:/b", ["/with:colon", "/b"], 2], // the seed split this into three layers
    ["/back\\\\slash:/b", ["/back\\slash", "/b"], 2],
    ["/a:/b::/data1:/data2", ["/a", "/b", "/data1", "/data2"], 2],
    ["/a::/data", ["/a", "/data"], 1],
  ];
  for (const [value, layers, dataOnlyFrom] of cases) {
    test(value, () => {
      expect(parseLowerdir(value)).toEqual({ layers, dataOnlyFrom });
      expect(formatLowerdir(parseLowerdir(value))).toBe(value);
    });
  }

  const bad: [string, RegExp][] = [
    ["", /empty layer/],
    ["/a:", /empty layer/],
    [":/a", /empty layer/],
    ["/a:::/b", /empty layer|second '::'/],
    ["/a::/b::/c", /second '::'/],
    ["::/data", /no regular layer|empty layer/],
    ["/a\\", /lone backslash/],
  ];
  for (const [value, message] of bad) {
    test(`refuses ${JSON.stringify(value)}`, () => {
      expect(() => parseLowerdir(value)).toThrow(PlanError);
      expect(() => parseLowerdir(value)).toThrow(message);
    });
  }

  test("formatLowerdir escapes colons and backslashes in paths", () => {
    expect(formatLowerdir({ layers: ["/x:y", "/z\\w"], dataOnlyFrom: 2 })).toBe("/x\\:y:/z\\\\w");
  });
});
