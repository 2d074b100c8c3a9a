/**
 * What the kernel's sysfs says of a loop device (/sys/block/loopN/loop/*), as losetup reads
 * it: the file it is attached to, its offset and flags.
 */
import { SyscallError } from "../errors.ts";
import { readTextFile } from "../sys/file.ts";

export const SYS_BLOCK = "/sys/block";

/**
 * The file a loop device is attached to (/sys/block/loopN/loop/backing_file, as losetup reads
 * it), or undefined when it is no attached loop device. device: "/dev/loopN" or "loopN".
 */
export function loopBackingFile(device: string): string | undefined {
  return sysfsLoopValue(device, "backing_file");
}

/** /sys/block/loopN/loop/NAME without its newline, or undefined when it cannot be read. */
export function sysfsLoopValue(device: string, name: string): string | undefined {
  return sysfsValue(`${device.slice(device.lastIndexOf("/") + 1)}/loop/${name}`);
}

/** /sys/block/PATH without its newline, or undefined when it cannot be read. */
export function sysfsValue(path: string): string | undefined {
  try {
    return readTextFile(`${SYS_BLOCK}/${path}`).replace(/\n$/, "");
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
}
