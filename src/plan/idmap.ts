/**
 * Idmapped mounts (uidmap= / gidmap=), planned. Every plan starts with the user namespace, so
 * nothing is mounted when the mappings cannot be made.
 *
 *   bind, rbind (read-only too)   one idmapped clone of the source attached at the target:
 *       open_tree(source, OPEN_TREE_CLONE[|AT_RECURSIVE]) -> mount_setattr(IDMAP|per-mount
 *       attrs) -> move_mount(target); for rbind, the whole tree's idmap, then the attrs of
 *       its top mount alone; with OCI's idmap (not ridmap), the top mount's idmap and attrs
 *       in one call, the submounts cloned unmapped. containerd bound, remounted read-only and
 *       returned before idmapping: a read-only bind was never idmapped. Here ro is set before
 *       the attach.
 *   other filesystems             one mount: the mount(2) call made through the fd API, and
 *       the new mount idmapped before move_mount attaches it (the kernel idmaps detached
 *       mounts only: plan/idmapped-new-mount.ts). Images too (loop, as containerd's Mount).
 *       Where the fd API cannot say the call, containerd's sequence: mount(2), then an
 *       idmapped clone of the new mount attached on top of it (two mounts).
 *   overlay                       plan/idmap-overlay.ts: the lower layers idmapped read-only,
 *       as detached trees handed to the overlay by fd, or (legacy) mounted in temp dirs.
 * Pure.
 */
import { NotSupportedError, PlanError, quotePath, shownValue } from "../errors.ts";
import { requireBits, requireFd, requirePath } from "./caller-input.ts";
import { MS } from "./flags.ts";
import { MS_TO_MOUNT_ATTR } from "./fs-context-flags.ts";
import { idMappingPair } from "./idmap-mapping.ts";
import { fitsFsContext } from "./idmapped-new-mount.ts";
import { planIdmappedOverlay } from "./idmap-overlay.ts";
import { bindTreeSteps, idmapTreeSteps, USERNS_SLOT, usernsStep, type IdmapAttrs, type UserNamespace } from "./idmap-tree.ts";
import { xMountUserNamespace } from "./x-mount-idmap.ts";
import { MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK } from "./mount-api-flags.ts";
import type { Planner } from "./mount-plan.ts";
import { isBind, planFor, withOptions, type MountContext } from "./mount-request.ts";
import { isImageMount, planLoop } from "./loop.ts";
import { planPlain } from "./plain.ts";
import { propagationSteps } from "./propagation.ts";
import { isNewFilesystemMount, type Plan, type Step } from "./steps.ts";

export { idmappedLayerSteps, idmapTreeSteps, USERNS_SLOT, type IdmapAttrs } from "./idmap-tree.ts";

const TREE_SLOT = "tree";

/** The plan of idmapMount(): an idmapped clone of source at target, through the caller's fd. */
export function planIdmapMount(source: string, target: string, usernsFd: number, attrs: IdmapAttrs = {}): Plan {
  requirePath(source, "source", "idmap mount");
  requirePath(target, "target", "idmap mount");
  if (source === "" || target === "") throw new PlanError("idmap mount: empty source or target path");
  requireFd(usernsFd, "user namespace fd", "idmap mount");
  checkAttrs(attrs);
  return {
    action: `idmap ${quotePath(source)} onto ${quotePath(target)}`,
    steps: [
      { op: "borrow_fd", slot: USERNS_SLOT, fd: usernsFd, what: "user namespace" },
      ...idmapTreeSteps(source, target, USERNS_SLOT, attrs, TREE_SLOT, "target"),
    ],
  };
}

const ATTR_FIELDS = ["attrSet", "attrClr", "propagation"] as const;

function checkAttrs(attrs: IdmapAttrs): void {
  if (typeof attrs !== "object" || attrs === null) throw new PlanError(`idmap mount: attrs must be an object, got ${shownValue(attrs)}`);
  for (const field of ATTR_FIELDS) {
    if (attrs[field] !== undefined) requireBits(attrs[field], field, "idmap mount");
  }
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
  claims: (ctx) => ctx.options.uidmap !== undefined || ctx.options.gidmap !== undefined || ctx.options.idmap !== undefined,
  plan: planIdmapped,
};

export function planIdmapped(ctx: MountContext): Plan {
  const { options, facts, mount } = ctx;
  const userns = userNamespaceOf(ctx);
  if (options.flags & MS.REMOUNT) {
    throw new PlanError(`${ctx.action}: uidmap/gidmap cannot be added by a remount`, {
      hint: "the kernel idmaps new mounts only: mount again with the mapping",
    });
  }
  if (!facts.mountSetattr) {
    throw new NotSupportedError(`${ctx.action}: idmapped mounts need mount_setattr (Linux 5.12); this kernel is ${facts.release}`);
  }
  // an image (the loop option, or a file with a block filesystem's type) is a filesystem too;
  // before the bind test, so that loop with bind is refused as without the mapping
  const image = options.loop || isImageMount(ctx);
  if (mount.type === "overlay" && !image) return planIdmappedOverlay(ctx, userns);
  if (isBind(ctx) && !image) return planIdmappedBind(ctx, userns);
  return planIdmappedFilesystem(ctx, userns, image ? planLoop : planPlain);
}

