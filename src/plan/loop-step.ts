/**
 * The loop-mount step: attach an image file to a free loop device, mount the device, then
 * close the device's fd. Autoclear makes the kernel free the device when the mount goes away;
 * the fd must stay open until the mount holds the device, or the device is freed under it.
 * A device attached to the same range of the file already is mounted instead (loop-reuse.ts).
 *
 *   control = open("/dev/loop-control"); flock(control, LOCK_EX)  (ops/loop-lock.ts)
 *   (the look for a device attached to the file already)
 *   backing = open(file, O_RDWR or O_RDONLY)
 *   N = ioctl(control, LOOP_CTL_GET_FREE)                          } retried on EBUSY (or
 *   loopfd = open("/dev/loopN")                                     } ENXIO), when another
 *   ioctl(loopfd, LOOP_CONFIGURE, {backing, info: offset, sizelimit, LO_FLAGS_*})  } process took loopN
 *     or (kernels before 5.8) LOOP_SET_FD, LOOP_SET_STATUS64, LOOP_SET_DIRECT_IO
 *   (loopN held open exclusively by another process, which GET_FREE gives again each time:
 *   another device /dev lists, or one LOOP_CTL_ADD adds: ops/loop-free.ts)
 *   close(backing); close(control)
 *   (no type given: pread the device's superblock for it, as plan/probe-step.ts)
 *   mount("/dev/loopN", target, fstype, flags, data)
 *   close(loopfd)
 * Pure.
 */
import { dataWithDevices, placeholderDeviceNames, type ErofsDevice } from "./erofs-devices.ts";
import type { HelperArguments } from "./external-helper.ts";
import { describeLoopRange } from "./loop-reuse.ts";
import { formatIdmappedNewMount, idmappedNewMountDescription, newMountSyscalls } from "./idmapped-new-mount.ts";
import { formatMountCall, mountCallArgs } from "./mount-call.ts";
import { formatAllowedTypes, formatProbedHelper, formatProbedMountCall } from "./probe-step.ts";
import { LOOP_FALLBACK_LINE } from "./read-only-fallback.ts";
import { formatOtherTypes } from "./type-list.ts";
import { PROBE_BYTES } from "./superblock.ts";

export type LoopMethod = "configure" | "set-fd";

export interface LoopSetup {
  /** the backing file (an image) or block device */
  readonly file: string;
  /** LO_FLAGS_READ_ONLY, and the backing file opened O_RDONLY */
  readonly readOnly: boolean;
  /** LO_FLAGS_AUTOCLEAR: the kernel detaches the device when its last user closes it */
  readonly autoclear: boolean;
  /** LO_FLAGS_DIRECT_IO: the device reads and writes the file with O_DIRECT */
  readonly directIo: boolean;
  /** LO_FLAGS_PARTSCAN: the kernel reads the image's partition table (/dev/loopNpM), losetup -P */
  readonly partscan?: boolean;
  /** bytes into the file where the device starts */
  readonly offset: number;
  /** bytes of the file the device shows; 0 for the rest of it */
  readonly sizeLimit: number;
  /** the device's logical sector size in bytes (losetup -b); 0 or absent: the kernel's default, 512 */
  readonly sectorSize?: number;
  /** loop=/dev/loopN: this device rather than a free one from LOOP_CTL_GET_FREE */
  readonly device?: string;
  /**
   * losetup DEV FILE: the kernel is asked to add device first (LOOP_CTL_ADD; EEXIST when it has
   * it), as losetup asks (ops/loop-add.ts). Never for a mount's loop=: mount(8) adds none.
   */
  readonly addDevice?: boolean;
  /** LOOP_CONFIGURE (one ioctl, 5.8) or LOOP_SET_FD + LOOP_SET_STATUS64 */
  readonly method: LoopMethod;
  /**
   * A file that cannot be opened for writing (EROFS, EACCES) is attached read-only instead,
   * as losetup does; a loop mount is then made read-only (plan/read-only-fallback.ts).
   */
  readonly readOnlyFallback: boolean;
}

