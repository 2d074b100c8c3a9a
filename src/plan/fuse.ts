/**
 * FUSE mounts: types "fuse.SUBTYPE" and "fuse3.SUBTYPE" are mounted by running the helper
 * mount.fuse or mount.fuse3 with containerd's argument shape (mountWithHelper):
 *
 *   mount.fuse3 SOURCE TARGET -o OPT1 -o OPT2 ... -t SUBTYPE
 *
 * Only the two allowed helper names are ever planned, and always as an argv (no shell).
 * Propagation words are taken out of the helper's options and applied afterwards as their own
 * mount(2) calls, as for every other mount (containerd passed them to the helper, which
 * cannot apply them); so are recursive attributes (rro..., set by mount_setattr afterwards)
 * and the X-mount.* options mountkit carries out itself (mkdir, owner, group, mode). The words
 * only mount(8) reads (defaults, noauto, comment=, x-*...) are left out as libmount leaves them
 * out: mount.fuse hands the daemon what it does not know, and a libfuse daemon refuses them.
 * Pure: locating the helper on disk is ops/helpers.ts's job.
 */
import { PlanError } from "../errors.ts";
import { requireString } from "./caller-input.ts";
import { MS } from "./flags.ts";
import { loopOptionWords } from "./loop.ts";
import type { Planner } from "./mount-plan.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { isUserspaceWordHandedOn } from "./helper-options.ts";
import { isUserspaceExtension, optionSpec, withImpliedWords } from "./option-table.ts";
import { entryOptions, unquoteOption } from "./options.ts";
import { propagationSteps } from "./propagation.ts";
import type { HelperStep, Plan } from "./steps.ts";

/** The helpers a FUSE mount may run, by type prefix (containerd's allowedHelperBinaries). */
export const FUSE_MOUNT_HELPERS = [
  { prefix: "fuse.", helper: "mount.fuse" },
  { prefix: "fuse3.", helper: "mount.fuse3" },
] as const;
export type FuseMountHelper = (typeof FUSE_MOUNT_HELPERS)[number]["helper"];

/** The helpers a FUSE unmount tries, in order, before plain umount2 (containerd unmountFUSE). */
export const FUSE_UNMOUNT_HELPERS = ["fusermount3", "fusermount"] as const;

/**
 * Where helpers are looked up, in order, unless the caller names a helper dir: fixed system
 * directories, never PATH, so that the environment cannot choose what runs as root.
 */
export const HELPER_SEARCH_DIRS: readonly string[] = [
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
];

/** statfs f_type of every FUSE filesystem (FUSE_SUPER_MAGIC in <linux/magic.h>). */
export const FUSE_SUPER_MAGIC = 0x65735546;

/** The helper and subtype for a FUSE type, or undefined when the type is not FUSE. */
export function fuseHelperFor(type: string): { helper: FuseMountHelper; subtype: string } | undefined {
  if (typeof type !== "string") requireString(type, "type", "FUSE helper");
  for (const { prefix, helper } of FUSE_MOUNT_HELPERS) {
    if (type.startsWith(prefix)) return { helper, subtype: type.slice(prefix.length) };
  }
  return undefined;
}

/**
 * A type as the kernel names a FUSE mount in mountinfo: fuse or fuseblk, with ".SUBTYPE" when
 * the daemon gave one (fuse.sshfs). A mount's type, not a type to mount: fuse3.* is never one.
 */
export function isFuseMountType(fstype: string): boolean {
  return fstype === "fuse" || fstype === "fuseblk" || fstype.startsWith("fuse.") || fstype.startsWith("fuseblk.");
}

/** fuse.* or fuse3.*: asked of every mount, so it allocates nothing. */
function isFuseType(type: string): boolean {
  if (!type.startsWith("fuse")) return false;
  for (const { prefix } of FUSE_MOUNT_HELPERS) if (type.startsWith(prefix)) return true;
  return false;
}

export const fusePlanner: Planner = {
  name: "fuse",
  claims: (ctx) => isFuseType(ctx.mount.type),
  plan: planFuse,
};

export function planFuse(ctx: MountContext): Plan {
  const { mount, target } = ctx;
  const found = fuseHelperFor(mount.type);
  if (!found) throw new Error(`unreachable: ${mount.type} is not a FUSE type`);
  const { helper, subtype } = found;
  if (subtype === "") {
    throw new PlanError(`${ctx.action}: FUSE type ${JSON.stringify(mount.type)} has no subtype`, {
      hint: `name the filesystem after the dot, as in ${helper.slice("mount.".length)}.fuse-overlayfs`,
    });
  }
  refuseUnsupported(ctx);

  // user and its kin go with the nosuid, nodev, noexec they imply: mount.fuse reads words, not
  // flags (owner and group are left out, the words they imply stay)
  const helperOptions = mount.options.flatMap(entryOptions).flatMap(withImpliedWords).filter(isForFuseHelper);
  const argv = [helper, mount.source, target, ...helperOptions.flatMap((o) => ["-o", o]), "-t", subtype];
  const run: HelperStep = {
    op: "helper",
    role: "mount",
    helper,
    path: null,
    argv,
    target,
    action: ctx.action,
    undoable: true,
    helperKind: "fuse",
  };
  return planFor(ctx, [run, ...propagationSteps(ctx)]);
}

/** Options that need mount(2) or another feature; a helper cannot honour them. */
function refuseUnsupported(ctx: MountContext): void {
  const { options } = ctx;
  const refused: string[] = [];
  if (options.flags & MS.REMOUNT) refused.push("remount");
  if (options.flags & MS.BIND) refused.push("bind/rbind");
  if (options.loop) refused.push(...loopOptionWords(options));
  if (options.uidmap !== undefined || options.gidmap !== undefined || options.idmap !== undefined) refused.push("uidmap/gidmap/X-mount.idmap");
  if (refused.length === 0) return;
  throw new PlanError(`${ctx.action}: ${refused.join(", ")} cannot be used with a FUSE mount helper`, {
    hint: "remount an existing FUSE mount without -t; bind or idmap it in a second mount",
  });
}

/**
 * Whether mount.fuse is given an option item, as libmount hands options to it: not the words
 * mount(8) alone reads (defaults; auto, noauto, comment=, x-*, X-*, libmount's MNT_NOHLPS; owner,
 * group and the no* forms, which root's mount drops), nor what mountkit applies to the helper's
 * mount afterwards (propagation words, recursive attributes such as rro, X-mount.*). mount.fuse
 * drops a few words itself (nofail, _netdev, user, users, auto, noauto) and hands the daemon the
 * rest, and a libfuse daemon refuses what it does not know (bindfs, sshfs: "fuse: unknown option
 * `defaults'"), so an fstab line util-linux mounts would fail.
 */
function isForFuseHelper(item: string): boolean {
  const bare = unquoteOption(item);
  if (isUserspaceExtension(bare)) return false;
  const spec = optionSpec(bare);
  if (spec === undefined) return true; // filesystem data: the daemon's
  switch (spec.behaviour.kind) {
    case "noop":
    case "propagation":
    case "recursive":
      return false;
    case "userspace":
      return isUserspaceWordHandedOn(spec.name);
    default:
      return true;
  }
}
