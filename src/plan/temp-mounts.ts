/**
 * Option rewrites for temp mounts (containerd's RemoveVolatileOption and readonlyMounts),
 * returning new lists: the caller's mounts and option arrays are never changed. Pure.
 */
import type { Mount } from "./mount-request.ts";

/**
 * Overlay mounts without `volatile`: overlayfs refuses to mount a volatile upperdir/workdir
 * pair a second time, and a temp mount is exactly such a second mount.
 */
export function removeVolatileOption(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) =>
    m.type === "overlay" && m.options.includes("volatile") ? { ...m, options: m.options.filter((o) => o !== "volatile") } : { ...m, options: [...m.options] },
  );
}

/**
 * The mounts made read-only. An overlay loses upperdir and workdir, its upperdir becoming the
 * topmost lowerdir (a read-only view of the same merged tree); any other mount loses rw/ro and
 * gains ro.
 */
export function readonlyMounts(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) => ({ ...m, options: m.type === "overlay" ? readonlyOverlay(m.options) : [...m.options.filter((o) => o !== "rw" && o !== "ro"), "ro"] }));
}

function readonlyOverlay(options: readonly string[]): string[] {
  const upper = options.find((o) => o.startsWith("upperdir="))?.slice("upperdir=".length);
  const kept = options.filter((o) => !o.startsWith("upperdir=") && !o.startsWith("workdir="));
  if (upper === undefined) return kept;
  const hasLower = kept.some((o) => o.startsWith("lowerdir="));
  if (!hasLower) return [...kept, `lowerdir=${upper}`];
  return kept.map((o) => (o.startsWith("lowerdir=") ? `lowerdir=${upper}:${o.slice("lowerdir=".length)}` : o));
}
