/**
 * The building blocks of every idmapped mount: the user namespace, and a clone of a tree
 * idmapped through it, either attached somewhere or left detached in an fd slot (an overlay
 * layer handed over by FSCONFIG_SET_FD). Pure.
 */
import type { IdMappingPair } from "./idmap-mapping.ts";
import type { IdmapStep, MountSetattrStep, OpenLayerStep, OpenTreeStep, OpenUsernsStep, UsernsStep } from "./idmap-steps.ts";
import { AT, MOUNT_ATTR, MOVE_MOUNT, OPEN_TREE } from "./mount-api-flags.ts";

/** What idmapMount() applies besides the idmap. */
export interface IdmapAttrs {
  /** MOUNT_ATTR_* to set along with MOUNT_ATTR_IDMAP (MOUNT_ATTR_RDONLY for a read-only mount) */
  readonly attrSet?: number;
  /** MOUNT_ATTR_* to clear */
  readonly attrClr?: number;
  /** clone and idmap the whole tree under source (AT_RECURSIVE), like rbind */
  readonly recursive?: boolean;
  /**
   * with recursive: false idmaps the clone's top mount alone (OCI's idmap on an rbind), its
   * submounts cloned as they are, unmapped; true or absent idmaps every mount of it (ridmap)
   */
  readonly idmapSubmounts?: boolean;
  /**
   * a propagation type (MS_PRIVATE...) set on the idmapped mounts in the same call; absent,
   * they keep the source's (a shared source's clone joins its peer group)
   */
  readonly propagation?: number;
}

/** The slot every idmap plan keeps its user namespace fd in. */
export const USERNS_SLOT = "userns";

/** The user namespace of an idmapped mount: one with these maps, or an existing one's file (X-mount.idmap=/proc/PID/ns/user). */
export type UserNamespace = IdMappingPair | { readonly file: string };

/** The user namespace in USERNS_SLOT: created for a mapping pair (or reused from the cache), or opened from its file. */
export function usernsStep(userns: UserNamespace): UsernsStep | OpenUsernsStep {
  if ("file" in userns) return { op: "open_userns", slot: USERNS_SLOT, path: userns.file };
  return { op: "userns", slot: USERNS_SLOT, uidmap: userns.uidmap, gidmap: userns.gidmap };
}

/** open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP|attrSet): a detached idmapped clone in slot. */
export function detachedIdmappedTreeSteps(source: string, slot: string, usernsSlot: string, attrs: IdmapAttrs, overlayLayer = false): IdmapStep[] {
  return [openTreeStep(source, slot, attrs), idmapSetattrStep(source, slot, usernsSlot, attrs, overlayLayer)];
}

function openTreeStep(source: string, slot: string, attrs: IdmapAttrs): OpenTreeStep {
  const recursive = attrs.recursive ? AT.RECURSIVE : 0;
  return { op: "open_tree", slot, path: source, flags: OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC | recursive };
}

function idmapSetattrStep(source: string, slot: string, usernsSlot: string, attrs: IdmapAttrs, overlayLayer: boolean): MountSetattrStep {
  const step: { -readonly [K in keyof MountSetattrStep]: MountSetattrStep[K] } = {
    op: "mount_setattr",
    slot,
    tree: source,
    flags: AT.EMPTY_PATH | (attrs.recursive && attrs.idmapSubmounts !== false ? AT.RECURSIVE : 0),
    attrSet: MOUNT_ATTR.IDMAP | (attrs.attrSet ?? 0),
    attrClr: attrs.attrClr ?? 0,
    usernsSlot,
  };
  // set only when there: no spread of a throwaway object on every idmapped mount's plan
  if (attrs.propagation !== undefined) step.propagation = attrs.propagation;
  if (overlayLayer) step.overlayLayer = true;
  return step;
}

/**
 * Steps that clone source, idmap the clone through the namespace in usernsSlot and attach it
 * at target, closing the clone's fd.
 */
export function idmapTreeSteps(
  source: string,
  target: string,
  usernsSlot: string,
  attrs: IdmapAttrs,
  slot: string,
  role: "target" | "temp-lower",
): IdmapStep[] {
  // one array literal: every mount of an idmapped bind builds it
  return [
    openTreeStep(source, slot, attrs),
    idmapSetattrStep(source, slot, usernsSlot, attrs, role === "temp-lower"),
    { op: "move_mount", slot, target, flags: MOVE_MOUNT.F_EMPTY_PATH, role },
    { op: "close", slot },
  ];
}

