import { expect, test } from "bun:test";
import { utf8Locale } from "../../src/cli/locale.ts";

const none = () => false;
const only = (...names: string[]) => (name: string) => names.includes(name);

test("the locale is the first of LC_ALL, LC_CTYPE, LANG set and not empty; UTF-8 by its codeset", () => {
  expect(utf8Locale({}, none)).toBe(false);
  expect(utf8Locale({ LANG: "C.UTF-8" }, none)).toBe(true); // built into glibc
  expect(utf8Locale({ LANG: "C.utf8" }, none)).toBe(true);
  expect(utf8Locale({ LC_ALL: "C", LANG: "C.UTF-8" }, none)).toBe(false);
  expect(utf8Locale({ LC_ALL: "", LC_CTYPE: "POSIX", LANG: "C.UTF-8" }, none)).toBe(false);
  expect(utf8Locale({ LC_ALL: "", LC_CTYPE: "", LANG: "C.UTF-8" }, none)).toBe(true);
  expect(utf8Locale({ LANG: "en_US.ISO-8859-1" }, () => true)).toBe(false);
  expect(utf8Locale({ LANG: "en_US" }, () => true)).toBe(false);
});

test("a UTF-8 locale other than C counts only when glibc has it (else setlocale falls back to C)", () => {
  expect(utf8Locale({ LANG: "en_US.UTF-8" }, none)).toBe(false);
  expect(utf8Locale({ LANG: "en_US.UTF-8" }, only("en_US.utf8"))).toBe(true); // the name glibc's directories use
  expect(utf8Locale({ LANG: "de_DE.UTF-8@euro" }, only("de_DE.utf8@euro"))).toBe(true);
});
