/**
 * erofs's extra devices in a loop mount: `device=PATH`, one per blob the image's data lives on
 * (containerd's erofs snapshotter merges a multi-layer image into an fsmeta with a `device=`
 * per layer blob, and mkfs.erofs --blobdev makes such images). Once the image itself is on a
 * loop device, erofs opens each extra device as a block device: a regular file there is
 * EINVAL. So each `device=` naming a regular file gets a read-only loop device of its own,
 * attached beside the image's, and the mount is given that device, as containerd's erofs mount
 * handler (plugins/mount/erofs) attaches one for the image and one for every `device=`.
 *
 * A `device=` that is a block device (or anything else) is passed on as given. The order of
 * the `device=` options is the order of the image's devices, so once one of them is a file all
 * of them are taken out of the data and put back, in their order, with the loop devices in
 * place of the files. Pure.
 */
import { joinData } from "./options.ts";
import type { LoopMethod, LoopSetup } from "./loop-step.ts";
import type { MountContext, PlanEnv } from "./mount-request.ts";

export const DEVICE_OPTION = "device=";

/** Whether env says path is a regular file (of any size): what erofs takes as a file, not a block device. */
export function isRegularFile(path: string, env: PlanEnv): boolean {
  const kind = env.sourceKind?.(path);
  return kind === "file" || kind === "small-file";
}

/** One `device=` of an erofs loop mount. */
export interface ErofsDevice {
  /** the option's value, as given */
  readonly path: string;
  /** set when path is a regular file: the loop device it is attached to (read-only, autoclear) */
  readonly loop?: LoopSetup;
}

/**
 * The data items of an erofs loop mount with its `device=` items taken out when one of them
 * names a regular file (devices, in their order); the items unchanged (no devices) otherwise.
 * What each path names is env.sourceKind's answer.
 */
export function takeErofsDevices(ctx: MountContext, items: readonly string[], method: LoopMethod): { rest: string[]; devices?: ErofsDevice[] } {
  if (ctx.mount.type !== "erofs" || !items.some((item) => item.startsWith(DEVICE_OPTION))) return { rest: [...items] };
  const devices: ErofsDevice[] = [];
  const rest: string[] = [];
  for (const item of items) {
    if (!item.startsWith(DEVICE_OPTION)) {
      rest.push(item);
      continue;
    }
    const path = item.slice(DEVICE_OPTION.length);
    devices.push(isRegularFile(path, ctx.env) ? { path, loop: deviceLoop(path, method) } : { path });
  }
  if (!devices.some((d) => d.loop !== undefined)) return { rest: [...items] };
  return { rest, devices };
}

/** An erofs blob's loop device: read-only (erofs never writes), freed with the mount (autoclear). */
function deviceLoop(file: string, method: LoopMethod): LoopSetup {
  return { file, readOnly: true, autoclear: true, directIo: false, offset: 0, sizeLimit: 0, method, readOnlyFallback: false };
}

/**
 * The mount's data with the `device=` items put back in their order: each file's item naming
 * the loop device attached to it (names, one per file, in order), the others as given.
 */
export function dataWithDevices(data: string | null, devices: readonly ErofsDevice[], names: readonly string[]): string {
  let next = 0;
  const items = devices.map((d) => `${DEVICE_OPTION}${d.loop === undefined ? d.path : names[next++]}`);
  return [data ?? "", joinData(items)].filter((part) => part !== "").join(",");
}

/** The names --dry-run shows for the devices' loop devices: /dev/loopD1, /dev/loopD2... */
export function placeholderDeviceNames(devices: readonly ErofsDevice[]): string[] {
  return devices.filter((d) => d.loop !== undefined).map((_, i) => `/dev/loopD${i + 1}`);
}

/**
 * The longest name a loop device can have (/dev/loop1048575: minors go up to 2^20), for the
 * page-size check of data whose devices are not attached yet.
 */
export const LONGEST_LOOP_NAME = "/dev/loop1048575";
