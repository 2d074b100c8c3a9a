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
import { AT } from "../plan/mount-api-flags.ts";
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
  /** the kernel reads its partition table (LO_FLAGS_PARTSCAN): /dev/loopNpM */
  readonly partscan: boolean;
  /** the device's own number, "7:0" (losetup's MAJ:MIN) */
  readonly majorMinor: string;
  /**
   * the backing file's device ("254:0") and inode, as LOOP_GET_STATUS64 gives them (losetup's
   * BACK-MAJ:MIN and BACK-INO): without sysfs always, through sysfs only when asked
   * (listLoopDevices' backingIdentity); absent when the device cannot be opened (not root)
   */
  readonly backingDevice?: string;
  readonly backingInode?: number;
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
      partscan: (status.flags & LO_FLAGS.PARTSCAN) !== 0,
      majorMinor: ctx.sys.statxNode(fd, "", AT.EMPTY_PATH).rdev,
      backingDevice: decodeKernelDevice(status.device),
      backingInode: status.inode,
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
  const values = [sysfsLoopValue(name, "offset"), sysfsLoopValue(name, "sizelimit"), sysfsLoopValue(name, "autoclear"), sysfsLoopValue(name, "dio"), sysfsLoopValue(name, "partscan")];
  const [offset, sizeLimit, autoclear, dio, partscan] = values;
  const ro = sysfsValue(`${name}/ro`);
  const sectorSize = sysfsValue(`${name}/queue/logical_block_size`);
  const majorMinor = sysfsValue(`${name}/dev`);
  if (values.includes(undefined) || ro === undefined || sectorSize === undefined || majorMinor === undefined) return undefined;
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
    partscan: partscan === "1",
    majorMinor,
  };
}

/**
 * The device with its backing file's device and inode (LOOP_GET_STATUS64, on /dev/loopN opened
 * read-only), which sysfs does not show; as it was when the device cannot be opened or asked.
 */
export function withBackingIdentity(device: LoopDevice, ctx: OpsContext): LoopDevice {
  if (device.backingInode !== undefined) return device;
  let fd: number;
  try {
    fd = ctx.sys.open(device.device, O.RDONLY | O.CLOEXEC);
  } catch (err) {
    if (err instanceof SyscallError) return device; // not root, or no node in /dev: losetup leaves the cells empty too
    throw err;
  }
  try {
    const status = ctx.sys.loopGetStatus64(fd);
    return { ...device, backingDevice: decodeKernelDevice(status.device), backingInode: status.inode };
  } catch (err) {
    if (err instanceof SyscallError) return device; // detached meanwhile
    throw err;
  } finally {
    closeQuietly(ctx.sys, fd);
  }
}

/** lo_device, the kernel's new_encode_dev of the file's st_dev, as "major:minor". */
function decodeKernelDevice(encoded: number): string {
  const major = Math.floor(encoded / 256) % 4096;
  const minor = (encoded % 256) + Math.floor(encoded / 1048576) * 256;
  return `${major}:${minor}`;
}
