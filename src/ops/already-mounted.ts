/**
 * mount(8)'s "already mounted" test (plan/already-mounted.ts) against the kernel: the mount
 * table, the source as the table would show it, and the loop devices an image is attached
 * to. mount -a skips what it finds; mount --onlyonce refuses it.
 */
import { MountFailedError, PlanError, quotePath } from "../errors.ts";
import { readMountInfo } from "../mountinfo/read.ts";
import type { MountInfo } from "../mountinfo/types.ts";
import { isAlreadyMounted } from "../plan/already-mounted.ts";
import { deviceTagOf, type DeviceTag } from "../plan/device-tag.ts";
import type { Mount } from "../plan/mount-request.ts";
import { existingRealpath } from "../sys/realpath.ts";
import { deviceOfTag } from "./block-devices.ts";
import type { OpsContext } from "./context.ts";
import { loopShowsFile } from "./loop-reuse.ts";

/**
 * Is m mounted on target already? target: a canonical path (a batch's resolved target, or
 * realpath'd by the caller); table and tagDevice: a batch's, read once for all its entries.
 */
export function isMountedAlready(
  m: Mount,
  target: string,
  ctx: OpsContext,
  table: readonly MountInfo[] = readMountInfo(),
  tagDevice: (tag: DeviceTag) => string | undefined = deviceOfTag,
): boolean {
  return isAlreadyMounted(table, target, m, sourceAsShown(m.source, tagDevice), (device, file, offset) =>
    loopShowsFile(device, file, offset, ctx),
  );
}

/**
 * The source as the mount table shows it: a UUID=/LABEL= tag as its device; a path that exists,
 * relative to the working directory or not, canonical (libmount's mnt_resolve_spec), since the
 * table holds only absolute paths with their symlinks resolved. A name that is no path here
 * (tmpfs, host:/export) stays as written.
 */
function sourceAsShown(source: string, tagDevice: (tag: DeviceTag) => string | undefined): string {
  const tag = deviceTagOf(source);
  const device = tag === undefined ? source : (tagDevice(tag) ?? source);
  return existingRealpath(device) ?? device;
}

/** mount --onlyonce: what is mounted on target already is util-linux's MNT_ERR_ONLYONCE, exit 32. */
export function refuseMountedAlready(m: Mount, target: string, ctx: OpsContext): void {
  const canonical = existingRealpath(target);
  // nothing is mounted on a path that is not there
  if (canonical !== undefined && isMountedAlready(m, canonical, ctx)) throw alreadyMountedError(m, target);
}

function alreadyMountedError(m: Mount, target: string): MountFailedError {
  const why = `${quotePath(m.source)} is already mounted on ${quotePath(target)}`;
  return new MountFailedError("filesystem already mounted", new PlanError(why), {
    action: `mount ${quotePath(m.source)} on ${quotePath(target)}`,
    hint: "--onlyonce mounts it only when it is not mounted there yet",
  });
}
