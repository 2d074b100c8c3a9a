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
import { fsContextFlags, flagsWithoutFsContextEquivalent } from "./fs-context-flags.ts";
import { describeFsContextStep, FSCONFIG_VALUE_MAX, formatFsContextStep, type FsContextStep, type FsParam } from "./fs-context-step.ts";
import type { MountCall } from "./mount-call.ts";

/**
 * Whether a mount(2) call's flags and data can be said through fsconfig: every flag has an
 * equivalent there, and every value fits its 255-byte limit.
 */
export function fitsFsContext(flags: number, data: string | null): boolean {
  if (flagsWithoutFsContextEquivalent(flags) !== 0) return false;
  return dataParams(data).every((param) => param.kind !== "string" || Buffer.byteLength(param.value) < FSCONFIG_VALUE_MAX);
}

/** The fs-context step that makes the mount of call, idmapped with the user namespace in slot usernsSlot. */
export function idmappedNewMount(call: MountCall, usernsSlot: string): FsContextStep {
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
    idmap: usernsSlot,
  };
}

/**
 * mount(2)'s data as fsconfig parameters, split as the kernel splits it (at commas; an item
 * "key=value" is a string, "key" a flag; empty items skipped), and, as util-linux's option
 * syntax allows, a comma inside double quotes kept in its value, whose quotes are dropped
 * (context="a,b" -> context = a,b: the kernel strips them from mount(2)'s string itself).
 */
export function dataParams(data: string | null): FsParam[] {
  const params: FsParam[] = [];
  if (data === null) return params;
  let start = 0;
  let quoted = false;
  for (let i = 0; i <= data.length; i++) {
    const c = data[i];
    if (c === '"') quoted = !quoted;
    else if (i === data.length || (c === "," && !quoted)) {
      const item = data.slice(start, i);
      start = i + 1;
      if (item === "") continue;
      const eq = item.indexOf("=");
      if (eq < 0) params.push({ kind: "flag", key: item });
      else params.push({ kind: "string", key: item.slice(0, eq), value: unquote(item.slice(eq + 1)) });
    }
  }
  return params;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
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
