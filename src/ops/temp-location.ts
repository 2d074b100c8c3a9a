/**
 * Where temporary mounts are made (containerd's tempMountLocation): $XDG_RUNTIME_DIR, else the
 * system temp dir ($TMPDIR, else /tmp), unless set with setTempMountLocation().
 *
 * Issue 6 adds a module of the same name and purpose on its branch; when merging keep one,
 * with these semantics: set creates the directory 0700 and stores its canonical path.
 */
import { mkdirSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";

let configured: string | undefined;
let sequence = 0;

/** The directory temporary mount points are created in. */
export function tempMountLocation(): string {
  if (configured !== undefined) return configured;
  const xdg = process.env.XDG_RUNTIME_DIR;
  return resolve(xdg !== undefined && xdg !== "" ? xdg : tmpdir());
}

/** Use dir for temporary mounts from now on (containerd SetTempMountLocation). */
export function setTempMountLocation(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  configured = realpathSync(dir);
}

/** Back to the default location (tests). */
export function resetTempMountLocation(): void {
  configured = undefined;
}

/**
 * A fresh path under the location, not created: `<location>/<prefix>-<pid>-<n>-<random>`.
 * The plan creates it with mkdir, which fails rather than share an existing directory.
 */
export function newTempPath(prefix: string): string {
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return `${tempMountLocation()}/${prefix}-${process.pid}-${++sequence}-${random}`;
}
