/**
 * Loop devices: the ioctls on /dev/loop-control and /dev/loopN, and the two structs they take,
 * laid out by hand (<linux/loop.h>; sizes and offsets are checked against the C header in
 * test/unit/loop-structs.test.ts). Each wrapper names the call it makes.
 */
import { bindLibc, cFd, syscallFailure } from "./libc.ts";
import { bytesFromText, textFromBytes } from "../path-text.ts";

const withPointer = bindLibc({ ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" } });
const withNumber = bindLibc({ ioctl: { args: ["i32", "u64", "u64"], returns: "i32" } });

export const LOOP_IOCTL = {
  SET_FD: 0x4c00,
  CLR_FD: 0x4c01,
  SET_STATUS64: 0x4c04,
  GET_STATUS64: 0x4c05,
  SET_CAPACITY: 0x4c07,
  SET_DIRECT_IO: 0x4c08,
  SET_BLOCK_SIZE: 0x4c09,
  CONFIGURE: 0x4c0a,
  CTL_ADD: 0x4c80,
  CTL_REMOVE: 0x4c81,
  CTL_GET_FREE: 0x4c82,
} as const;

export const LO_FLAGS = {
  READ_ONLY: 1,
  AUTOCLEAR: 4,
  PARTSCAN: 8,
  DIRECT_IO: 16,
} as const;

export const LOOP_CONTROL_PATH = "/dev/loop-control";
export const LO_NAME_SIZE = 64;

/** struct loop_info64: u64 device, inode, rdevice, offset, sizelimit; u32 number, encrypt_type, encrypt_key_size, flags; u8 file_name[64], crypt_name[64], encrypt_key[32]; u64 init[2] */
export const LOOP_INFO64_SIZE = 232;
export const LOOP_INFO64_OFFSET = {
  device: 0,
  inode: 8,
  rdevice: 16,
  offset: 24,
  sizelimit: 32,
  number: 40,
  encryptType: 44,
  encryptKeySize: 48,
  flags: 52,
  fileName: 56,
  cryptName: 120,
  encryptKey: 184,
  init: 216,
} as const;

/** struct loop_config: u32 fd, block_size; struct loop_info64 info; u64 __reserved[8] */
export const LOOP_CONFIG_SIZE = 304;
export const LOOP_CONFIG_OFFSET = { fd: 0, blockSize: 4, info: 8, reserved: 240 } as const;

/** The fields of loop_info64 that mountkit sets and reads. */
export interface LoopInfo {
  /** bytes into the backing file where the device starts */
  readonly offset: number;
  /** bytes of the backing file the device shows; 0 for all of it */
  readonly sizeLimit: number;
  /** LO_FLAGS_* */
  readonly flags: number;
  /** a name for the backing file (at most 63 bytes are kept) */
  readonly fileName: string;
}

export interface LoopStatus extends LoopInfo {
  readonly number: number;
  readonly device: number;
  readonly inode: number;
}


/** Write info into a loop_info64 at byte `at` of view. */
export function encodeLoopInfo64(info: LoopInfo, view: DataView, at = 0): void {
  view.setBigUint64(at + LOOP_INFO64_OFFSET.offset, BigInt(info.offset), true);
  view.setBigUint64(at + LOOP_INFO64_OFFSET.sizelimit, BigInt(info.sizeLimit), true);
  view.setUint32(at + LOOP_INFO64_OFFSET.flags, info.flags, true);
  const name = bytesFromText(info.fileName).subarray(0, LO_NAME_SIZE - 1); // keep the NUL
  new Uint8Array(view.buffer, view.byteOffset + at + LOOP_INFO64_OFFSET.fileName, LO_NAME_SIZE).set(name);
}

export function decodeLoopInfo64(view: DataView, at = 0): LoopStatus {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + at + LOOP_INFO64_OFFSET.fileName, LO_NAME_SIZE);
  const end = bytes.indexOf(0);
  return {
    device: Number(view.getBigUint64(at + LOOP_INFO64_OFFSET.device, true)),
    inode: Number(view.getBigUint64(at + LOOP_INFO64_OFFSET.inode, true)),
    offset: Number(view.getBigUint64(at + LOOP_INFO64_OFFSET.offset, true)),
    sizeLimit: Number(view.getBigUint64(at + LOOP_INFO64_OFFSET.sizelimit, true)),
    number: view.getUint32(at + LOOP_INFO64_OFFSET.number, true),
    flags: view.getUint32(at + LOOP_INFO64_OFFSET.flags, true),
    fileName: textFromBytes(bytes.subarray(0, end < 0 ? LO_NAME_SIZE : end)),
  };
}

/** A loop_config for LOOP_CONFIGURE. */
export function encodeLoopConfig(backingFd: number, blockSize: number, info: LoopInfo): Uint8Array {
  const bytes = new Uint8Array(LOOP_CONFIG_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(LOOP_CONFIG_OFFSET.fd, backingFd, true);
  view.setUint32(LOOP_CONFIG_OFFSET.blockSize, blockSize, true);
  encodeLoopInfo64(info, view, LOOP_CONFIG_OFFSET.info);
  return bytes;
}

function checked(ret: number, call: string): void {
  if (ret < 0) throw syscallFailure(call);
}

/** ioctl(ctlFd, LOOP_CTL_GET_FREE) -> N of a free /dev/loopN (added when none is free) */
export function loopCtlGetFree(ctlFd: number): number {
  const n = withNumber().ioctl(cFd(ctlFd, "ioctl(LOOP_CTL_GET_FREE)"), LOOP_IOCTL.CTL_GET_FREE, 0);
  checked(n, "ioctl(LOOP_CTL_GET_FREE)");
  return n;
}

/** ioctl(ctlFd, LOOP_CTL_ADD, number) -> number: /dev/loopN added, unbound; EEXIST when that N is there already */
export function loopCtlAdd(ctlFd: number, number: number): number {
  const n = withNumber().ioctl(cFd(ctlFd, "ioctl(LOOP_CTL_ADD)"), LOOP_IOCTL.CTL_ADD, number);
  checked(n, "ioctl(LOOP_CTL_ADD)");
  return n;
}

/** ioctl(ctlFd, LOOP_CTL_REMOVE, number): /dev/loopN removed; EBUSY when it is bound or open */
export function loopCtlRemove(ctlFd: number, number: number): void {
  checked(withNumber().ioctl(cFd(ctlFd, "ioctl(LOOP_CTL_REMOVE)"), LOOP_IOCTL.CTL_REMOVE, number), "ioctl(LOOP_CTL_REMOVE)");
}

/** ioctl(loopFd, LOOP_CONFIGURE, &{fd: backingFd, block_size, info}) (Linux 5.8) */
export function loopConfigure(loopFd: number, backingFd: number, blockSize: number, info: LoopInfo): void {
  const config = encodeLoopConfig(cFd(backingFd, "ioctl(LOOP_CONFIGURE)", "backing fd"), blockSize, info);
  checked(withPointer().ioctl(cFd(loopFd, "ioctl(LOOP_CONFIGURE)"), LOOP_IOCTL.CONFIGURE, config), "ioctl(LOOP_CONFIGURE)");
}

/** ioctl(loopFd, LOOP_SET_FD, backingFd) */
export function loopSetFd(loopFd: number, backingFd: number): void {
  checked(withNumber().ioctl(cFd(loopFd, "ioctl(LOOP_SET_FD)"), LOOP_IOCTL.SET_FD, cFd(backingFd, "ioctl(LOOP_SET_FD)", "backing fd")), "ioctl(LOOP_SET_FD)");
}

/** ioctl(loopFd, LOOP_SET_STATUS64, &info) */
export function loopSetStatus64(loopFd: number, info: LoopInfo): void {
  const bytes = new Uint8Array(LOOP_INFO64_SIZE);
  encodeLoopInfo64(info, new DataView(bytes.buffer));
  checked(withPointer().ioctl(cFd(loopFd, "ioctl(LOOP_SET_STATUS64)"), LOOP_IOCTL.SET_STATUS64, bytes), "ioctl(LOOP_SET_STATUS64)");
}

/** ioctl(loopFd, LOOP_GET_STATUS64, &info) */
export function loopGetStatus64(loopFd: number): LoopStatus {
  cFd(loopFd, "ioctl(LOOP_GET_STATUS64)");
  const bytes = new Uint8Array(LOOP_INFO64_SIZE);
  checked(withPointer().ioctl(loopFd, LOOP_IOCTL.GET_STATUS64, bytes), "ioctl(LOOP_GET_STATUS64)");
  return decodeLoopInfo64(new DataView(bytes.buffer));
}

/** Block device ioctls of <linux/fs.h> that loop devices answer (any block device does). */
export const BLOCK_IOCTL = {
  /** _IO(0x12, 104): the logical sector size, as an int */
  SSZGET: 0x1268,
  /** _IOR(0x12, 114, size_t): the size in bytes, as a u64 */
  GETSIZE64: 0x80081272,
} as const;

/** ioctl(deviceFd, BLKSSZGET, &size) -> the logical sector size in bytes (sysfs's queue/logical_block_size) */
export function logicalSectorSize(deviceFd: number): number {
  const size = new Int32Array(1);
  checked(withPointer().ioctl(deviceFd, BLOCK_IOCTL.SSZGET, size), "ioctl(BLKSSZGET)");
  return size[0]!;
}

/** ioctl(deviceFd, BLKGETSIZE64, &bytes) -> the device's size in bytes (sysfs's size is this / 512) */
export function blockDeviceBytes(deviceFd: number): number {
  cFd(deviceFd, "ioctl(BLKGETSIZE64)");
  const bytes = new BigUint64Array(1);
  checked(withPointer().ioctl(deviceFd, BLOCK_IOCTL.GETSIZE64, bytes), "ioctl(BLKGETSIZE64)");
  return Number(bytes[0]!);
}

/**
 * ioctl(loopFd, LOOP_SET_CAPACITY, 0): read the backing file's size again (after it grew or
 * shrank) and resize the device to it, within its offset and sizelimit (losetup -c). ENXIO
 * when nothing is attached.
 */
export function loopSetCapacity(loopFd: number): void {
  checked(withNumber().ioctl(cFd(loopFd, "ioctl(LOOP_SET_CAPACITY)"), LOOP_IOCTL.SET_CAPACITY, 0), "ioctl(LOOP_SET_CAPACITY)");
}

/** ioctl(loopFd, LOOP_SET_DIRECT_IO, on) */
export function loopSetDirectIo(loopFd: number, on: boolean): void {
  checked(withNumber().ioctl(cFd(loopFd, "ioctl(LOOP_SET_DIRECT_IO)"), LOOP_IOCTL.SET_DIRECT_IO, on ? 1 : 0), "ioctl(LOOP_SET_DIRECT_IO)");
}

/** ioctl(loopFd, LOOP_SET_BLOCK_SIZE, bytes): the device's logical sector size (Linux 4.14) */
export function loopSetBlockSize(loopFd: number, bytes: number): void {
  checked(withNumber().ioctl(cFd(loopFd, "ioctl(LOOP_SET_BLOCK_SIZE)"), LOOP_IOCTL.SET_BLOCK_SIZE, bytes), "ioctl(LOOP_SET_BLOCK_SIZE)");
}

/** ioctl(loopFd, LOOP_CLR_FD, 0): detach now, or at last close when the device is in use */
export function loopClrFd(loopFd: number): void {
  checked(withNumber().ioctl(cFd(loopFd, "ioctl(LOOP_CLR_FD)"), LOOP_IOCTL.CLR_FD, 0), "ioctl(LOOP_CLR_FD)");
}
