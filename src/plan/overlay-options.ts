/**
 * Overlay options as data: the layers (lowerdir, data-only layers, upperdir, workdir) with the
 * kernel's escapes removed, and every other option kept as given, in order. Each strategy
 * renders the layers its own way: escaped into one mount(2) string, or one fsconfig call per
 * layer with the raw path. Pure.
 *
 * The kernel's syntax (fs/overlayfs/params.c): in `lowerdir=` a backslash escapes the next
 * character, `:` separates layers and `::` starts the data-only layers (6.5+); upperdir and
 * workdir are unescaped the same way. Through mount(2), `,` separates options unless escaped.
 * `lowerdir+=` and `datadir+=` (6.8+) take one raw path each.
 */
import { PlanError } from "../errors.ts";
import { optionalString, requireObject, requireString, requireStringList } from "./caller-input.ts";
import { quoteDataItem } from "./options.ts";

export interface OverlayConfig {
  /** lower layers, top first, as real paths */
  readonly lowerdirs: readonly string[];
  /** data-only lower layers (after `::`), reached only through metacopy redirects */
  readonly datadirs: readonly string[];
  readonly upperdir: string | undefined;
  readonly workdir: string | undefined;
  /** every other fs data item, as given and in order (index=on, metacopy=on, volatile, userxattr) */
  readonly other: readonly string[];
}

/**
 * Overlay data items -> a config. Never mutates its input. A list that is none, or an item that
 * is no string, is a PlanError naming it.
 */
export function parseOverlayOptions(data: readonly string[]): OverlayConfig {
  requireStringList(data, "data", "parse overlay options");
  return overlayConfig(data);
}

/** parseOverlayOptions of a mount's fs data, strings already (classifyOptions): on every overlay mount's path. */
export function overlayConfig(data: readonly string[]): OverlayConfig {
  let lowerdirs: string[] = [];
  let datadirs: string[] = [];
  let upperdir: string | undefined;
  let workdir: string | undefined;
  const other: string[] = [];
  for (const item of data) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    switch (value === undefined ? "" : key) {
      case "lowerdir": {
        // A later lowerdir= replaces the earlier one, as in the kernel.
        const split = lowerdirLayers(value!);
        lowerdirs = split.lowerdirs;
        datadirs = split.datadirs;
        break;
      }
      case "lowerdir+":
        // As in lowerdir=, and as the kernel refuses it: the layer order given is not the one meant.
        if (datadirs.length > 0) {
          throw new PlanError(`overlay: lowerdir+=${value} follows a data-only layer: regular layers cannot follow data-only layers (datadir+=)`, {
            hint: "give every lowerdir+= before the first datadir+=",
          });
        }
        lowerdirs.push(nonEmpty(key, value!));
        break;
      case "datadir+":
        datadirs.push(nonEmpty(key, value!));
        break;
      case "upperdir":
        upperdir = nonEmpty(key, unescapeOverlayPath(value!));
        break;
      case "workdir":
        workdir = nonEmpty(key, unescapeOverlayPath(value!));
        break;
      default:
        other.push(item);
    }
  }
  return { lowerdirs, datadirs, upperdir, workdir, other };
}

function nonEmpty(key: string, path: string): string {
  if (path === "") throw new PlanError(`overlay: empty ${key} path`);
  return path;
}

/**
 * A `lowerdir=` value -> its layers. `\x` is x, `:` separates layers, `::` separates
 * data-only layers, which must come last (`/l1:/l2::/d1::/d2`). Hundreds of layers make this
 * string tens of kilobytes, so it is cut with slices, never built a character at a time.
 */
export function splitLowerdirValue(value: string): { lowerdirs: string[]; datadirs: string[] } {
  if (typeof value !== "string") requireString(value, "value", "split lowerdir");
  return lowerdirLayers(value);
}

/** splitLowerdirValue of an item overlayConfig reads (a string). */
function lowerdirLayers(value: string): { lowerdirs: string[]; datadirs: string[] } {
  if (!value.includes("\\")) return splitUnescaped(value);
  const lowerdirs: string[] = [];
  const datadirs: string[] = [];
  let inData = false;
  let start = 0;
  let escaped = false;
  const BACKSLASH = 92;
  const COLON = 58;
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : -1;
    if (code === BACKSLASH) {
      // The kernel drops a trailing lone backslash silently; a path ending in one is a typo.
      if (i + 1 === value.length) throw lowerdirError(value, "ends with a lone backslash");
      escaped = true;
      i++;
      continue;
    }
    if (code !== COLON && code !== -1) continue;
    const raw = value.slice(start, i);
    if (raw === "") throw lowerdirError(value, "has an empty layer");
    (inData ? datadirs : lowerdirs).push(escaped ? unescapeOverlayPath(raw) : raw);
    escaped = false;
    if (code === COLON && value.charCodeAt(i + 1) === COLON) {
      if (value.charCodeAt(i + 2) === COLON) throw lowerdirError(value, "has ':::' (only ':' or '::' may separate layers)");
      inData = true;
      i++;
    } else if (code === COLON && inData) {
      throw lowerdirError(value, "has a regular layer after a data-only one: regular layers cannot follow data-only layers ('::')");
    }
    start = i + 1;
  }
  return { lowerdirs, datadirs };
}

