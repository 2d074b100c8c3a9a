/**
 * The image of containerd's mkfs/ transform (plan/mkfs.ts), made when it does not exist:
 *   1. something at the path already: a regular file holding a filesystem of the asked kind
 *      is used as it is; anything else (a directory, a file of zeroes) is an error
 *   2. otherwise a new file beside it under a hidden unique name (O_EXCL, 0640), truncated to
 *      the size, formatted by mkfs.TYPE (found in the helper dirs, as mount helpers are), then
 *      renamed to the image's name with RENAME_NOREPLACE
 * A failure removes the unique file, so the image's name never holds a half-made image:
 * containerd truncates the file at its final name before mkfs runs, and after a failed mkfs
 * its next call takes the file of zeroes for a formatted image. Another process that makes the
 * same image meanwhile wins the rename; ours is removed and theirs used.
 */
import { Errno } from "../errno.ts";
import { HelperError, isErrno, MountFailedError, PlanError, quotePath, SyscallError } from "../errors.ts";
import { formattingName, mkfsArgv, type MkfsAction } from "../plan/mkfs.ts";
import { AT } from "../plan/mount-api-flags.ts";
import { identifySuperblock } from "../plan/superblock.ts";
import { O } from "../sys/fd.ts";
import { sameFile, statPath, type FileIdentity } from "../sys/stat.ts";
import type { OpsContext } from "./context.ts";
import { describeExit } from "./fuse-unmount.ts";
import { helperEnvironment } from "./helper-env.ts";
import { helperSearchDirs, locateHelper } from "./helpers.ts";
import { closeQuietly } from "./plan-handles.ts";
import { readDeviceStart } from "./probe.ts";

/** An image this call made: removed again if nothing of the call is left mounted. */
export interface MadeImage {
  readonly image: string;
  readonly identity: FileIdentity;
}

/** Make mkfs's image unless it exists; what was made, or undefined when it was there already. */
export function ensureImage(mkfs: MkfsAction, ctx: OpsContext): MadeImage | undefined {
  try {
    return checkOrMake(mkfs, ctx);
  } catch (err) {
    if (err instanceof SyscallError && err.action === undefined) err.withAction(`make the image ${quotePath(mkfs.image)}`);
    throw err;
  }
}

function checkOrMake(mkfs: MkfsAction, ctx: OpsContext): MadeImage | undefined {
  // a dangling symlink shows as one, and is refused below
  const there = statPath(mkfs.image, true) ?? statPath(mkfs.image, false);
  if (there !== undefined) {
    checkExisting(mkfs, there.type, ctx);
    ctx.log?.(`mkfs: ${quotePath(mkfs.image)} exists: used as it is`);
    return undefined;
  }
  const { sys } = ctx;
  const dirs = helperSearchDirs(ctx);
  const helper = locateHelper(mkfs.helper, dirs);
  if (helper === undefined) {
    throw new HelperError(`make the image ${quotePath(mkfs.image)}: ${mkfs.helper} not found in ${dirs.map(quotePath).join(":")}`, mkfs.helper, mkfsArgv(mkfs, mkfs.image), null, "", {
      hint: ctx.helperDir !== undefined ? `put ${mkfs.helper} in the helper dir, or leave it unset` : `install it (Debian: apt-get install ${mkfs.fs === "xfs" ? "xfsprogs" : "e2fsprogs"})`,
    });
  }
  const file = formattingName(mkfs.image, Math.floor(Math.random() * 36 ** 8).toString(36));
  let fd: number;
  try {
    fd = sys.open(file, O.RDWR | O.CREAT | O.EXCL | O.CLOEXEC, 0o640);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) (err as SyscallError).hint = `the image's directory ${quotePath(file.slice(0, file.lastIndexOf("/")) || "/")} does not exist`;
    throw err;
  }
  let identity: FileIdentity;
  let placed = false;
  try {
    try {
      identity = sys.statxIdentity(fd, "", AT.EMPTY_PATH);
      sys.ftruncate(fd, mkfs.size, file);
    } finally {
      closeQuietly(sys, fd);
    }
    const argv = mkfsArgv(mkfs, file);
    ctx.log?.(`mkfs: ${argv.join(" ")} (${mkfs.size} bytes), then renamed to ${quotePath(mkfs.image)}`);
    const exit = sys.runProcess(helper, argv, helperEnvironment(dirs));
    if (exit.exitCode !== 0) {
      throw new HelperError(`make the image ${quotePath(mkfs.image)}: ${helper} ${describeExit(exit)}`, mkfs.helper, argv, exit.exitCode, exit.output);
    }
    try {
      sys.renameNoReplace(file, mkfs.image);
      placed = true;
    } catch (err) {
      if (!isErrno(err, Errno.EEXIST)) throw err;
      ctx.log?.(`mkfs: ${quotePath(mkfs.image)} was made by someone else meanwhile: used as it is`);
      return undefined;
    }
  } finally {
    if (!placed) unlinkQuietly(file, ctx);
  }
  return { image: mkfs.image, identity };
}

/** Remove an image this call made, if its name still holds that file. */
export function removeMadeImage(made: MadeImage, ctx: OpsContext): void {
  let identity: FileIdentity;
  try {
    identity = ctx.sys.statxIdentity(AT.FDCWD, made.image, AT.SYMLINK_NOFOLLOW);
  } catch {
    return; // gone already
  }
  if (!sameFile(identity, made.identity)) return;
  ctx.log?.(`rollback: unlink(${JSON.stringify(made.image)}), the image this call made`);
  ctx.sys.unlink(made.image);
}

/** An existing image must be a regular file with a filesystem of the asked kind in it. */
function checkExisting(mkfs: MkfsAction, type: string, ctx: OpsContext): void {
  const action = `make the image ${quotePath(mkfs.image)}`;
  if (type !== "file") {
    throw new MountFailedError(`${action}: it exists and is not a regular file`, new PlanError(`${quotePath(mkfs.image)} is not a regular file`), {
      hint: "name a file, or a path where nothing is yet",
    });
  }
  const fd = ctx.sys.open(mkfs.image, O.RDONLY | O.CLOEXEC);
  let found: string | undefined;
  try {
    const sb = identifySuperblock(readDeviceStart(fd, mkfs.image, ctx.sys));
    found = sb?.kind === "filesystem" ? sb.type : undefined;
  } finally {
    closeQuietly(ctx.sys, fd);
  }
  const wanted = mkfs.fs === "xfs" ? ["xfs"] : ["ext2", "ext3", "ext4"];
  if (found !== undefined && wanted.includes(found)) return;
  throw new MountFailedError(`${action}: it exists and holds ${found === undefined ? "no filesystem" : found}, not ${mkfs.fs}`, new PlanError(`${quotePath(mkfs.image)} holds no ${mkfs.fs}`), {
    hint: "remove it, and the next mount makes it (containerd leaves a file of zeroes behind when its mkfs fails)",
  });
}

function unlinkQuietly(path: string, ctx: OpsContext): void {
  try {
    ctx.sys.unlink(path);
  } catch {
    // already gone
  }
}
