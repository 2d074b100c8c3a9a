/**
 * Mount attributes for a whole tree: OCI runtime-spec 1.1's rro, rnosuid, rnoatime... (runc
 * and Docker's read-only binds), written NAME=recursive by util-linux 2.39. mount(2) changes
 * one mount at a time, so `rbind,ro` leaves every submount writable; once the mount is made,
 *
 *   mount_setattr(AT_FDCWD, target, AT_RECURSIVE, {attr_set, attr_clr})
 *
 * changes the mount at the target and every mount below it. Before, the options reached a
 * bind as fs data, which a bind ignores: an rro bind was silently writable. Pure.
 */
import { NotSupportedError } from "../errors.ts";
import { formatFlags } from "./flags.ts";
import { MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK } from "./mount-api-flags.ts";
import type { MountContext } from "./mount-request.ts";
import type { RecursiveAttrs } from "./options.ts";

export interface SetTreeAttrsStep {
  readonly op: "set-tree-attrs";
  readonly target: string;
  /** MOUNT_ATTR_* bits set on every mount of the tree */
  readonly attrSet: number;
  /** MOUNT_ATTR_* bits cleared (the whole atime field when a mode is set) */
  readonly attrClr: number;
}

/** The step for the request's recursive options; refused on a kernel without mount_setattr (5.12). */
export function setTreeAttrsStep(ctx: MountContext, attrs: RecursiveAttrs): SetTreeAttrsStep {
  if (!ctx.facts.mountSetattr) {
    throw new NotSupportedError(`${ctx.action}: recursive mount attributes (rro, ro=recursive...) need mount_setattr (Linux 5.12); this kernel is ${ctx.facts.release}`);
  }
  return { op: "set-tree-attrs", target: ctx.target, attrSet: attrs.set, attrClr: attrs.clr };
}

/** MOUNT_ATTR_RDONLY|MOUNT_ATTR__ATIME: the atime field by its name, as the kernel headers call it. */
function attrNames(bits: number): string {
  const field = (bits & MOUNT_ATTR_ATIME_MASK) === MOUNT_ATTR_ATIME_MASK;
  const rest = formatFlags(field ? bits & ~MOUNT_ATTR_ATIME_MASK : bits, MOUNT_ATTR, "MOUNT_ATTR_");
  if (!field) return rest;
  return rest === "0" ? "MOUNT_ATTR__ATIME" : `${rest}|MOUNT_ATTR__ATIME`;
}

export function formatSetTreeAttrsStep(step: SetTreeAttrsStep): string {
  return `mount_setattr(AT_FDCWD, ${JSON.stringify(step.target)}, AT_RECURSIVE, {attr_set: ${attrNames(step.attrSet)}, attr_clr: ${attrNames(step.attrClr)}})`;
}

export function describeSetTreeAttrsStep(step: SetTreeAttrsStep): Record<string, unknown> {
  return {
    op: step.op,
    syscall: "mount_setattr",
    args: {
      target: step.target,
      flags: "AT_RECURSIVE",
      attrSet: step.attrSet,
      attrSetNames: attrNames(step.attrSet),
      attrClr: step.attrClr,
      attrClrNames: attrNames(step.attrClr),
    },
  };
}
