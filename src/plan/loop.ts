/**
 * Loop-backed mounts (the `loop` option): containerd's semantics (autoclear, read-only when
 * the mount is, `direct-io`), plus util-linux's `offset=` and `sizelimit=`. Those three are
 * loop options, taken out of the filesystem's data; `loop=/dev/loopN` names the device to use.
 * As mount(8) does, `offset=` or `sizelimit=` asks for a loop device without `loop`, a regular
 * file of over 1 KiB mounted with no type or a block filesystem's type gets one without any of them, and a
 * loop mount with no type reads it from the device's superblock. Pure.
 */
import { MountWouldFailError, PlanError, quotePath } from "../errors.ts";
import { isNetworkFilesystem, isPseudoFilesystem } from "../mountinfo/filesystem-kinds.ts";
import { dataWithDevices, LONGEST_LOOP_NAME, takeErofsDevices } from "./erofs-devices.ts";
import { probedLoopHelperArguments } from "./external-helper.ts";
import { legacyForced, type KernelFacts } from "./facts.ts";
import { MS, MS_PROPAGATION } from "./flags.ts";
import type { LoopMethod, LoopMountStep, LoopSetup } from "./loop-step.ts";
import { MOUNT_LOOP_TERMS, notLoopDeviceHint } from "./loop-request-terms.ts";
import type { Planner } from "./mount-plan.ts";
import { isBind, isTypeUnknown, planFor, type MountContext } from "./mount-request.ts";
import { joinData, type ClassifiedOptions } from "./options.ts";
import { checkDataSize } from "./plain.ts";
import { allowedProbedTypes } from "./probe-step.ts";
import { propagationSteps } from "./propagation.ts";
import { readOnlyFallback } from "./read-only-fallback.ts";
import { parseSize } from "./size.ts";
import type { Plan } from "./steps.ts";

export const loopPlanner: Planner = {
  name: "loop",
  // options.loop: loop, loop=, offset= or sizelimit= (libmount's mnt_context_is_loopdev)
  claims: (ctx) => (ctx.options.flags & MS.REMOUNT) === 0 && (ctx.options.loop || isImageMount(ctx)),
  plan: planLoop,
};

/**
 * Types whose filesystems live on a block device: a regular file given as their source is
 * an image, mounted through a loop device (mount(8) asks libblkid which types it knows).
 */
export const BLOCK_FILESYSTEMS: ReadonlySet<string> = new Set([
  "ext2", "ext3", "ext4", "xfs", "btrfs", "squashfs", "erofs", "f2fs", "iso9660", "udf",
  "vfat", "msdos", "exfat", "ntfs", "ntfs3", "hfsplus", "jfs", "nilfs2", "minix",
]);

/**
 * mount(8)'s automatic loop device: a new mount (no bind, no remount) whose source is an image
 * file (a regular file of more than IMAGE_MIN_BYTES) and whose type is unknown or a block
 * filesystem's (one of a type list's). The source is looked at only for those types, so tmpfs,
 * overlay and bind mounts never pay for it.
 */
export function isImageMount(ctx: MountContext): boolean {
  const { mount } = ctx;
  if (mount.source === "" || isBind(ctx)) return false;
  if (!isTypeUnknown(mount.type) && !BLOCK_FILESYSTEMS.has(mount.type) && !hasBlockFilesystem(ctx.otherTypes)) return false;
  return ctx.sourceKind === "file";
}

/** Whether a type list names a block filesystem: a loop, as every mount asks (an array method's first use costs start-up time: docs/bench.md). */
export function hasBlockFilesystem(types: readonly string[]): boolean {
  for (const type of types) if (BLOCK_FILESYSTEMS.has(type)) return true;
  return false;
}

/**
 * An image file under a type list led by a type mounted from no file (-t tmpfs,ext4): the list's
 * block filesystem would take the image through a loop device, the first type would not. mount(8)
 * attaches the device and mounts the tmpfs, naming it after the device freed at once: a wrong -t
 * far more likely than a wish, so which one is meant is asked.
 */
function imageUnderFileLessType(ctx: MountContext): PlanError {
  const { mount } = ctx;
  const blockType = ctx.otherTypes.find((t) => BLOCK_FILESYSTEMS.has(t)) ?? "a block filesystem";
  const file = quotePath(mount.source);
  return new PlanError(`${ctx.action}: ${mount.type} is not mounted from a file, and ${file} is an image file that ${blockType} would be mounted from through a loop device`, {
    hint: `give the one type meant: -t ${mount.type}, or -t ${blockType} for the image`,
  });
}

/** Whether a path is a loop device's node, as mount sources show them (/dev/loop3). */
export function isLoopDevice(path: string): boolean {
  return /^\/dev\/loop\d+$/.test(path);
}

/** The largest loop device number: a device's minor number has 20 bits (LONGEST_LOOP_NAME). */
export const LOOP_NUMBER_MAX = 0xfffff;

/**
 * N when device is the kernel's own name for loop device N (/dev/loopN: no leading zero, N
 * within the minors' 20 bits), else undefined: the number LOOP_CTL_ADD may be asked to add.
 * losetup takes any digits after "loop" (sscanf), so its add for /dev/loop07 adds /dev/loop7,
 * a device it then does not open; and the kernel takes the number as an int (loop_add), so one
 * past 2^31 would be cut short.
 */
