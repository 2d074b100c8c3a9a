/**
 * Sources that name a device by its filesystem's UUID or label, as mount(8) takes them:
 * `UUID=x`, `LABEL=x`, or udev's links for them (/dev/disk/by-uuid/x, /dev/disk/by-label/x,
 * which fstab tags become). ops/ finds the device: through the link when udev made it, else by
 * reading the superblocks of the block devices in /proc/partitions (libblkid's way), which is
 * what a minimal host without udev has. Pure.
 */
import { PlanError } from "../errors.ts";

export type DeviceTagName = "UUID" | "LABEL";

export interface DeviceTag {
  readonly name: DeviceTagName;
  /** the UUID or label, decoded */
  readonly value: string;
  /** the udev link that names the device when udev runs */
  readonly link: string;
}

const LINK_DIRS: Readonly<Record<DeviceTagName, string>> = { UUID: "/dev/disk/by-uuid/", LABEL: "/dev/disk/by-label/" };

/** The tag a source names, or undefined for every other source (three prefix tests for those). */
export function deviceTagOf(source: string): DeviceTag | undefined {
  if (source.startsWith("/dev/disk/by-")) {
    for (const name of ["UUID", "LABEL"] as const) {
      const dir = LINK_DIRS[name];
      if (source.startsWith(dir) && source.length > dir.length && !source.includes("/", dir.length)) {
        return { name, value: udevDecode(source.slice(dir.length)), link: source };
      }
    }
    return undefined;
  }
  if (!source.startsWith("UUID=") && !source.startsWith("LABEL=")) return undefined;
  const spec = parseTagSpec(source);
  if (spec === undefined) return undefined;
  const name = spec.name as DeviceTagName;
  return { name, value: spec.value, link: `${LINK_DIRS[name]}${udevEncode(spec.value)}` };
}

/**
 * NAME=value for the tags fstab(5) knows (LABEL, UUID, PARTLABEL, PARTUUID, ID), the value
 * unquoted ('x' or "x"); undefined for anything else.
 */
export function parseTagSpec(spec: string): { name: string; value: string } | undefined {
  const m = /^(LABEL|UUID|PARTLABEL|PARTUUID|ID)=(.+)$/.exec(spec);
  if (!m) return undefined;
  let value = m[2]!;
  if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) value = value.slice(1, -1);
  return { name: m[1]!, value };
}

/** Whether a filesystem's ids match a tag: UUIDs compared case-blind (blkid prints vfat's upper-case). */
export function tagMatches(tag: DeviceTag, ids: { readonly uuid?: string; readonly label?: string }): boolean {
  if (tag.name === "LABEL") return ids.label === tag.value;
  return ids.uuid !== undefined && ids.uuid.toLowerCase() === tag.value.toLowerCase();
}

/** udev's name encoding for /dev/disk links: bytes outside [A-Za-z0-9#+-.:=@_] as \xNN. */
export function udevEncode(value: string): string {
  let out = "";
  for (const ch of value) {
    if (/[A-Za-z0-9#+\-.:=@_]/.test(ch) || ch.charCodeAt(0) > 0x7f) out += ch;
    else out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  }
  return out;
}

function udevDecode(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The error of a tag no block device has, for `action` ("mount LABEL=x on /mnt"). */
export function noDeviceWithTag(tag: DeviceTag, action: string): PlanError {
  return new PlanError(`${action}: no block device has ${tag.name} ${JSON.stringify(tag.value)}`, {
    hint: `looked for ${tag.link}, then read the superblock of each device in /proc/partitions`,
  });
}
