/**
 * The attached loop devices, as `losetup --list` shows them: /sys/block/loopN for every N,
 * and what sysfs says of each (loop-sysfs.ts). Without sysfs (a minimal host that mounts
 * only /proc), as losetup then: the loop devices /proc/partitions lists, and what
 * LOOP_GET_STATUS64 and BLKSSZGET say of each, opened in /dev.
 */
import { Errno } from "../errno.ts";
import { isErrno, PlanError, SyscallError } from "../errors.ts";
import { attachedLoopNames } from "../plan/loop-reuse.ts";
import { O } from "../sys/fd.ts";
import { readTextFile } from "../sys/file.ts";
import { LO_FLAGS, logicalSectorSize } from "../sys/loop.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { fileType } from "../sys/stat.ts";
import { opsContext, type OpsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
import { loopDevicesShowing, PARTITIONS_PATH } from "./loop-reuse.ts";
import { loopBackingFile, sysfsLoopValue, sysfsValue, SYS_BLOCK } from "./loop-sysfs.ts";

/** An attached loop device, as `losetup --list` shows it. */
export interface LoopDevice {
  /** "/dev/loopN" */
  readonly device: string;
  readonly number: number;
  /**
   * the file it is attached to, as the kernel names it (" (deleted)" after an unlink); without
   * sysfs, the name it was attached with, at most 63 bytes (lo_file_name), as losetup shows it then
   */
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
  const ctx = opsContext();
  const resolved = file === undefined ? undefined : existingRealpath(file);
  const showing = resolved === undefined ? [] : loopDevicesShowing(resolved, ctx);
  const wantedName = resolved ?? file;
  const devices: LoopDevice[] = [];
  const sysfs = sysfsLoopNames();
  for (const name of sysfs ?? partitionLoopNames()) {
    const device = sysfs ? loopDevice(name) : loopDeviceByStatus(name, ctx);
    if (device === undefined) continue;
    if (file === undefined || showing.includes(device.device) || device.backingFile === wantedName) devices.push(device);
  }
  return devices;
}

/**
 * One attached loop device ("/dev/loopN"), described as listLoopDevices describes it (through
 * sysfs, else LOOP_GET_STATUS64); undefined when it is not attached.
 */
export function attachedLoopDevice(device: string): LoopDevice | undefined {
  const name = device.slice(device.lastIndexOf("/") + 1);
  if (!/^loop\d+$/.test(name)) return undefined;
  return fileType(SYS_BLOCK) === "dir" ? loopDevice(name) : loopDeviceByStatus(name, opsContext());
}

/** loopN for every /sys/block/loopN, attached or not, in the directory's order; undefined without sysfs. */
function sysfsLoopNames(): string[] | undefined {
  // Loaded here only: node:fs costs a start-up about 1 ms (docs/bench.md), which loop attach and detach need not pay.
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  try {
    return readdirSync(SYS_BLOCK).filter((name) => /^loop\d+$/.test(name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined; // sysfs not mounted on /sys
    throw new PlanError(`list loop devices: read ${SYS_BLOCK}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The attached loop devices /proc/partitions lists (those with a size), as losetup reads them without sysfs. */
function partitionLoopNames(): string[] {
  try {
    return attachedLoopNames(readTextFile(PARTITIONS_PATH));
  } catch (err) {
    if (!(err instanceof SyscallError)) throw err;
    throw new PlanError(`list loop devices: ${SYS_BLOCK} is missing and ${PARTITIONS_PATH} cannot be read: ${err.callFailure}`, {
      hint: "mount sysfs on /sys (mount -t sysfs sysfs /sys), or proc on /proc",
    });
  }
}

/**
 * /dev/loopN as LOOP_GET_STATUS64 and BLKSSZGET describe it, or undefined when it is not
 * attached (ENXIO), went away, or has no node in /dev to open.
 */
function loopDeviceByStatus(name: string, ctx: OpsContext): LoopDevice | undefined {
  const path = `/dev/${name}`;
  let fd: number;
  try {
    fd = ctx.sys.open(path, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) return undefined;
    throw err;
  }
  try {
    const status = ctx.sys.loopGetStatus64(fd);
    return {
      device: path,
      number: Number(name.slice("loop".length)),
      backingFile: status.fileName,
      offset: status.offset,
      sizeLimit: status.sizeLimit,
      autoclear: (status.flags & LO_FLAGS.AUTOCLEAR) !== 0,
      readOnly: (status.flags & LO_FLAGS.READ_ONLY) !== 0,
      directIo: (status.flags & LO_FLAGS.DIRECT_IO) !== 0,
      sectorSize: logicalSectorSize(fd),
    };
  } catch (err) {
    if (isErrno(err, Errno.ENXIO)) return undefined;
    throw err;
  } finally {
    closeQuietly(ctx.sys, fd);
  }
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
