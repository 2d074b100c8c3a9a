/**
 * A user or group name in a mount option, to its id, as util-linux resolves one: through the
 * look-up ops/ provides (getpwnam/getgrnam, so NSS: /etc/passwd, LDAP, systemd users). Shared
 * by X-mount.owner=/X-mount.group= (mountpoint-owner.ts) and uid=/gid= (id-options.ts). Pure.
 */
import { PlanError } from "../errors.ts";
import type { PlanEnv } from "./mount-request.ts";

export type IdKind = "user" | "group";

/**
 * The id of name through env's look-up. When there is none, a PlanError for `action`, naming
 * `option` (the option as given, such as "uid=alice"), with a hint.
 */
export function idOfName(kind: IdKind, name: string, option: string, env: PlanEnv, action: string): number {
  const find = kind === "user" ? env.userId : env.groupId;
  const id = find?.(name);
  if (id !== undefined) return id;
  throw new PlanError(`${action}: ${option}: no ${kind} named ${JSON.stringify(name)}`, {
    hint: find === undefined ? "names are looked up by mountkit's mount(); a plan made alone takes numeric ids" : `give a ${kind === "user" ? "uid" : "gid"} instead, or a name ${kind === "user" ? "getent passwd" : "getent group"} knows`,
  });
}
