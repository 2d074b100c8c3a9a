/**
 * mount --move OLD NEW: the mount at OLD (and everything under it) moves to NEW, as mount(8)
 * does it, with one mount(2) call; propagation words follow as their own calls. If one of
 * those fails, the move is undone by moving the mount back. Pure.
 *
 *   mount(OLD, NEW, NULL, MS_MOVE, NULL)
 */
import { MountWouldFailError, PlanError } from "../errors.ts";
import { MS } from "./flags.ts";
import { isUserspaceExtension, optionSpec, type OptionBehaviour } from "./option-table.ts";
import type { Planner } from "./mount-plan.ts";
import { planFor, type MountContext } from "./mount-request.ts";
import { propagationSteps } from "./propagation.ts";
import type { MountStep, Plan } from "./steps.ts";

export const movePlanner: Planner = {
  name: "move",
  claims: (ctx) => (ctx.options.flags & MS.MOVE) !== 0,
  plan: planMove,
};

/** What may go with a move: propagation changes, and the words that change nothing. */
const MOVE_COMPANIONS: ReadonlySet<OptionBehaviour["kind"] | "data"> = new Set(["propagation", "noop", "userspace"]);

export function planMove(ctx: MountContext): Plan {
  const { mount } = ctx;
  const refused = mount.options.filter(
    (item) => item !== "move" && !isUserspaceExtension(item) && !MOVE_COMPANIONS.has(optionSpec(item)?.behaviour.kind ?? "data"),
  );
  if (mount.type !== "" && mount.type !== "none") refused.push(`-t ${mount.type}`);
  if (refused.length > 0) {
    throw new PlanError(`${ctx.action}: a move takes no other options (given: ${refused.join(", ")})`, {
      hint: "move the mount, then change it with -o remount,... (propagation words such as --make-private may go with the move)",
    });
  }
  if (mount.source === "") throw new MountWouldFailError(`${ctx.action}: a move needs the mount point to move as its source`);
  const move: MountStep = {
    op: "mount",
    role: "move",
    source: mount.source,
    target: ctx.target,
    fstype: null,
    flags: MS.MOVE,
    data: null,
    inheritFlags: 0,
    undoable: true,
  };
  return planFor(ctx, [move, ...propagationSteps(ctx)]);
}
