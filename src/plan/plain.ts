/**
 * Plain mounts: everything that needs only mount(2). The seed's sequence, fixed:
 *   1. the mount (or the remount, always made, with NULL data when there is none)
 *   2. for a bind with per-mount flags: a MS_REMOUNT|MS_BIND call that applies them
 *      (the kernel ignores them on the bind itself); containerd did this for ro only
 *   3. each propagation change as its own call (containerd OR-ed them into the mount flags,
 *      where the kernel refuses them)
 * Pure.
 */
import { NoSourceToProbeError, PlanError, quotePath, SourceUnusableError } from "../errors.ts";
import { legacyForced, MIN_PAGE_SIZE, type KernelFacts } from "./facts.ts";
import { MS, MS_ATIME_MODE, MS_LOCKED_IN_USERNS, MS_PROPAGATION } from "./flags.ts";
import { IMAGE_MIN_BYTES, isBind, isTypeUnknown, planFor, type MountContext } from "./mount-request.ts";
import { dataSize, joinData } from "./options.ts";
import { optionSpec } from "./option-table.ts";
import { byteLength } from "../path-text.ts";
import { propagationSteps } from "./propagation.ts";
import { probedHelperArguments } from "./external-helper.ts";
import { allowedProbedTypes, type ProbedMountStep } from "./probe-step.ts";
import { isDevicePath, readOnlyFallback } from "./read-only-fallback.ts";
import { BLOCK_FILESYSTEMS, hasBlockFilesystem } from "./loop.ts";
import type { MountStep, Plan, Step } from "./steps.ts";

/** Flags that belong to one mount (not its superblock): a bind applies them by remounting. */
export const MS_PER_MOUNT =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NODIRATIME | MS.NOSYMFOLLOW | MS_ATIME_MODE;

/**
 * Flags a remount copies from the mount when the options do not mention them, as mount(8) does:
 * lazytime too, which the kernel clears on a remount without it (ops reads it: lazytimeRead).
 */
const MS_REMOUNT_INHERITED = MS_PER_MOUNT | MS.SYNCHRONOUS | MS.MANDLOCK | MS.LAZYTIME;

/**
 * How a remount learns whether the mount has lazytime, which statfs(2) has no bit for:
 * "statmount", statmount(2)'s sb_flags for the one mount (Linux 6.8); "mountinfo", the superblock
 * options of its entry in a read of the whole table. MOUNTKIT_STRATEGY=legacy forces mountinfo.
 */
export type LazytimeRead = "statmount" | "mountinfo";

export function lazytimeRead(facts: KernelFacts): LazytimeRead {
  return facts.statmount && !legacyForced(facts) ? "statmount" : "mountinfo";
}

/**
 * The flags a remount must keep inside a user namespace (the kernel locks them there): read only
 * by the steps that remount, so that other mounts never ask facts.inUserNamespace (ops/features.ts
 * reads /proc/self/uid_map for it).
 */
function lockedFlags(facts: KernelFacts): number {
  return facts.inUserNamespace ? MS_LOCKED_IN_USERNS : 0;
}

export function planPlain(ctx: MountContext): Plan {
  const { mount, target, options, facts } = ctx;
  let flags = options.flags;
  const bind = isBind(ctx);
  if (bind) flags |= MS.BIND; // containerd#12549: a bind type is a bind
  const data = joinData(options.data);
  checkDataSize(ctx, data);
  if (!(flags & MS.REMOUNT)) checkSourceSize(ctx, mount.source);

  const steps: Step[] = [];

  if (flags & MS.REMOUNT) {
    // One call changes an existing mount; flags not given keep their current value (unless
    // the options are to replace them all: env.remountReplaces).
    const remountFlags = bind ? (flags & MS_PER_MOUNT) | MS.REMOUNT | MS.BIND : flags & ~MS.REC;
    steps.push({
      op: "mount",
      role: bind ? "bind-remount" : "remount",
      source: null,
      target,
      fstype: null,
      flags: remountFlags,
      data: data === "" ? null : data,
      inheritFlags: (ctx.env.remountReplaces ? 0 : (bind ? MS_PER_MOUNT : MS_REMOUNT_INHERITED) & ~options.flagsMentioned) | lockedFlags(facts),
      undoable: false,
    });
  } else if (bind) {
    steps.push({
      op: "mount",
      role: "bind",
      source: mount.source,
      target,
      fstype: null,
      flags: flags & (MS.BIND | MS.REC),
      data: null,
      inheritFlags: 0,
      undoable: true,
    });
  } else if (isTypeUnknown(mount.type)) {
    steps.push(probedMount(ctx, flags, data));
  } else {
    const mountFlags = flags & ~(MS_PROPAGATION | MS.REMOUNT);
    const source = mount.source === "" ? "none" : typedDeviceSource(ctx);
    const step: MountStep = {
      op: "mount",
      role: "mount",
      source,
      target,
      fstype: mount.type,
      flags: mountFlags,
      data: data === "" ? null : data,
      inheritFlags: 0,
      undoable: true,
      readOnlyFallback: isDevicePath(source) && readOnlyFallback(ctx, mountFlags),
    };
    steps.push(ctx.otherTypes.length === 0 ? step : { ...step, otherTypes: ctx.otherTypes });
  }

  if (options.propagation.length > 0) steps.push(...propagationSteps(ctx));

  const perMount = flags & MS_PER_MOUNT;
  if (bind && !(flags & MS.REMOUNT) && perMount !== 0) {
    // Inside a user namespace the source's locked flags must be kept or the kernel says EPERM.
    steps.push({
      op: "mount",
      role: "bind-remount",
      source: null,
      target,
      fstype: null,
      flags: MS.REMOUNT | MS.BIND | perMount,
      data: null,
      inheritFlags: lockedFlags(facts),
      undoable: false,
    });
  }

  return planFor(ctx, steps);
}

