/**
 * Idmapped mounts (uidmap= / gidmap=), planned. Every plan starts with the user namespace, so
 * nothing is mounted when the mappings cannot be made.
 *
 *   bind, rbind (read-only too)   one idmapped clone of the source attached at the target:
 *       open_tree(source, OPEN_TREE_CLONE[|AT_RECURSIVE]) -> mount_setattr(IDMAP|per-mount
 *       attrs) -> move_mount(target). containerd bound, remounted read-only and returned before
 *       idmapping: a read-only bind was never idmapped. Here ro is part of the same setattr.
 *   other filesystems             containerd's sequence: mount(2), then an idmapped clone of
 *       the new mount attached on top of it (the kernel idmaps detached mounts only).
 *   overlay                       the legacy strategy (the seed's prepareIDMappedOverlay): each
 *       lower layer idmapped read-only into a 0700 temp dir, the overlay mounted on those,
 *       then every temp mount unmounted (EBUSY policy) and its dir removed with rmdir. A temp
 *       mount that stays busy is left mounted read-only: nothing is ever deleted through it.
 * Pure.
 */
import { NotSupportedError, PlanError, quotePath } from "../errors.ts";
import { MS } from "./flags.ts";
import { idMappingPair, type IdMappingPair } from "./idmap-mapping.ts";
import type { IdmapStep } from "./idmap-steps.ts";
import { formatLowerdir, parseLowerdir } from "./lowerdir.ts";
import { AT, MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK, MOVE_MOUNT, OPEN_TREE } from "./mount-api-flags.ts";
import type { Planner } from "./mount-plan.ts";
import type { MountContext, PlanEnv } from "./mount-request.ts";
import { planPlain } from "./plain.ts";
import type { Plan, Step } from "./steps.ts";

/** What idmapMount() applies besides the idmap. */
export interface IdmapAttrs {
  /** MOUNT_ATTR_* to set along with MOUNT_ATTR_IDMAP (MOUNT_ATTR_RDONLY for a read-only mount) */
  readonly attrSet?: number;
  /** MOUNT_ATTR_* to clear */
  readonly attrClr?: number;
  /** clone and idmap the whole tree under source (AT_RECURSIVE), like rbind */
  readonly recursive?: boolean;
}

export const USERNS_SLOT = "userns";
const TREE_SLOT = "tree";
const TEMP_DIR_MODE = 0o700;

/**
 * Steps that clone source, idmap the clone through the namespace in usernsSlot and attach it
 * at target, closing the clone's fd. The building block of every idmapped mount here.
 */
export function idmapTreeSteps(
  source: string,
  target: string,
  usernsSlot: string,
  attrs: IdmapAttrs,
  slot: string,
  role: "target" | "temp-lower",
): IdmapStep[] {
  const recursive = attrs.recursive ? AT.RECURSIVE : 0;
  return [
    { op: "open_tree", slot, path: source, flags: OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | recursive },
    {
      op: "mount_setattr",
      slot,
      flags: AT.EMPTY_PATH | recursive,
      attrSet: MOUNT_ATTR.IDMAP | (attrs.attrSet ?? 0),
      attrClr: attrs.attrClr ?? 0,
      usernsSlot,
    },
    { op: "move_mount", slot, target, flags: MOVE_MOUNT.F_EMPTY_PATH, role },
    { op: "close", slot },
  ];
}

/**
 * For the fd-based idmapped overlay (wired by the overlay planner of issue 3): the steps that
 * leave a detached, idmapped, read-only tree of layer open in slot, ready for
 * fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, $slot). The slot must stay open until
 * FSCONFIG_CMD_CREATE has returned; a `close` step for it belongs after that call.
 */
export function idmappedLayerSteps(layer: string, slot: string, usernsSlot: string = USERNS_SLOT): IdmapStep[] {
  return idmapTreeSteps(layer, "", usernsSlot, { attrSet: MOUNT_ATTR.RDONLY }, slot, "temp-lower").slice(0, 2);
}

