/**
 * The one way mountkit shows what a terminal would act on in text (paths others chose, above
 * all), for quotePath's quoted paths and for the CLI's writes to stdout and stderr alike, so a
 * path's bytes read the same wherever it is shown. Pure.
 *
 *   backspace, tab, newline, form feed, carriage return     \b \t \n \f \r, as JSON writes them
 *   the other C0 controls, DEL, the C1 controls (U+0080-U+009F; CSI is U+009B)     \u00XX
 *   a held byte 0x80-0x9f (a byte that is not UTF-8, held as path-text.ts says), which a
 *     terminal set to 8 bits takes for a C1 control                               \xXX
 *   a held byte 0xa0-0xff, and every valid character past ASCII      as it is (written as its bytes)
 */

export interface ControlEscapeOptions {
  /** leave tab and newline as they are (the CLI's writers: each message is made one line where it is written) */
  readonly keepTabAndNewline?: boolean;
  /** escape the held bytes 0x80-0x9f (true unless false: stdout keeps them, as util-linux's findmnt -J writes them) */
  readonly heldBytes?: boolean;
}

const C0 = "\\x00-\\x1f";
const C0_BUT_TAB_AND_NEWLINE = "\\x00-\\x08\\x0b-\\x1f";
const DEL_AND_C1 = "\\x7f-\\x9f";
// with the u flag a surrogate pair is one character: only a lone low surrogate, a held byte, matches
const HELD_C1 = "\\udc80-\\udc9f";

/** The four character classes, each made on first use (a process uses one or two). */
const SOURCES = {
  all: `[${C0}${DEL_AND_C1}${HELD_C1}]`,
  allButHeld: `[${C0}${DEL_AND_C1}]`,
  lines: `[${C0_BUT_TAB_AND_NEWLINE}${DEL_AND_C1}${HELD_C1}]`,
  linesButHeld: `[${C0_BUT_TAB_AND_NEWLINE}${DEL_AND_C1}]`,
};
const patterns: Partial<Record<keyof typeof SOURCES, RegExp>> = {};

function pattern(kind: keyof typeof SOURCES): RegExp {
  return (patterns[kind] ??= new RegExp(SOURCES[kind], "gu"));
}

const SHORT_FORMS: Readonly<Record<string, string>> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };

/** A held byte's code unit less the byte (0x80 is held as U+DC80, path-text.ts) */
const HELD_BYTE_BASE = 0xdc00;

/** text with each character of the table escaped as the table says; everything else as it is. */
export function escapeControls(text: string, options: ControlEscapeOptions = {}): string {
  const held = options.heldBytes !== false;
  const keepLines = options.keepTabAndNewline === true;
  if (text.length <= SHORT_TEXT && !mayEscape(text, keepLines, held)) return text;
  const kind = keepLines ? (held ? "lines" : "linesButHeld") : held ? "all" : "allButHeld";
  return text.replace(pattern(kind), controlEscape);
}

/** Up to this length a text is walked first: a message or a result line, which has nothing to escape. */
const SHORT_TEXT = 512;

/**
 * Whether text may hold a character of the table: a walk of its code units, cheaper for a line
 * than a pattern's first use (each start of the binary writes one). Any low surrogate of the
 * held range counts, even one of a pair, which the pattern then leaves alone.
 */
function mayEscape(text: string, keepTabAndNewline: boolean, held: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20) {
      if (!keepTabAndNewline || (code !== 0x09 && code !== 0x0a)) return true;
    } else if (code >= 0x7f && code <= 0x9f) return true;
    else if (held && code >= 0xdc80 && code <= 0xdc9f) return true;
  }
  return false;
}

/** One character of the table, escaped. */
function controlEscape(c: string): string {
  const code = c.charCodeAt(0);
  if (code >= HELD_BYTE_BASE) return `\\x${(code - HELD_BYTE_BASE).toString(16)}`;
  return SHORT_FORMS[c] ?? `\\u${code.toString(16).padStart(4, "0")}`;
}
