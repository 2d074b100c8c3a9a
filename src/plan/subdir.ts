/**
 * util-linux's X-mount.subdir=DIR (2.39): a directory of the filesystem is mounted on the
 * target instead of its root. The filesystem is mounted on a private temp dir (0700, under the
 * temp mount location), DIR is cloned from it as a detached tree, the temp mount is unmounted
 * and its dir removed, and the clone is attached on the target: the target shows only the
 * finished mount. DIR is resolved beneath the filesystem's root (openat2 RESOLVE_BENEATH|
 * RESOLVE_NO_XDEV): a symlink or ".." in the image cannot lead to a host directory, as it can
 * through util-linux's bind of TEMP/DIR. Pure.
 */
import { PlanError } from "../errors.ts";
import { MOVE_MOUNT } from "./mount-api-flags.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { isNewFilesystemMount, type Plan, type Step } from "./steps.ts";

const SUBDIR_SLOT = "subdir";
const TEMP_DIR_MODE = 0o700;

/** The plan with its first mount made on a temp dir and DIR of it attached at the target. */
export function withSubdir(plan: Plan, ctx: MountContext, subdir: string): Plan {
  const path = subdirPath(subdir, ctx);
  // An idmapped filesystem's user namespace comes first; its one mount is idmapped, and so is
  // the clone of its directory. (Its stacked form, an idmapped clone on top, is refused.)
  const leading = plan.steps[0]?.op === "userns" || plan.steps[0]?.op === "open_userns" ? 1 : 0;
  const first = plan.steps[leading];
  const rest = plan.steps.slice(leading + 1);
  // An overlay's strategies differ (fs-context or mount(2)): refused under both alike.
  if (
    first === undefined ||
    !isNewFilesystemMount(first) ||
    first.target !== ctx.target ||
    ctx.mount.type === "overlay" ||
    (leading === 1 && first.idmap === undefined)
  ) {
    throw new PlanError(`${ctx.action}: X-mount.subdir goes with a new mount of a filesystem (idmapped too), not with a bind, remount, move, overlay or FUSE mount`, {
      hint: "for a directory of a mounted filesystem, bind mount that directory (--bind)",
    });
  }
  const temp = ctx.env.tempDir;
  if (temp === undefined || temp === "") throw new PlanError(`${ctx.action}: X-mount.subdir needs a temp dir for the filesystem's root`);
  const steps: Step[] = [
    ...plan.steps.slice(0, leading),
    { op: "mkdir", path: temp, mode: TEMP_DIR_MODE },
    { ...first, target: temp },
    { op: "open_subdir", slot: SUBDIR_SLOT, root: temp, path },
    { op: "umount2", target: temp, flags: 0 }, // the clone holds the filesystem, not this mount
    { op: "rmdir", path: temp },
    { op: "move_mount", slot: SUBDIR_SLOT, target: ctx.target, flags: MOVE_MOUNT.F_EMPTY_PATH, role: "target" },
    { op: "close", slot: SUBDIR_SLOT },
    ...rest,
  ];
  return planFor(ctx, steps);
}

/** DIR as a path below the filesystem's root: leading slashes dropped, no "." or ".." parts, not empty. */
function subdirPath(subdir: string, ctx: MountContext): string {
  const parts = subdir.split("/").filter((part) => part !== "");
  if (parts.length === 0) throw new PlanError(`${ctx.action}: X-mount.subdir=${JSON.stringify(subdir)} names no directory below the filesystem's root`);
  if (parts.some((part) => part === "." || part === "..")) {
    throw new PlanError(`${ctx.action}: X-mount.subdir=${JSON.stringify(subdir)}: "." and ".." are not allowed; give the path below the filesystem's root`);
  }
  return parts.join("/");
}
