/**
 * Filesystem types read from superblocks: the probe behind a mount with no type (mount(8)'s
 * libblkid step) and the probed-mount step. The device's first PROBE_BYTES are read through
 * the seam; plan/superblock.ts names what they hold.
 */
import { Errno } from "../errno.ts";
import { MountFailedError, PlanError, quotePath, SyscallError } from "../errors.ts";
import type { ProbedMountStep } from "../plan/probe-step.ts";
import { externalHelperArgv, helperNamesFor, helperPaths, type HelperArguments } from "../plan/external-helper.ts";
import { matchFstype } from "../plan/type-pattern.ts";
import { identifySuperblock, knownSuperblocks, PROBE_BYTES } from "../plan/superblock.ts";
import { O } from "../sys/fd.ts";
import type { Syscalls } from "../sys/seam.ts";
import type { OpsContext } from "./context.ts";
import { runHelperStep } from "./fuse-mount.ts";
import { externalHelpers } from "./helpers.ts";
import { closeQuietly } from "./plan-handles.ts";
import { newMountOf } from "./new-mount.ts";
import { mountOrReadOnly } from "./read-only-fallback.ts";
import { undoMount, type PlanRun } from "./run-plan.ts";

/**
 * The type of the filesystem on an open device (fd), named `device` in messages, with `what`
 * (the image file of a loop device) in errors. A device whose superblock is unknown, or that holds
 * swap or an encrypted volume, or a type outside `allowed` (X-mount.auto-fstypes), is a
 * MountFailedError (exit 32) saying which.
 */
export function probeType(fd: number, device: string, ctx: OpsContext, what = device, allowed?: string): string {
  const bytes = readDeviceStart(fd, device, ctx.sys);
  const length = bytes.length;
  const found = identifySuperblock(bytes);
  const action = `read the filesystem type of ${quotePath(device)}${what === device ? "" : ` (${quotePath(what)})`}`;
  if (found?.kind === "filesystem") {
    ctx.log?.(`probe: ${quotePath(device)} holds ${found.type}`);
    if (!matchFstype(found.type, allowed)) {
      const cause = new PlanError(`${action}: it holds ${found.type}, which X-mount.auto-fstypes=${allowed} leaves out`);
      throw new MountFailedError(cause.message, cause, { hint: "give the type with -t TYPE, or allow it in X-mount.auto-fstypes" });
    }
    return found.type;
  }
  if (found?.kind === "not-mountable") {
    const cause = new PlanError(`${action}: it is ${found.what}`, { hint: found.hint });
    throw new MountFailedError(cause.message, cause, { hint: found.hint });
  }
  const cause = new PlanError(`${action}: no superblock of a type mountkit knows (${knownSuperblocks().join(", ")}) in its first ${length} bytes`);
  throw new MountFailedError(cause.message, cause, { hint: "give the type with -t TYPE" });
}

/** The first PROBE_BYTES of an open device (fewer when it is smaller): where superblocks are. */
export function readDeviceStart(fd: number, device: string, sys: Syscalls): Uint8Array {
  const bytes = new Uint8Array(PROBE_BYTES);
  return bytes.subarray(0, sys.readAt(fd, bytes, 0, device));
}

/** probed-mount: read the device's type, then mount it as that. */
export function runProbedMountStep(step: ProbedMountStep, ctx: OpsContext, run: PlanRun): void {
  const fd = ctx.sys.open(step.source, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
  let fstype: string;
  try {
    fstype = probeType(fd, step.source, ctx, step.source, step.allowedTypes);
  } finally {
    closeQuietly(ctx.sys, fd);
  }
  const action = step.action ?? `mount ${quotePath(step.source)} on ${quotePath(step.target)}`;
  if (step.helper !== undefined && mountedByHelper(step.source, step.target, fstype, { args: step.helper, action, undoable: step.undoable }, ctx, run)) return;
  try {
    const how = newMountOf(step.idmap, ctx, run);
    if (step.readOnlyFallback) mountOrReadOnly(step.source, step.target, fstype, step.flags, step.data, ctx, how);
    else how.mount(step.source, step.target, fstype, step.flags, step.data);
  } catch (err) {
    if (err instanceof SyscallError) err.hint ??= probedTypeHint(err, fstype, step.source);
    throw err;
  }
  if (step.undoable && run.undoWanted) run.rollback.push(() => undoMount(step.target, ctx));
}

/**
 * The type read has a mount.TYPE helper (the caller runs them): it mounts the device, as
 * mount(8) hands a probed ntfs to mount.ntfs. false when the type has none.
 */
export function mountedByHelper(
  device: string,
  target: string,
  fstype: string,
  how: { readonly args: HelperArguments; readonly action: string; readonly undoable: boolean },
  ctx: OpsContext,
  run: PlanRun,
): boolean {
  const helpers = externalHelpers(ctx);
  const found = helpers.find(helperNamesFor(fstype));
  if (found === undefined) return false;
  const paths = helperPaths(fstype, device, target, helpers);
  const argv = externalHelperArgv(found.name, fstype, paths.source, paths.target, how.args);
  runHelperStep({ op: "helper", role: "mount", helper: found.name, path: found.path, argv, target, action: how.action, undoable: how.undoable, helperKind: "external" }, ctx, run);
  return true;
}

/** mount(2) refused a type read from the superblock: say which, since the user never gave it. */
export function probedTypeHint(err: SyscallError, fstype: string, device: string): string | undefined {
  if (err.errno === Errno.ENODEV) return `${quotePath(device)} holds ${fstype}, which this kernel does not have (not in /proc/filesystems: modprobe ${fstype})`;
  if (err.errno === Errno.EINVAL) return `${quotePath(device)} looks like ${fstype} but the kernel refused it: a damaged filesystem, or a wrong option`;
  return undefined;
}
