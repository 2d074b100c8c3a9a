/**
 * Process-wide facts from libc: the page size.
 */
import { bindLibc } from "./libc.ts";

const libc = bindLibc({ getpagesize: { args: [], returns: "i32" } });

/** getpagesize() */
export function pageSize(): number {
  return libc().getpagesize();
}
