/**
 * containerd's mkfs/ transform (core/mount/manager/mkfs.go), planned: the X-containerd.mkfs.*
 * options of a mount taken out, and the filesystem image they ask for on first use:
 *
 *   X-containerd.mkfs.size=SIZE   required; go-units sizes (67108864, 64MiB, 1g)
 *   X-containerd.mkfs.fs=TYPE     ext2, ext3, ext4 (the default) or xfs
 *   X-containerd.mkfs.uuid=UUID   the new filesystem's UUID
 *
 * The image is the mount's source. It is made only when nothing is there (ops/mkfs-image.ts),
 * formatted under a temporary name and renamed into place, so a failed mkfs never leaves an
 * unformatted file where the next call would take it for the image (containerd truncates the
 * file at its final name first, then runs mkfs). Pure.
 */
import { PlanError, quotePath } from "../errors.ts";
import { parseBinarySize } from "./size.ts";

const MKFS_OPTION = "X-containerd.mkfs.";

export const MKFS_TYPES = ["ext2", "ext3", "ext4", "xfs"] as const;
export type MkfsType = (typeof MKFS_TYPES)[number];

/** containerd's default filesystem for an image */
export const MKFS_DEFAULT_TYPE: MkfsType = "ext4";

/** The image an mkfs/ mount asks for. */
export interface MkfsAction {
  /** the image file: the mount's source, an absolute path */
  readonly image: string;
  /** its length in bytes */
  readonly size: number;
  readonly fs: MkfsType;
  /** the new filesystem's UUID; undefined: mkfs picks one */
  readonly uuid: string | undefined;
  /** the helper run: mkfs.ext4, mkfs.xfs ... */
  readonly helper: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The mount's X-containerd.mkfs.* options taken out (the rest kept in order), and the image they ask for. */
export function takeMkfsOptions(source: string, options: readonly string[]): { options: string[]; mkfs: MkfsAction } {
  const rest: string[] = [];
  let size: number | undefined;
  let fs: MkfsType = MKFS_DEFAULT_TYPE;
  let uuid: string | undefined;
  for (const option of options) {
    if (!option.startsWith(MKFS_OPTION)) {
      rest.push(option);
      continue;
    }
    const eq = option.indexOf("=");
    const key = eq === -1 ? option.slice(MKFS_OPTION.length) : option.slice(MKFS_OPTION.length, eq);
    const value = eq === -1 ? "" : option.slice(eq + 1);
    switch (key) {
      case "size":
        size = parseBinarySize(option, value);
        break;
      case "fs":
        if (!(MKFS_TYPES as readonly string[]).includes(value)) {
          throw new PlanError(`${option}: mkfs/ makes ${MKFS_TYPES.join(", ")} images, not ${JSON.stringify(value)}`);
        }
        fs = value as MkfsType;
        break;
      case "uuid":
        if (!UUID.test(value)) throw new PlanError(`${option}: ${JSON.stringify(value)} is not a UUID (8-4-4-4-12 hex digits)`);
        uuid = value;
        break;
      default:
        throw new PlanError(`unknown mkfs option ${JSON.stringify(option)}`, { hint: `mkfs/ takes ${MKFS_OPTION}size=, fs= and uuid=` });
    }
  }
  if (size === undefined || size === 0) throw new PlanError(`mkfs/ needs ${MKFS_OPTION}size=SIZE (the image's size), more than 0`);
  if (!isCleanAbsolute(source)) {
    throw new PlanError(`mkfs/: the image ${quotePath(source)} is not a clean absolute path`, { hint: "name the image file by its full path, with no . or .. parts" });
  }
  return { options: rest, mkfs: { image: source, size, fs, uuid, helper: `mkfs.${fs}` } };
}

/** The helper's argv for formatting `file`: quiet, and the UUID when one is asked for (as containerd). */
export function mkfsArgv(mkfs: MkfsAction, file: string): string[] {
  const argv = [mkfs.helper, "-q"];
  if (mkfs.uuid !== undefined) argv.push(...(mkfs.fs === "xfs" ? ["-m", `uuid=${mkfs.uuid}`] : ["-U", mkfs.uuid]));
  argv.push(file);
  return argv;
}

/** The name an image is formatted under before it is renamed into place: beside it, hidden, unique. */
export function formattingName(image: string, unique: string): string {
  const slash = image.lastIndexOf("/");
  return `${image.slice(0, slash + 1)}.${image.slice(slash + 1)}.mkfs-${unique}`;
}

/** What a dry run prints for the image. */
export function describeMkfs(mkfs: MkfsAction): string {
  return `if ${quotePath(mkfs.image)} does not exist: create it (${mkfs.size} bytes) under a temporary name, ${mkfsArgv(mkfs, "FILE").join(" ")}, rename it into place`;
}

function isCleanAbsolute(path: string): boolean {
  if (!path.startsWith("/") || path.endsWith("/")) return false;
  return path
    .slice(1)
    .split("/")
    .every((part) => part !== "" && part !== "." && part !== "..");
}
