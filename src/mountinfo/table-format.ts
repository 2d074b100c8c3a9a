/**
 * What a saved table holds (findmnt -F FILE without -s), guessed as libmount's parser guesses
 * it: from the first line that is neither blank nor a comment. Pure: text in, a format out.
 */

export type TableFormat = "mountinfo" | "fstab";

/**
 * The format of a table whose text is this: "mountinfo" when its first line that is not blank
 * or a comment starts with two unsigned numbers (the mount and parent ids), as libmount's
 * sscanf(line, "%u %u") reads them, else "fstab". undefined when the text has no such line:
 * libmount then guesses from the next file's first line.
 */
export function tableFormatOf(text: string): TableFormat | undefined {
  const line = firstTableLine(text);
  if (line === undefined) return undefined;
  return TWO_NUMBERS.test(line) ? "mountinfo" : "fstab";
}

// sscanf's %u: blanks (isspace), an optional sign, decimal digits, all of them (a lone number
// is one number, not two); then the format's space, which takes no blank as well as several.
const TWO_NUMBERS = /^[ \t\n\v\f\r]*[+-]?\d+(?!\d)[ \t\n\v\f\r]*[+-]?\d/;

/**
 * The first line libmount parses: a carriage return before the newline dropped, blanks (space
 * and tab) before the first field skipped, then an empty line or one starting with "#" passed over.
 */
function firstTableLine(text: string): string | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").replace(/^[ \t]+/, "");
    if (line !== "" && !line.startsWith("#")) return line;
  }
  return undefined;
}
