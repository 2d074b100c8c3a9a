/**
 * Finding a block device by its filesystem's UUID or label (mount UUID=x, fstab's LABEL=x), or
 * its partition's (PARTUUID=x, PARTLABEL=x), as libblkid does: udev's /dev/disk link when
 * there is one, else the superblock (or the disk's partition table) of each block device the
 * kernel lists in /proc/partitions, read with pread. Minimal hosts (an initramfs, a container
 * host without udev) have no /dev/disk at all.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { isLinkOnlyTag, isPartitionTag, tagLink, tagMatches, type DeviceTag } from "../plan/device-tag.ts";
import { parseTagSpec, type TagSpec } from "../tag-spec.ts";
import { partitionIds, type PartitionIds } from "../plan/partition-table.ts";
import { tagsUnresolved, type DeviceIds, type SourceDevices } from "../mountinfo/findmnt-devices.ts";
import { superblockIds } from "../plan/superblock.ts";
import { O } from "../sys/fd.ts";
import { readTextFile } from "../sys/file.ts";
import { partitionNames } from "../plan/proc-partitions.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { libcSyscalls } from "../sys/seam.ts";
import { statPath } from "../sys/stat.ts";
import { closeQuietly } from "./plan-handles.ts";
import { readDeviceStart } from "./probe.ts";

/**
 * The device a tag names: where its udev link points when that is a block device (canonical,
 * /dev/sdb1, as libmount passes it to mount(2) and mountinfo then shows), else the scan's answer.
 */
export function deviceOfTag(tag: DeviceTag): string | undefined {
  return blockDeviceAt(tag.link) ?? scanForTag(tag);
}

/** The device NAME=value names (parseTagSpec's), as deviceOfTag finds it. */
export function deviceOfTagSpec(spec: TagSpec): string | undefined {
  return deviceOfTag({ name: spec.name, value: spec.value, link: tagLink(spec.name, spec.value) });
}

/** The block device a udev link points to, canonical; undefined when it points to none. */
function blockDeviceAt(link: string): string | undefined {
  return statPath(link)?.type === "block" ? (existingRealpath(link) ?? link) : undefined;
}

/**
 * The first device in /proc/partitions whose superblock carries the tag's UUID or label, or
 * for PARTUUID/PARTLABEL, the first partition whose entry in its disk's table does; for ID,
 * which neither carries, none (nothing is read).
 */
export function scanForTag(tag: DeviceTag): string | undefined {
  if (isLinkOnlyTag(tag)) return undefined;
  if (isPartitionTag(tag)) return scanPartitionTables(tag, partitionDevices());
  return partitionDevices().find((device) => {
    const bytes = deviceStart(device);
    return bytes !== undefined && tagMatches(tag, superblockIds(bytes));
  });
}

/** Where the kernel shows block devices: sysfs and /dev (a test hands in a tree of its own). */
export interface BlockLayout {
  readonly sysfs: string;
  readonly dev: string;
}
const KERNEL_LAYOUT: BlockLayout = { sysfs: "/sys", dev: "/dev" };

/**
 * The first of devices that is a partition whose entry in its disk's table carries the tag's
 * PARTUUID or PARTLABEL; each disk is read once.
 */
export function scanPartitionTables(tag: DeviceTag, devices: readonly string[], layout: BlockLayout = KERNEL_LAYOUT): string | undefined {
  const idsOf = partitionReader(layout);
  return devices.find((device) => {
    const ids = idsOf(device);
    return ids !== undefined && tagMatches(tag, ids);
  });
}

/**
 * A reader of partitions' entries in their disks' tables (undefined for a device that is no
 * partition, or whose disk has no table mountkit reads), each disk read once.
 */
function partitionReader(layout: BlockLayout): (device: string) => PartitionIds | undefined {
  const disks = new Map<string, Uint8Array | undefined>();
  return (device) => {
    const partition = partitionOf(device, layout);
    if (partition === undefined) return undefined;
    if (!disks.has(partition.disk)) disks.set(partition.disk, deviceStart(partition.disk));
    const bytes = disks.get(partition.disk);
    return bytes === undefined ? undefined : partitionIds(bytes, partition.number);
  };
}

/**
 * Every device in /proc/partitions carrying the tag, in that order (findmnt's SOURCES, which
 * libblkid finds by probing each device); none for ID, which no device carries.
 */
export function devicesWithTag(tag: DeviceTag, layout: BlockLayout = KERNEL_LAYOUT): string[] {
  if (isLinkOnlyTag(tag)) return [];
  const devices = partitionDevices();
  if (isPartitionTag(tag)) {
    const idsOf = partitionReader(layout);
    return devices.filter((device) => {
      const ids = idsOf(device);
      return ids !== undefined && tagMatches(tag, ids);
    });
  }
  return devices.filter((device) => {
    const bytes = deviceStart(device);
    return bytes !== undefined && tagMatches(tag, superblockIds(bytes));
  });
}

