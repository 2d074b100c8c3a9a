/**
 * A remount of an overlay keeps its options: through mount(2), overlayfs ignores every
 * filesystem option a remount gives (the layers, index=, metacopy=, ...) and succeeds, for
 * compatibility (fs/overlayfs/params.c, a reconfigure with the old API; through fspick and
 * fsconfig it refuses them: "No changes allowed in reconfigure"). mount(8) 2.38 succeeds as
 * silently; mountkit says so.
 */
import { quotePath } from "../errors.ts";
import { typesOfMagic } from "../plan/fs-magic.ts";
import type { MountStep } from "../plan/steps.ts";
import type { OpsContext } from "./context.ts";

/** After a remount step (role "remount"): a warning when the target is an overlay and the step gave it fs options. */
export function warnIgnoredOverlayOptions(step: MountStep, ctx: OpsContext): void {
  if (step.data === null || ctx.warn === undefined) return;
  if (!typesOfMagic(ctx.sys.statfs(step.target).type)?.includes("overlay")) return;
  ctx.warn(
    `${quotePath(step.target)}: overlayfs ignores filesystem options on a remount: ${step.data} not applied (unmount it and mount it again to change them)`,
  );
}
