/**
 * The -o string a mount.TYPE helper gets, as libmount builds it (compared, option by option,
 * with util-linux 2.38.1's mount on a helper that logs its argv: test/integration/external-helper.test.ts):
 *
 *   ro|rw , flag words in force , filesystem data , userspace words , exec|suid|dev after user
 *
 *   1. ro or rw first, always (the last of ro, rw, -r, -w): a helper is always given -o.
 *   2. The per-mount and superblock flag words still in force at the end, each once, where it
 *      was first given. A word undone later is left out (nosuid,suid gives neither), and so are
 *      the words that name a default (exec, suid, dev, async, atime...): libmount writes the
 *      flags, not the words. Then what user, users, owner and group imply that no word gave,
 *      as noexec, nosuid, nodev.
 *   3. Filesystem data, in order, quotes as given (context="a,b").
 *   4. The userspace words libmount hands on: nofail, _netdev, user, users, user=NAME, helper=,
 *      uhelper=, in order.
 *   5. With user, users or user=NAME: exec, suid, dev for each of those flags not in force
 *      (user,exec gives nosuid,nodev,user,exec), so a helper that reads user as noexec again
 *      (mount.cifs does) is told what undid it.
 *
 * Left out: the words libmount keeps from helpers (auto, noauto, defaults, comment=, x-*, X-*,
 * offset=, sizelimit=), owner and group themselves and the no* forms (root's mount drops them),
 * and what mountkit applies after the helper's mount (propagation, recursive attributes).
 */
import { MS } from "./flags.ts";
import { isUserspaceExtension, optionSpec } from "./option-table.ts";
import { entryOptions, unquoteOption } from "./options.ts";

/** The userspace words a helper is handed (libmount's userspace options without MNT_NOHLPS that root keeps). */
const HANDED_ON = new Set(["nofail", "_netdev", "user", "users", "helper", "uhelper"]);
/**
 * Whether a mount helper is handed this userspace word (an option-table name of kind
 * "userspace"): the FUSE planner's filter is this one, with containerd's argv shape.
 */
export function isUserspaceWordHandedOn(name: string): boolean {
  return HANDED_ON.has(name);
}

/** The words that let users mount: after them, the defaults a later word restored are written out again. */
const LETS_USERS_MOUNT = new Set(["user", "users"]);

/** The flags user/users/owner/group imply: the word setting each and the word clearing it, in libmount's order. */
const IMPLIED_FLAGS: ReadonlyArray<readonly [flag: number, set: string, clear: string]> = [
  [MS.NOEXEC, "noexec", "exec"],
  [MS.NOSUID, "nosuid", "suid"],
  [MS.NODEV, "nodev", "dev"],
];

/** The options (containerd Mount.options entries) as the one -o string a mount.TYPE helper gets. */
export function helperOptionString(options: readonly string[]): string {
  let readOnly = false;
  let inForce = 0;
  let implied = 0;
  let letsUsersMount = false;
  const flagWords: { readonly word: string; readonly flag: number }[] = [];
  const data: string[] = [];
  const userspace: string[] = [];
  for (const entry of options) {
    for (const item of entryOptions(entry)) {
      const bare = unquoteOption(item);
      if (isUserspaceExtension(bare)) continue;
      const spec = optionSpec(bare);
      const behaviour = spec?.behaviour;
      if (behaviour === undefined) {
        // an item read whole with a bare comma is quoted, as util-linux writes it
        data.push(item.includes(",") && !item.includes('"') ? quoteValue(item) : item);
      } else if (behaviour.kind === "set" || behaviour.kind === "clear") {
        const set = behaviour.kind === "set";
        if (behaviour.flag === MS.RDONLY) readOnly = set;
        else inForce = set ? inForce | behaviour.flag : inForce & ~behaviour.flag;
        if (set && behaviour.flag !== MS.RDONLY && !flagWords.some((w) => w.word === bare)) flagWords.push({ word: bare, flag: behaviour.flag });
      } else if (behaviour.kind === "userspace") {
        if (behaviour.implies !== undefined) {
          inForce |= behaviour.implies;
          implied |= behaviour.implies;
        }
        if (HANDED_ON.has(spec!.name)) userspace.push(item);
        if (LETS_USERS_MOUNT.has(spec!.name)) letsUsersMount = true;
      }
      // noop (defaults), propagation, recursive, feature (loop, offset=, sizelimit=...) and unsupported words are not the helper's
    }
  }
  const words = [readOnly ? "ro" : "rw"];
  for (const { word, flag } of flagWords) if (inForce & flag) words.push(word);
  for (const [flag, set] of IMPLIED_FLAGS) if (implied & inForce & flag && !flagWords.some((w) => w.flag === flag)) words.push(set);
  words.push(...data, ...userspace);
  if (letsUsersMount) for (const [flag, , clear] of IMPLIED_FLAGS) if (!(inForce & flag)) words.push(clear);
  return words.join(",");
}

/**
 * The -o string for a helper mounting a device attached read-only (a write-protected image):
 * ro in place of rw.
 */
export function readOnlyHelperOptions(options: string): string {
  return options === "rw" || options.startsWith("rw,") ? `ro${options.slice(2)}` : options;
}

function quoteValue(item: string): string {
  const eq = item.indexOf("=");
  return eq < 0 ? `"${item}"` : `${item.slice(0, eq + 1)}"${item.slice(eq + 1)}"`;
}
