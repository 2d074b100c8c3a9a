/**
 * mount(8)'s answer to a write-protected source: a new mount asked read-write that the kernel
 * refuses with EACCES or EROFS (a read-only device), or with EBUSY while the device is mounted
 * read-only elsewhere, is made again with MS_RDONLY, and the user is warned. A loop image that
 * cannot be opened for writing is attached read-only and mounted read-only. A read-only,
 * remount or bind request never falls back, nor does an explicit read-write one (mount -w).
 * Pure.
 */
import { MS } from "./flags.ts";
import type { MountContext } from "./mount-request.ts";

/** Whether a new mount with these flags, from this source, falls back to read-only. */
export function readOnlyFallback(ctx: MountContext, flags: number): boolean {
  return (flags & (MS.RDONLY | MS.REMOUNT | MS.BIND)) === 0 && ctx.env.readWriteOnly !== true;
}

/**
 * Whether a mount(2) step's source may be a write-protected device: a path. Sources such as
 * "tmpfs", "overlay" or "host:/export" are not, and their plans stay as they were.
 */
export function isDevicePath(source: string | null): boolean {
  return source !== null && source.startsWith("/");
}

/** How --dry-run shows the retry under a mount(2) line. */
export function formatMountFallback(source: string): string {
  return `  (EACCES or EROFS, or EBUSY while ${JSON.stringify(source)} is mounted read-only: the same call with MS_RDONLY)`;
}

/** How --dry-run shows the loop's fallback under the backing file's open. */
export const LOOP_FALLBACK_LINE = "  (EROFS or EACCES: open O_RDONLY, attach with LO_FLAGS_READ_ONLY, mount with MS_RDONLY)";

/** The warning of a mount that fell back, as mount(8) words it. */
export function readOnlyWarning(target: string): string {
  return `${target}: WARNING: source write-protected, mounted read-only`;
}
