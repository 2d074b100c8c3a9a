/**
 * One loop device described, as `losetup --list` shows it: from sysfs (/sys/block/loopN, as
 * losetup reads it), or, without sysfs (a minimal host that mounts only /proc), from
 * LOOP_GET_STATUS64 and BLKSSZGET on the device opened in /dev, as losetup falls back.
 * No node:fs here: mount's listing describes the loop devices it shows.
 */
import { Errno } from "../errno.ts";
import { isErrno, SyscallError } from "../errors.ts";
import { O } from "../sys/fd.ts";
import { LO_FLAGS, logicalSectorSize } from "../sys/loop.ts";
import { fileType } from "../sys/stat.ts";
import { opsContext, type OpsContext } from "./context.ts";
import { closeQuietly } from "./plan-handles.ts";
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
 * One attached loop device ("/dev/loopN"), described as listLoopDevices describes it (through
 * sysfs, else LOOP_GET_STATUS64); undefined when it is not attached.
 */
export function attachedLoopDevice(device: string): LoopDevice | undefined {
  const name = device.slice(device.lastIndexOf("/") + 1);
  if (!/^loop\d+$/.test(name)) return undefined;
  return fileType(SYS_BLOCK) === "dir" ? loopDeviceBySysfs(name) : loopDeviceByStatus(name, opsContext());
}

/**
 * /dev/loopN as LOOP_GET_STATUS64 and BLKSSZGET describe it, or undefined when it is not
 * attached (ENXIO), went away, or has no node in /dev to open.
 */
export function loopDeviceByStatus(name: string, ctx: OpsContext): LoopDevice | undefined {
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
export function loopDeviceBySysfs(name: string): LoopDevice | undefined {
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