/**
 * What blkid reads from a block device or an image file (findmnt's UUID, LABEL, PARTUUID,
 * PARTLABEL): its filesystem's UUID and label, and for a partition its entry's in the disk's
 * table. {} for anything else (a directory, a name no file has) and what cannot be read.
 */
export function deviceIds(path: string, layout: BlockLayout = KERNEL_LAYOUT): DeviceIds {
  const type = statPath(path)?.type;
  if (type !== "block" && type !== "file") return {};
  const bytes = deviceStart(path);
  const { uuid, label } = bytes === undefined ? {} : superblockIds(bytes);
  const partition = type === "block" ? partitionReader(layout)(path) : undefined;
  return { uuid, label, partuuid: partition?.uuid, partlabel: partition?.label };
}

/**
 * The disk and number of a partition (/dev/loop0p2: /dev/loop0, 2), from sysfs, where a
 * partition's directory has a `partition` file and sits in its disk's; undefined for a whole disk.
 */
export function partitionOf(device: string, layout: BlockLayout = KERNEL_LAYOUT): { disk: string; number: number } | undefined {
  const name = device.slice(device.lastIndexOf("/") + 1);
  const link = `${layout.sysfs}/class/block/${name}`;
  let number: number;
  try {
    number = Number(readTextFile(`${link}/partition`).trim());
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
  const dir = existingRealpath(link);
  if (dir === undefined || !Number.isInteger(number) || number < 1) return undefined;
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  return { disk: `${layout.dev}/${parent.slice(parent.lastIndexOf("/") + 1)}`, number };
}

/** /dev/NAME for each device in /proc/partitions that exists as a block device here. */
export function partitionDevices(): string[] {
  let text: string;
  try {
    text = readTextFile("/proc/partitions");
  } catch (err) {
    if (err instanceof SyscallError && err.errno === Errno.ENOENT) return []; // no /proc
    throw err;
  }
  return partitionNames(text)
    .map((name) => `/dev/${name}`)
    .filter((device) => statPath(device)?.type === "block");
}

/** The label of the filesystem on a block device (mount -l), or undefined: none, no block device, unreadable. */
export function deviceLabel(device: string): string | undefined {
  if (statPath(device)?.type !== "block") return undefined;
  const bytes = deviceStart(device);
  return bytes === undefined ? undefined : superblockIds(bytes).label;
}

/**
 * The first PROBE_BYTES of a device, or undefined when it cannot be read (no medium, no
 * permission, gone): such a device names nothing. O_NONBLOCK, as blkid, so a CD drive does not wait.
 */
function deviceStart(device: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = libcSyscalls.open(device, O.RDONLY | O.CLOEXEC | O.NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return readDeviceStart(fd, device, libcSyscalls);
  } catch {
    return undefined;
  } finally {
    closeQuietly(libcSyscalls, fd);
  }
}

/**
 * The device reads of findmnt's UUID, LABEL, PARTUUID, PARTLABEL and SOURCES for one listing,
 * each source and tag read once however many rows and columns ask: a source is resolved as
 * findmnt resolves it (mnt_resolve_spec: a tag's device, else the path made canonical against
 * the working directory), then read (deviceIds). Without lookUpTags (findmnt -C) a tag names no
 * device (tagsUnresolved).
 */
export function sourceDeviceReads({ lookUpTags = true }: { lookUpTags?: boolean } = {}): SourceDevices {
  if (!lookUpTags) return tagsUnresolved(sourceDeviceReads());
  const ids = new Map<string, DeviceIds>();
  const carrying = new Map<string, readonly string[]>();
  return {
    idsOf: (spec) => {
      let found = ids.get(spec);
      if (found === undefined) {
        const tag = parseTagSpec(spec);
        const device = tag !== undefined ? deviceOfTagSpec(tag) : canonicalPath(spec);
        found = device === undefined ? {} : deviceIds(device);
        ids.set(spec, found);
      }
      return found;
    },
    carrying: (tag) => {
      const key = `${tag.name}=${tag.value}`;
      let found = carrying.get(key);
      if (found === undefined) carrying.set(key, (found = devicesWithTag({ ...tag, link: tagLink(tag.name, tag.value) })));
      return found;
    },
  };
}

/**
 * A path as util-linux canonicalizes one (findmnt -c): realpath(3) of it, taken against the
 * working directory when relative ("proc" in / is /proc, as findmnt prints it), a device-mapper
 * node /dev/dm-N as its /dev/mapper/NAME; the path unchanged when it does not resolve.
 */
export function canonicalPath(path: string): string {
  if (path === "") return path;
  const real = existingRealpath(path);
  if (real === undefined) return path;
  const dm = /^\/dev\/(dm-\d+)$/.exec(real);
  if (dm === null) return real;
  let name: string;
  try {
    name = readTextFile(`/sys/block/${dm[1]}/dm/name`).trim();
  } catch {
    return real;
  }
  const mapper = `/dev/mapper/${name}`;
  return name !== "" && statPath(mapper) !== undefined ? mapper : real;
}