export interface LoopMountStep {
  readonly op: "loop-mount";
  readonly loop: LoopSetup;
  readonly target: string;
  /** null: none given, read from the device's superblock once attached (mount(8)'s auto) */
  readonly fstype: string | null;
  /** a type list's types after fstype, each tried when the kernel refuses the one before (plan/type-list.ts) */
  readonly otherTypes?: readonly string[];
  readonly flags: number;
  /** without the device= items when devices is set: those go at its end, loop devices for files */
  readonly data: string | null;
  /** erofs's device= options, when one names a regular file (plan/erofs-devices.ts) */
  readonly devices?: readonly ErofsDevice[];
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
  /** the device's filesystem made idmapped with the user namespace in this slot, through the fd API (plan/idmapped-new-mount.ts) */
  readonly idmap?: string;
  /** fstype null, X-mount.auto-fstypes given: the types the superblock may name (a type list) */
  readonly allowedTypes?: string;
  /**
   * fstype null, the caller runs mount.TYPE helpers: the loop device goes to the helper of the
   * type read when it has one, with these arguments (plan/external-helper.ts), instead of mount(2)
   */
  readonly helper?: HelperArguments;
  /** "mount /img on /mnt": named in a helper's errors */
  readonly action?: string;
}

/** "LO_FLAGS_READ_ONLY|LO_FLAGS_AUTOCLEAR" for the flags a setup asks for. */
export function loopFlagNames(loop: LoopSetup): string {
  const names = [
    loop.readOnly ? "LO_FLAGS_READ_ONLY" : "",
    loop.autoclear ? "LO_FLAGS_AUTOCLEAR" : "",
    loop.directIo ? "LO_FLAGS_DIRECT_IO" : "",
    loop.partscan ? "LO_FLAGS_PARTSCAN" : "",
  ].filter(Boolean);
  return names.length ? names.join("|") : "0";
}

/** The step's data as the mount gets it, the device= files' loop devices named /dev/loopD1... */
function shownData(step: LoopMountStep): string | null {
  return step.devices === undefined ? step.data : dataWithDevices(step.data, step.devices, placeholderDeviceNames(step.devices));
}

export function describeLoopMountStep(step: LoopMountStep): Record<string, unknown> {
  const data = shownData(step);
  return {
    op: step.op,
    syscalls: ["open", "flock", "ioctl", ...(step.fstype === null ? ["pread"] : []), ...newMountSyscalls(step.idmap), "close"],
    loop: { ...step.loop, flagNames: loopFlagNames(step.loop) },
    ...(step.devices === undefined ? {} : { devices: step.devices.map((d) => (d.loop === undefined ? d : { ...d, loop: { ...d.loop, flagNames: loopFlagNames(d.loop) } })) }),
    ...(step.fstype === null ? { probe: { device: "/dev/loopN", bytes: PROBE_BYTES, ...(step.allowedTypes === undefined ? {} : { allowedTypes: step.allowedTypes }) } } : {}),
    ...(step.otherTypes ? { otherTypes: step.otherTypes } : {}),
    args: { ...mountCallArgs({ ...step, data, source: "/dev/loopN" }), ...(step.fstype === null ? { fstypeFrom: "superblock" } : {}) },
    ...(step.idmap !== undefined ? idmappedNewMountDescription({ ...step, source: "/dev/loopN" }, step.idmap) : {}),
    ...(step.helper === undefined ? {} : { helper: { flags: step.helper.flags, options: step.helper.options } }),
    undoable: step.undoable,
  };
}

