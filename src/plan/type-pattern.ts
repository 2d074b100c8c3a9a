/**
 * libmount's type patterns (mount -t, mount -a -t, umount -a -t, X-mount.auto-fstypes). Pure.
 */
import { requireString } from "./caller-input.ts";

/**
 * libmount's mnt_match_fstype: a comma list of types; a leading "no" negates the whole list
 * (`nonfs,tmpfs`: neither nfs nor tmpfs); an item "noX" excludes X. No pattern matches all.
 */
export function matchFstype(fstype: string, pattern: string | undefined): boolean {
  if (typeof fstype !== "string") requireString(fstype, "fstype", "match type");
  if (pattern !== undefined && typeof pattern !== "string") requireString(pattern, "pattern", "match type");
  if (pattern === undefined || pattern === "") return true;
  let list = pattern;
  let negated = false;
  if (list.startsWith("no")) {
    negated = true;
    list = list.slice(2);
  }
  const type = fstype.toLowerCase();
  for (const item of list.toLowerCase().split(",")) {
    if (item === `no${type}`) return false;
    if (item === type) return !negated;
  }
  return negated;
}
