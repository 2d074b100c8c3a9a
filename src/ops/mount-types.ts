/**
 * A type list run (plan/type-list.ts): mount(2) with each type in order until one works,
 * whatever the kernel said of the last, as libmount's do_mount_by_types does (before, any error
 * but EINVAL and ENODEV stopped the list: `-t ext4,tmpfs NAME DIR` failed on ext4's ENOENT
 * where mount(8) mounts the tmpfs).
 */
import { quotePath, SyscallError } from "../errors.ts";
import { NOT_THIS_TYPE_ERRNOS } from "../plan/type-list.ts";
import type { OpsContext } from "./context.ts";
import { plainMount, type NewMount } from "./new-mount.ts";
import { mountOrReadOnly } from "./read-only-fallback.ts";

/**
 * Mount source with the first of types the kernel takes; returns that type. `what` names the
 * source in hints (a loop device's image); `how` makes each call (mount(2), or idmapped).
 */
export function mountFirstType(
  source: string,
  target: string,
  types: readonly string[],
  flags: number,
  data: string | null,
  readOnlyFallback: boolean,
  ctx: OpsContext,
  what = source,
  how: NewMount = plainMount(ctx),
): string {
  // the error to report when none works: the first that says more than "not this type" (a
  // missing device or mount point), else the last refusal
  let telling: SyscallError | undefined;
  for (let i = 0; ; i++) {
    const type = types[i]!;
    try {
      if (readOnlyFallback) mountOrReadOnly(source, target, type, flags, data, ctx, how);
      else how.mount(source, target, type, flags, data);
      return type;
    } catch (err) {
      if (!(err instanceof SyscallError)) throw err;
      const notThisType = (NOT_THIS_TYPE_ERRNOS as readonly string[]).includes(err.errnoName);
      if (!notThisType) telling ??= err;
      const next = types[i + 1];
      if (next === undefined) {
        if (telling !== undefined) throw telling;
        if (types.length > 1) err.hint ??= `${quotePath(what)} holds none of ${types.join(", ")} (each refused with ${NOT_THIS_TYPE_ERRNOS.join(" or ")}), or an option is wrong`;
        throw err;
      }
      ctx.log?.(notThisType ? `${err.errnoName}: not ${type}; the next type` : `${err.errnoName} with ${type}; the next type`);
      ctx.log?.(how.format({ source, target, fstype: next, flags, data }));
    }
  }
}
