/**
 * User and group names to ids through glibc's getpwnam(3) and getgrnam(3), so they resolve as
 * util-linux resolves them: through NSS (/etc/passwd, and LDAP or systemd users where the host
 * is set up for them).
 */
import { read, type Pointer } from "bun:ffi";
import { bindLibc } from "./libc.ts";

const libc = bindLibc({
  getpwnam: { args: ["cstring"], returns: "ptr" },
  getgrnam: { args: ["cstring"], returns: "ptr" },
});

/** offsetof(struct passwd, pw_uid) and offsetof(struct group, gr_gid) on 64-bit Linux: after two pointers */
export const ID_OFFSET = 16;

/** The uid of user name, or undefined when there is no such user. */
export function userIdOf(name: string): number | undefined {
  return idAt(name.includes("\0") ? null : (libc().getpwnam(name) as Pointer | null));
}

/** The gid of group name, or undefined when there is no such group. */
export function groupIdOf(name: string): number | undefined {
  return idAt(name.includes("\0") ? null : (libc().getgrnam(name) as Pointer | null));
}

function idAt(entry: Pointer | null): number | undefined {
  return entry === null ? undefined : read.u32(entry, ID_OFFSET);
}
