/**
 * Mount options in three layers, as util-linux does it:
 *   1. tokenize: "a,b=\"x,y\",c" -> ["a", "b=x,y", "c"] (double quotes protect commas)
 *   2. an ordered list, in which the last option wins
 *   3. classify: flags, propagation changes, feature options, userspace options, fs data.
 * Pure: no syscalls.
 */
import { PlanError } from "../errors.ts";
import { byteLength } from "../path-text.ts";
import { requireList, requireString } from "./caller-input.ts";
import { MS_ATIME_MODE } from "./flags.ts";
import { entryOptions, splitOptionString } from "./entry-options.ts";
import { isLoopFeature, isUserspaceExtension, optionSpec } from "./option-table.ts";

export { entryOptions, splitOptionString };

/** An option item without its double quotes (`context="a,b"` -> `context=a,b`), as the kernel's fsconfig and mountkit read it. */
export function unquoteOption(item: string): string {
  if (typeof item !== "string") requireString(item, "option", "unquote option");
  return item.includes('"') ? item.replaceAll('"', "") : item;
}

/**
 * Split one util-linux option string, the quotes removed from the items they protect
 * (`uidmap="0:1:1,1:2:1"` gives `uidmap=0:1:1,1:2:1`); empty items are dropped.
 * An unbalanced quote is a PlanError.
 */
export function tokenizeOptions(text: string): string[] {
  return splitOptionString(text).map(unquoteOption);
}

/** Every -o value in order, tokenized and concatenated (repeated -o accumulates). */
export function tokenizeOptionArgs(texts: readonly string[]): string[] {
  requireList(texts, "option texts", "parse options");
  const options: string[] = [];
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    // named by its place: "option texts[2]", as classifyOptions names options[2]
    if (typeof text !== "string") requireString(text, `option texts[${i}]`, "parse options");
    for (const item of splitOptionString(text)) options.push(unquoteOption(item));
  }
  return options;
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
  /**
   * A loop device is asked for: loop, loop=, offset= or sizelimit= (util-linux's loop options,
   * as libmount's mnt_context_is_loopdev reads them)
   */
  readonly loop: boolean;
  /** loop=/dev/loopN (util-linux): the device to use (loop is then true) */
  readonly loopDevice: string | undefined;
  /** offset=SIZE as given, the last one (loop is then true) */
  readonly loopOffset: string | undefined;
  /** sizelimit=SIZE as given, the last one (loop is then true) */
  readonly loopSizeLimit: string | undefined;
  readonly uidmap: string | undefined;
  readonly gidmap: string | undefined;
  /** X-mount.idmap=VALUE (util-linux): mappings or a user namespace file, as given */
  readonly idmap: string | undefined;
  /**
   * OCI's idmap (false: an rbind's top mount alone is idmapped) or ridmap (true: every mount of
   * its tree); undefined when neither is given: the whole tree, as containerd idmaps an rbind
   */
  readonly idmapRecursive: boolean | undefined;
  /** X-mount.subdir=DIR (util-linux): the directory of the filesystem to mount, as given */
  readonly subdir: string | undefined;
  /** tmpcopyup (runc, crun): the new tmpfs starts with a copy of the directory it covers */
  readonly copyUp: boolean;
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

/**
 * Classify an ordered option list. Never mutates the input. A list that is none, or an entry
 * that is no string, is a PlanError naming it (a library caller's: the types do not hold
 * JavaScript); the checks are a typeof per entry, as the loop reads it.
 */
