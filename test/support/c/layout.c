/* Prints the struct layouts and constants mountkit hard-codes, from this machine's headers,
 * as "name value" lines; test/integration/struct-layout.test.ts compares them.
 * (MOVE_MOUNT_BENEATH and FSCONFIG_CMD_CREATE_EXCL are newer than these headers: not checked.)
 * statmount(2)'s are printed only by headers that have them (Linux 6.8's and later). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/stat.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/version.h>
#include <asm/unistd.h>
#include <pwd.h>
#include <grp.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define SHOW(name, value) printf("%s %lld\n", name, (long long)(value))

int main(void) {
  SHOW("sizeof.statfs", sizeof(struct statfs));
  SHOW("offsetof.statfs.f_type", offsetof(struct statfs, f_type));
  SHOW("offsetof.statfs.f_flags", offsetof(struct statfs, f_flags));
  SHOW("sizeof.statx", sizeof(struct statx));
  SHOW("offsetof.statx.stx_mnt_id", offsetof(struct statx, stx_mnt_id));
  SHOW("offsetof.statx.stx_mask", offsetof(struct statx, stx_mask));
  SHOW("offsetof.statx.stx_mode", offsetof(struct statx, stx_mode));
  SHOW("offsetof.statx.stx_uid", offsetof(struct statx, stx_uid));
  SHOW("offsetof.statx.stx_gid", offsetof(struct statx, stx_gid));
  SHOW("STATX_UID", STATX_UID);
  SHOW("STATX_GID", STATX_GID);
  SHOW("STATX_MODE", STATX_MODE);
  SHOW("offsetof.statx.stx_size", offsetof(struct statx, stx_size));
  SHOW("STATX_SIZE", STATX_SIZE);
  SHOW("offsetof.passwd.pw_uid", offsetof(struct passwd, pw_uid));
  SHOW("offsetof.group.gr_gid", offsetof(struct group, gr_gid));
  SHOW("offsetof.statx.stx_dev_major", offsetof(struct statx, stx_dev_major));
  SHOW("offsetof.statx.stx_dev_minor", offsetof(struct statx, stx_dev_minor));
  SHOW("offsetof.statx.stx_rdev_major", offsetof(struct statx, stx_rdev_major));
  SHOW("offsetof.statx.stx_rdev_minor", offsetof(struct statx, stx_rdev_minor));
  SHOW("STATX_TYPE", STATX_TYPE);
  SHOW("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
  SHOW("O_CREAT", O_CREAT);
  SHOW("O_WRONLY", O_WRONLY);
  SHOW("O_DIRECTORY", O_DIRECTORY);
  SHOW("O_NOFOLLOW", O_NOFOLLOW);
  SHOW("offsetof.statx.stx_nlink", offsetof(struct statx, stx_nlink));
  SHOW("offsetof.statx.stx_atime", offsetof(struct statx, stx_atime));
  SHOW("offsetof.statx.stx_mtime", offsetof(struct statx, stx_mtime));
  SHOW("STATX_NLINK", STATX_NLINK);
  SHOW("STATX_ATIME", STATX_ATIME);
  SHOW("STATX_MTIME", STATX_MTIME);
  SHOW("STATX_BASIC_STATS", STATX_BASIC_STATS);
  SHOW("offsetof.statx.stx_attributes", offsetof(struct statx, stx_attributes));
  SHOW("offsetof.statx.stx_attributes_mask", offsetof(struct statx, stx_attributes_mask));
  SHOW("STATX_ATTR_MOUNT_ROOT", STATX_ATTR_MOUNT_ROOT);
  SHOW("offsetof.dirent64.d_reclen", offsetof(struct dirent64, d_reclen));
  SHOW("offsetof.dirent64.d_type", offsetof(struct dirent64, d_type));
  SHOW("offsetof.dirent64.d_name", offsetof(struct dirent64, d_name));
  SHOW("SEEK_SET", SEEK_SET);
  SHOW("SEEK_DATA", SEEK_DATA);
  SHOW("SEEK_HOLE", SEEK_HOLE);
  SHOW("UTIME_OMIT", UTIME_OMIT);
  SHOW("S_IFIFO", S_IFIFO);
  SHOW("S_IFCHR", S_IFCHR);
  SHOW("S_IFBLK", S_IFBLK);
  SHOW("makedev.259.65539", makedev(259, 65539));
  SHOW("O_EXCL", O_EXCL);
  SHOW("sizeof.mount_attr", sizeof(struct mount_attr));
  SHOW("STATX_MNT_ID", STATX_MNT_ID);
  SHOW("MS_NOSYMFOLLOW", MS_NOSYMFOLLOW);
  SHOW("MS_LAZYTIME", MS_LAZYTIME);
  SHOW("MS_STRICTATIME", MS_STRICTATIME);
  SHOW("MS_RELATIME", MS_RELATIME);
  SHOW("MS_SHARED", MS_SHARED);
  SHOW("MNT_DETACH", MNT_DETACH);
  SHOW("ST_RELATIME", ST_RELATIME);
  SHOW("SYS_open_tree", SYS_open_tree);
  SHOW("SYS_move_mount", SYS_move_mount);
  SHOW("SYS_fsopen", SYS_fsopen);
  SHOW("SYS_fsconfig", SYS_fsconfig);
  SHOW("SYS_fsmount", SYS_fsmount);
  SHOW("SYS_mount_setattr", SYS_mount_setattr);
  SHOW("MOUNT_ATTR_IDMAP", MOUNT_ATTR_IDMAP);
  SHOW("MOUNT_ATTR_NOSYMFOLLOW", MOUNT_ATTR_NOSYMFOLLOW);
  SHOW("MOVE_MOUNT_F_EMPTY_PATH", MOVE_MOUNT_F_EMPTY_PATH);
  SHOW("FSCONFIG_SET_FD", FSCONFIG_SET_FD);
  SHOW("FSCONFIG_CMD_CREATE", FSCONFIG_CMD_CREATE);
  SHOW("OPEN_TREE_CLONE", OPEN_TREE_CLONE);
  SHOW("AT_RECURSIVE", AT_RECURSIVE);
  SHOW("AT_FDCWD", AT_FDCWD);
  SHOW("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
  SHOW("AT_NO_AUTOMOUNT", AT_NO_AUTOMOUNT);
  SHOW("AT_EMPTY_PATH", AT_EMPTY_PATH);
  SHOW("OPEN_TREE_CLOEXEC", OPEN_TREE_CLOEXEC);
  SHOW("MOVE_MOUNT_F_SYMLINKS", MOVE_MOUNT_F_SYMLINKS);
  SHOW("MOVE_MOUNT_F_AUTOMOUNTS", MOVE_MOUNT_F_AUTOMOUNTS);
  SHOW("MOVE_MOUNT_T_SYMLINKS", MOVE_MOUNT_T_SYMLINKS);
  SHOW("MOVE_MOUNT_T_AUTOMOUNTS", MOVE_MOUNT_T_AUTOMOUNTS);
  SHOW("MOVE_MOUNT_T_EMPTY_PATH", MOVE_MOUNT_T_EMPTY_PATH);
  SHOW("MOVE_MOUNT_SET_GROUP", MOVE_MOUNT_SET_GROUP);
  SHOW("FSOPEN_CLOEXEC", FSOPEN_CLOEXEC);
  SHOW("FSMOUNT_CLOEXEC", FSMOUNT_CLOEXEC);
  SHOW("FSCONFIG_SET_FLAG", FSCONFIG_SET_FLAG);
  SHOW("FSCONFIG_SET_STRING", FSCONFIG_SET_STRING);
  SHOW("FSCONFIG_SET_BINARY", FSCONFIG_SET_BINARY);
  SHOW("FSCONFIG_SET_PATH", FSCONFIG_SET_PATH);
  SHOW("FSCONFIG_SET_PATH_EMPTY", FSCONFIG_SET_PATH_EMPTY);
  SHOW("FSCONFIG_CMD_RECONFIGURE", FSCONFIG_CMD_RECONFIGURE);
  SHOW("MOUNT_ATTR_RDONLY", MOUNT_ATTR_RDONLY);
  SHOW("MOUNT_ATTR_NOSUID", MOUNT_ATTR_NOSUID);
  SHOW("MOUNT_ATTR_NODEV", MOUNT_ATTR_NODEV);
  SHOW("MOUNT_ATTR_NOEXEC", MOUNT_ATTR_NOEXEC);
  SHOW("MOUNT_ATTR__ATIME", MOUNT_ATTR__ATIME);
  SHOW("MOUNT_ATTR_NOATIME", MOUNT_ATTR_NOATIME);
  SHOW("MOUNT_ATTR_STRICTATIME", MOUNT_ATTR_STRICTATIME);
  SHOW("MOUNT_ATTR_NODIRATIME", MOUNT_ATTR_NODIRATIME);
  SHOW("O_PATH", O_PATH);
  SHOW("sizeof.open_how", sizeof(struct open_how));
  SHOW("SYS_openat2", SYS_openat2);
  SHOW("RESOLVE_NO_XDEV", RESOLVE_NO_XDEV);
  SHOW("RESOLVE_NO_MAGICLINKS", RESOLVE_NO_MAGICLINKS);
  SHOW("RESOLVE_NO_SYMLINKS", RESOLVE_NO_SYMLINKS);
  SHOW("RESOLVE_BENEATH", RESOLVE_BENEATH);
  SHOW("RESOLVE_IN_ROOT", RESOLVE_IN_ROOT);
  SHOW("F_DUPFD_CLOEXEC", F_DUPFD_CLOEXEC);
  SHOW("CLONE_VM", CLONE_VM);
  SHOW("CLONE_FS", CLONE_FS);
  SHOW("CLONE_PIDFD", CLONE_PIDFD);
  SHOW("CLONE_NEWNS", CLONE_NEWNS);
  SHOW("CLONE_NEWUSER", CLONE_NEWUSER);
  SHOW("LINUX_VERSION_CODE", LINUX_VERSION_CODE);
#ifdef STATMOUNT_SB_BASIC
  SHOW("SYS_statmount", __NR_statmount);
  SHOW("STATMOUNT_SB_BASIC", STATMOUNT_SB_BASIC);
  SHOW("STATMOUNT_MNT_BASIC", STATMOUNT_MNT_BASIC);
  SHOW("STATX_MNT_ID_UNIQUE", STATX_MNT_ID_UNIQUE);
#ifdef MNT_ID_REQ_SIZE_VER0
  SHOW("MNT_ID_REQ_SIZE_VER0", MNT_ID_REQ_SIZE_VER0);
#else /* the first published struct ends with param */
  SHOW("MNT_ID_REQ_SIZE_VER0", offsetof(struct mnt_id_req, param) + sizeof(__u64));
