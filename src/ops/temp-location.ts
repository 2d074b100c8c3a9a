/**
 * The temp mount location: where mountkit makes its short-lived directories (temp mounts,
 * and the idmap feature's temporary lowerdirs). One setting for every feature, so that
 * cleanupTempMounts() finds everything a crashed run left behind.
 *
 *   default   $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR, else /tmp (containerd uses
 *             $XDG_RUNTIME_DIR, else the system temp dir)
 *   set       setTempMountLocation(dir): created 0700 if missing, kept canonical
 *
 * Every directory made here is named TEMP_DIR_PREFIX + kind + "-" + random ("mountkit-mount-
 * a1B2c3"), so cleanup touches only mountkit's own directories.
 */
import { lstatSync, mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { PlanError, quotePath } from "../errors.ts";
import { fsFailure } from "./targets.ts";

/** The prefix of every directory mountkit creates in the temp location. */
export const TEMP_DIR_PREFIX = "mountkit-";

let location: string | undefined;

/** The canonical temp mount location (created on first use when it is the default). */
export function tempMountLocation(): string {
  if (location === undefined) {
    const chosen = process.env.MOUNTKIT_TMPDIR || process.env.XDG_RUNTIME_DIR || "/tmp";
    location = ensureLocation(chosen);
  }
  return location;
}

/** Use dir for temp mounts from now on (containerd's SetTempMountLocation). Returns it canonical. */
export function setTempMountLocation(dir: string): string {
  location = ensureLocation(dir);
  return location;
}

/** Forget a set location: the next use takes the default again (tests). */
export function resetTempMountLocation(): void {
  location = undefined;
}

function ensureLocation(dir: string): string {
  if (dir === "") throw new PlanError("temp mount location: empty path");
  const absolute = resolve(dir);
  try {
    mkdirSync(absolute, { recursive: true, mode: 0o700 });
    const canonical = realpathSync(absolute);
    if (!lstatSync(canonical).isDirectory()) throw new PlanError(`temp mount location ${quotePath(dir)} is not a directory`);
    return canonical;
  } catch (err) {
    if (err instanceof PlanError) throw err;
    throw fsFailure(err, "mkdir(2)", absolute, `temp mount location ${quotePath(dir)}`);
  }
}

/**
 * A new, empty, private (0700) directory in the temp location for one use by a feature:
 * kind names the feature ("mount", "idmap"). The caller owns it and removes it with rmdir.
 */
export function makeTempDir(kind: string): string {
  if (!/^[a-z0-9]+$/.test(kind)) throw new Error(`temp dir kind must be lower-case letters and digits: ${JSON.stringify(kind)}`);
  const prefix = join(tempMountLocation(), `${TEMP_DIR_PREFIX}${kind}-`);
  try {
    return mkdtempSync(prefix);
  } catch (err) {
    throw fsFailure(err, "mkdir(2)", prefix, "create a temp mount directory");
  }
}

/** A name in the temp location that mountkit made. */
export function isOwnTempDirName(name: string): boolean {
  return name.startsWith(TEMP_DIR_PREFIX) && name.length > TEMP_DIR_PREFIX.length;
}

let sequence = 0;

/**
 * A fresh path in the temp location, not created: mountkit-<kind>-<pid>-<n>-<random>. The plan
 * that uses it creates it with mkdir, which fails rather than share an existing directory.
 */
export function newTempPath(kind: string): string {
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return join(tempMountLocation(), `${TEMP_DIR_PREFIX}${kind}-${process.pid}-${++sequence}-${random}`);
}
