/**
 * Mount options in three layers, as util-linux does it:
 *   1. tokenize: "a,b=\"x,y\",c" -> ["a", "b=x,y", "c"] (double quotes protect commas)
 *   2. an ordered list, in which the last option wins
 *   3. classify: flags, propagation changes, feature options, userspace options, fs data.
 * Pure: no syscalls.
 */
import { PlanError } from "../errors.ts";
import { byteLength } from "../path-text.ts";
import { MS_ATIME_MODE } from "./flags.ts";
import { isUserspaceExtension, lookupOption } from "./option-table.ts";

/**
 * Split one util-linux option string. Quotes are removed from the items they protect
 * (`uidmap="0:1:1,1:2:1"` gives `uidmap=0:1:1,1:2:1`); empty items are dropped.
 * An unbalanced quote is a PlanError.
 */
export function tokenizeOptions(text: string): string[] {
  const items: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      if (current) items.push(current);
      current = "";
    } else current += ch;
  }
  if (quoted) throw new PlanError(`parse options: unbalanced double quote in ${JSON.stringify(text)}`);
  if (current) items.push(current);
  return items;
}

/** Every -o value in order, tokenized and concatenated (repeated -o accumulates). */
export function tokenizeOptionArgs(texts: readonly string[]): string[] {
  return texts.flatMap(tokenizeOptions);
}

/** Options as the rest of the planner sees them. */
export interface ClassifiedOptions {
  /** mount(2) flags, propagation excluded */
  readonly flags: number;
  /** every flag bit some option set or cleared: a remount keeps the current value of the others */
  readonly flagsMentioned: number;
  /** propagation changes in the order given, each its own mount(2) call (e.g. MS_SHARED|MS_REC) */
  readonly propagation: readonly number[];
  /** fs-specific data items, in order ("size=1m", "lowerdir=...") */
  readonly data: readonly string[];
  readonly loop: boolean;
  /** loop=/dev/loopN (util-linux): the device to use (loop is then true) */
  readonly loopDevice: string | undefined;
  readonly uidmap: string | undefined;
  readonly gidmap: string | undefined;
  /** X-mount.idmap=VALUE (util-linux): mappings or a user namespace file, as given */
  readonly idmap: string | undefined;
  /** X-mount.subdir=DIR (util-linux): the directory of the filesystem to mount, as given */
  readonly subdir: string | undefined;
  /** userspace-only options (nofail, x-*, ...), kept for the tools that read them */
  readonly userspace: readonly string[];
  /** OCI's rro, rnosuid... (util-linux's ro=recursive): for the whole tree at the target; undefined when none */
  readonly recursiveAttrs: RecursiveAttrs | undefined;
}

/** MOUNT_ATTR_* bits to set and to clear on every mount of a tree (mount_setattr(AT_RECURSIVE)). */
export interface RecursiveAttrs {
  readonly set: number;
  readonly clr: number;
}

/** Shared by every classification that has none of a list: the hot path allocates no arrays. */
const NONE: readonly never[] = Object.freeze([]);

/** Classify an ordered option list. Never mutates the input. */
export function classifyOptions(options: readonly string[]): ClassifiedOptions {
  let flags = 0;
  let flagsMentioned = 0;
  let propagation: number[] | undefined;
  let data: string[] | undefined;
  let userspace: string[] | undefined;
  let loop = false;
  let loopDevice: string | undefined;
  let uidmap: string | undefined;
  let gidmap: string | undefined;
  let idmap: string | undefined;
  let subdir: string | undefined;
  let recursiveAttrs: RecursiveAttrs | undefined;

  for (const item of options) {
    const spec = lookupOption(item);
    if (!spec) {
      if (isUserspaceExtension(item)) (userspace ??= []).push(item);
      else (data ??= []).push(item);
      continue;
    }
    const b = spec.behaviour;
    switch (b.kind) {
      case "set":
        // The atime modes exclude each other: the last one given wins.
        if (b.flag & MS_ATIME_MODE) {
          flags &= ~MS_ATIME_MODE;
          flagsMentioned |= MS_ATIME_MODE;
        }
        flags |= b.flag;
        flagsMentioned |= b.flag;
        break;
      case "clear":
        flags &= ~b.flag;
        flagsMentioned |= b.flag & MS_ATIME_MODE ? b.flag | MS_ATIME_MODE : b.flag;
        break;
      case "propagation":
        (propagation ??= []).push(b.flag);
        break;
      case "noop":
        break;
      case "userspace":
        (userspace ??= []).push(item);
        if (b.implies !== undefined) {
          flags |= b.implies;
          flagsMentioned |= b.implies;
        }
        break;
      case "unsupported":
        throw new PlanError(`parse options: ${item}: ${b.why}`);
      case "feature":
        if (b.feature === "loop") loop = true;
        else if (b.feature === "loop-device") {
          loop = true;
          loopDevice = item.slice("loop=".length);
        }
        else if (b.feature === "uidmap") uidmap = item.slice("uidmap=".length);
        else if (b.feature === "gidmap") gidmap = item.slice("gidmap=".length);
        else if (b.feature === "idmap") idmap = item.slice("X-mount.idmap=".length);
        else subdir = item.slice("X-mount.subdir=".length);
        break;
      case "recursive": {
        // the last option given for a bit wins, as for flags
        const { set = 0, clr = 0 } = recursiveAttrs ?? {};
        recursiveAttrs = { set: (set & ~b.clr & ~b.set) | b.set, clr: (clr & ~b.set) | b.clr };
        break;
      }
    }
  }
  return {
    flags,
    flagsMentioned,
    propagation: propagation ?? NONE,
    data: data ?? NONE,
    loop,
    loopDevice,
    uidmap,
    gidmap,
    idmap,
    subdir,
    userspace: userspace ?? NONE,
    recursiveAttrs,
  };
}

/**
 * Join fs data items for mount(2). An item whose value holds a comma is quoted again
 * (`context="a,b"`), as the kernel's LSM option parser expects.
 */
export function joinData(items: readonly string[]): string {
  if (items.length === 0) return "";
  return items
    .map((item) => {
      if (!item.includes(",")) return item;
      const eq = item.indexOf("=");
      return eq < 0 ? `"${item}"` : `${item.slice(0, eq + 1)}"${item.slice(eq + 1)}"`;
    })
    .join(",");
}

/** Bytes the kernel copies for a data string: its UTF-8 length plus the NUL. */
export function dataSize(data: string): number {
  if (data === "") return 1;
  return byteLength(data) + 1;
}