/** The common case, no backslash at all: the native split, with "" marking a "::". */
function splitUnescaped(value: string): { lowerdirs: string[]; datadirs: string[] } {
  const parts = value.split(":");
  if (!parts.includes("")) return { lowerdirs: parts, datadirs: [] };
  const lowerdirs: string[] = [];
  const datadirs: string[] = [];
  let inData = false;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next = parts[i + 1];
    if (part === "") throw lowerdirError(value, "has an empty layer (a ':' at either end, or ':::')");
    (inData ? datadirs : lowerdirs).push(part);
    if (next === "" && i + 2 < parts.length) {
      inData = true;
      i++;
    } else if (inData && i + 1 < parts.length) {
      throw lowerdirError(value, "has a regular layer after a data-only one: regular layers cannot follow data-only layers ('::')");
    }
  }
  return { lowerdirs, datadirs };
}

/** A refused lowerdir= value; a value of hundreds of layers is cut short in the message. */
function lowerdirError(value: string, detail: string): PlanError {
  const shown = value.length > 200 ? `${value.slice(0, 200)}...` : value;
  return new PlanError(`overlay: lowerdir=${JSON.stringify(shown)} ${detail}`, {
    hint: "separate layers with ':' (data-only layers with '::', last); write ':' or '\\' inside a path as '\\:' or '\\\\'",
  });
}

/** The kernel's ovl_unescape: every backslash escapes the character after it. */
export function unescapeOverlayPath(path: string): string {
  return path.includes("\\") ? path.replace(/\\(.)/gs, "$1") : path;
}

/** A path inside `lowerdir=` for mount(2): escape `\`, `:` and `,`. */
export function escapeLowerdir(path: string): string {
  return LOWERDIR_SPECIAL.test(path) ? path.replace(/[\\:,]/g, "\\$&") : path;
}
const LOWERDIR_SPECIAL = /[\\:,]/;

/** upperdir/workdir for mount(2): escape `\` and `,` (a `:` is taken literally there). */
export function escapeOverlayPath(path: string): string {
  return OVERLAY_PATH_SPECIAL.test(path) ? path.replace(/[\\,]/g, "\\$&") : path;
}
const OVERLAY_PATH_SPECIAL = /[\\,]/;

/** The `lowerdir=` value for mount(2), data-only layers after `::`. */
export function joinLowerdirValue(lowerdirs: readonly string[], datadirs: readonly string[]): string {
  requireStringList(lowerdirs, "lowerdirs", "join lowerdir");
  requireStringList(datadirs, "datadirs", "join lowerdir");
  return lowerdirValue(lowerdirs, datadirs);
}

/** joinLowerdirValue of a config's layers (strings: overlayConfig made them), on every overlay mount's path. */
function lowerdirValue(lowerdirs: readonly string[], datadirs: readonly string[]): string {
  const lower = joinLayers(lowerdirs);
  return datadirs.length === 0 ? lower : `${lower}::${datadirs.map(escapeLowerdir).join("::")}`;
}

/** Layers joined with `:`, each escaped; most paths need no escape, and then none is copied. */
function joinLayers(paths: readonly string[]): string {
  for (const path of paths) if (LOWERDIR_SPECIAL.test(path)) return paths.map(escapeLowerdir).join(":");
  return paths.join(":");
}

/** The config as mount(2) data items: lowerdir, upperdir, workdir, then the rest in order. */
export function overlayDataItems(config: OverlayConfig): string[] {
  const items: string[] = [];
  if (config.lowerdirs.length || config.datadirs.length) {
    items.push(`lowerdir=${lowerdirValue(config.lowerdirs, config.datadirs)}`);
  }
  if (config.upperdir !== undefined) items.push(`upperdir=${escapeOverlayPath(config.upperdir)}`);
  if (config.workdir !== undefined) items.push(`workdir=${escapeOverlayPath(config.workdir)}`);
  // mount(2) data: a value with a comma quoted (context="a,b"); fsconfig takes config.other as it is
  return [...items, ...config.other.map(quoteDataItem)];
}

/**
 * An OverlayConfig a library caller hands back (compactLayers, overlayLayerSources): an object,
 * its layer lists and other items lists of strings, upperdir and workdir strings or undefined.
 * A walk of the layers, made only for such a caller: planning uses the config it parsed itself.
 */
export function checkOverlayConfig(config: unknown, action: string): asserts config is OverlayConfig {
  requireObject(config, "config", action, "an OverlayConfig (parseOverlayOptions)");
  const { lowerdirs, datadirs, upperdir, workdir, other } = config as { [K in keyof OverlayConfig]: unknown };
  requireStringList(lowerdirs, "config.lowerdirs", action);
  requireStringList(datadirs, "config.datadirs", action);
  requireStringList(other, "config.other", action);
  optionalString(upperdir, "config.upperdir", action);
  optionalString(workdir, "config.workdir", action);
}
