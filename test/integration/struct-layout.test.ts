// The layouts and constants mountkit hard-codes, checked against this machine's C headers.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MNT, MS, ST } from "../../src/plan/flags.ts";
import { F, O, OPEN_HOW_SIZE, RESOLVE, SYS_OPENAT2 } from "../../src/sys/fd.ts";
import { CLONE } from "../../src/sys/namespace.ts";
import {
  AT,
  FSCONFIG,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  MOUNT_ATTR,
  MOUNT_ATTR_ATIME_MASK,
  MOUNT_ATTR_SIZE,
  MOVE_MOUNT,
  OPEN_TREE,
  SYS,
} from "../../src/sys/mount-api.ts";
import {
  STATFS_SIZE,
  STATX_ATIME,
  STATX_ATTR_MOUNT_ROOT,
  STATX_BASIC_STATS,
  STATX_FILE_SIZE,
  STATX_GID,
  STATX_MNT_ID,
  STATX_MNT_ID_UNIQUE,
  STATX_MODE,
  STATX_MTIME,
  STATX_NLINK,
  STATX_OFFSET,
  STATX_SIZE,
  STATX_TYPE,
  STATX_UID,
} from "../../src/sys/stat.ts";
import { makedev, S_IF, UTIME_OMIT } from "../../src/sys/file-at.ts";
import { SEEK } from "../../src/sys/file-data.ts";
import { DIRENT64_OFFSET } from "../../src/sys/dir-entries.ts";
import { MNT_ID_REQ_OFFSET, MNT_ID_REQ_SIZE, STATMOUNT, STATMOUNT_OFFSET, STATMOUNT_SIZE, SYS_STATMOUNT } from "../../src/sys/statmount.ts";
import { ID_OFFSET } from "../../src/sys/users.ts";

