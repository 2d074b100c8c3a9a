/**
 * The fs-context step: a new filesystem made through the fd-based mount API, one fsconfig
 * call per parameter, so no option string and no page limit:
 *
 *   fsfd = fsopen(fstype, FSOPEN_CLOEXEC)
 *   fsconfig(fsfd, FSCONFIG_SET_STRING | SET_FLAG | SET_FD, key, value, aux)   per parameter
 *   fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)
 *   mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_*)
 *   move_mount(mntfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)
 *
 * Layer sources are the seam for layers that are not plain paths. A layer is either
 *   - "path":   its path, by FSCONFIG_SET_STRING (at most 255 bytes: the kernel's per-value limit);
 *   - "opath":  its path opened O_PATH at run time and passed by FSCONFIG_SET_FD (overlay 6.13+),
 *               or, on kernels whose overlay takes no fds, as the string "/proc/self/fd/N";
 *   - "handle": an fd that an earlier step of the same plan produced and owns, passed by
 *               FSCONFIG_SET_FD. A detached idmapped tree (open_tree(OPEN_TREE_CLONE) then
 *               mount_setattr(MOUNT_ATTR_IDMAP|MOUNT_ATTR_RDONLY)) becomes an overlay layer this
 *               way (plan/idmap-overlay.ts): its producing step owns the fd, in the plan run's
 *               handles (ops/plan-handles.ts); this step only borrows it.
 * Pure.
 */
import { formatFlags } from "./flags.ts";
import { MOUNT_ATTR } from "./mount-api-flags.ts";

/** The longest string fsconfig takes, NUL included (strndup_user(value, 256) in fs/fsopen.c). */
export const FSCONFIG_VALUE_MAX = 256;

export type LayerSource =
  | { readonly kind: "path"; readonly path: string }
  | { readonly kind: "opath"; readonly path: string; readonly pass: "fd" | "proc-path" }
  | { readonly kind: "handle"; readonly handle: string; readonly label: string };

export type FsParam =
  | { readonly kind: "flag"; readonly key: string }
  | { readonly kind: "string"; readonly key: string; readonly value: string }
  | { readonly kind: "layer"; readonly key: string; readonly source: LayerSource };

export interface FsContextStep {
  readonly op: "fs-context";
  readonly fstype: string;
  /** in the order they are given to fsconfig */
  readonly params: readonly FsParam[];
  /** MOUNT_ATTR_* for fsmount */
  readonly attrFlags: number;
  readonly target: string;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
  /**
   * Handles ("handle" layers of earlier steps) this step closes as soon as FSCONFIG_CMD_CREATE
   * has returned: the filesystem holds its own references then. A detached layer tree must
   * stay open until that call (closed earlier, it dissolves and CMD_CREATE fails with EINVAL).
   */
  readonly closeAfterCreate?: readonly string[];
  /**
   * The handle slot of a user namespace fd: the new mount is idmapped with it
   * (mount_setattr(MOUNT_ATTR_IDMAP)) between fsmount and move_mount, while it is still
   * detached, the only time the kernel allows it (plan/idmapped-new-mount.ts).
   */
  readonly idmap?: string;
  /**
   * The handle slot the new mount's fd is put in, detached, instead of being attached at
   * target: a later move_mount step attaches it, a close step (or the plan's end) closes it.
   * target then only names the mount in messages. undoable is false: the attach owns the undo.
   */
  readonly detachInto?: string;
}

/** What a layer is, for messages: its path, or the handle's label. */
export function layerLabel(source: LayerSource): string {
  return source.kind === "handle" ? source.label : source.path;
}

/** How fsconfig passes a parameter: FSCONFIG_SET_<this>. */
export function paramCommand(param: FsParam): "SET_FLAG" | "SET_STRING" | "SET_FD" {
  if (param.kind === "flag") return "SET_FLAG";
  if (param.kind === "string") return "SET_STRING";
  const source = param.source;
  return source.kind === "path" || (source.kind === "opath" && source.pass === "proc-path") ? "SET_STRING" : "SET_FD";
}

export function describeFsContextStep(step: FsContextStep): Record<string, unknown> {
  return {
    op: step.op,
    syscalls: ["fsopen", "fsconfig", "fsmount", ...(step.idmap === undefined ? [] : ["mount_setattr"]), ...(step.detachInto === undefined ? ["move_mount"] : [])],
    fstype: step.fstype,
    params: step.params.map((p) => ({
      cmd: `FSCONFIG_${paramCommand(p)}`,
      key: p.key,
      ...(p.kind === "string" ? { value: p.value } : {}),
      ...(p.kind === "layer" ? { source: p.source } : {}),
    })),
    attrFlags: step.attrFlags,
    attrFlagNames: formatFlags(step.attrFlags, MOUNT_ATTR, "MOUNT_ATTR_"),
    ...(step.idmap !== undefined ? { idmap: { attrSet: MOUNT_ATTR.IDMAP, usernsFd: `$${step.idmap}` } } : {}),
    target: step.target,
    undoable: step.undoable,
    ...(step.closeAfterCreate?.length ? { closeAfterCreate: step.closeAfterCreate.map((h) => `$${h}`) } : {}),
    ...(step.detachInto !== undefined ? { result: `$${step.detachInto}` } : {}),
  };
}

/** The calls the step makes, one per line, C-like; fstypeShown replaces the quoted type. */
export function formatFsContextStep(step: FsContextStep, fstypeShown = JSON.stringify(step.fstype)): string {
  const q = JSON.stringify;
  const lines = [`fsfd = fsopen(${fstypeShown}, FSOPEN_CLOEXEC)`];
  for (const p of step.params) {
    const cmd = `FSCONFIG_${paramCommand(p)}`;
    if (p.kind === "flag") lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, NULL, 0)`);
    else if (p.kind === "string") lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, ${q(p.value)}, 0)`);
    else {
      const s = p.source;
      if (s.kind === "path") lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, ${q(s.path)}, 0)`);
      else if (s.kind === "handle") lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, NULL, $${s.handle})  [${s.label}]`);
      else if (s.pass === "fd") {
        lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, NULL, open(${q(s.path)}, O_PATH|O_CLOEXEC))`);
      } else {
        lines.push(`fsconfig(fsfd, ${cmd}, ${q(p.key)}, "/proc/self/fd/" + open(${q(s.path)}, O_PATH|O_CLOEXEC), 0)`);
      }
    }
  }
  lines.push("fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)");
  for (const handle of step.closeAfterCreate ?? []) lines.push(`close($${handle})`);
  const mntfd = step.detachInto === undefined ? "mntfd" : `$${step.detachInto}`;
  const detached = step.detachInto === undefined ? "" : `  [detached: ${q(step.target)} is not touched yet]`;
  lines.push(`${mntfd} = fsmount(fsfd, FSMOUNT_CLOEXEC, ${formatFlags(step.attrFlags, MOUNT_ATTR, "MOUNT_ATTR_")})${detached}`);
  if (step.idmap !== undefined) lines.push(`mount_setattr(${mntfd}, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, userns_fd: $${step.idmap}})`);
  if (step.detachInto === undefined) lines.push(`move_mount(mntfd, "", AT_FDCWD, ${q(step.target)}, MOVE_MOUNT_F_EMPTY_PATH)`);
  return lines.join("\n");
}
