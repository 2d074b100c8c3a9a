// Sources naming a device by UUID or label, and the ids superblocks carry. Pure.
import { beforeEach, describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { deviceTagOf, isLinkOnlyTag, isPartitionTag, noDeviceWithTag, tagMatches, type DeviceTag } from "../../src/plan/device-tag.ts";
import { parseTagSpec } from "../../src/tag-spec.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { PROBE_BYTES, superblockIds } from "../../src/plan/superblock.ts";

// Which sources are tags. "tag": libmount's answer (parseTagSpec), seen in util-linux 2.38.1's
// findmnt -c, which prints a tag as written and canonicalizes any other source, a relative one
// against the working directory (checked by hand with a directory of each name there, and
// /dev/disk links to a node). "device": deviceTagOf's, the tag mountkit finds a device by: a
// /dev/disk link's too (to util-linux a path, resolved when the link is there; taken for its tag,
// the device is found where udev made none, and for ID=, which only udev's link names, a missing
// one is said as the tag).
const TAG_TABLE: { source: string; tag: [string, string] | undefined; device: [string, string] | undefined }[] = [
  { source: "UUID=0a1b", tag: ["UUID", "0a1b"], device: ["UUID", "0a1b"] },
  { source: "LABEL=root", tag: ["LABEL", "root"], device: ["LABEL", "root"] },
  { source: "PARTUUID=0a1b-01", tag: ["PARTUUID", "0a1b-01"], device: ["PARTUUID", "0a1b-01"] },
  { source: "PARTLABEL=boot", tag: ["PARTLABEL", "boot"], device: ["PARTLABEL", "boot"] },
  { source: "ID=ata-x", tag: ["ID", "ata-x"], device: ["ID", "ata-x"] },
  { source: "ID=", tag: undefined, device: undefined },
  { source: "LABEL='q'", tag: ["LABEL", "q"], device: ["LABEL", "q"] },
  { source: 'LABEL="my data"', tag: ["LABEL", "my data"], device: ["LABEL", "my data"] },
  // a quoted value runs to the last quote of its kind (blkid_parse_tag_string)
  { source: 'LABEL="r"x', tag: ["LABEL", "r"], device: ["LABEL", "r"] },
  { source: "LABEL=a=b", tag: ["LABEL", "a=b"], device: ["LABEL", "a=b"] },
  { source: 'LABEL=a"b', tag: ["LABEL", 'a"b'], device: ["LABEL", 'a"b'] },
  // no closing quote, an empty value, a name libmount does not know: no tag
  { source: 'LABEL="a', tag: undefined, device: undefined },
  { source: "LABEL=\"a'", tag: undefined, device: undefined },
  { source: 'LABEL="', tag: undefined, device: undefined },
  { source: 'LABEL=""', tag: undefined, device: undefined },
  { source: "UUID=", tag: undefined, device: undefined },
  { source: "PARTUUID=", tag: undefined, device: undefined },
  { source: "uuid=0a1b", tag: undefined, device: undefined },
  { source: "PART=x", tag: undefined, device: undefined },
  { source: "=x", tag: undefined, device: undefined },
  // udev's links: paths to util-linux, tags to deviceTagOf
  { source: "/dev/disk/by-uuid/0a1b", tag: undefined, device: ["UUID", "0a1b"] },
  { source: "/dev/disk/by-label/my\\x20data", tag: undefined, device: ["LABEL", "my data"] },
  { source: "/dev/disk/by-partuuid/0a1b-01", tag: undefined, device: ["PARTUUID", "0a1b-01"] },
  { source: "/dev/disk/by-partlabel/boot", tag: undefined, device: ["PARTLABEL", "boot"] },
  { source: "/dev/disk/by-id/ata-x", tag: undefined, device: ["ID", "ata-x"] },
  { source: "/dev/disk/by-path/pci-0000:00:1f.2", tag: undefined, device: undefined },
  { source: "/dev/disk/by-uuid/", tag: undefined, device: undefined },
  { source: "/dev/disk/by-uuid/a/b", tag: undefined, device: undefined },
  { source: "/dev/sda1", tag: undefined, device: undefined },
  { source: "tmpfs", tag: undefined, device: undefined },
  { source: "", tag: undefined, device: undefined },
];

describe("which sources are tags", () => {
  test.each(TAG_TABLE)("$source", ({ source, tag, device }) => {
    const spec = parseTagSpec(source);
    expect(spec && [spec.name, spec.value]).toEqual(tag);
    const found = deviceTagOf(source);
    expect(found && [found.name, found.value]).toEqual(device);
  });
});

describe("deviceTagOf", () => {
  test("UUID= and LABEL=, quoted or not, with the udev link for each", () => {
    expect(deviceTagOf("UUID=0a1b-2c")).toEqual({ name: "UUID", value: "0a1b-2c", link: "/dev/disk/by-uuid/0a1b-2c" });
    expect(deviceTagOf('LABEL="my data"')).toEqual({ name: "LABEL", value: "my data", link: "/dev/disk/by-label/my\\x20data" });
    expect(deviceTagOf("LABEL='root'")?.value).toBe("root");
  });

  test("PARTUUID= and PARTLABEL=: a partition's own ids, with udev's by-part* links", () => {
    expect(deviceTagOf("PARTUUID=1a2b3c4d-02")).toEqual({ name: "PARTUUID", value: "1a2b3c4d-02", link: "/dev/disk/by-partuuid/1a2b3c4d-02" });
    expect(deviceTagOf('PARTLABEL="EFI system"')).toEqual({ name: "PARTLABEL", value: "EFI system", link: "/dev/disk/by-partlabel/EFI\\x20system" });
    expect(isPartitionTag(deviceTagOf("PARTLABEL=x")!)).toBe(true);
    expect(isPartitionTag(deviceTagOf("LABEL=x")!)).toBe(false);
    const partLabel = deviceTagOf("PARTLABEL=root")!;
    expect(tagMatches(partLabel, { uuid: "x", label: "root" })).toBe(true);
    expect(tagMatches(deviceTagOf("PARTUUID=1A2B3C4D-02")!, { uuid: "1a2b3c4d-02" })).toBe(true);
  });

  test("the udev links themselves (what fstab tags become), decoded", () => {
    expect(deviceTagOf("/dev/disk/by-label/my\\x20data")).toEqual({ name: "LABEL", value: "my data", link: "/dev/disk/by-label/my\\x20data" });
    expect(deviceTagOf("/dev/disk/by-uuid/0a1b")?.name).toBe("UUID");
    expect(deviceTagOf("/dev/disk/by-partuuid/0a1b-01")?.name).toBe("PARTUUID");
    expect(deviceTagOf("/dev/disk/by-partlabel/boot")?.name).toBe("PARTLABEL");
    expect(deviceTagOf("/dev/disk/by-id/usb-My\\x20Disk-0:0")).toEqual({ name: "ID", value: "usb-My Disk-0:0", link: "/dev/disk/by-id/usb-My\\x20Disk-0:0" });
  });

  test("ID=: udev's id of a device, found only through its by-id link: no ids read from a device match it", () => {
    const id = deviceTagOf("ID=ata-QEMU_HARDDISK_QM00001")!;
    expect(id).toEqual({ name: "ID", value: "ata-QEMU_HARDDISK_QM00001", link: "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001" });
    expect(isLinkOnlyTag(id)).toBe(true);
    expect(isLinkOnlyTag(deviceTagOf("LABEL=x")!)).toBe(false);
    expect(isPartitionTag(id)).toBe(false);
    expect(tagMatches(id, { uuid: "ata-QEMU_HARDDISK_QM00001", label: "ata-QEMU_HARDDISK_QM00001" })).toBe(false);
  });

  test("every other source is no tag", () => {
    for (const source of ["/dev/sda1", "/dev/disk/by-path/x", "/dev/disk/by-id/", "/dev/disk/by-uuid/", "/dev/disk/by-uuid/a/b", "UUID=", "uuid=x", "PARTUUID=", "ID=", "id=x", "PART=x", "tmpfs", ""]) {
      expect(deviceTagOf(source)).toBeUndefined();
    }
  });

  test("UUIDs match case-blind, labels exactly", () => {
    const uuid = deviceTagOf("UUID=1A2B-3C4D")!;
    expect(tagMatches(uuid, { uuid: "1a2b-3c4d" })).toBe(true);
    expect(tagMatches(uuid, { label: "1A2B-3C4D" })).toBe(false);
    const label = deviceTagOf("LABEL=Data")!;
    expect(tagMatches(label, { label: "Data" })).toBe(true);
    expect(tagMatches(label, { label: "data" })).toBe(false);
  });
});

describe("superblockIds", () => {
  const at = (bytes: Uint8Array, offset: number, what: number[] | string) =>
    bytes.set(typeof what === "string" ? [...what].map((c) => c.charCodeAt(0)) : what, offset);
  const uuidBytes = [0x0a, 0x1b, 0x2c, 0x3d, 0, 0, 0x40, 0, 0x80, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc];

  test("ext4: s_uuid and s_volume_name", () => {
    const bytes = new Uint8Array(PROBE_BYTES);
    at(bytes, 1024 + 0x38, [0x53, 0xef]);
    at(bytes, 1024 + 0x60, [0x40]); // extents: ext4
    at(bytes, 1024 + 0x68, uuidBytes);
    at(bytes, 1024 + 0x78, "my data");
    expect(superblockIds(bytes)).toEqual({ uuid: "0a1b2c3d-0000-4000-8000-123456789abc", label: "my data" });
    at(bytes, 1024 + 0x68, new Array(16).fill(0)); // no UUID set
    at(bytes, 1024 + 0x78, new Array(16).fill(0));
    expect(superblockIds(bytes)).toEqual({});
  });

  test("xfs and btrfs", () => {
    const xfs = new Uint8Array(PROBE_BYTES);
    at(xfs, 0, "XFSB");
    at(xfs, 32, uuidBytes);
    at(xfs, 108, "xlab");
    expect(superblockIds(xfs)).toEqual({ uuid: "0a1b2c3d-0000-4000-8000-123456789abc", label: "xlab" });
    const btrfs = new Uint8Array(PROBE_BYTES);
    at(btrfs, 65536 + 64, "_BHRfS_M");
    at(btrfs, 65536 + 32, uuidBytes);
    at(btrfs, 65536 + 0x12b, "pool");
    expect(superblockIds(btrfs)).toEqual({ uuid: "0a1b2c3d-0000-4000-8000-123456789abc", label: "pool" });
  });

  test("vfat: the serial as XXXX-XXXX and the padded label, FAT32 and FAT16 layouts; NO NAME is none", () => {
    const fat32 = new Uint8Array(PROBE_BYTES);
    at(fat32, 510, [0x55, 0xaa]);
    at(fat32, 82, "FAT32   ");
    at(fat32, 66, [0x29, 0x4d, 0x3c, 0x2b, 0x1a]);
    at(fat32, 71, "VOLX       ");
    expect(superblockIds(fat32)).toEqual({ uuid: "1A2B-3C4D", label: "VOLX" });
    const fat16 = new Uint8Array(PROBE_BYTES);
    at(fat16, 510, [0x55, 0xaa]);
    at(fat16, 54, "FAT16   ");
    at(fat16, 38, [0x29, 0xcd, 0xab, 0x34, 0x12]);
    at(fat16, 43, "NO NAME    ");
    expect(superblockIds(fat16)).toEqual({ uuid: "1234-ABCD" });
    at(fat16, 38, [0]); // no extended boot signature
    expect(superblockIds(fat16)).toEqual({});
  });

  test("nothing for filesystems without ids here, or no filesystem", () => {
    const squashfs = new Uint8Array(PROBE_BYTES);
    at(squashfs, 0, "hsqs");
    expect(superblockIds(squashfs)).toEqual({});
    expect(superblockIds(new Uint8Array(100))).toEqual({});
  });
});

describe("planning with a tag as the source", () => {
  const facts = factsForVersion("6.18.0");
  const asked: DeviceTag[] = [];
  beforeEach(() => void asked.splice(0)); // each test sees only what it asked, in any order
  const env = {
    deviceOfTag: (tag: DeviceTag) => {
      asked.push(tag);
      return tag.value === "known" ? "/dev/vdb1" : undefined;
    },
  };

  test("the device found takes the source's place; other sources never ask", () => {
    const plan = planMount({ type: "ext4", source: "LABEL=known", options: [] }, "/mnt", facts, env);
    expect(plan.steps[0]).toMatchObject({ op: "mount", source: "/dev/vdb1", fstype: "ext4" });
    expect(asked.map((t) => t.link)).toEqual(["/dev/disk/by-label/known"]);
    planMount({ type: "tmpfs", source: "tmpfs", options: [] }, "/mnt", facts, env);
    expect(asked).toHaveLength(1);
  });

  test("no device with it: a PlanError naming the tag, before any syscall", () => {
    expect(() => planMount({ type: "ext4", source: "UUID=abc", options: [] }, "/mnt", facts, env)).toThrow(PlanError);
    expect(() => planMount({ type: "ext4", source: "UUID=abc", options: [] }, "/mnt", facts, env)).toThrow(/^mount UUID=abc on \/mnt: no block device has UUID "abc"$/);
  });

  test("ID= no device has: the error names the by-id link as the one place looked, no scan", () => {
    expect(() => planMount({ type: "", source: "ID=usb-x", options: [] }, "/mnt", facts, env)).toThrow(/^mount ID=usb-x on \/mnt: no block device has ID "usb-x"$/);
    expect(asked.at(-1)).toEqual({ name: "ID", value: "usb-x", link: "/dev/disk/by-id/usb-x" });
    expect(noDeviceWithTag(deviceTagOf("ID=usb-x")!, "unmount ID=usb-x").hint).toBe("looked for /dev/disk/by-id/usb-x: udev's link is all that names a device by its id");
    expect(noDeviceWithTag(deviceTagOf("LABEL=x")!, "unmount LABEL=x").hint).toBe("looked for /dev/disk/by-label/x, then read the superblock of each device in /proc/partitions");
  });

  test("without a finder (a caller planning on its own) the source stays as written", () => {
    expect(planMount({ type: "ext4", source: "UUID=abc", options: [] }, "/mnt", facts).steps[0]).toMatchObject({ source: "UUID=abc" });
  });
});
