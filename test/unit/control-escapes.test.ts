// escapeControls: the one table of how a character a terminal acts on is shown, and quotePath
// and terminalSafe showing each character, held bytes among them, the same way.
import { describe, expect, test } from "bun:test";
import { escapeControls } from "../../src/control-escapes.ts";
import { quotePath } from "../../src/errors.ts";
import { terminalSafe } from "../../src/cli/output.ts";
import { bytesFromText, textFromBytes } from "../../src/path-text.ts";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** the text path-text.ts makes of a byte that is not UTF-8 */
const held = (byte: number) => textFromBytes(Uint8Array.of(byte));

const SHORT: Record<number, string> = { 0x08: "\\b", 0x09: "\\t", 0x0a: "\\n", 0x0c: "\\f", 0x0d: "\\r" };

/** [what, character, how it is shown] */
const TABLE: [string, string, string][] = [
  ...range(0x00, 0x1f).map((c): [string, string, string] => [`C0 0x${hex(c, 2)}`, String.fromCharCode(c), SHORT[c] ?? `\\u${hex(c, 4)}`]),
  ["DEL", "\x7f", "\\u007f"],
  ...range(0x80, 0x9f).map((c): [string, string, string] => [`C1 U+${hex(c, 4)}`, String.fromCharCode(c), `\\u${hex(c, 4)}`]),
  ...range(0x80, 0x9f).map((b): [string, string, string] => [`held byte 0x${hex(b, 2)}`, held(b), `\\x${hex(b, 2)}`]),
  ...range(0xa0, 0xff).map((b): [string, string, string] => [`held byte 0x${hex(b, 2)}`, held(b), held(b)]),
  ...range(0xa0, 0xff).map((c): [string, string, string] => [`U+${hex(c, 4)}`, String.fromCharCode(c), String.fromCharCode(c)]),
  ...range(0x20, 0x7e).map((c): [string, string, string] => [`ASCII 0x${hex(c, 2)}`, String.fromCharCode(c), String.fromCharCode(c)]),
  ["é", "é", "é"],
  ["漢", "漢", "漢"],
  ["a pair whose low surrogate is U+DC9B", "\u{1F49B}", "\u{1F49B}"],
  ["a lone high surrogate", "\ud800", "\ud800"],
];

describe("escapeControls: the table", () => {
  test("each character as the table says", () => {
    expect(TABLE.length).toBe(32 + 1 + 32 + 32 + 96 + 96 + 95 + 4);
    for (const [what, c, shown] of TABLE) expect([what, escapeControls(c)]).toEqual([what, shown]);
  });

  test("a held byte 0x80-0xff stands for that byte, no other (the table's held bytes are what it says)", () => {
    for (const b of range(0x80, 0xff)) expect([...bytesFromText(held(b))]).toEqual([b]);
  });

  test("keepTabAndNewline leaves those two; heldBytes false leaves every held byte", () => {
    expect(escapeControls("a\tb\nc\rd\u001b", { keepTabAndNewline: true })).toBe("a\tb\nc\\rd\\u001b");
    for (const b of range(0x80, 0xff)) expect(escapeControls(`/x${held(b)}\u009b`, { heldBytes: false })).toBe(`/x${held(b)}\\u009b`);
  });

  test("in text: only the characters of the table change", () => {
    const text = `/mnt/données/\u001b[31m${held(0x9b)}2J${held(0xe9)}\u0085💛\r`;
    expect(escapeControls(text)).toBe(`/mnt/données/\\u001b[31m\\x9b2J${held(0xe9)}\\u0085💛\\r`);
  });
});

describe("a path's characters are shown the same quoted (quotePath) and not (terminalSafe)", () => {
  test("every character of the table, tab and newline aside (terminalSafe leaves those to the line's writer)", () => {
    for (const [what, c] of TABLE) {
      if (c === "\t" || c === "\n" || c === '"' || c === "\\") continue;
      // a trailing space makes quotePath quote the path whatever c is
      const quoted = quotePath(`/a${c}b `);
      expect([what, quoted]).toEqual([what, `"/a${terminalSafe(c)}b "`]);
    }
  });

  test("a held byte in a path quoted for another reason: \\x9b as on stderr, not JSON's \\udc9b; 0xe9 as it is", () => {
    expect(quotePath(`/a\nb${held(0x9b)}c${held(0xe9)}`)).toBe(`"/a\\nb\\x9bc${held(0xe9)}"`);
    expect(terminalSafe(`/ab${held(0x9b)}c${held(0xe9)}`)).toBe(`/ab\\x9bc${held(0xe9)}`);
  });
});

test("a short text's walk (mayEscape) changes nothing: every code unit, with each option, is escaped exactly where the long text's pattern escapes it", () => {
  const differ: string[] = [];
  for (const keepTabAndNewline of [false, true]) {
    for (const heldBytes of [true, false]) {
      const options = { keepTabAndNewline, heldBytes };
      for (let code = 0; code < 0x10000; code++) {
        const c = String.fromCharCode(code);
        // the same character in a text past the walk's length goes through the pattern alone
        const long = escapeControls(`${c}${"a".repeat(600)}`, options).slice(0, -600);
        if (escapeControls(c, options) !== long) differ.push(`${hex(code, 4)} ${JSON.stringify(options)}`);
      }
    }
  }
  expect(differ).toEqual([]);
});
