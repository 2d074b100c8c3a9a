/**
 * mount(8)'s type lists: `-t udf,iso9660`, or the same in an fstab type field. The types are
 * tried in order until one works, whatever the kernel said of the last (libmount's
 * do_mount_by_types). A list names filesystems a device or image may hold: binds, overlays,
 * FUSE, remounts and moves take one type. Pure.
 */
import { PlanError } from "../errors.ts";
import { MS } from "./flags.ts";
import type { ClassifiedOptions } from "./options.ts";

/** How the kernel refuses a type that is not the device's filesystem (EINVAL) or that it does not know (ENODEV). */
export const NOT_THIS_TYPE_ERRNOS = ["EINVAL", "ENODEV"] as const;

/** The types of a comma list, checked; `action` names the request in errors. */
export function parseTypeList(type: string, options: ClassifiedOptions, action: string): readonly string[] {
  const types = type.split(",");
  if (types.some((t) => t === "")) throw new PlanError(`${action}: empty type in the type list ${JSON.stringify(type)}`);
  const single = types.find((t) => t === "auto" || t === "bind" || t === "none" || t === "overlay" || t.startsWith("fuse"));
  if (single !== undefined) {
    throw new PlanError(`${action}: ${JSON.stringify(single)} cannot be one of a type list (${JSON.stringify(type)})`, {
      hint: "a type list names filesystems a device or image may hold, tried in order",
    });
  }
  // An idmapped mount takes a list too: each type is tried the idmapped way (plan/idmapped-new-mount.ts).
  if (options.flags & (MS.BIND | MS.REMOUNT | MS.MOVE)) {
    throw new PlanError(`${action}: a type list (${JSON.stringify(type)}) does not go with bind, remount and move`);
  }
  if (new Set(types).size !== types.length) throw new PlanError(`${action}: a type is repeated in the type list ${JSON.stringify(type)}`);
  return types;
}

/** How --dry-run shows the other types under the mount(2) line of the first. */
export function formatOtherTypes(otherTypes: readonly string[]): string {
  return `  (if it fails: the same call with ${otherTypes.map((t) => JSON.stringify(t)).join(", then ")})`;
}