/**
 * idmapTreeSteps for a bind's per-mount options. With rbind the whole tree is idmapped (unless
 * idmapSubmounts is false), but the options (ro, nosuid, rw, exec...) are the top mount's alone,
 * as they are for a bind without a mapping and in mount(8): set on every submount, `rw` or `exec`
 * would clear a submount's own ro or noexec in the copy. So a second, non-recursive
 * mount_setattr sets them on the top mount while the tree is still detached. With the top mount
 * alone idmapped, one non-recursive call does both. (The whole tree's options are rro,
 * ro=recursive...: recursive-attrs.ts.)
 */
export function bindTreeSteps(source: string, target: string, usernsSlot: string, attrs: IdmapAttrs, slot: string): IdmapStep[] {
  const attrSet = attrs.attrSet ?? 0;
  const attrClr = attrs.attrClr ?? 0;
  if (!attrs.recursive || attrs.idmapSubmounts === false || (attrSet | attrClr) === 0) {
    return idmapTreeSteps(source, target, usernsSlot, attrs, slot, "target");
  }
  const steps = idmapTreeSteps(source, target, usernsSlot, { recursive: true, propagation: attrs.propagation }, slot, "target");
  const topOnly: MountSetattrStep = { op: "mount_setattr", slot, tree: source, flags: AT.EMPTY_PATH, attrSet, attrClr, usernsSlot: null };
  steps.splice(2, 0, topOnly); // after the idmap, before move_mount
  return steps;
}

/**
 * The fd-based idmapped overlay's layer: a detached, idmapped, read-only tree of layer left
 * open in slot for fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, $slot). The slot must
 * stay open until FSCONFIG_CMD_CREATE has returned (closed earlier, the tree dissolves and
 * CMD_CREATE fails with EINVAL); its `close` step belongs after that call.
 */
export function idmappedLayerSteps(layer: string, slot: string, usernsSlot: string = USERNS_SLOT): IdmapStep[] {
  return detachedIdmappedTreeSteps(layer, slot, usernsSlot, { attrSet: MOUNT_ATTR.RDONLY }, true);
}

/**
 * The directory that holds every layer, when one idmapped clone of it can stand for one clone
 * per layer (plan/idmap-overlay.ts): two layers or more, every one a clean absolute path (no
 * ".", "..", "//" or trailing "/", so the path below the parent is the one the kernel walks).
 * undefined otherwise.
 */
export function sharedLayerParent(layers: readonly string[]): string | undefined {
  if (layers.length < 2) return undefined;
  let parent = layers[0]!;
  if (!isCleanAbsolute(parent)) return undefined;
  for (let i = 1; i < layers.length; i++) {
    const layer = layers[i]!;
    if (!isCleanAbsolute(layer)) return undefined;
    parent = commonDir(parent, layer);
  }
  return parent;
}

function isCleanAbsolute(path: string): boolean {
  const n = path.length;
  return n > 1 && path.charCodeAt(0) === SLASH && path.charCodeAt(n - 1) !== SLASH && !UNCLEAN_PATH.test(path);
}
/** "//", or a "." or ".." component */
const UNCLEAN_PATH = /\/\/|\/\.\.?(?:\/|$)/;

/** The longest directory both clean absolute paths are in or are, by whole components. */
function commonDir(a: string, b: string): string {
  if (a === b) return a;
  // the usual case once the parent is found: b is below a
  if (b.length > a.length && b.startsWith(a) && b.charCodeAt(a.length) === SLASH) return a;
  if (a.length > b.length && a.startsWith(b) && a.charCodeAt(b.length) === SLASH) return b;
  const n = Math.min(a.length, b.length);
  let end = 0; // the last "/" up to which both agree
  for (let i = 0; i < n; i++) {
    const c = a.charCodeAt(i);
    if (c !== b.charCodeAt(i)) break;
    if (c === SLASH) end = i;
  }
  return end === 0 ? "/" : a.slice(0, end);
}
const SLASH = 0x2f;

/** layer's path below parent ("." for parent itself), for openat2 relative to its clone. */
export function pathBelow(parent: string, layer: string): string {
  if (layer === parent) return ".";
  return parent === "/" ? layer.slice(1) : layer.slice(parent.length + 1);
}

/** The open_layer step of one layer of a shared clone (plan/idmap-steps.ts OpenLayerStep). */
export function openLayerStep(layer: string, slot: string, tree: string, parent: string, usernsSlot: string = USERNS_SLOT): OpenLayerStep {
  return { op: "open_layer", slot, tree, parent, path: layer, relative: pathBelow(parent, layer), usernsSlot };
}
