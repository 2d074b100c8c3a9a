/**
 * libmount's option strings as text: items separated by the commas outside double quotes and
 * not escaped with a backslash. One splitter for the options a user gives (src/plan, which
 * refuses an unbalanced quote) and the ones the kernel shows in mountinfo (src/mountinfo,
 * which takes the table as it is). Pure.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

/**
 * Split on the commas outside double quotes, the quotes kept (`a,b="x,y"` gives `a` and
 * `b="x,y"`); empty items are dropped. An unbalanced quote runs to the end of the text.
 *
 * A comma after a backslash does not split, and the backslash stays (`lowerdir=/a\,b,ro` gives
 * `lowerdir=/a\,b` and `ro`; `\\` is a backslash, so `/a\\,ro` splits): overlayfs's own
 * escape for a comma in a layer path (fs/overlayfs's ovl_next_opt), which mount(8) passes
 * through because libmount joins the pieces it split back into one mount(2) string. mountkit
 * passes each item on its own (one fsconfig call per option), so it must not split there.
 */
export function splitOptionText(text: string): string[] {
  return segmentsOf(text, false);
}

/** Whether text holds an odd number of double quotes (one opened and never closed). */
export function hasUnbalancedQuote(text: string): boolean {
  let quotes = 0;
  for (let at = text.indexOf('"'); at >= 0; at = text.indexOf('"', at + 1)) quotes++;
  return quotes % 2 === 1;
}

/**
 * The text between the commas splitOptionText splits at, empty ones kept ("a,,b" gives "a", ""
 * and "b"), so that pieces joined back with "," are the text again.
 */
export function optionSegments(text: string): string[] {
  return segmentsOf(text, true);
}

/** The scan both share: the pieces between the splitting commas, the empty ones only if asked. */
function segmentsOf(text: string, keepEmpty: boolean): string[] {
  const segments: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) quoted = !quoted;
    else if (ch === BACKSLASH && !quoted) {
      const next = text.charCodeAt(i + 1);
      if (next === COMMA || next === BACKSLASH) i++;
    } else if (ch === COMMA && !quoted) {
      if (keepEmpty || i > start) segments.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (keepEmpty || text.length > start) segments.push(text.slice(start));
  return segments;
}