const work = mkdtempSync(join(tmpdir(), "mountkit-test-layout-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let compiled: Map<string, number> | undefined;

function headerValues(): Map<string, number> {
  return (compiled ??= compileAndRun());
}

function compileAndRun(): Map<string, number> {
  const exe = join(work, "layout");
  const cc = Bun.spawnSync(["cc", "-o", exe, join(import.meta.dir, "../support/c/layout.c")], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc failed (a C compiler is needed for this test): ${cc.stderr}`);
  const out = Bun.spawnSync([exe]).stdout.toString();
  return new Map(out.trim().split("\n").map((l) => [l.split(" ")[0]!, Number(l.split(" ")[1])]));
}

test("struct sizes, offsets, flags and syscall numbers match the headers", () => {
  const c = headerValues();
  const ours: Record<string, number> = {
    "sizeof.statfs": STATFS_SIZE,
    "offsetof.statfs.f_type": 0,
    "offsetof.statfs.f_flags": 80,
    "sizeof.statx": STATX_SIZE,
    "offsetof.statx.stx_mnt_id": STATX_OFFSET.mntId,
    "offsetof.statx.stx_mask": STATX_OFFSET.mask,
    "offsetof.statx.stx_mode": STATX_OFFSET.mode,
    "offsetof.statx.stx_uid": STATX_OFFSET.uid,
    "offsetof.statx.stx_gid": STATX_OFFSET.gid,
    STATX_UID,
    STATX_GID,
    STATX_MODE,
    "offsetof.statx.stx_size": STATX_OFFSET.size,
    STATX_SIZE: STATX_FILE_SIZE,
    "offsetof.passwd.pw_uid": ID_OFFSET,
    "offsetof.group.gr_gid": ID_OFFSET,
    "offsetof.statx.stx_dev_major": STATX_OFFSET.devMajor,
    "offsetof.statx.stx_dev_minor": STATX_OFFSET.devMinor,
    "offsetof.statx.stx_rdev_major": STATX_OFFSET.rdevMajor,
    "offsetof.statx.stx_rdev_minor": STATX_OFFSET.rdevMinor,
    STATX_TYPE,
    "sizeof.mount_attr": MOUNT_ATTR_SIZE,
    STATX_MNT_ID,
    MS_NOSYMFOLLOW: MS.NOSYMFOLLOW,
    MS_LAZYTIME: MS.LAZYTIME,
    MS_STRICTATIME: MS.STRICTATIME,
    MS_RELATIME: MS.RELATIME,
    MS_SHARED: MS.SHARED,
    MNT_DETACH: MNT.DETACH,
    ST_RELATIME: ST.RELATIME,
    SYS_open_tree: SYS.open_tree,
    SYS_move_mount: SYS.move_mount,
    SYS_fsopen: SYS.fsopen,
    SYS_fsconfig: SYS.fsconfig,
    SYS_fsmount: SYS.fsmount,
    SYS_mount_setattr: SYS.mount_setattr,
    MOUNT_ATTR_IDMAP: MOUNT_ATTR.IDMAP,
    MOUNT_ATTR_NOSYMFOLLOW: MOUNT_ATTR.NOSYMFOLLOW,
    MOVE_MOUNT_F_EMPTY_PATH: MOVE_MOUNT.F_EMPTY_PATH,
    FSCONFIG_SET_FD: FSCONFIG.SET_FD,
    FSCONFIG_CMD_CREATE: FSCONFIG.CMD_CREATE,
    OPEN_TREE_CLONE: OPEN_TREE.CLONE,
    AT_RECURSIVE: AT.RECURSIVE,
    AT_FDCWD: AT.FDCWD,
    AT_SYMLINK_NOFOLLOW: AT.SYMLINK_NOFOLLOW,
    AT_NO_AUTOMOUNT: AT.NO_AUTOMOUNT,
    AT_EMPTY_PATH: AT.EMPTY_PATH,
    OPEN_TREE_CLOEXEC: OPEN_TREE.CLOEXEC,
    MOVE_MOUNT_F_SYMLINKS: MOVE_MOUNT.F_SYMLINKS,
    MOVE_MOUNT_F_AUTOMOUNTS: MOVE_MOUNT.F_AUTOMOUNTS,
    MOVE_MOUNT_T_SYMLINKS: MOVE_MOUNT.T_SYMLINKS,
    MOVE_MOUNT_T_AUTOMOUNTS: MOVE_MOUNT.T_AUTOMOUNTS,
    MOVE_MOUNT_T_EMPTY_PATH: MOVE_MOUNT.T_EMPTY_PATH,
    MOVE_MOUNT_SET_GROUP: MOVE_MOUNT.SET_GROUP,
    FSOPEN_CLOEXEC,
    FSMOUNT_CLOEXEC,
    FSCONFIG_SET_FLAG: FSCONFIG.SET_FLAG,
    FSCONFIG_SET_STRING: FSCONFIG.SET_STRING,
    FSCONFIG_SET_BINARY: FSCONFIG.SET_BINARY,
    FSCONFIG_SET_PATH: FSCONFIG.SET_PATH,
    FSCONFIG_SET_PATH_EMPTY: FSCONFIG.SET_PATH_EMPTY,
    FSCONFIG_CMD_RECONFIGURE: FSCONFIG.CMD_RECONFIGURE,
    MOUNT_ATTR_RDONLY: MOUNT_ATTR.RDONLY,
    MOUNT_ATTR_NOSUID: MOUNT_ATTR.NOSUID,
    MOUNT_ATTR_NODEV: MOUNT_ATTR.NODEV,
    MOUNT_ATTR_NOEXEC: MOUNT_ATTR.NOEXEC,
    MOUNT_ATTR__ATIME: MOUNT_ATTR_ATIME_MASK,
    MOUNT_ATTR_NOATIME: MOUNT_ATTR.NOATIME,
    MOUNT_ATTR_STRICTATIME: MOUNT_ATTR.STRICTATIME,
    MOUNT_ATTR_NODIRATIME: MOUNT_ATTR.NODIRATIME,
    O_PATH: O.PATH,
    "sizeof.open_how": OPEN_HOW_SIZE,
    SYS_openat2: SYS_OPENAT2,
    RESOLVE_NO_XDEV: RESOLVE.NO_XDEV,
    RESOLVE_NO_MAGICLINKS: RESOLVE.NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS: RESOLVE.NO_SYMLINKS,
    RESOLVE_BENEATH: RESOLVE.BENEATH,
    RESOLVE_IN_ROOT: RESOLVE.IN_ROOT,
    O_CREAT: O.CREAT,
    O_EXCL: O.EXCL,
    O_WRONLY: O.WRONLY,
    O_DIRECTORY: O.DIRECTORY,
    O_NOFOLLOW: O.NOFOLLOW,
    "offsetof.statx.stx_nlink": STATX_OFFSET.nlink,
    "offsetof.statx.stx_atime": STATX_OFFSET.atime,
    "offsetof.statx.stx_mtime": STATX_OFFSET.mtime,
    STATX_NLINK,
    STATX_ATIME,
    STATX_MTIME,
    STATX_BASIC_STATS,
    "offsetof.statx.stx_attributes": STATX_OFFSET.attributes,
    "offsetof.statx.stx_attributes_mask": STATX_OFFSET.attributesMask,
    STATX_ATTR_MOUNT_ROOT,
    "offsetof.dirent64.d_reclen": DIRENT64_OFFSET.reclen,
    "offsetof.dirent64.d_type": DIRENT64_OFFSET.type,
    "offsetof.dirent64.d_name": DIRENT64_OFFSET.name,
    SEEK_SET: SEEK.SET,
    SEEK_DATA: SEEK.DATA,
    SEEK_HOLE: SEEK.HOLE,
    UTIME_OMIT,
    S_IFIFO: S_IF.FIFO,
    S_IFCHR: S_IF.CHR,
    S_IFBLK: S_IF.BLK,
    "makedev.259.65539": Number(makedev(259, 65539)),
    F_DUPFD_CLOEXEC: F.DUPFD_CLOEXEC,
    CLONE_VM: CLONE.VM,
    CLONE_FS: CLONE.FS,
    CLONE_PIDFD: CLONE.PIDFD,
    CLONE_NEWNS: CLONE.NEWNS,
    CLONE_NEWUSER: CLONE.NEWUSER,
  };
  expect(Object.fromEntries(Object.keys(ours).map((k) => [k, c.get(k)]))).toEqual(ours);
});

test("statmount(2)'s structs, mask bits and number match <linux/mount.h> where the headers have them (Linux 6.8's on)", () => {
  const c = headerValues();
  const ours: Record<string, number> = {
    SYS_statmount: SYS_STATMOUNT,
    STATMOUNT_SB_BASIC: STATMOUNT.SB_BASIC,
    STATMOUNT_MNT_BASIC: STATMOUNT.MNT_BASIC,
    STATX_MNT_ID_UNIQUE,
    MNT_ID_REQ_SIZE_VER0: MNT_ID_REQ_SIZE,
    "offsetof.mnt_id_req.size": MNT_ID_REQ_OFFSET.size,
    "offsetof.mnt_id_req.mnt_id": MNT_ID_REQ_OFFSET.mntId,
    "offsetof.mnt_id_req.param": MNT_ID_REQ_OFFSET.param,
    "sizeof.statmount": STATMOUNT_SIZE,
    "offsetof.statmount.size": STATMOUNT_OFFSET.size,
    "offsetof.statmount.mask": STATMOUNT_OFFSET.mask,
    "offsetof.statmount.sb_dev_major": STATMOUNT_OFFSET.sbDevMajor,
    "offsetof.statmount.sb_dev_minor": STATMOUNT_OFFSET.sbDevMinor,
    "offsetof.statmount.sb_magic": STATMOUNT_OFFSET.sbMagic,
    "offsetof.statmount.sb_flags": STATMOUNT_OFFSET.sbFlags,
    "offsetof.statmount.mnt_id": STATMOUNT_OFFSET.mntId,
    "offsetof.statmount.mnt_parent_id": STATMOUNT_OFFSET.mntParentId,
    "offsetof.statmount.mnt_id_old": STATMOUNT_OFFSET.mntIdOld,
    "offsetof.statmount.mnt_parent_id_old": STATMOUNT_OFFSET.mntParentIdOld,
    "offsetof.statmount.mnt_attr": STATMOUNT_OFFSET.mntAttr,
    "offsetof.statmount.mnt_propagation": STATMOUNT_OFFSET.mntPropagation,
  };
  const printed = Object.fromEntries(Object.keys(ours).map((k) => [k, c.get(k)]));
  if (c.get("LINUX_VERSION_CODE")! >= 0x060800) {
    expect(printed).toEqual(ours);
  } else {
    // Older headers (Debian 12's are Linux 6.1's) have none of it; the running kernel checks the
    // layout instead (test/integration/statmount.test.ts).
    expect(Object.values(printed).filter((v) => v !== undefined)).toEqual([]);
  }
});
