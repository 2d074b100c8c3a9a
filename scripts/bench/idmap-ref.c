/*
 * C reference for scripts/bench-idmap.ts: the same operations as mountkit's idmap code, written
 * directly against the kernel, one operation per call. Built at bench time as a shared library
 * and called through bun:ffi, so both contenders are timed by the same harness in the same
 * process and mount namespace. Returns 0, or -errno of the first failing call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

struct ref_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#define REF_OPEN_TREE_CLONE 1
#define REF_MOUNT_ATTR_RDONLY 0x1
#define REF_MOUNT_ATTR_IDMAP 0x100000
#define REF_MOVE_MOUNT_F_EMPTY_PATH 0x4
#define REF_FSCONFIG_SET_STRING 1
#define REF_FSCONFIG_SET_FD 5
#define REF_FSCONFIG_CMD_CREATE 6

#define FAIL() return -errno

static char child_stack[64 * 1024] __attribute__((aligned(16)));

static int wait_forever(void *arg) {
	(void)arg;
	for (;;) syscall(SYS_pause);
	return 0;
}

static int write_once(const char *path, const char *text) {
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* A user namespace fd from a waiting CLONE_VM child, killed and reaped through its pidfd. */
int ref_userns_fd(const char *uid_map, const char *gid_map) {
	int pidfd = -1;
	pid_t pid = clone(wait_forever, child_stack + sizeof child_stack, CLONE_NEWUSER | CLONE_VM | CLONE_PIDFD, NULL, &pidfd);
	if (pid < 0) FAIL();
	char path[64];
	int fd = -1, err = 0;
	snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
	if ((err = write_once(path, uid_map)) == 0) {
		snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
		if ((err = write_once(path, "deny")) == 0) {
			snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
			if ((err = write_once(path, gid_map)) == 0) {
				snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
				fd = open(path, O_RDONLY | O_CLOEXEC);
				if (fd < 0) err = -errno;
			}
		}
	}
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	siginfo_t info;
	while (waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL) < 0 && errno == EINTR) {}
	close(pidfd);
	return err ? err : fd;
}

/* Cold: create and close. */
int ref_userns_cold(const char *uid_map, const char *gid_map) {
	int fd = ref_userns_fd(uid_map, gid_map);
	if (fd < 0) return fd;
	close(fd);
	return 0;
}

/* Cached: one fd per mapping pair for the life of the process (one entry is enough here). */
static char cached_key[256];
static int cached_fd = -1;
int ref_userns_cached(const char *uid_map, const char *gid_map) {
	char key[256];
	snprintf(key, sizeof key, "%s|%s", uid_map, gid_map);
	if (cached_fd >= 0 && strcmp(key, cached_key) == 0) return cached_fd;
	int fd = ref_userns_fd(uid_map, gid_map);
	if (fd < 0) return fd;
	if (cached_fd >= 0) close(cached_fd);
	strcpy(cached_key, key);
	cached_fd = fd;
	return fd;
}