#endif
  SHOW("offsetof.mnt_id_req.size", offsetof(struct mnt_id_req, size));
  SHOW("offsetof.mnt_id_req.mnt_id", offsetof(struct mnt_id_req, mnt_id));
  SHOW("offsetof.mnt_id_req.param", offsetof(struct mnt_id_req, param));
  SHOW("sizeof.statmount", sizeof(struct statmount));
  SHOW("offsetof.statmount.size", offsetof(struct statmount, size));
  SHOW("offsetof.statmount.mask", offsetof(struct statmount, mask));
  SHOW("offsetof.statmount.sb_dev_major", offsetof(struct statmount, sb_dev_major));
  SHOW("offsetof.statmount.sb_dev_minor", offsetof(struct statmount, sb_dev_minor));
  SHOW("offsetof.statmount.sb_magic", offsetof(struct statmount, sb_magic));
  SHOW("offsetof.statmount.sb_flags", offsetof(struct statmount, sb_flags));
  SHOW("offsetof.statmount.mnt_id", offsetof(struct statmount, mnt_id));
  SHOW("offsetof.statmount.mnt_parent_id", offsetof(struct statmount, mnt_parent_id));
  SHOW("offsetof.statmount.mnt_id_old", offsetof(struct statmount, mnt_id_old));
  SHOW("offsetof.statmount.mnt_parent_id_old", offsetof(struct statmount, mnt_parent_id_old));
  SHOW("offsetof.statmount.mnt_attr", offsetof(struct statmount, mnt_attr));
  SHOW("offsetof.statmount.mnt_propagation", offsetof(struct statmount, mnt_propagation));
#endif
  return 0;
}