export function classifyOptions(options: readonly string[]): ClassifiedOptions {
  requireList(options, "options", "parse options");
  let flags = 0;
  let flagsMentioned = 0;
  let propagation: number[] | undefined;
  let data: string[] | undefined;
  let userspace: string[] | undefined;
  let loop = false;
  let loopDevice: string | undefined;
  let loopOffset: string | undefined;
  let loopSizeLimit: string | undefined;
  let uidmap: string | undefined;
  let gidmap: string | undefined;
  let idmap: string | undefined;
  let idmapRecursive: boolean | undefined;
  let subdir: string | undefined;
  let copyUp = false;
  let recursiveAttrs: RecursiveAttrs | undefined;

  for (let i = 0; i < options.length; i++) {
    const entry = options[i]!;
    if (typeof entry !== "string") requireString(entry, `options[${i}]`, "parse options");
    // the common entry, one option without quotes, is used as it is: no array per entry
    if (entry.includes(",") || entry.includes('"')) {
      for (const item of entryOptions(entry)) classifyItem(unquoteOption(item));
    } else classifyItem(entry);
  }
  function classifyItem(item: string): void {
    const spec = optionSpec(item);
    if (!spec) {
      if (isUserspaceExtension(item)) (userspace ??= []).push(item);
      else (data ??= []).push(item);
      return;
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
        throw new PlanError(`parse options: ${item}: ${b.why}`, b.hint === undefined ? undefined : { hint: b.hint });
      case "feature":
        if (isLoopFeature(b.feature)) {
          loop = true;
          if (b.feature === "loop-device") loopDevice = item.slice("loop=".length);
          else if (b.feature === "loop-offset") loopOffset = item.slice("offset=".length);
          else if (b.feature === "loop-sizelimit") loopSizeLimit = item.slice("sizelimit=".length);
        }
        else if (b.feature === "uidmap") uidmap = item.slice("uidmap=".length);
        else if (b.feature === "gidmap") gidmap = item.slice("gidmap=".length);
        else if (b.feature === "idmap") idmap = item.slice("X-mount.idmap=".length);
        else if (b.feature === "idmap-top") idmapRecursive = false;
        else if (b.feature === "idmap-recursive") idmapRecursive = true;
        else if (b.feature === "copyup") copyUp = true;
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
  if (idmapRecursive !== undefined && uidmap === undefined && gidmap === undefined && idmap === undefined) {
    // runtime-spec: without the mount's own mappings, the container's user namespace, which a mount request does not name
    const word = idmapRecursive ? "ridmap" : "idmap";
    throw new PlanError(`parse options: ${word}: no mapping to idmap with: give uidmap= and gidmap= (or X-mount.idmap=)`, {
      hint: `${word} only says how an rbind is idmapped; the container's user namespace, which it would mean alone, is not known here`,
    });
  }
  return {
    flags,
    flagsMentioned,
    propagation: propagation ?? NONE,
    data: data ?? NONE,
    loop,
    loopDevice,
    loopOffset,
    loopSizeLimit,
    uidmap,
    gidmap,
    idmap,
    idmapRecursive,
    subdir,
    copyUp,
    userspace: userspace ?? NONE,
    recursiveAttrs,
  };
}

/**
 * Join fs data items (classifyOptions' data: unquoted) for mount(2). An item whose value holds
 * a comma is quoted again (`context="a,b"`), as the kernel's LSM option parser expects; quoted
 * once, never twice.
 */
export function joinData(items: readonly string[]): string {
  requireList(items, "items", "join data");
  for (let i = 0; i < items.length; i++) {
    if (typeof items[i] !== "string") requireString(items[i], `items[${i}]`, "join data");
  }
  // a loop, not map: every mount with fs data joins it, and an array method's first use costs
  // start-up time (docs/bench.md)
  let data = "";
  for (let i = 0; i < items.length; i++) data += i === 0 ? quoteDataItem(items[i]!) : `,${quoteDataItem(items[i]!)}`;
  return data;
}

/** One fs data item as mount(2)'s data writes it: a value holding a comma in double quotes. */
export function quoteDataItem(item: string): string {
  // one with quotes has them where its author put them (a caller's own `context="a,b"`)
  if (!item.includes(",") || item.includes('"')) return item;
  const eq = item.indexOf("=");
  return eq < 0 ? `"${item}"` : `${item.slice(0, eq + 1)}"${item.slice(eq + 1)}"`;
}

/** Bytes the kernel copies for a data string: its UTF-8 length plus the NUL. */
export function dataSize(data: string): number {
  if (data === "") return 1;
  return byteLength(data) + 1;
}
