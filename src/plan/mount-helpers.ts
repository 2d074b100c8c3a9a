/**
 * containerd's Mount helpers (RemoveVolatileOption, readonlyMounts, Mount.ReadOnly), without
 * their aliasing: every function returns new arrays and new Mount objects where something
 * changes, and never writes to what it was given (containerd's RemoveVolatileOption appended
 * into the caller's backing array, and readonlyMounts rewrote the caller's slice in place).
 * Pure.
 */
import { MS } from "./flags.ts";
import { checkMountList, checkOptionList, checkTypeAndOptions } from "./caller-input.ts";
import type { Mount } from "./mount-request.ts";
import { entryOptions } from "./entry-options.ts";
import { classifyOptions } from "./options.ts";
import { escapeLowerdir, unescapeOverlayPath } from "./overlay-options.ts";

/** Options that make an overlay skip syncs; unsafe once a container's data must survive a crash. */
const VOLATILE_OPTIONS: ReadonlySet<string> = new Set(["volatile", "fsync=volatile"]);

/**
 * The mounts with `volatile` and `fsync=volatile` taken off every overlay, one under a transform
 * prefix too ("format/mkdir/overlay", as readonlyMounts and readOnly read it; containerd looks
 * at "overlay" only, and a temp mount of such an entry left its upper layer unmountable), and
 * one packed into an entry with other options (`lowerdir=/l,volatile`, which containerd passed
 * on). A new array.
 */
export function removeVolatileOption(mounts: readonly Mount[]): Mount[] {
  checkMountList(mounts, "remove volatile option", true);
  return mounts.map((m) => {
    if (baseType(m.type) !== "overlay") return m;
    const options = m.options.some(isPacked) ? m.options.flatMap(entryOptions) : m.options;
    if (!options.some((o) => VOLATILE_OPTIONS.has(o))) return m;
    return { ...m, options: options.filter((o) => !VOLATILE_OPTIONS.has(o)) };
  });
}

/** An entry that may hold several options (entryOptions reads it as mount() does). */
const isPacked = (entry: string): boolean => entry.includes(",");

/**
 * The mounts made read-only. An overlay loses its upperdir, workdir, uidmap and gidmap, and the
 * upperdir becomes its top lower layer (the merged view stays the same, frozen). Every other mount gets
 * `ro` in place of any `rw`/`ro`. Under containerd's transform prefixes (plan/activation.ts) an
 * overlay is still one ("format/mkdir/overlay"), and the X-containerd.mkdir options, the mkfs/
 * transform and its X-containerd.mkfs options go: a read-only view creates nothing (a missing
 * image is then an error). A new array of new Mount objects.
 */
export function readonlyMounts(mounts: readonly Mount[]): Mount[] {
  checkMountList(mounts, "read-only mounts", true);
  return mounts.map((m) => {
    const transformed = m.type.includes("/");
    const type = transformed ? withoutMkfs(m.type) : m.type;
    const options = transformed ? m.options.filter((o) => !o.startsWith("X-containerd.mkdir.") && !o.startsWith("X-containerd.mkfs.")) : m.options;
    if (baseType(type) === "overlay") return { ...m, type, options: readonlyOverlayOptions(options) };
    return { ...m, type, options: [...options.filter((o) => o !== "rw" && o !== "ro"), "ro"] };
  });
}

/** The filesystem type under containerd's transform prefixes: "format/mkdir/overlay" -> "overlay". */
function baseType(type: string): string {
  return type.slice(type.lastIndexOf("/") + 1);
}

/** Overlay options a read-only view drops (upperdir= is handled on its own: it becomes a layer). */
const SKIPPED_READONLY_OVERLAY: readonly string[] = ["workdir=", "uidmap=", "gidmap="];

/** "mkfs/ext4" -> "ext4", "format/mkfs/loop" -> "format/loop" */
function withoutMkfs(type: string): string {
  const parts = type.split("/");
  const last = parts.pop()!;
  return [...parts.filter((p) => p !== "mkfs"), last].join("/");
}

/**
 * Overlay options without upperdir/workdir, the upperdir first among the lower layers. The
 * upperdir is re-escaped for `lowerdir=` (containerd joined it raw, so a ':' in it split it).
 * uidmap=/gidmap= go too, as containerd's isSkippedReadonlyOption drops them: a read-only view
 * (a temp mount to read from) has no use for an idmapped copy of every layer. Entries packing
 * several options are read as mount() reads them, one option each in the result. Every
 * `lowerdir=` gets the upper layer, as in containerd: the last one is the one that counts.
 */
export function readonlyOverlayOptions(options: readonly string[]): string[] {
  checkOptionList(options, "read-only overlay options");
  let upper: string | undefined;
  const out: string[] = [];
  for (const o of options.some(isPacked) ? options.flatMap(entryOptions) : options) {
    if (o.startsWith("upperdir=")) upper = unescapeOverlayPath(o.slice("upperdir=".length));
    else if (!SKIPPED_READONLY_OVERLAY.some((prefix) => o.startsWith(prefix))) out.push(o);
  }
  if (upper === undefined) return out;
  const top = escapeLowerdir(upper);
  let replaced = false;
  for (let i = 0; i < out.length; i++) {
    if (!out[i]!.startsWith("lowerdir=")) continue;
    out[i] = `lowerdir=${top}:${out[i]!.slice("lowerdir=".length)}`;
    replaced = true;
  }
  if (replaced) return out;
  // Layers given one by one: the upper layer goes before the first of them.
  const firstAppended = out.findIndex((o) => o.startsWith("lowerdir+="));
  if (firstAppended >= 0) {
    out.splice(firstAppended, 0, `lowerdir+=${upper}`);
    return out;
  }
  return [...out, `lowerdir=${escapeLowerdir(upper)}`];
}

/**
 * Whether the mount will be read-only, as containerd's Mount.ReadOnly decides it: erofs always
 * is; an overlay without an upperdir is (overlayfs has nowhere to write); otherwise the options
 * say. A transform prefix ("format/mkdir/overlay") is not the type. An entry holding several
 * options joined by commas ("lowerdir=/l,upperdir=/u,ro", as some snapshotters pack them) is
 * read option by option, as mount() reads it (entryOptions). Unlike containerd, the last of `ro` and `rw` wins, as in mount(2)
 * (containerd answers true for any `ro`, even one a later `rw` undid).
 */
export function readOnly(m: Mount): boolean {
  checkTypeAndOptions(m, "read-only");
  const type = baseType(m.type);
  if (type === "erofs") return true;
  const options = m.options.some(isPacked) ? m.options.flatMap(entryOptions) : m.options;
  if (type === "overlay" && !options.some((o) => o.startsWith("upperdir="))) return true;
  return (classifyOptions(options).flags & MS.RDONLY) !== 0;
}
