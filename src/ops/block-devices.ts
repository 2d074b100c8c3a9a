/**
 * Finding a block device by its filesystem's UUID or label (mount UUID=x, fstab's LABEL=x),
 * as libblkid does: udev's /dev/disk link when there is one, else the superblock of each block
 * device the kernel lists in /proc/partitions, read with pread. Minimal hosts (an initramfs, a
 * container host without udev) have no /dev/disk at all.
 */
import { Errno } from "../errno.ts";
import { SyscallError } from "../errors.ts";
import { tagMatches, type DeviceTag } from "../plan/device-tag.ts";
import { PROBE_BYTES, superblockIds } from "../plan/superblock.ts";
import { close, O, open, readAt } from "../sys/fd.ts";
import { readTextFile } from "../sys/file.ts";
import { statPath } from "../sys/stat.ts";

/** The device tag names: its udev link when that is a block device, else the first device whose superblock matches. */
export function deviceOfTag(tag: DeviceTag): string | undefined {
  if (statPath(tag.link)?.type === "block") return tag.link;
  return partitionDevices().find((device) => {
    const bytes = readDeviceStart(device);
    return bytes !== undefined && tagMatches(tag, superblockIds(bytes));
  });
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
  // "major minor  #blocks  name", a blank line, then one device per line
  const devices: string[] = [];
  for (const line of text.split("\n").slice(1)) {
    const name = line.trim().split(/\s+/)[3];
    if (name && statPath(`/dev/${name}`)?.type === "block") devices.push(`/dev/${name}`);
  }
  return devices;
}

/**
 * The first PROBE_BYTES of a device, or undefined when it cannot be read (no medium, no
 * permission, gone): such a device names nothing. O_NONBLOCK, as blkid, so a CD drive does not wait.
 */
function readDeviceStart(device: string): Uint8Array | undefined {
  let fd: number;
  try {
    fd = open(device, O.RDONLY | O.CLOEXEC | O.NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const bytes = new Uint8Array(PROBE_BYTES);
    return bytes.subarray(0, readAt(fd, bytes, 0, device));
  } catch {
    return undefined;
  } finally {
    try {
      close(fd);
    } catch {
      // a read-only fd: nothing written that a failed close could lose
    }
  }
}
