/**
 * A mount with no filesystem type (none given, or "auto"), as mount(8) makes it: the device's
 * first bytes are read, its superblock names the type (plan/superblock.ts), and mount(2) is
 * called with that type.
 *
 *   fd = open(source, O_RDONLY|O_CLOEXEC); pread(fd, buf, PROBE_BYTES, 0); close(fd)
 *   mount(source, target, <type from the superblock>, flags, data)
 *
 * (idmapped: the fd API's calls instead of mount(2), plan/idmapped-new-mount.ts)
 * A loop mount without a type probes its loop device the same way (plan/loop-step.ts).
 * X-mount.auto-fstypes limits the types the superblock may name; when the caller runs
 * mount.TYPE helpers, the type read goes to its helper if it has one (as libmount does).
 * Pure.
 */
import { PlanError } from "../errors.ts";
import type { HelperArguments } from "./external-helper.ts";
import { formatIdmappedNewMount, idmappedNewMountDescription, newMountSyscalls } from "./idmapped-new-mount.ts";
import { formatMountCall, mountCallArgs, type MountCall } from "./mount-call.ts";
import { formatMountFallback } from "./read-only-fallback.ts";
import { PROBE_BYTES } from "./superblock.ts";

export interface ProbedMountStep {
  readonly op: "probed-mount";
  /** the block device */
  readonly source: string;
  readonly target: string;
  readonly flags: number;
  readonly data: string | null;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
  /** a write-protected device is mounted read-only instead (plan/read-only-fallback.ts) */
  readonly readOnlyFallback: boolean;
  /** made idmapped with the user namespace in this slot, through the fd API (plan/idmapped-new-mount.ts) */
  readonly idmap?: string;
  /** X-mount.auto-fstypes: the types the superblock may name (a type list); any when absent */
  readonly allowedTypes?: string;
  /**
   * the caller runs mount.TYPE helpers: the type read is handed to its helper when it has one,
   * with these arguments (plan/external-helper.ts), instead of mount(2)
   */
  readonly helper?: HelperArguments;
  /** "mount /dev/sdb1 on /mnt": named in a helper's errors */
  readonly action?: string;
}

const AUTO_FSTYPES = "X-mount.auto-fstypes=";

/**
 * util-linux 2.39's X-mount.auto-fstypes=LIST among the userspace options (the last one): the
 * types a probed superblock may name, in -t's list syntax ("ext4,btrfs"; "novfat,ntfs" leaves
 * those out). undefined when not given. An empty list is a PlanError.
 */
export function allowedProbedTypes(userspace: readonly string[], action: string): string | undefined {
  const item = userspace.findLast((o) => o.startsWith(AUTO_FSTYPES));
  if (item === undefined) return undefined;
  const list = item.slice(AUTO_FSTYPES.length);
  if (list === "" || list.split(",").some((t) => t === "")) {
    throw new PlanError(`${action}: ${item}: an empty type in the list`, { hint: "list the types the device may hold: X-mount.auto-fstypes=ext4,btrfs (or novfat to leave one out)" });
  }
  return list;
}

/** The dry run's note of the types allowed, when X-mount.auto-fstypes limits them. */
export function formatAllowedTypes(allowed: string | undefined): string[] {
  return allowed === undefined ? [] : [`# the type read must match X-mount.auto-fstypes=${allowed}`];
}

/** How a type read from the superblock prints in a mount(2) line. */
export const PROBED_TYPE = "<type from the superblock>";

/** The probe's read of device, C-like. */
export function formatProbe(device: string): string {
  return `fd = open(${JSON.stringify(device)}, O_RDONLY|O_CLOEXEC); pread(fd, buf, ${PROBE_BYTES}, 0); close(fd)`;
}

/** mount(2) with the probed type in place of fstype (or, idmapped, the fd API's calls). */
export function formatProbedMountCall(call: Omit<MountCall, "fstype">, idmap?: string): string {
  if (idmap !== undefined) return formatIdmappedNewMount({ ...call, fstype: null }, idmap, PROBED_TYPE);
  return formatMountCall({ ...call, fstype: null }, PROBED_TYPE);
}

export function formatProbedMountStep(step: ProbedMountStep): string {
  const fallback = step.readOnlyFallback ? `\n${formatMountFallback(step.source)}` : "";
  const helper = step.helper === undefined ? [] : [formatProbedHelper(step.source, step.target, step.helper)];
  return [formatProbe(step.source), ...formatAllowedTypes(step.allowedTypes), ...helper, `${formatProbedMountCall(step, step.idmap)}${fallback}`].join("\n");
}

/** The dry run's line for the helper a probed type may have (source: the device it gets). */
export function formatProbedHelper(source: string, target: string, helper: HelperArguments): string {
  const argv = [JSON.stringify(source), JSON.stringify(target), ...helper.flags.map((f) => JSON.stringify(f)), '"-o"', JSON.stringify(helper.options)];
  return `# when the type has a mount.TYPE helper: execve("mount.TYPE", ["mount.TYPE", ${argv.join(", ")}]); else:`;
}

export function describeProbedMountStep(step: ProbedMountStep): Record<string, unknown> {
  return {
    op: step.op,
    syscalls: ["open", "pread", "close", ...newMountSyscalls(step.idmap)],
    probe: { device: step.source, bytes: PROBE_BYTES, ...(step.allowedTypes === undefined ? {} : { allowedTypes: step.allowedTypes }) },
    args: { ...mountCallArgs({ ...step, fstype: null }), fstypeFrom: "superblock" },
    ...(step.idmap !== undefined ? idmappedNewMountDescription({ ...step, fstype: null }, step.idmap) : {}),
    readOnlyFallback: step.readOnlyFallback,
    ...(step.helper === undefined ? {} : { helper: { flags: step.helper.flags, options: step.helper.options } }),
    undoable: step.undoable,
  };
}
