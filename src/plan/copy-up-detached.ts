/**
 * tmpcopyup with the tmpfs made detached (plan/copy-up.ts's "detached" strategy). The tmpfs is
 * built and filled where nothing else can see it, then attached whole:
 *
 *   $copyup = open(target, O_RDONLY|O_DIRECTORY|O_CLOEXEC)       the directory, before anything
 *   fsfd = fsopen("tmpfs"); fsconfig per item; CMD_CREATE
 *   $tmpfs = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_*)           detached: in no namespace's table
 *   copy $copyup into $tmpfs                                        through the mount's own fd
 *   close($copyup)
 *   mount_setattr($tmpfs, "", AT_EMPTY_PATH, {MOUNT_ATTR_RDONLY})   ro only, after the copy
 *   move_mount($tmpfs, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)
 *   close($tmpfs)
 *
 * So a process in the container's namespace never sees the tmpfs half-filled at the target, and
 * the copy is never sent to a mount found again by the target's name (a symlink swapped onto it
 * meanwhile does not matter: inside a root the attach goes through the pinned target's fd,
 * ops/pinned-target.ts). Closing $tmpfs before the attach, on any failure, dissolves the tmpfs:
 * nothing is left mounted. An idmapped tmpfs is idmapped between fsmount and the copy, as its
 * mounted copy is written through the idmapped mount. Only the planner's mount step is
 * replaced; its other steps (propagation) follow the attach. Pure.
 */
import { MS } from "./flags.ts";
import { fitsFsContext, newMountFsContext } from "./idmapped-new-mount.ts";
import { AT, MOUNT_ATTR, MOVE_MOUNT } from "./mount-api-flags.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import type { CopyUpSourceStep, CopyUpStep } from "./copy-up.ts";
import type { FsContextStep } from "./fs-context-step.ts";
import type { MountStep, Plan, Step } from "./steps.ts";

/** The handle of the detached tmpfs, from fsmount to its close after the attach. */
export const DETACHED_TMPFS_SLOT = "tmpfs";

/**
 * plan with its tmpfs mount made detached and filled before the attach; undefined when that
 * mount is not one mount(2) call on the target the fd API can say (X-mount.subdir mounts it on
 * a temp dir; a flag without an fsconfig equivalent; a value over fsconfig's 255 bytes): the
 * caller copies into it mounted then.
 */
export function detachedCopyUp(plan: Plan, ctx: MountContext, source: CopyUpSourceStep, copy: CopyUpStep): Plan | undefined {
  const at = plan.steps.findIndex((step) => step.op === "mount" && step.role === "mount");
  const mount = plan.steps[at] as MountStep | undefined;
  if (mount === undefined || !detachable(mount, ctx.target)) return undefined;
  const slot = DETACHED_TMPFS_SLOT;
  const make: FsContextStep = { ...newMountFsContext(mount), ...(mount.idmap === undefined ? {} : { idmap: mount.idmap }), detachInto: slot };
  const steps: Step[] = [source, ...plan.steps.slice(0, at), make, { ...copy, into: slot }, { op: "close", slot: source.slot }];
  if (ctx.options.flags & MS.RDONLY) {
    steps.push({ op: "mount_setattr", slot, tree: ctx.target, flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.RDONLY, attrClr: 0, usernsSlot: null });
  }
  steps.push({ op: "move_mount", slot, target: ctx.target, flags: MOVE_MOUNT.F_EMPTY_PATH, role: "target" }, { op: "close", slot }, ...plan.steps.slice(at + 1));
  return planFor(ctx, steps);
}

/** One mount(2) call of a type on the target, which fsopen..fsmount can make the same. */
function detachable(mount: MountStep, target: string): boolean {
  return (
    mount.target === target &&
    mount.fstype !== null &&
    mount.otherTypes === undefined &&
    mount.readOnlyFallback !== true &&
    mount.inheritFlags === 0 &&
    fitsFsContext(mount.flags, mount.data, mount.source)
  );
}
