/**
 * A type list run (plan/type-list.ts): mount(2) with each type in order until one works, the
 * next only when the kernel refused the last with EINVAL (not its filesystem) or ENODEV (no
 * such type), as libmount does.
 */
import { quotePath, SyscallError } from "../errors.ts";
import { NEXT_TYPE_ERRNOS } from "../plan/type-list.ts";
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
  for (let i = 0; ; i++) {
    const type = types[i]!;
    try {
      if (readOnlyFallback) mountOrReadOnly(source, target, type, flags, data, ctx, how);
      else how.mount(source, target, type, flags, data);
      return type;
    } catch (err) {
      const next = types[i + 1];
      const tryNext = err instanceof SyscallError && (NEXT_TYPE_ERRNOS as readonly string[]).includes(err.errnoName);
      if (!tryNext || next === undefined) {
        if (tryNext) err.hint ??= `${quotePath(what)} holds none of ${types.join(", ")} (each refused with ${NEXT_TYPE_ERRNOS.join(" or ")}), or an option is wrong`;
        throw err;
      }
      ctx.log?.(`${err.errnoName}: not ${type}; the next type`);
      ctx.log?.(how.format({ source, target, fstype: next, flags, data }));
    }
  }
}
