import { describe, expect, test } from "bun:test";
import { byteLength, bytesFromText, cText, textFromBytes } from "../../src/path-text.ts";
import { decodeMountInfoField } from "../../src/mountinfo/parse.ts";
import { decodeFstabField } from "../../src/plan/fstab.ts";
import { compareVersions } from "../../src/plan/version-sort.ts";
import { findmntPairs, findmntTable, findmntJsonText } from "../../src/mountinfo/findmnt.ts";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("textFromBytes and bytesFromText", () => {
  test("valid UTF-8 decodes as TextDecoder decodes it, a U+FFFD it spells included", () => {
    for (const text of ["", "plain", "/mnt/café", "日本語", "emoji 😀", "\uFFFD", "a\uFFFDb"]) {
      const encoded = new TextEncoder().encode(text);
      expect(textFromBytes(encoded)).toBe(text);
      expect(hex(bytesFromText(text))).toBe(hex(encoded));
    }
  });

  test("each byte that is not UTF-8 is held as U+DC80 + (byte - 0x80)", () => {
    expect(textFromBytes(bytes(0x63, 0x61, 0x66, 0xe9))).toBe("caf\uDCE9"); // Latin-1 é
    expect(textFromBytes(bytes(0xff))).toBe("\uDCFF");
    expect(textFromBytes(bytes(0x80))).toBe("\uDC80");
    // overlong "/" (C0 AF): each byte held, never read as a slash
    expect(textFromBytes(bytes(0xc0, 0xaf))).toBe("\uDCC0\uDCAF");
    // an encoded surrogate (ED A0 80) and a code point past U+10FFFF (F4 90 80 80)
    expect(textFromBytes(bytes(0xed, 0xa0, 0x80))).toBe("\uDCED\uDCA0\uDC80");
    expect(textFromBytes(bytes(0xf4, 0x90, 0x80, 0x80))).toBe("\uDCF4\uDC90\uDC80\uDC80");
    // a sequence cut short, then valid text: the valid part is kept
    expect(textFromBytes(bytes(0xe2, 0x82, 0x61, 0xc3, 0xa9))).toBe("\uDCE2\uDC82aé");
  });

  test("every single byte and every pair of bytes comes back as it was", () => {
    for (let a = 0; a < 256; a++) {
      expect(hex(bytesFromText(textFromBytes(bytes(a))))).toBe(hex(bytes(a)));
      for (let b = 0x70; b < 256; b += 3) expect(hex(bytesFromText(textFromBytes(bytes(a, b))))).toBe(hex(bytes(a, b)));
    }
  });

  test("random byte strings come back as they were", () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let n = 0; n < 2000; n++) {
      const input = Uint8Array.from({ length: 1 + (n % 40) }, next);
      expect(hex(bytesFromText(textFromBytes(input)))).toBe(hex(input));
    }
  });

  test("a held byte is not confused with the low half of a surrogate pair", () => {
    // U+1F080 is D83C DC80 in UTF-16: a pair, encoded as its four UTF-8 bytes
    expect(hex(bytesFromText("\uD83C\uDC80"))).toBe("f09f8280");
    expect(hex(bytesFromText("\uD83C\uDC80\uDC80"))).toBe("f09f828080");
    // any other lone surrogate has no byte: U+FFFD's bytes, as TextEncoder writes it
    expect(hex(bytesFromText("a\uD800b"))).toBe("61efbfbd62");
  });

  test("cText: the string itself when well formed, else its bytes NUL-ended; null stays null", () => {
    expect(cText("/mnt/café")).toBe("/mnt/café");
    expect(cText(null)).toBeNull();
    const c = cText("/mnt/caf\uDCE9");
    expect(c).toBeInstanceOf(Uint8Array);
    expect(hex(c as Uint8Array)).toBe(hex(bytes(...Buffer.from("/mnt/caf"), 0xe9, 0)));
  });

  test("byteLength counts a held byte as one byte", () => {
    expect(byteLength("café")).toBe(5);
    expect(byteLength("caf\uDCE9")).toBe(4);
  });
});

describe("the parsers and printers keep a path's bytes", () => {
  test("mountinfo and fstab octal escapes of a byte that is not UTF-8 give the held byte", () => {
    expect(decodeMountInfoField("/mnt/caf\\351")).toBe("/mnt/caf\uDCE9");
    expect(decodeMountInfoField("/mnt/caf\\303\\251")).toBe("/mnt/café");
    expect(decodeFstabField("/mnt/caf\\351")).toBe("/mnt/caf\uDCE9");
    expect(decodeFstabField("/mnt/caf\uDCE9\\040x")).toBe("/mnt/caf\uDCE9 x");
  });

  test("version order compares the bytes a name stands for, as strverscmp does", () => {
    expect(compareVersions("caf\uDCE9", "cafe")).toBeGreaterThan(0);
    expect(compareVersions("caf\uDCE9", "café")).toBeGreaterThan(0); // 0xE9 > 0xC3
    expect(compareVersions("caf\uDC80", "café")).toBeLessThan(0); // 0x80 < 0xC3
  });

  test("findmnt writes a held byte as \\xHH in tables and pairs, as itself in JSON", () => {
    const [m] = parseMountInfo("36 35 0:40 / /mnt/caf\uDCE9 rw,relatime shared:1 - tmpfs sr\uDCE9c rw\n");
    expect(findmntTable([m!], ["TARGET"], { headings: false })).toBe("/mnt/caf\\xe9\n");
    expect(findmntTable([m!], ["TARGET", "SOURCE"], { headings: false, raw: true })).toBe("/mnt/caf\\xe9 sr\\xe9c\n");
    expect(findmntPairs([m!], ["TARGET"])).toBe('TARGET="/mnt/caf\\xe9"\n');
    const json = findmntJsonText([m!], ["TARGET"]);
    expect(json).toContain('"target": "/mnt/caf\uDCE9"'); // the byte itself once written (cli/output.ts)
    expect(json).not.toContain("\\udce9");
  });

  test("findmnt JSON keeps a literal backslash-u text as JSON.stringify escapes it", () => {
    const [m] = parseMountInfo("36 35 0:40 / /mnt/a\\134udce9 rw - tmpfs x rw\n");
    expect(m!.mountpoint).toBe("/mnt/a\\udce9");
    expect(findmntJsonText([m!], ["TARGET"])).toContain('"target": "/mnt/a\\\\udce9"');
  });
});
