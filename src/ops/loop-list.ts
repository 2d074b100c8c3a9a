/**
 * The attached loop devices, as `losetup --list` shows them: /sys/block/loopN for every N,
 * and what sysfs says of each (loop-sysfs.ts).
 */
import { existingRealpath } from "../sys/realpath.ts";
import { opsContext } from "./context.ts";
import { loopDevicesShowing } from "./loop-reuse.ts";
import { loopBackingFile, sysfsLoopValue, sysfsValue, SYS_BLOCK } from "./loop-sysfs.ts";

/** An attached loop device, as `losetup --list` shows it. */
export interface LoopDevice {
  /** "/dev/loopN" */
  readonly device: string;
  readonly number: number;
  /** the file it is attached to, as the kernel names it (" (deleted)" after an unlink) */
  readonly backingFile: string;
  /** bytes into the file where the device starts */
  readonly offset: number;
  /** bytes of the file the device shows; 0 for the rest of it */
  readonly sizeLimit: number;
  /** the kernel detaches it when its last user closes it */
  readonly autoclear: boolean;
  readonly readOnly: boolean;
  readonly directIo: boolean;
  /** the device's logical sector size in bytes */
  readonly sectorSize: number;
}

/**
 * The attached loop devices in sysfs's order, as losetup -l lists them (the kernel's directory
 * order, not by number), or only those attached to file (losetup -j FILE): by device and inode
 * (LOOP_GET_STATUS64), as losetup, so another path to the file matches too; by its real path
 * where a device cannot be opened (not root). A file that cannot be resolved (missing, deleted,
 * beneath a directory not searchable) matches by the name given only, as losetup's -j when its
 * stat() fails: a missing file lists nothing, and is no error.
 */
export function listLoopDevices(file?: string): LoopDevice[] {
  const resolved = file === undefined ? undefined : existingRealpath(file);
  const showing = resolved === undefined ? [] : loopDevicesShowing(resolved, opsContext());
  const wantedName = resolved ?? file;
  const devices: LoopDevice[] = [];
  for (const name of loopNames()) {
    const device = loopDevice(name);
    if (device === undefined) continue;
    if (file === undefined || showing.includes(device.device) || device.backingFile === wantedName) devices.push(device);
  }
  return devices;
}

/** loopN for every /sys/block/loopN, attached or not, in the directory's order. */
function loopNames(): string[] {
  // Loaded here only: node:fs costs a start-up about 1 ms (docs/bench.md), which loop attach and detach need not pay.
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  return readdirSync(SYS_BLOCK).filter((name) => /^loop\d+$/.test(name));
}

/** What sysfs says of /dev/loopN, or undefined when it is not attached (or went away meanwhile). */
function loopDevice(name: string): LoopDevice | undefined {
  const backingFile = loopBackingFile(name);
  if (backingFile === undefined) return undefined;
  const values = [sysfsLoopValue(name, "offset"), sysfsLoopValue(name, "sizelimit"), sysfsLoopValue(name, "autoclear"), sysfsLoopValue(name, "dio")];
  const [offset, sizeLimit, autoclear, dio] = values;
  const ro = sysfsValue(`${name}/ro`);
  const sectorSize = sysfsValue(`${name}/queue/logical_block_size`);
  if (values.includes(undefined) || ro === undefined || sectorSize === undefined) return undefined;
  return {
    device: `/dev/${name}`,
    number: Number(name.slice("loop".length)),
    backingFile,
    offset: Number(offset),
    sizeLimit: Number(sizeLimit),
    autoclear: autoclear === "1",
    readOnly: ro === "1",
    directIo: dio === "1",
    sectorSize: Number(sectorSize),
  };
}