/**
 * The source of a new mount of a block filesystem's type: a block device by the name libmount
 * gives mount(2) (realpath, /dev/dm-N as /dev/mapper/NAME; env.deviceName), so mountinfo, mount's
 * list and findmnt -S show the device, not the link or relative name typed (`/dev/disk/by-uuid/x`,
 * `loop0` in /dev). Only those types ask what the source is, as the loop planner asks: tmpfs,
 * proc and their kin never pay for it. Anything else goes as written.
 */
function typedDeviceSource(ctx: MountContext): string {
  const { mount, env } = ctx;
  if (env.deviceName === undefined) return mount.source;
  if (!BLOCK_FILESYSTEMS.has(mount.type) && !hasBlockFilesystem(ctx.otherTypes)) return mount.source;
  return ctx.sourceKind === "block" ? env.deviceName(mount.source) : mount.source;
}

const GIVE_TYPE = "give one with -t TYPE (or --bind for a bind mount)";

/**
 * No type given ("" or "auto"): a block device's type is read from its superblock, as mount(8)
 * does. (A regular file is an image: the loop planner takes it.) Anything else cannot be told.
 */
function probedMount(ctx: MountContext, flags: number, data: string): ProbedMountStep {
  const { source } = ctx.mount;
  if (source === "") {
    throw new NoSourceToProbeError(`${ctx.action}: no filesystem type given, and no source to read it from`, { hint: ctx.options.propagation.length > 0 ? changeInPlaceHint(ctx) : GIVE_TYPE });
  }
  if (ctx.sourceKind === "missing") {
    // mount /dev/sdb1 /data with the disk absent: a mount failure (32), as mount(8)'s
    throw new SourceUnusableError(`${ctx.action}: special device ${quotePath(source)} does not exist`, {
      hint: "with no type given, the source is a block device or image file whose superblock names its type: check the name, or give the type with -t TYPE (tmpfs, proc: filesystems with no device)",
    });
  }
  if (ctx.sourceKind === "small-file") {
    // mount(8) hands it to mount(2) under each type it knows, and says "not a block device; try -o loop"
    throw new SourceUnusableError(`${ctx.action}: ${quotePath(source)} is not a block device, and a regular file of ${IMAGE_MIN_BYTES} bytes or less is no image file`, {
      hint: `a loop device is set up unasked only for a file over ${IMAGE_MIN_BYTES} bytes, as mount(8) does (no filesystem fits in less): give -o loop to mount it through one all the same`,
    });
  }
  if (ctx.sourceKind !== "block") {
    throw new SourceUnusableError(`${ctx.action}: no filesystem type given, and ${quotePath(source)} is no block device or image file to read it from`, { hint: GIVE_TYPE });
  }
  const mountFlags = flags & ~(MS_PROPAGATION | MS.REMOUNT);
  const allowedTypes = allowedProbedTypes(ctx.options.userspace, ctx.action);
  const helper = probedHelperArguments(ctx);
  return {
    op: "probed-mount",
    source: ctx.env.deviceName?.(source) ?? source,
    target: ctx.target,
    flags: mountFlags,
    data: data === "" ? null : data,
    undoable: true,
    readOnlyFallback: readOnlyFallback(ctx, mountFlags),
    ...(allowedTypes === undefined ? {} : { allowedTypes }),
    ...(helper === undefined ? {} : { helper, action: ctx.action }),
  };
}

/**
 * `mount --make-shared -o ro /m`: propagation words with a flag are no propagation change alone
 * (mount(8) tries to mount "none" on /m), and what was meant is most likely a remount beside it.
 */
function changeInPlaceHint(ctx: MountContext): string {
  const flags = ctx.mount.options.filter((o) => optionSpec(o)?.behaviour.kind !== "propagation");
  return `${GIVE_TYPE}; to change the mount at ${quotePath(ctx.target)}, remount it: -o remount,${flags.join(",")} with the propagation flags`;
}

/** The longest path the kernel takes, NUL included (PATH_MAX: the same on every Linux). */
export const PATH_MAX = 4096;

/**
 * mount(2) copies the source as a string of at most PATH_MAX bytes, NUL included
 * (copy_mount_string); a longer one is EINVAL, which reads as a bad option or filesystem.
 */
export function checkSourceSize(ctx: MountContext, source: string): void {
  const size = byteLength(source) + 1;
  if (size > PATH_MAX) {
    throw new PlanError(`${ctx.action}: the source is ${size} bytes with the NUL, more than the ${PATH_MAX} (PATH_MAX) mount(2) takes`, {
      hint: "name it by a shorter path: relative to the working directory, or through a symlink or a bind of a directory above it",
    });
  }
}

/** mount(2) copies one page of data, NUL included; past that the kernel cuts it silently. */
export function checkDataSize(ctx: MountContext, data: string): void {
  const size = dataSize(data);
  if (size > MIN_PAGE_SIZE && size > ctx.facts.pageSize) {
    throw new PlanError(
      `${ctx.action}: options are ${size} bytes with the NUL, more than the ${ctx.facts.pageSize}-byte page mount(2) accepts`,
      { hint: `shorten the options for ${quotePath(ctx.target)}` },
    );
  }
}
