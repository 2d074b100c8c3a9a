/**
 * NAME=value device tags as libmount reads a source: which sources are tags. One reading for
 * src/plan (finding the device a tag names: plan/device-tag.ts) and src/mountinfo (findmnt -c
 * prints a tag as written and canonicalizes any other source). Pure.
 */

/** The tag names libmount knows: a filesystem's UUID and LABEL, a partition's, a device's ID (udev's by-id). */
export type TagName = "UUID" | "LABEL" | "PARTUUID" | "PARTLABEL" | "ID";

export interface TagSpec {
  readonly name: TagName;
  /** unquoted */
  readonly value: string;
}

/**
 * The tag a source is, as libmount takes one (blkid_parse_tag_string, then its tag names): NAME
 * one of TagName's; a value opening with a quote (' or ") runs to the last such quote, and with
 * none there is no tag; an empty value is none. undefined for anything else, a /dev/disk/by-*
 * path too (a path to util-linux). Checked against util-linux 2.38.1's findmnt -c
 * (test/unit/device-tag.test.ts has the table).
 */
export function parseTagSpec(source: string): TagSpec | undefined {
  const m = /^(LABEL|UUID|PARTLABEL|PARTUUID|ID)=(.*)$/s.exec(source);
  if (!m) return undefined;
  let value = m[2]!;
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const end = value.lastIndexOf(quote);
    if (end === 0) return undefined;
    value = value.slice(1, end);
  }
  return value === "" ? undefined : { name: m[1] as TagName, value };
}
