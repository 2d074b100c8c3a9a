/**
 * Paths are bytes; JavaScript strings are UTF-16. A name that is not UTF-8 (`caf\xe9`, written
 * in Latin-1) must survive the trip from argv or mountinfo to a syscall and to the output, or
 * mountkit would mount on, unmount or report another path (`caf\uFFFD`, whose UTF-8 bytes
 * name a different file). Each byte that is not part of a valid UTF-8 sequence is held as the
 * lone surrogate U+DC80 + (byte - 0x80), as Python's "surrogateescape" does: valid UTF-8 decodes
 * as always, and text made this way encodes back to exactly the bytes it came from. No valid
 * UTF-8 decodes to a lone surrogate, so the two never mix up.
 */

// Each made on first use: --version decodes nothing, and making them costs start-up time.
let lenient: TextDecoder | undefined;
let strict: TextDecoder | undefined;
let encoder: TextEncoder | undefined;
const utf8Decoder = (): TextDecoder => (lenient ??= new TextDecoder("utf-8"));
const strictDecoder = (): TextDecoder => (strict ??= new TextDecoder("utf-8", { fatal: true }));
const utf8Encoder = (): TextEncoder => (encoder ??= new TextEncoder());

/** The code unit standing for byte 0x80; 0xff's is U+DCFF. */
const ESCAPE_FIRST = 0xdc80;

/** Bytes as text: UTF-8, with each byte that is not UTF-8 held as U+DC80 + (byte - 0x80). */
export function textFromBytes(bytes: Uint8Array): string {
  // The fast path, valid UTF-8, costs one decode: no second pass over the text (a whole
  // mountinfo table comes through here).
  try {
    return strictDecoder().decode(bytes);
  } catch {
    // not UTF-8 throughout: hold the bytes that are not, one by one
  }
  let out = "";
  let validFrom = 0;
  for (let i = 0; i < bytes.length; ) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += utf8Decoder().decode(bytes.subarray(validFrom, i)) + String.fromCharCode(ESCAPE_FIRST - 0x80 + bytes[i]!);
    i += 1;
    validFrom = i;
  }
  return out + utf8Decoder().decode(bytes.subarray(validFrom));
}

/**
 * The length of the valid UTF-8 sequence starting at bytes[i], or 0 when there is none
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
 */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const continuation = (at: number, low = 0x80, high = 0xbf) => {
    const c = bytes[i + at];
    return c !== undefined && c >= low && c <= high;
  };
  if (b >= 0xc2 && b <= 0xdf) return continuation(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    const [low, high] = b === 0xe0 ? [0xa0, 0xbf] : b === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const [low, high] = b === 0xf0 ? [0x90, 0xbf] : b === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

/** A held byte (a lone U+DC80 ... U+DCFF), not the low half of a surrogate pair. */
const HELD_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g;

/**
 * Text as the bytes it stands for: UTF-8, with each held byte written back as itself. Any
 * other lone surrogate becomes U+FFFD's bytes, as TextEncoder writes it.
 */
export function bytesFromText(text: string): Uint8Array {
  if (text.isWellFormed()) return utf8Encoder().encode(text);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const match of text.matchAll(HELD_BYTE)) {
    parts.push(utf8Encoder().encode(text.slice(from, match.index)), Uint8Array.of(match[0].charCodeAt(0) - ESCAPE_FIRST + 0x80));
    from = match.index + 1;
  }
  parts.push(utf8Encoder().encode(text.slice(from)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A path as node:fs takes it: the string when well formed (the common case), else its bytes. */
export function fsPath(path: string): string | Buffer {
  return path.isWellFormed() ? path : Buffer.from(bytesFromText(path));
}

/** The number of bytes text stands for (Buffer.byteLength counts a held byte as three). */
export function byteLength(text: string): number {
  return text.isWellFormed() ? Buffer.byteLength(text, "utf8") : bytesFromText(text).length;
}

/**
 * The form a `cstring` argument of bun:ffi takes for text: the string itself when it is
 * well formed (Bun writes it as UTF-8, the common and fast case), else its bytes, NUL-ended;
 * null stays NULL.
 */
export function cText(text: string): string | Uint8Array;
export function cText(text: string | null): string | Uint8Array | null;
export function cText(text: string | null): string | Uint8Array | null {
  if (text === null || text.isWellFormed()) return text;
  const bytes = bytesFromText(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
