/**
 * Sources that name a device by its filesystem's UUID or label, or by its partition's (GPT
 * entry or MBR slot), or by udev's id of the device, as mount(8) takes them: `UUID=x`,
 * `LABEL=x`, `PARTUUID=x`, `PARTLABEL=x`, `ID=x`, or udev's links for them
 * (/dev/disk/by-uuid/x, ...by-partlabel/x, ...by-id/x, which fstab tags become). ops/ finds the
 * device: through the link when udev made it, else by reading the superblocks (or the disks'
 * partition tables) of the block devices in /proc/partitions (libblkid's way), which is what a
 * minimal host without udev has. ID= has only its link: udev makes the id from what the device
 * reports (bus, model, serial), no superblock or partition table carries it. Pure.
 */
import { PlanError } from "../errors.ts";
import { parseTagSpec, type TagName } from "../tag-spec.ts";

export interface DeviceTag {
  readonly name: TagName;
  /** the UUID, label or id, decoded */
  readonly value: string;
  /** the udev link that names the device when udev runs */
  readonly link: string;
}

/** udev's link directory for each tag fstab(5) knows; ID names a device, not a filesystem. */
const LINK_DIRS: Readonly<Record<TagName, string>> = {
  UUID: "/dev/disk/by-uuid/",
  LABEL: "/dev/disk/by-label/",
  PARTUUID: "/dev/disk/by-partuuid/",
  PARTLABEL: "/dev/disk/by-partlabel/",
  ID: "/dev/disk/by-id/",
};
const TAG_NAMES: readonly TagName[] = ["UUID", "LABEL", "PARTUUID", "PARTLABEL", "ID"];

/** udev's link for NAME=value (NAME one of parseTagSpec's). */
export function tagLink(name: TagName, value: string): string {
  return `${LINK_DIRS[name]}${udevEncode(value)}`;
}

/** Whether a tag names a partition (its table entry), not the filesystem in it. */
export function isPartitionTag(tag: DeviceTag): boolean {
  return tag.name === "PARTUUID" || tag.name === "PARTLABEL";
}

/**
 * The tag a source names, for finding its device: parseTagSpec's UUID=, LABEL=, PARTUUID=,
 * PARTLABEL= and ID=, or udev's link for one of those. A link is a path to util-linux (mount
 * and findmnt canonicalize it); taking it for its tag finds the device where udev made no link
 * (not for ID, which has nothing else to be found by, but a missing one is then said as the
 * tag, as for the others), as fstab's tags become links (sourceFromTag). undefined for every
 * other source (five prefix tests for those).
 */
export function deviceTagOf(source: string): DeviceTag | undefined {
  if (source.startsWith("/dev/disk/by-")) {
    for (const name of TAG_NAMES) {
      const dir = LINK_DIRS[name];
      if (source.startsWith(dir) && source.length > dir.length && !source.includes("/", dir.length)) {
        return { name, value: udevDecode(source.slice(dir.length)), link: source };
      }
    }
    return undefined;
  }
  if (!source.startsWith("UUID=") && !source.startsWith("LABEL=") && !source.startsWith("PART") && !source.startsWith("ID=")) return undefined;
  const spec = parseTagSpec(source);
  if (spec === undefined) return undefined;
  return { name: spec.name, value: spec.value, link: tagLink(spec.name, spec.value) };
}

/** Whether a tag is found only through udev's link: ID, which no superblock or partition table carries. */
export function isLinkOnlyTag(tag: DeviceTag): boolean {
  return tag.name === "ID";
}

/**
 * Whether ids match a tag: a filesystem's for UUID/LABEL, a partition's for PARTUUID/PARTLABEL;
 * never for ID (isLinkOnlyTag). UUIDs are compared case-blind (blkid prints vfat's upper-case).
 */
export function tagMatches(tag: DeviceTag, ids: { readonly uuid?: string; readonly label?: string }): boolean {
  if (isLinkOnlyTag(tag)) return false;
  if (tag.name === "LABEL" || tag.name === "PARTLABEL") return ids.label === tag.value;
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
    hint: isLinkOnlyTag(tag)
      ? `looked for ${tag.link}: udev's link is all that names a device by its id`
      : `looked for ${tag.link}, then read the ${isPartitionTag(tag) ? "partition table of each disk" : "superblock of each device"} in /proc/partitions`,
  });
}
