/**
 * The temp mount location: where mountkit makes its short-lived directories (temp mounts,
 * and the idmap feature's temporary lowerdirs). One setting for every feature, so that
 * cleanupTempMounts() finds everything a crashed run left behind.
 *
 *   default   $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR (unless another user's), else $TMPDIR,
 *             else /tmp (containerd's getTempDir: $XDG_RUNTIME_DIR, else Go's os.TempDir(),
 *             which is $TMPDIR or /tmp; an empty value counts as unset); read once, kept canonical, and
 *             created 0700 only when a dir is first made in it (/tmp, when none is set: 1777, as
 *             /tmp always is, for the other programs of a host that had none): planning (a dry
 *             run) never writes, it only reads the path
 *   set       setTempMountLocation(dir): created 0700 at once if missing, kept canonical
 *   checked   when first used to make a directory in: a location another user can rename
 *             entries of (theirs, or writable by others and not sticky) is refused
 *
 * Every directory made here is named TEMP_DIR_PREFIX + kind + "-" + the maker's pid + "-" +
 * random ("mountkit-mount-4242-a1B2c3"), so cleanup touches only mountkit's own directories, and
 * by default only those of processes no longer running. (Older versions made
 * "mountkit-mount-a1B2c3", with no pid: cleanup takes those for a crashed run's.)
 */
import { basename, dirname, join } from "../path.ts";
import { Errno } from "../errno.ts";
import { isErrno, PlanError, quotePath, SyscallError } from "../errors.ts";
import { environmentValue } from "../sys/command-line.ts";
import { chmod, makeUniqueDir, mkdir, mkdirAll } from "../sys/file.ts";
import { realpath } from "../sys/realpath.ts";
import { fileType, statxOwnership } from "../sys/stat.ts";
import { fsFailure } from "./targets.ts";
import { requirePath, requireString } from "../plan/caller-input.ts";
import { absolutePath } from "../sys/cwd.ts";
import type { Syscalls } from "../sys/seam.ts";

/** The prefix of every directory mountkit creates in the temp location. */
export const TEMP_DIR_PREFIX = "mountkit-";

let location: string | undefined;
/** whether location is known to exist (created or checked since it was chosen) */
let created = false;
/** the last resort, /tmp, was taken: no variable chose the location */
let systemTmp = false;

/** The last resort, when no variable names a location. */
const SYSTEM_TMP = "/tmp";

/** The canonical temp mount location. Reads the file system, never writes it (see ensureTempMountLocation). */
export function tempMountLocation(): string {
  if (location === undefined) {
    const chosen = environmentValue("MOUNTKIT_TMPDIR") || ownRuntimeDir() || environmentValue("TMPDIR") || SYSTEM_TMP;
    location = canonicalLocation(chosen);
    created = false;
    systemTmp = chosen === SYSTEM_TMP;
  }
  return location;
}

/**
 * $XDG_RUNTIME_DIR, unless it exists and belongs to another user: the XDG spec makes it the
 * user's own, and root's shell from `su` keeps the one of the user who ran su, where that user
 * could rename what mountkit makes (requireOwnLocation would refuse it). Then the next choice.
 */
function ownRuntimeDir(): string {
  const dir = environmentValue("XDG_RUNTIME_DIR");
  if (!dir) return "";
  let uid: number;
  try {
    uid = statxOwnership(dir, true).uid;
  } catch {
    return dir; // missing: made 0700 by the first use, as before
  }
  return uid === (process.geteuid?.() ?? 0) ? dir : "";
}

/** Use dir for temp mounts from now on (containerd's SetTempMountLocation). Returns it canonical. */
export function setTempMountLocation(dir: string): string {
  requirePath(dir, "dir", "temp mount location");
  location = createLocation(dir);
  created = true;
  systemTmp = false;
  return location;
}

/** Forget a set location: the next use takes the default again (tests). */
export function resetTempMountLocation(): void {
  location = undefined;
  created = false;
  systemTmp = false;
}