/** The calls the step makes, one per line, C-like. */
export function formatLoopSetup(loop: LoopSetup): string[] {
  const q = JSON.stringify;
  const mode = loop.readOnly ? "O_RDONLY" : "O_RDWR";
  const info = `{lo_offset: ${loop.offset}, lo_sizelimit: ${loop.sizeLimit}, lo_flags: ${loopFlagNames(loop)}, lo_file_name: ${q(loop.file)}}`;
  const lines = [
    `backing = open(${q(loop.file)}, ${mode}|O_CLOEXEC)`,
    ...(loop.readOnlyFallback && !loop.readOnly ? [LOOP_FALLBACK_LINE] : []),
    ...(loop.device === undefined
      ? [`N = ioctl(control, LOOP_CTL_GET_FREE)`, `loopfd = open("/dev/loopN", ${mode}|O_CLOEXEC)`]
      : [`loopfd = open(${q(loop.device)}, ${mode}|O_CLOEXEC)`]),
  ];
  if (loop.method === "configure") {
    lines.push(`ioctl(loopfd, LOOP_CONFIGURE, {fd: backing, block_size: ${loop.sectorSize ?? 0}, info: ${info}})`);
  } else {
    const settable = { ...loop, readOnly: false, directIo: false }; // read-only comes from the O_RDONLY backing fd
    lines.push(
      "ioctl(loopfd, LOOP_SET_FD, backing)",
      `ioctl(loopfd, LOOP_SET_STATUS64, {lo_offset: ${loop.offset}, lo_sizelimit: ${loop.sizeLimit}, lo_flags: ${loopFlagNames(settable)}, lo_file_name: ${q(loop.file)}})`,
    );
    if (loop.sectorSize) lines.push(`ioctl(loopfd, LOOP_SET_BLOCK_SIZE, ${loop.sectorSize})`);
    if (loop.directIo) lines.push("ioctl(loopfd, LOOP_SET_DIRECT_IO, 1)");
  }
  lines.push("close(backing)", `close(control)${LOCK_GOES}`);
  return lines;
}

/** The lock of ops/loop-lock.ts, taken before the look for an attached device. */
const LOCK_LINE = 'control = open("/dev/loop-control", O_RDWR|O_CLOEXEC); flock(control, LOCK_EX)   (one look-and-attach at a time among mountkit processes)';
const LOCK_GOES = "   (its lock goes with it)";

export function formatLoopMountStep(step: LoopMountStep): string {
  const call = { ...step, data: shownData(step), source: step.loop.device ?? "/dev/loopN" };
  const typed = step.idmap === undefined ? formatMountCall(call) : formatIdmappedNewMount(call, step.idmap);
  const helper = step.helper === undefined ? [] : [formatProbedHelper(call.source, step.target, step.helper)];
  const mount = step.fstype === null ? [`pread(loopfd, buf, ${PROBE_BYTES}, 0)`, ...formatAllowedTypes(step.allowedTypes), ...helper, formatProbedMountCall(call, step.idmap)] : [typed];
  if (step.otherTypes) mount.push(formatOtherTypes(step.otherTypes));
  const setup = formatLoopSetup(step.loop);
  // the device= files are attached under the same lock, before close(control)
  const devices = deviceLines(step);
  setup.splice(setup.length - 1, 0, ...devices.attach);
  return [LOCK_LINE, reuseLine(step.loop), ...setup, ...mount, "close(loopfd)", ...devices.close].join("\n");
}

/** How --dry-run shows the loop devices of erofs's device= files. */
function deviceLines(step: LoopMountStep): { attach: string[]; close: string[] } {
  if (step.devices === undefined) return { attach: [], close: [] };
  const files = step.devices.flatMap((d) => (d.loop === undefined ? [] : [d.loop]));
  const names = placeholderDeviceNames(step.devices);
  return {
    attach: files.map(
      (loop, i) =>
        `devfd${i + 1} = ${names[i]}: ${JSON.stringify(loop.file)} attached as the image is, ${loop.readOnly ? "O_RDONLY" : "O_RDWR"}, ${loopFlagNames(loop)}   (erofs device=: a regular file is refused there once the image is on a loop device)`,
    ),
    close: files.map((_, i) => `close(devfd${i + 1})`),
  };
}

/** How --dry-run shows the look for a device attached to the file already (plan/loop-reuse.ts). */
function reuseLine(loop: LoopSetup): string {
  const which = loop.device === undefined ? "a loop device" : `${loop.device}, when it is the loop device`;
  return `(${which} attached to ${JSON.stringify(loop.file)} already, at ${describeLoopRange(loop)}, is mounted instead: loopfd = open it; one over an overlapping range is refused)`;
}
