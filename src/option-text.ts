/**
 * libmount's option strings as text: items separated by the commas outside double quotes.
 * One splitter for the options a user gives (src/plan, which refuses an unbalanced quote) and
 * the ones the kernel shows in mountinfo (src/mountinfo, which takes the table as it is). Pure.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;

/**
 * Split on the commas outside double quotes, the quotes kept (`a,b="x,y"` gives `a` and
 * `b="x,y"`); empty items are dropped. An unbalanced quote runs to the end of the text.
 */
export function splitOptionText(text: string): string[] {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) quoted = !quoted;
    else if (ch === COMMA && !quoted) {
      if (i > start) items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (text.length > start) items.push(text.slice(start));
  return items;
}

/** Whether text holds an odd number of double quotes (one opened and never closed). */
export function hasUnbalancedQuote(text: string): boolean {
  let quotes = 0;
  for (let at = text.indexOf('"'); at >= 0; at = text.indexOf('"', at + 1)) quotes++;
  return quotes % 2 === 1;
}
