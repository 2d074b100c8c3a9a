/**
 * util-linux's uid=NAME and gid=NAME (`mount -o uid=alice,gid=users`, an fstab's vfat line):
 * the kernel takes numbers only (vfat, tmpfs, iso9660, ntfs3 answer EINVAL to a name), so
 * libmount puts the name's id in its place before the mount (context_mount.c, fix_optstr).
 * As libmount does it:
 *   - any option named exactly uid or gid, whatever the filesystem type, binds and remounts too;
 *   - before a mount.TYPE helper is run, which is given the number;
 *   - a value of digits is left as it is; uid=useruid and gid=usergid are the caller's real uid
 *     and gid (getuid(2), getgid(2): 0 for root);
 *   - a name that no user (group) has refuses the mount before any syscall, exit 1, as
 *     util-linux 2.39 does ("failed to parse mount options"; 2.38 handed the name on to the
 *     kernel: EINVAL, exit 32).
 * Every uid= and gid= is converted, where 2.39 converts the first of each only (2.38 all: a
 * later one wins in the kernel, and a name left there would be refused). Pure: the look-ups
 * are PlanEnv's.
 */
import { PlanError } from "../errors.ts";
import { idOfName } from "./id-names.ts";
import type { PlanEnv } from "./mount-request.ts";
import { entryOptions, unquoteOption } from "./options.ts";

const ID_OPTION = /^(uid|gid)=(.+)$/s;
const DIGITS = /^\d+$/;

/** Whether a Mount.options entry may hold uid= or gid=: a cheap test, so other entries are not split. */
export function mayHoldIdOption(entry: string): boolean {
  return entry.includes("id=");
}

/**
 * options with the name in every uid=NAME and gid=NAME replaced by its id (an entry holding
 * several options is written again, joined by commas); options itself when none names one.
 * A name with no id is a PlanError for action(), asked only then.
 */
export function withNumericIds(options: readonly string[], env: PlanEnv, action: () => string): readonly string[] {
  let converted: string[] | undefined;
  for (let i = 0; i < options.length; i++) {
    const entry = options[i]!;
    if (!mayHoldIdOption(entry)) continue;
    const items = entryOptions(entry);
    const numeric = items.map((item) => numericIdItem(item, env, action));
    if (numeric.every((item, n) => item === items[n])) continue;
    (converted ??= [...options])[i] = numeric.join(",");
  }
  return converted ?? options;
}

/** One option item with a uid/gid name as its id; any other item as it is. */
function numericIdItem(item: string, env: PlanEnv, action: () => string): string {
  const match = ID_OPTION.exec(unquoteOption(item));
  if (match === null) return item;
  const [, key, value] = match as unknown as [string, "uid" | "gid", string];
  if (DIGITS.test(value)) return item;
  return `${key}=${idOf(key, value, env, action)}`;
}

function idOf(key: "uid" | "gid", value: string, env: PlanEnv, action: () => string): number {
  if (value === (key === "uid" ? "useruid" : "usergid")) {
    const own = key === "uid" ? env.realUserId : env.realGroupId;
    if (own !== undefined) return own();
    throw new PlanError(`${action()}: ${key}=${value}: the caller's ${key} is not known here`, {
      hint: "mountkit's mount() knows it; a plan made alone takes numeric ids",
    });
  }
  return idOfName(key === "uid" ? "user" : "group", value, `${key}=${value}`, env, action());
}
