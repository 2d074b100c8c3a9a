/**
 * The options one entry of Mount.options holds. containerd joins a Mount's entries with "," as
 * they are and the kernel splits them again, so an entry may pack several options
 * (`size=1m,mode=700`; containerd's own tests pack `lowerdir=/l,upperdir=/u,workdir=/w`).
 * mountkit reads a few options whole, commas and all: containerd's `uidmap=0:1:1,1:2:1`,
 * X-mount.idmap=, x-*=, and overlay's layer paths, which it escapes for the kernel itself. Such
 * an option ends at a comma another option follows, as the kernel would end it; any other
 * comma is its value's. Pure.
 */
import { PlanError } from "../errors.ts";
import { requireString } from "./caller-input.ts";
import { hasUnbalancedQuote, optionSegments, splitOptionText } from "../option-text.ts";
import { isLoopFeature, isUserspaceExtension, optionSpec } from "./option-table.ts";

/**
 * Split one util-linux option string on the commas outside double quotes, the quotes kept
 * (`a,b="x,y"` gives `a` and `b="x,y"`): libmount's items, which split again the same way.
 * Empty items are dropped; an unbalanced quote is a PlanError.
 */
export function splitOptionString(text: string): string[] {
  if (typeof text !== "string") requireString(text, "option text", "parse options");
  checkQuotes(text);
  return splitOptionText(text);
}

function checkQuotes(text: string): void {
  if (hasUnbalancedQuote(text)) throw new PlanError(`parse options: unbalanced double quote in ${JSON.stringify(text)}`);
}

/**
 * The options one entry holds, quotes kept: split at the commas outside quotes (and not escaped
 * with a backslash, overlay's `\,`), quotes being the kernel's syntax (`context="a,b"`). In an
 * entry without quotes, a piece that does not start an option (isOptionStart) belongs to a
 * read-whole option before it:
 * `lowerdir=/a,b:/c,upperdir=/u` is the layers `/a,b` and `/c`, then upperdir. Write `\,` to keep
 * a comma in a layer path whatever follows it. An unbalanced quote is a PlanError.
 */
export function entryOptions(entry: string): readonly string[] {
  if (typeof entry !== "string") requireString(entry, "entry", "parse options");
  if (!entry.includes(",")) {
    // refused as -o and fstab refuse it: unquoted, `size="1m` was mounted as size=1m
    if (entry.includes('"')) checkQuotes(entry);
    return [entry];
  }
  // quotes in an entry are the kernel's syntax: every comma outside them splits
  if (entry.includes('"')) return splitOptionString(entry);
  const options: string[] = [];
  let current = "";
  for (const segment of optionSegments(entry)) {
    if (current !== "" && isReadWhole(current) && !isOptionStart(segment)) {
      current = `${current},${segment}`;
      continue;
    }
    if (current !== "") options.push(current);
    current = segment;
  }
  if (current !== "") options.push(current);
  return options;
}

/** Options whose value may hold a comma: the pieces after it that start no option are the value's. */
function isReadWhole(option: string): boolean {
  if (!option.includes("=")) return false;
  if (isUserspaceExtension(option) || OVERLAY_PATHS.test(option)) return true;
  const behaviour = optionSpec(option)?.behaviour;
  // a loop option's value is a device or a size, never holding a comma: "offset=4096,ro" is two
  return behaviour?.kind === "feature" && !isLoopFeature(behaviour.feature);
}

// overlay's layer paths, which mountkit escapes for the kernel: a comma in one is part of a path
const OVERLAY_PATHS = /^(lowerdir|upperdir|workdir|lowerdir\+|datadir\+)=/;

/**
 * Whether a piece of an entry is an option of its own: one of the option table (ro, nosuid,
 * uidmap=...), x-*, or one overlayfs or SELinux takes (fs/overlayfs/params.c), the options an
 * overlay entry is packed with. Anything else (`b` of `/a,b`, `1:2000:1` of a uidmap) is not.
 */
function isOptionStart(segment: string): boolean {
  if (segment === "") return false;
  if (optionSpec(segment) !== undefined || isUserspaceExtension(segment)) return true;
  const eq = segment.indexOf("=");
  return PACKED_WITH.has(eq < 0 ? segment : segment.slice(0, eq));
}

const PACKED_WITH: ReadonlySet<string> = new Set([
  // overlayfs
  "lowerdir",
  "lowerdir+",
  "upperdir",
  "workdir",
  "datadir+",
  "default_permissions",
  "redirect_dir",
  "index",
  "uuid",
  "nfs_export",
  "userxattr",
  "xino",
  "metacopy",
  "verity",
  "volatile",
  "fsync",
  // SELinux
  "context",
  "fscontext",
  "defcontext",
  "rootcontext",
  "seclabel",
]);