/** The temp mount location, created 0700 if missing: for code about to make a dir in it. */
export function ensureTempMountLocation(): string {
  const dir = tempMountLocation();
  if (!created) {
    if (systemTmp && dir === SYSTEM_TMP) createSystemTmp();
    createLocation(dir);
    created = true;
  }
  return dir;
}

/**
 * mkdir(path, mode) through sys of a directory in the temp location (a path newTempPath gave, or
 * one beneath it: a plan's temp dir and what it makes inside). The location a plan named while
 * planning is created first, when path is directly in it; a failure a read-only, full or missing
 * location causes gets the hint to name another (withLocationHint), wherever it happens.
 */
export function makeTempLocationDir(sys: Pick<Syscalls, "mkdir">, path: string, mode: number): void {
  // its failures name the location, and carry the hint
  if (!created && location !== undefined && dirname(path) === location) ensureTempMountLocation();
  try {
    sys.mkdir(path, mode);
  } catch (err) {
    // the caller's action names the mount: say where the directory was to be
    if (err instanceof SyscallError && err.hint === undefined && LOCATION_ERRNOS.has(err.errno)) err.withDetails(`in the temp mount location: ${quotePath(path)}`);
    throw withLocationHint(err);
  }
}

/**
 * dir absolute and canonical without creating it: the real path of its deepest existing
 * ancestor, then the missing components (which cannot be links yet). That ancestor must be
 * a directory.
 */