/** containerd's uidmap=/gidmap= pair, or util-linux's X-mount.idmap=: one of the two, never both. */
function userNamespaceOf(ctx: MountContext): UserNamespace {
  const { options, facts } = ctx;
  if (options.idmap === undefined) return idMappingPair(options.uidmap, options.gidmap, facts.pageSize, ctx);
  if (options.uidmap !== undefined || options.gidmap !== undefined) {
    throw new PlanError(`${ctx.action}: X-mount.idmap= and uidmap=/gidmap= both name the mount's user namespace`, {
      hint: "give one of them: X-mount.idmap=b:0:100000:65536 is uidmap=0:100000:65536,gidmap=0:100000:65536",
    });
  }
  return xMountUserNamespace(options.idmap, facts.pageSize, ctx);
}

/**
 * The per-mount options of a bind as mount_setattr attributes: options given are set, options
 * negated (rw, suid, exec...) are cleared, the rest is inherited from the source, as a bind
 * clone does. An atime mode replaces the source's (the kernel wants the whole mask cleared).
 * rbind (MS_REC) clones the whole tree and idmaps it all, or its top mount alone when
 * idmapRecursive is false (OCI's idmap); the attributes stay the top mount's (bindTreeSteps).
 */
export function bindAttrs(flags: number, mentioned: number, idmapRecursive?: boolean): Required<Omit<IdmapAttrs, "propagation">> {
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
  return { attrSet, attrClr, recursive: (flags & MS.REC) !== 0, idmapSubmounts: idmapRecursive !== false };
}

function planIdmappedBind(ctx: MountContext, pair: UserNamespace): Plan {
  const { options, mount, target } = ctx;
  if (mount.source === "") throw new PlanError(`${ctx.action}: a bind needs a source path`);
  const attrs = { ...bindAttrs(options.flags, options.flagsMentioned, options.idmapRecursive), propagation: clonePropagation(ctx) };
  const steps: Step[] = [usernsStep(pair), ...bindTreeSteps(mount.source, target, USERNS_SLOT, attrs, TREE_SLOT)];
  if (options.propagation.length > 0) steps.push(...propagationSteps(ctx));
  return planFor(ctx, steps);
}

/**
 * The propagation an idmapped clone gets as it is made. containerd's IDMapMount makes its clone
 * private: a clone of a shared source would join the source's peer group, and mounts made there
 * later would show up in it without the idmap. So does a uidmap=/gidmap= mount here unless the
 * request names a propagation (applied afterwards, as its own call). util-linux's X-mount.idmap=
 * leaves the clone's propagation as any bind's, as mount(8) does.
 */
function clonePropagation(ctx: MountContext): number | undefined {
  return ctx.options.idmap === undefined && ctx.options.propagation.length === 0 ? MS.PRIVATE : undefined;
}

/** The filesystem mounted by its own planner (a loop device's, a type read from the device, or a given one), then idmapped. */
function planIdmappedFilesystem(ctx: MountContext, pair: UserNamespace, planUnmapped: (ctx: MountContext) => Plan): Plan {
  const unmapped = planUnmapped(withOptions(ctx, { ...ctx.options, propagation: [] }));
  const [first] = unmapped.steps;
  if (unmapped.steps.length !== 1 || first === undefined || !isNewFilesystemMount(first)) {
    throw new Error(`unreachable: a new ${ctx.mount.type || "typeless"} mount plans one mount step`);
  }
  // One mount, idmapped before it is attached, where the fd API can say the call (it can
  // unless a flag such as MS_I_VERSION or a value past 255 bytes is in it, the source's
  // included: a loop-mount's is its device, /dev/loopN).
  const source = first.op === "loop-mount" ? null : first.source;
  if (ctx.facts.mountApi && fitsFsContext(first.flags, first.data, source)) {
    return planFor(ctx, [usernsStep(pair), { ...first, idmap: USERNS_SLOT }, ...propagationSteps(ctx)]);
  }
  // containerd's sequence: the mount, and an idmapped clone of it on top
  return planFor(ctx, [
    usernsStep(pair),
    first,
    ...idmapTreeSteps(ctx.target, ctx.target, USERNS_SLOT, { propagation: clonePropagation(ctx) }, TREE_SLOT, "target"),
    ...propagationSteps(ctx),
  ]);
}