/** The plan of idmapMount(): an idmapped clone of source at target, through the caller's fd. */
export function planIdmapMount(source: string, target: string, usernsFd: number, attrs: IdmapAttrs = {}): Plan {
  if (source === "" || target === "") throw new PlanError("idmap mount: empty source or target path");
  if (!Number.isInteger(usernsFd) || usernsFd < 0) throw new PlanError(`idmap mount: invalid user namespace fd ${usernsFd}`);
  checkAttrs(attrs);
  return {
    action: `idmap ${quotePath(source)} onto ${quotePath(target)}`,
    steps: [
      { op: "borrow_fd", slot: USERNS_SLOT, fd: usernsFd, what: "user namespace" },
      ...idmapTreeSteps(source, target, USERNS_SLOT, attrs, TREE_SLOT, "target"),
    ],
  };
}

function checkAttrs(attrs: IdmapAttrs): void {
  const set = attrs.attrSet ?? 0;
  const clr = attrs.attrClr ?? 0;
  if ((set | clr) & MOUNT_ATTR.IDMAP) throw new PlanError("idmap mount: MOUNT_ATTR_IDMAP is set by idmapMount itself");
  // The kernel's rule: an atime mode is set by also clearing the whole atime mask.
  if (set & MOUNT_ATTR_ATIME_MASK && (clr & MOUNT_ATTR_ATIME_MASK) !== MOUNT_ATTR_ATIME_MASK) {
    throw new PlanError("idmap mount: an atime attribute in attrSet needs MOUNT_ATTR__ATIME (0x70) in attrClr");
  }
}

export const idmapPlanner: Planner = {
  name: "idmap",
  claims: (ctx) => ctx.options.uidmap !== undefined || ctx.options.gidmap !== undefined,
  plan: planIdmapped,
};

export function planIdmapped(ctx: MountContext): Plan {
  const { options, facts, mount } = ctx;
  const pair = idMappingPair(options.uidmap, options.gidmap, facts.pageSize, ctx.action);
  if (options.flags & MS.REMOUNT) {
    throw new PlanError(`${ctx.action}: uidmap/gidmap cannot be added by a remount`, {
      hint: "the kernel idmaps new mounts only: mount again with the mapping",
    });
  }
  if (!facts.mountSetattr) {
    throw new NotSupportedError(`${ctx.action}: idmapped mounts need mount_setattr (Linux 5.12); this kernel is ${facts.release}`);
  }
  if (options.loop) throw new NotSupportedError(`${ctx.action}: loop with uidmap/gidmap: not supported yet`);

  if (mount.type === "overlay") return planIdmappedOverlay(ctx, pair, ctx.env);
  if (isBind(ctx)) return planIdmappedBind(ctx, pair);
  return planIdmappedFilesystem(ctx, pair);
}

function usernsStep(pair: IdMappingPair): IdmapStep {
  return { op: "userns", slot: USERNS_SLOT, uidmap: pair.uidmap, gidmap: pair.gidmap };
}

function isBind(ctx: MountContext): boolean {
  return ctx.mount.type === "bind" || (ctx.options.flags & MS.BIND) !== 0;
}

/** mount(2) per-mount flags and the MOUNT_ATTR_* bit each becomes. */
const MS_TO_MOUNT_ATTR: ReadonlyArray<readonly [number, number]> = [
  [MS.RDONLY, MOUNT_ATTR.RDONLY],
  [MS.NOSUID, MOUNT_ATTR.NOSUID],
  [MS.NODEV, MOUNT_ATTR.NODEV],
  [MS.NOEXEC, MOUNT_ATTR.NOEXEC],
  [MS.NODIRATIME, MOUNT_ATTR.NODIRATIME],
  [MS.NOSYMFOLLOW, MOUNT_ATTR.NOSYMFOLLOW],
];

/**
 * The per-mount options of a bind as mount_setattr attributes: options given are set, options
 * negated (rw, suid, exec...) are cleared, the rest is inherited from the source, as a bind
 * clone does. An atime mode replaces the source's (the kernel wants the whole mask cleared).
 */
export function bindAttrs(flags: number, mentioned: number): { attrSet: number; attrClr: number } {
  let attrSet = 0;
  let attrClr = 0;
  for (const [ms, attr] of MS_TO_MOUNT_ATTR) {
    if (flags & ms) attrSet |= attr;
    else if (mentioned & ms) attrClr |= attr;
  }
  if (mentioned & (MS.NOATIME | MS.STRICTATIME | MS.RELATIME)) {
    attrClr |= MOUNT_ATTR_ATIME_MASK;
    if (flags & MS.NOATIME) attrSet |= MOUNT_ATTR.NOATIME;
    else if (flags & MS.STRICTATIME) attrSet |= MOUNT_ATTR.STRICTATIME;
    // relatime is the mode with no bit: clearing the mask selects it
  }
  return { attrSet, attrClr };
}