function canonicalLocation(dir: string): string {
  if (dir === "") throw new PlanError("temp mount location: empty path");
  const missing: string[] = [];
  let existing = absolutePath(dir);
  for (;;) {
    try {
      const canonical = realpath(existing);
      if (fileType(canonical, false) !== "dir") throw new PlanError(`temp mount location ${quotePath(dir)}: ${quotePath(existing)} is not a directory`);
      return join(canonical, ...missing);
    } catch (err) {
      if (err instanceof PlanError) throw err;
      if (!(err instanceof SyscallError) || err.errno !== Errno.ENOENT || existing === "/") {
        throw fsFailure(err, "realpath(3)", existing, `temp mount location ${quotePath(dir)}`);
      }
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
}

/**
 * /tmp where a host has none (a minimal root): made 1777, what every program expects of it, not
 * the 0700 of mountkit's own locations, which would leave other users no /tmp once mountkit ran.
 */
function createSystemTmp(): void {
  if (fileType(SYSTEM_TMP) !== undefined) return;
  try {
    mkdir(SYSTEM_TMP, SYSTEM_TMP_MODE);
    chmod(SYSTEM_TMP, SYSTEM_TMP_MODE); // the umask took the bits others need
  } catch (err) {
    if (isErrno(err, Errno.EEXIST)) return; // made meanwhile: createLocation checks it
    throw withLocationHint(fsFailure(err, "mkdir(2)", SYSTEM_TMP, `temp mount location ${quotePath(SYSTEM_TMP)}`));
  }
}

const SYSTEM_TMP_MODE = 0o1777;

/**
 * The hint for a temp location mountkit cannot make or write to (a read-only root, no /tmp):
 * where the location comes from, and how to name another.
 */
export function withLocationHint(err: unknown): unknown {
  if (err instanceof SyscallError && err.hint === undefined && LOCATION_ERRNOS.has(err.errno)) err.hint = LOCATION_HINT;
  return err;
}

const LOCATION_ERRNOS = new Set<number>([Errno.EROFS, Errno.EACCES, Errno.EPERM, Errno.ENOSPC, Errno.ENOENT, Errno.ENOTDIR]);
const LOCATION_HINT =
  "mountkit makes short-lived directories there (with-mounts, temp mounts, idmapped layers): set MOUNTKIT_TMPDIR to a writable directory (a tmpfs: /run, or one mounted on /tmp); it is $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp";

/** mkdir -p dir (0700), returned canonical; it must be a directory that others cannot change (requireOwnLocation). */
function createLocation(dir: string): string {
  if (dir === "") throw new PlanError("temp mount location: empty path");
  const absolute = absolutePath(dir);
  try {
    mkdirAll(absolute, 0o700);
    const canonical = realpath(absolute);
    if (fileType(canonical, false) !== "dir") throw new PlanError(`temp mount location ${quotePath(dir)} is not a directory`);
    requireOwnLocation(canonical, dir);
    return canonical;
  } catch (err) {
    if (err instanceof PlanError) throw err;
    throw withLocationHint(fsFailure(err, "mkdir(2)", absolute, `temp mount location ${quotePath(dir)}`));
  }
}

/** S_ISVTX: in a directory, only an entry's owner (or the directory's) may rename or remove it. */
const STICKY = 0o1000;

/**
 * Refuse a location another user could change entries of: it must belong to root or to this
 * user, and be writable by no one else unless it is sticky (/tmp, where only an entry's owner
 * may rename it). Otherwise a user who can write there renames a temp dir mountkit just made
 * (mkdtemp's 0700 does not stop a rename in a directory they can write) and puts a symlink in
 * its place: the mount made on the dir's path would land where the link points. Checked once,
 * when mountkit first makes a directory in the location.
 */
function requireOwnLocation(canonical: string, dir: string): void {
  const why = othersCanRename(statxOwnership(canonical));
  if (why === undefined) return;
  throw new PlanError(`temp mount location ${quotePath(dir)}: ${why}: another user could replace a directory mountkit makes there with a symlink`, {
    hint: "use a directory only root (or this user) can write to, or a sticky one such as /tmp: $MOUNTKIT_TMPDIR, or setTempMountLocation()",
  });
}

/** Why users other than root and this one can rename entries of a directory so owned; undefined when they cannot. */
function othersCanRename({ uid, mode }: { uid: number; mode: number }): string | undefined {
  const self = process.geteuid?.() ?? 0;
  if (uid !== 0 && uid !== self) return `it belongs to uid ${uid}, not to root or this user (uid ${self})`;
  if ((mode & 0o022) === 0 || (mode & STICKY) !== 0) return undefined;
  return `it is writable by ${(mode & 0o002) !== 0 ? "every user" : "its group"} and not sticky (mode ${mode.toString(8).padStart(4, "0")})`;
}

/**
 * A new, empty, private (0700) directory in the temp location for one use by a feature:
 * kind names the feature ("mount", "idmap"). The caller owns it and removes it with rmdir.
 */
export function makeTempDir(kind: string): string {
  // the test below reads 5 as "5": a dir mountkit-5-... was made
  requireString(kind, "kind", "make a temp dir");
  if (!/^[a-z0-9]+$/.test(kind)) throw new PlanError(`temp dir kind must be lower-case letters and digits: ${JSON.stringify(kind)}`);
  const prefix = join(ensureTempMountLocation(), `${TEMP_DIR_PREFIX}${kind}-${process.pid}-`);
  try {
    return makeUniqueDir(prefix);
  } catch (err) {
    throw withLocationHint(fsFailure(err, "mkdir(2)", prefix, "create a temp mount directory"));
  }
}

/** A name in the temp location that mountkit made. */
export function isOwnTempDirName(name: string): boolean {
  return name.startsWith(TEMP_DIR_PREFIX) && name.length > TEMP_DIR_PREFIX.length;
}

/** The pid of the process that made a temp dir, from its name; undefined for a name without one. */
export function tempDirOwner(name: string): number | undefined {
  const match = /^mountkit-[a-z0-9]+-(\d+)-/.exec(name);
  return match ? Number(match[1]) : undefined;
}

let sequence = 0;

/**
 * A fresh path in the temp location, not created (nor is the location): mountkit-<kind>-<pid>-
 * <n>-<random>. The plan that uses it creates it with mkdir, which fails rather than share an
 * existing directory, after ensureTempParent() has created the location.
 */
export function newTempPath(kind: string): string {
  const random = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, "0");
  return join(tempMountLocation(), `${TEMP_DIR_PREFIX}${kind}-${process.pid}-${++sequence}-${random}`);
}
