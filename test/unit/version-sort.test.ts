// The order of an fstab directory's files: strverscmp(3)'s, checked against glibc's own.
import { dlopen } from "bun:ffi";
import { expect, test } from "bun:test";
import { compareVersions } from "../../src/plan/version-sort.ts";

const glibc = dlopen("libc.so.6", { strverscmp: { args: ["cstring", "cstring"], returns: "i32" } }).symbols;

test("the man page's order: 000 < 00 < 01 < 010 < 09 < 0 < 1 < 9 < 10", () => {
  const order = ["000", "00", "01", "010", "09", "0", "1", "9", "10"];
  const shuffled = [...order].reverse();
  expect(shuffled.sort(compareVersions)).toEqual(order);
});

test("file names: numbers compare as numbers, then the rest byte by byte", () => {
  const names = ["b10.fstab", "a.fstab", "b2.fstab", "B.fstab", "b2a.fstab", "b02.fstab", "10-net.fstab", "9-local.fstab"];
  expect([...names].sort(compareVersions)).toEqual(["9-local.fstab", "10-net.fstab", "B.fstab", "a.fstab", "b02.fstab", "b2.fstab", "b2a.fstab", "b10.fstab"]);
});

test("the sign of compareVersions is glibc's strverscmp's for every pair of short strings of digits, zeros and letters", () => {
  // every string of length 0-4 over this alphabet, against every other: 4^0+..+4^4 = 341 strings
  const alphabet = ["0", "1", "9", "a"];
  let strings = [""];
  const all = [""];
  for (let length = 1; length <= 4; length++) {
    strings = strings.flatMap((s) => alphabet.map((c) => s + c));
    all.push(...strings);
  }
  const mismatches: string[] = [];
  for (const a of all) {
    for (const b of all) {
      const expected = Math.sign(glibc.strverscmp(a, b));
      if (Math.sign(compareVersions(a, b)) !== expected) mismatches.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: glibc ${expected}`);
    }
  }
  expect(all.length).toBe(341);
  expect(mismatches.slice(0, 10)).toEqual([]);
});

test("non-ASCII names compare as their UTF-8 bytes, as C sees them", () => {
  for (const [a, b] of [["é1", "z1"], ["\uffff", "\u{1f600}"], ["x\u00e9", "x2"]] as const) {
    expect(Math.sign(compareVersions(a, b))).toBe(Math.sign(glibc.strverscmp(a, b)));
  }
});