static int idmapped_clone(const char *src, int userns, uint64_t attrs) {
	int fd = syscall(SYS_open_tree, AT_FDCWD, src, REF_OPEN_TREE_CLONE | O_CLOEXEC);
	if (fd < 0) return -errno;
	struct ref_mount_attr attr = {.attr_set = REF_MOUNT_ATTR_IDMAP | attrs, .userns_fd = (uint64_t)userns};
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int attach(int fd, const char *target) {
	int err = syscall(SYS_move_mount, fd, "", AT_FDCWD, target, REF_MOVE_MOUNT_F_EMPTY_PATH) < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* An idmapped bind of src at dst, then its unmount. */
int ref_bind(const char *src, const char *dst, int userns) {
	int fd = idmapped_clone(src, userns, 0);
	if (fd < 0) return fd;
	int err = attach(fd, dst);
	if (err) return err;
	return umount2(dst, 0) < 0 ? -errno : 0;
}

struct mount_at {
	const char *dir, *target, *data;
	int ret;
};

/* containerd's mountAt: a thread of its own working directory makes the mount. */
static void *mount_at_thread(void *arg) {
	struct mount_at *m = arg;
	if (unshare(CLONE_FS) < 0 || chdir(m->dir) < 0 || mount("overlay", m->target, "overlay", 0, m->data) < 0) m->ret = -errno;
	return NULL;
}

/* Legacy idmapped overlay: layers ("a:b:c", n of them) idmapped read-only into temp dirs under
 * tmpbase (named as mountkit names them, so both compact at the same layer count), overlay
 * mounted with mount(2), temp mounts and dirs removed; then the overlay unmounted. From
 * pagesize-512 bytes of options on, containerd's compaction: the layers relative to the temp
 * dir ("0:1:..."), the mount made by a thread working there. */
static int sequence;
int ref_overlay_legacy(const char *tmpbase, const char *layers, int n, const char *upper, const char *work, const char *target, int userns) {
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/mountkit-idmap-%d-%d-XXXXXX", tmpbase, (int)getpid(), ++sequence);
	if (!mkdtemp(dir)) FAIL();
	char *list = strdup(layers), *save = NULL, *layer = strtok_r(list, ":", &save);
	size_t cap = 64 + n * (strlen(dir) + 8) + strlen(upper) + strlen(work);
	char *data = malloc(cap), *relative = malloc(cap), temp[4200];
	size_t len = (size_t)snprintf(data, cap, "lowerdir="), rlen = (size_t)snprintf(relative, cap, "lowerdir=");
	int err = 0, made = 0;
	for (int i = 0; i < n && layer && !err; i++, layer = strtok_r(NULL, ":", &save)) {
		snprintf(temp, sizeof temp, "%s/%d", dir, i);
		if (mkdir(temp, 0700) < 0) { err = -errno; break; }
		made++;
		int fd = idmapped_clone(layer, userns, REF_MOUNT_ATTR_RDONLY);
		if (fd < 0) { err = fd; break; }
		if ((err = attach(fd, temp))) break;
		len += (size_t)snprintf(data + len, cap - len, "%s%s", i ? ":" : "", temp);
		rlen += (size_t)snprintf(relative + rlen, cap - rlen, "%s%d", i ? ":" : "", i);
	}
	if (!err) {
		len += (size_t)snprintf(data + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
		snprintf(relative + rlen, cap - rlen, ",upperdir=%s,workdir=%s", upper, work);
		if ((long)len + 1 < sysconf(_SC_PAGESIZE) - 512) {
			if (mount("overlay", target, "overlay", 0, data) < 0) err = -errno;
		} else {
			struct mount_at m = {dir, target, relative, 0};
			pthread_t thread;
			if ((err = -pthread_create(&thread, NULL, mount_at_thread, &m)) == 0) {
				pthread_join(thread, NULL);
				err = m.ret;
			}
		}
	}
	for (int i = 0; i < made; i++) {
		snprintf(temp, sizeof temp, "%s/%d", dir, i);
		umount2(temp, 0);
		rmdir(temp);
	}
	rmdir(dir);
	free(list);
	free(data);
	free(relative);
	if (err) return err;
	return umount2(target, 0) < 0 ? -errno : 0;
}

/* fd-based idmapped overlay: each layer a detached idmapped read-only tree given to overlay as
 * a lowerdir+ fd; fsmount, move_mount; then the overlay unmounted. No temp mount point. */
int ref_overlay_fd(const char *layers, int n, const char *upper, const char *work, const char *target, int userns) {
	int fsfd = syscall(SYS_fsopen, "overlay", 1);
	if (fsfd < 0) FAIL();
	/* the source, as mount(2) gets it and mountkit sets it */
	if (syscall(SYS_fsconfig, fsfd, REF_FSCONFIG_SET_STRING, "source", "overlay", 0) < 0) {
		int e = -errno;
		close(fsfd);
		return e;
	}
	char *list = strdup(layers), *save = NULL, *layer = strtok_r(list, ":", &save);
	/* the tree fds stay open until CMD_CREATE: a closed detached tree cannot be cloned by overlay */
	int *trees = calloc((size_t)n, sizeof *trees), opened = 0;
	int err = 0;
	for (int i = 0; i < n && layer && !err; i++, layer = strtok_r(NULL, ":", &save)) {
		int fd = idmapped_clone(layer, userns, REF_MOUNT_ATTR_RDONLY);
		if (fd < 0) { err = fd; break; }
		trees[opened++] = fd;
		if (syscall(SYS_fsconfig, fsfd, REF_FSCONFIG_SET_FD, "lowerdir+", NULL, fd) < 0) err = -errno;
	}
	free(list);
	if (!err && syscall(SYS_fsconfig, fsfd, REF_FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) err = -errno;
	if (!err && syscall(SYS_fsconfig, fsfd, REF_FSCONFIG_SET_STRING, "workdir", work, 0) < 0) err = -errno;
	if (!err && syscall(SYS_fsconfig, fsfd, REF_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) err = -errno;
	for (int i = 0; i < opened; i++) close(trees[i]);
	free(trees);
	int mfd = -1;
	if (!err && (mfd = syscall(SYS_fsmount, fsfd, 1, 0)) < 0) err = -errno;
	close(fsfd);
	if (err) return err;
	if ((err = attach(mfd, target))) return err;
	return umount2(target, 0) < 0 ? -errno : 0;
}
