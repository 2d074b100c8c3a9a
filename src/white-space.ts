/**
 * JavaScript's white space, the \s of a regular expression, by UTF-16 code unit: for the checks a
 * start of the binary makes on every run (a path to quote, a helper name, /proc/self/uid_map),
 * where a regular expression's first use in the process costs about 0.6 ms and 20 page faults
 * (docs/bench.md). Pure.
 */
export function isWhiteSpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  if (code < 0xa0) return false;
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/** text.trim().split(/\s+/) without the pattern, but "" (or white space alone) gives no field. */
export function whiteSpaceFields(text: string): string[] {
  const fields: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const space = i === text.length || isWhiteSpace(text.charCodeAt(i));
    if (space && start >= 0) {
      fields.push(text.slice(start, i));
      start = -1;
    } else if (!space && start < 0) start = i;
  }
  return fields;
}