/** The propagation changes of a mount, made after it is attached. */
function propagationSteps(ctx: MountContext): Step[] {
  return ctx.options.propagation.map((flags) => ({
    op: "mount" as const,
    role: "propagation" as const,
    source: null,
    target: ctx.target,
    fstype: null,
    flags,
    data: null,
    inheritFlags: 0,
    undoable: false,
  }));
}

function planIdmappedBind(ctx: MountContext, pair: IdMappingPair): Plan {
  const { options, mount, target } = ctx;
  if (mount.source === "") throw new PlanError(`${ctx.action}: a bind needs a source path`);
  const recursive = (options.flags & MS.REC) !== 0;
  const attrs = { ...bindAttrs(options.flags, options.flagsMentioned), recursive };
  return {
    action: ctx.action,
    steps: [
      usernsStep(pair),
      ...idmapTreeSteps(mount.source, target, USERNS_SLOT, attrs, TREE_SLOT, "target"),
      ...propagationSteps(ctx),
    ],
  };
}

function planIdmappedFilesystem(ctx: MountContext, pair: IdMappingPair): Plan {
  const plain = planPlain({ ...ctx, options: { ...ctx.options, propagation: [] } });
  const [first] = plain.steps;
  if (plain.steps.length !== 1 || first?.op !== "mount" || first.role !== "mount") {
    throw new Error(`unreachable: a new ${ctx.mount.type} mount plans one mount(2) step`);
  }
  return {
    action: ctx.action,
    steps: [
      usernsStep(pair),
      first,
      ...idmapTreeSteps(ctx.target, ctx.target, USERNS_SLOT, {}, TREE_SLOT, "target"),
      ...propagationSteps(ctx),
    ],
  };
}

function planIdmappedOverlay(ctx: MountContext, pair: IdMappingPair, env: PlanEnv): Plan {
  const { options } = ctx;
  const appended = options.data.find((item) => item.startsWith("lowerdir+=") || item.startsWith("datadir+="));
  if (appended !== undefined) {
    throw new NotSupportedError(`${ctx.action}: ${appended.split("=")[0]} with uidmap/gidmap: not supported yet`, {
      hint: "give the layers as lowerdir=top:...:bottom",
    });
  }
  const lowerIndex = options.data.findLastIndex((item) => item.startsWith("lowerdir="));
  if (lowerIndex < 0) throw new PlanError(`${ctx.action}: overlay with uidmap/gidmap needs lowerdir=`);
  const tempDir = env.tempDir;
  if (tempDir === undefined || tempDir === "") {
    throw new PlanError(`${ctx.action}: an idmapped overlay needs a temp directory for its lower layers`, {
      hint: "plan it through mount()/planOnly(), which choose one under the temp mount location",
    });
  }
  if (tempDir.includes(",")) {
    throw new PlanError(`${ctx.action}: temp mount location ${quotePath(tempDir)} holds a comma, which overlay options cannot carry`);
  }

  const lowers = parseLowerdir(options.data[lowerIndex]!.slice("lowerdir=".length));
  const temps = lowers.layers.map((_, i) => `${tempDir}/${i}`);
  const data = options.data.with(lowerIndex, `lowerdir=${formatLowerdir({ layers: temps, dataOnlyFrom: lowers.dataOnlyFrom })}`);
  // planPlain checks the page limit of the new options and plans the mount and propagation.
  const overlay = planPlain({ ...ctx, options: { ...options, data } });

  const steps: Step[] = [usernsStep(pair), { op: "mkdir", path: tempDir, mode: TEMP_DIR_MODE }];
  lowers.layers.forEach((layer, i) => {
    steps.push({ op: "mkdir", path: temps[i]!, mode: TEMP_DIR_MODE });
    const readOnly = { attrSet: MOUNT_ATTR.RDONLY };
    steps.push(...idmapTreeSteps(layer, temps[i]!, USERNS_SLOT, readOnly, `lower${i}`, "temp-lower"));
  });
  steps.push(...overlay.steps);
  for (const temp of temps) {
    steps.push({ op: "unmount_temp", target: temp, retry: "unmount-busy" });
    steps.push({ op: "rmdir", path: temp });
  }
  steps.push({ op: "rmdir", path: tempDir });
  return { action: ctx.action, steps };
}
