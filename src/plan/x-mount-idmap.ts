/**
 * util-linux's X-mount.idmap= (2.39): the user namespace of an idmapped mount, as mount(8)
 * users write it. Either a list of mappings separated by blanks, `[u:|g:|b:]id-mount:id-host:
 * id-range` (u: the uid map, g: the gid map, b: or no prefix both), written to uid_map and
 * gid_map as "id-mount id-host id-range" lines, the same as containerd's uidmap=/gidmap=
 * `container:host:size`; or the path of a user namespace file (/proc/PID/ns/user) whose
 * namespace is used as it is. Pure.
 */
import { PlanError } from "../errors.ts";
import { idMappingPair } from "./idmap-mapping.ts";
import type { UserNamespace } from "./idmap-tree.ts";

/** What an X-mount.idmap value names, before the maps are checked. */
export type XMountIdmap =
  | { readonly kind: "maps"; readonly uidmap: string; readonly gidmap: string }
  | { readonly kind: "file"; readonly path: string };

const ENTRY = /^(?:([ugb]):)?([^:]*):([^:]*):([^:]*)$/;

/** An X-mount.idmap value -> the maps in uidmap=/gidmap= syntax, or a namespace file. */
export function parseXMountIdmap(value: string): XMountIdmap {
  const text = value.trim();
  if (text === "") throw idmapError(value, "empty", "give [u:|g:|b:]id-mount:id-host:id-range ..., or a user namespace file such as /proc/PID/ns/user");
  if (text.startsWith("/")) return { kind: "file", path: text };
  const uid: string[] = [];
  const gid: string[] = [];
  for (const token of text.split(/\s+/)) {
    const m = ENTRY.exec(token);
    if (m === null) throw idmapError(value, `${JSON.stringify(token)} is no [u:|g:|b:]id-mount:id-host:id-range`);
    const mapping = `${m[2]}:${m[3]}:${m[4]}`;
    if (m[1] !== "g") uid.push(mapping);
    if (m[1] !== "u") gid.push(mapping);
  }
  if (uid.length === 0 || gid.length === 0) {
    const [given, missing] = uid.length === 0 ? ["g:", "u:"] : ["u:", "g:"];
    throw idmapError(value, `only ${given} mappings: an idmapped mount needs both a uid and a gid map`, `add ${missing} mappings, or give the mapping without a prefix (or b:) for both`);
  }
  return { kind: "maps", uidmap: uid.join(","), gidmap: gid.join(",") };
}

/** The user namespace an X-mount.idmap value asks for, its maps checked as uidmap=/gidmap= are. */
export function xMountUserNamespace(value: string, pageSize: number, request: { readonly action: string }): UserNamespace {
  let parsed: XMountIdmap;
  try {
    parsed = parseXMountIdmap(value);
  } catch (err) {
    if (!(err instanceof PlanError)) throw err;
    throw new PlanError(`${request.action}: ${err.message}`, err.hint === undefined ? undefined : { hint: err.hint });
  }
  if (parsed.kind === "file") return { file: parsed.path };
  // idMappingPair's errors name the uidmap/gidmap text made here: the prefix says where it came from
  return idMappingPair(parsed.uidmap, parsed.gidmap, pageSize, `${request.action}: X-mount.idmap=${JSON.stringify(value)}`);
}

function idmapError(value: string, detail: string, hint?: string): PlanError {
  return new PlanError(`X-mount.idmap=${JSON.stringify(value)}: ${detail}`, hint === undefined ? undefined : { hint });
}
