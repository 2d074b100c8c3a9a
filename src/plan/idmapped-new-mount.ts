/**
 * An idmapped new filesystem as one mount. The kernel idmaps detached mounts only, so
 * containerd mounts the filesystem with mount(2) and attaches an idmapped clone on top of it:
 * two mounts at the target, and one unmount leaves the unmapped one (with a loop image, its
 * device too). Here the mount(2) call is made through the fd-based mount API instead:
 *
 *   fsfd = fsopen(fstype); fsconfig: "source", each data item, the superblock flags; CMD_CREATE
 *   mntfd = fsmount(fsfd, per-mount flags as MOUNT_ATTR_*)
 *   mount_setattr(mntfd, MOUNT_ATTR_IDMAP, userns)       still detached: allowed
 *   move_mount(mntfd, target)
 *
 * The steps that make a new filesystem's mount (mount, probed-mount, loop-mount) carry the
 * user namespace's slot as `idmap`; their runners turn each mount(2) call they would make
 * (every type of a type list, the read-only retry) into this step. Pure.
 */
import { PlanError } from "../errors.ts";
import { fsContextFlags, flagsWithoutFsContextEquivalent } from "./fs-context-flags.ts";
import { describeFsContextStep, FSCONFIG_VALUE_MAX, formatFsContextStep, type FsContextStep, type FsParam } from "./fs-context-step.ts";
import type { MountCall } from "./mount-call.ts";
import { tokenizeOptions } from "./options.ts";
import { byteLength } from "../path-text.ts";

/**
 * Whether a mount(2) call's source, flags and data can be said through fsconfig: every flag
 * has an equivalent there, every value (the source too: fsconfig "source") fits its 255-byte
 * limit, and the data splits into items (an unbalanced quote is left to mount(2), which takes
 * the string as it is). mount(2) takes a source of up to 4095 bytes.
 */
export function fitsFsContext(flags: number, data: string | null, source: string | null = null): boolean {
  if (flagsWithoutFsContextEquivalent(flags) !== 0) return false;
  if (source !== null && byteLength(source) >= FSCONFIG_VALUE_MAX) return false;
  let params: FsParam[];
  try {
    params = dataParams(data);
  } catch (err) {
    if (err instanceof PlanError) return false;
    throw err;
  }
  return params.every((param) => param.kind !== "string" || byteLength(param.value) < FSCONFIG_VALUE_MAX);
}

/** The fs-context step that makes the mount of call, idmapped with the user namespace in slot usernsSlot. */
export function idmappedNewMount(call: MountCall, usernsSlot: string): FsContextStep {
  return { ...newMountFsContext(call), idmap: usernsSlot };
}

/**
 * The fs-context step that makes what the mount(2) call would: "source", each data item, the
 * superblock flags by fsconfig; the per-mount flags as fsmount's attrs. Check fitsFsContext first.
 */
export function newMountFsContext(call: MountCall): FsContextStep {
  const { sbFlags, attrFlags } = fsContextFlags(call.flags, { action: `mount on ${call.target}` });
  const params: FsParam[] = [];
  if (call.source !== null) params.push({ kind: "string", key: "source", value: call.source });
  params.push(...dataParams(call.data));
  for (const key of sbFlags) params.push({ kind: "flag", key });
  return {
    op: "fs-context",
    fstype: call.fstype ?? "",
    params,
    attrFlags,
    target: call.target,
    undoable: false, // the step that made the call owns the mount, and its undo
  };
}

/**
 * mount(2)'s data as fsconfig parameters: split as util-linux's option syntax splits it (at
 * commas outside double quotes, the quotes dropped: joinData quoted a value holding a comma,
 * and the kernel strips such quotes from mount(2)'s string itself); "key=value" is a string,
 * "key" a flag. An unbalanced quote is a PlanError.
 */
export function dataParams(data: string | null): FsParam[] {
  if (data === null) return [];
  return tokenizeOptions(data).map((item): FsParam => {
    const eq = item.indexOf("=");
    return eq < 0 ? { kind: "flag", key: item } : { kind: "string", key: item.slice(0, eq), value: item.slice(eq + 1) };
  });
}

/** How a step prints its mount: the mount(2) line, or with idmap the fs-context calls. */
export function formatIdmappedNewMount(call: MountCall, usernsSlot: string, fstypeShown?: string): string {
  return formatFsContextStep(idmappedNewMount(call, usernsSlot), fstypeShown);
}

/** The calls that make a step's new mount: mount(2), or idmapped the fd API's. */
export function newMountSyscalls(idmap: string | undefined): string[] {
  return idmap === undefined ? ["mount"] : ["fsopen", "fsconfig", "fsmount", "mount_setattr", "move_mount"];
}

/** What --dry-run --json shows of an idmapped step's mount, beside its mount(2) arguments. */
export function idmappedNewMountDescription(call: MountCall, usernsSlot: string): Record<string, unknown> {
  const { op: _op, syscalls: _syscalls, target: _target, undoable: _undoable, ...fsContext } = describeFsContextStep(idmappedNewMount(call, usernsSlot));
  return { idmap: `$${usernsSlot}`, fsContext: { ...fsContext, fstype: call.fstype } };
}