export function kernelLoopNumber(device: string): number | undefined {
  const digits = /^\/dev\/loop(0|[1-9]\d{0,6})$/.exec(device)?.[1];
  if (digits === undefined) return undefined;
  const number = Number(digits);
  return number <= LOOP_NUMBER_MAX ? number : undefined;
}

/**
 * LOOP_CONFIGURE where the kernel has it (5.8+), unless MOUNTKIT_STRATEGY=legacy asks for the
 * old pair. The kernel's default strategy is about overlay (6.8+) and does not decide this: the
 * legacy pair costs about 12 ms per attach against 27 us.
 */
export function loopMethod(facts: KernelFacts): LoopMethod {
  return facts.loopConfigure && !legacyForced(facts) ? "configure" : "set-fd";
}

/**
 * The loop options (offset= and sizelimit= classified already, direct-io among the fs data
 * items, containerd's), and the data items left for the filesystem.
 */
function takeLoopOptions(options: ClassifiedOptions): { directIo: boolean; offset: number; sizeLimit: number; rest: string[] } {
  const rest = options.data.filter((item) => item !== "direct-io");
  return {
    directIo: rest.length !== options.data.length,
    offset: options.loopOffset === undefined ? 0 : parseSize("offset", options.loopOffset),
    sizeLimit: options.loopSizeLimit === undefined ? 0 : parseSize("sizelimit", options.loopSizeLimit),
    rest,
  };
}

/** The options that asked for a loop device, as given: "offset=1MiB", "loop=/dev/loop3", else "loop". */
export function loopOptionWords(options: ClassifiedOptions): string[] {
  const words: string[] = [];
  if (options.loopDevice !== undefined) words.push(`loop=${options.loopDevice}`);
  if (options.loopOffset !== undefined) words.push(`offset=${options.loopOffset}`);
  if (options.loopSizeLimit !== undefined) words.push(`sizelimit=${options.loopSizeLimit}`);
  return words.length === 0 ? ["loop"] : words;
}

export function planLoop(ctx: MountContext): Plan {
  const { mount, options } = ctx;
  if (isBind(ctx)) throw new PlanError(`${ctx.action}: loop and bind cannot be combined`);
  if (isPseudoFilesystem(mount.type) || isNetworkFilesystem(mount.type)) {
    if (!options.loop) throw imageUnderFileLessType(ctx);
    // mount(8) sets up no loop device for these and drops the options unsaid; a loop device
    // asked for and not made is more likely a mistake (a wrong -t) than a wish
    const words = loopOptionWords(options);
    throw new PlanError(`${ctx.action}: ${mount.type} is not mounted from a file or block device: no loop device for ${words.join(",")}`, {
      hint: `leave out ${words.join(",")} (mount(8) ignores ${words.length === 1 ? "it" : "them"} for ${mount.type}), or give the image's type with -t`,
    });
  }
  // mount(8)'s loop set-up (under -f too) fails on "": ENOENT
  if (mount.source === "") throw new MountWouldFailError(`${ctx.action}: a loop mount needs the image file as its source`, { failsFake: true });
  const { directIo, offset, sizeLimit, rest } = takeLoopOptions(options);
  const device = options.loopDevice;
  if (device !== undefined && !isLoopDevice(device)) {
    throw new MountWouldFailError(`${ctx.action}: loop=${device} is not a loop device`, { hint: notLoopDeviceHint(MOUNT_LOOP_TERMS), failsFake: true });
  }
  const method = loopMethod(ctx.facts);
  const loop: LoopSetup = {
    file: mount.source,
    ...(device === undefined ? {} : { device }),
    readOnly: (options.flags & MS.RDONLY) !== 0,
    autoclear: true,
    directIo,
    offset,
    sizeLimit,
    method,
    readOnlyFallback: readOnlyFallback(ctx, options.flags),
  };
  // erofs's device= files get loop devices of their own (plan/erofs-devices.ts)
  const { rest: items, devices } = takeErofsDevices(ctx, rest, method);
  const data = joinData(items);
  checkDataSize(ctx, devices === undefined ? data : dataWithDevices(data, devices, devices.map(() => LONGEST_LOOP_NAME)));
  const fstype = isTypeUnknown(mount.type) ? null : mount.type;
  const allowedTypes = fstype === null ? allowedProbedTypes(options.userspace, ctx.action) : undefined;
  const helper = fstype === null ? probedLoopHelperArguments(ctx) : undefined;
  const first: LoopMountStep = {
    op: "loop-mount",
    loop,
    target: ctx.target,
    fstype,
    ...(allowedTypes === undefined ? {} : { allowedTypes }),
    ...(ctx.otherTypes.length === 0 ? {} : { otherTypes: ctx.otherTypes }),
    flags: options.flags & ~(MS_PROPAGATION | MS.REMOUNT),
    data: data === "" ? null : data,
    ...(devices === undefined ? {} : { devices }),
    undoable: true,
    ...(helper === undefined ? {} : { helper, action: ctx.action }),
  };
  return planFor(ctx, [first, ...propagationSteps(ctx)]);
}
