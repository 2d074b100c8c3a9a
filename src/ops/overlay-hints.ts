/**
 * Hints for failed overlay mounts. overlayfs writes most of its reasons to the kernel log,
 * not to the fs context, so on the failure path we look at the layers ourselves, as mount(8)
 * would: which one is missing, which is not a directory, what is missing beside an upperdir.
 */
import { Errno } from "../errno.ts";
import { quotePath, type SyscallError } from "../errors.ts";
import { classifyOptions } from "../plan/options.ts";
import type { Mount } from "../plan/mount-request.ts";
import { overlayConfig, type OverlayConfig } from "../plan/overlay-options.ts";
import { statPath, statxMountId } from "../sys/stat.ts";

/**
 * A hint; null when the error already says why (the kernel's own messages are in it);
 * undefined when the generic mount hints apply.
 */
export function overlayHint(err: SyscallError, mount: Mount): string | null | undefined {
  let config: OverlayConfig;
  try {
    config = overlayConfig(classifyOptions(mount.options).data);
  } catch {
    return undefined;
  }
  const layers: [string, string][] = [
    ...config.lowerdirs.map((p): [string, string] => ["lowerdir", p]),
    ...config.datadirs.map((p): [string, string] => ["data-only lowerdir", p]),
    ...(config.upperdir === undefined ? [] : [["upperdir", config.upperdir] as [string, string]]),
    ...(config.workdir === undefined ? [] : [["workdir", config.workdir] as [string, string]]),
  ];
  switch (err.errno) {
    case Errno.ENOENT:
    case Errno.ENOTDIR:
      return layerProblem(layers);
    case Errno.EINVAL: {
      // the attach of the made overlay, which overlayfs has no part in (the generic hints say why)
      if (err.syscall === "move_mount(2)") return undefined;
      // details = [the parameter, ...the kernel's messages]
      if (err.details.length > 1) return null;
      // mount(2) gets EINVAL, not ENOTDIR, for a layer that is a file (the reason goes to the log)
      const layer = layerProblem(layers);
      if (layer !== undefined) return layer;
      if (config.lowerdirs.length === 0) return "an overlay needs at least one lowerdir";
      if (config.upperdir === undefined && config.lowerdirs.length < 2) {
        return "a read-only overlay (no upperdir) needs at least two lowerdirs";
      }
      if (config.upperdir !== undefined && config.workdir === undefined) {
        return "an upperdir needs a workdir: an empty directory on the same filesystem";
      }
      if (config.workdir !== undefined && config.upperdir === undefined) return "a workdir is used only with an upperdir";
      if (config.upperdir !== undefined && config.workdir !== undefined) {
        const apart = upperWorkApart(config.upperdir, config.workdir);
        if (apart !== undefined) return apart;
      }
      return "overlayfs logged the reason in the kernel log (dmesg)";
    }
    default:
      return undefined;
  }
}

/** The first layer that is missing or no directory, said as a hint. */
function layerProblem(layers: readonly [string, string][]): string | undefined {
  for (const [key, path] of layers) {
    const stat = statPath(path);
    if (!stat) return `${key} ${quotePath(path)} does not exist`;
    if (stat.type !== "dir") return `${key} ${quotePath(path)} is not a directory`;
  }
  return undefined;
}

/**
 * Why upperdir and workdir cannot go together, if it is where they are: overlayfs wants them
 * under one mount (ovl_workdir_ok compares the vfsmounts), so two bind mounts of one
 * filesystem are refused as two filesystems are.
 */
function upperWorkApart(upperdir: string, workdir: string): string | undefined {
  const upper = statPath(upperdir);
  const work = statPath(workdir);
  if (!upper || !work) return undefined;
  if (upper.device !== work.device) return "upperdir and workdir must be on the same filesystem";
  let upperMount: number | undefined;
  let workMount: number | undefined;
  try {
    upperMount = statxMountId(upperdir);
    workMount = statxMountId(workdir);
  } catch {
    return undefined;
  }
  if (upperMount !== undefined && workMount !== undefined && upperMount !== workMount) {
    return "upperdir and workdir must be under the same mount: they are on one filesystem, reached through two mounts (a bind mount)";
  }
  return undefined;
}
