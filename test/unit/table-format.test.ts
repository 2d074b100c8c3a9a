// tableFormatOf: what findmnt -F FILE holds, guessed as libmount guesses it from the first
// line that is neither blank nor a comment (sscanf(line, "%u %u") == 2: mountinfo).
import { expect, test } from "bun:test";
import { tableFormatOf } from "../../src/mountinfo/table-format.ts";

const CASES: [string, string, "mountinfo" | "fstab" | undefined][] = [
  ["a mountinfo line", "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n", "mountinfo"],
  ["an fstab line", "tmpfs /a tmpfs defaults 0 0\n", "fstab"],
  ["comments and blank lines before it", "# saved\n\n \t\n  # indented\n21 1 0:31 / /c rw - tmpfs c rw\n", "mountinfo"],
  ["blanks before its first field", " \t21 1 0:31 / /c rw - tmpfs c rw", "mountinfo"],
  ["a tab between the numbers", "1\t2 /a tmpfs defaults 0 0", "mountinfo"],
  ["a carriage return ending the blank line before it", "\r\n1 0 8:1 / / rw - ext4 /dev/sda1 rw\r\n", "mountinfo"],
  ["a lone number: one number, not two", "12 /a tmpfs defaults 0 0\n", "fstab"],
  ["a second number with no blank before it, signed", "1-2 /a tmpfs defaults 0 0\n", "mountinfo"],
  ["a second number glued to a word", "1 2tmpfs /a tmpfs defaults 0 0\n", "mountinfo"],
  ["a signed first number and no second", "+1 /a tmpfs defaults 0 0\n", "fstab"],
  ["a network source of digits", "192.168.1.1:/export /mnt nfs defaults 0 0\n", "fstab"],
  ["a tag", "UUID=1234 / ext4 defaults 0 1\n", "fstab"],
  ["a comment that starts with numbers", "# 1 0 8:1 / /\ntmpfs /a tmpfs defaults 0 0\n", "fstab"],
  ["nothing", "", undefined],
  ["blank lines and comments only", "\n# 1 0\n  \n\t#\n", undefined],
];

for (const [name, text, format] of CASES) {
  test(`${name}: ${format ?? "undefined (the next file tells)"}`, () => {
    expect(tableFormatOf(text)).toBe(format);
  });
}
