/*
 * The C reference for scripts/bench-overlay.ts: the same workloads as mountkit's library,
 * by the same syscalls, written the way a careful C program would. Built at bench time into
 * scripts/bench/build/liboverlay_ref.so and called through bun:ffi, so that both contenders
 * run in one process and are measured alternately.
 *
 *   ref_overlay_fd      overlay options -> fsopen, fsconfig per option and per lowerdir+ layer
 *                       (an O_PATH fd past fsconfig's 256-byte value limit), CMD_CREATE,
 *                       fsmount, move_mount
 *   ref_overlay_legacy  overlay options -> one mount(2) string; from pagesize-512 bytes on,
 *                       containerd's compaction and the mount made from a new thread that did
 *                       unshare(CLONE_FS) and chdir (containerd's mountAt)
 *   ref_loop_mount      image -> LOOP_CTL_GET_FREE, LOOP_CONFIGURE (or LOOP_SET_FD +
 *                       LOOP_SET_STATUS64) with autoclear, mount(2), close the device fd
 *   ref_umount          umount2(target, 0)
 * Each returns 0, or -errno of the call that failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VALUE_MAX 256 /* fsconfig copies at most 256 bytes per value, NUL included */
#define COMPACTION_MARGIN 512

static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
    return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, flags, attrs); }
static int sys_move_mount(int from, const char *fp, int to, const char *tp, unsigned flags) {
    return (int)syscall(SYS_move_mount, from, fp, to, tp, flags);
}

/* The layers and the other options of an overlay, parsed like the kernel's lowerdir=. */
struct overlay {
    char **lowers;
    int nlowers;
    char *upper, *work;
    const char **other;
    int nother;
    char *storage;
};

static char *unescape(const char *s, size_t n) {
    char *out = malloc(n + 1), *d = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) i++;
        *d++ = s[i];
    }
    *d = 0;
    return out;
}

static void overlay_free(struct overlay *o) {
    for (int i = 0; i < o->nlowers; i++) free(o->lowers[i]);
    free(o->lowers);
    free(o->upper);
    free(o->work);
    free(o->other);
}

static int overlay_parse(const char *const *options, int n, struct overlay *o) {
    memset(o, 0, sizeof(*o));
    o->other = malloc(sizeof(char *) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const char *opt = options[i];
        if (!strncmp(opt, "lowerdir=", 9)) {
            const char *v = opt + 9;
            size_t len = strlen(v), start = 0;
            o->lowers = malloc(sizeof(char *) * (len / 2 + 2));
            for (size_t k = 0; k <= len; k++) {
                if (v[k] == '\\' && k + 1 < len) { k++; continue; }
                if (v[k] == ':' || v[k] == 0) {
                    o->lowers[o->nlowers++] = unescape(v + start, k - start);
                    start = k + 1;
                }
            }
        } else if (!strncmp(opt, "upperdir=", 9)) {
            o->upper = unescape(opt + 9, strlen(opt + 9));
        } else if (!strncmp(opt, "workdir=", 8)) {
            o->work = unescape(opt + 8, strlen(opt + 8));
        } else {
            o->other[o->nother++] = opt;
        }
    }
    return 0;
}

static int set_layer(int fsfd, const char *key, const char *path) {
    if (strlen(path) + 1 <= VALUE_MAX) return sys_fsconfig(fsfd, FSCONFIG_SET_STRING, key, path, 0);
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = sys_fsconfig(fsfd, FSCONFIG_SET_FD, key, NULL, fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return r;
}

int ref_overlay_fd(const char *source, const char *target, const char *const *options, int noptions) {
    struct overlay o;
    overlay_parse(options, noptions, &o);
    int ret = 0, fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC), mntfd = -1;
    if (fsfd < 0) { ret = -errno; goto out; }
#define TRY(call) do { if ((call) < 0) { ret = -errno; goto out; } } while (0)
    TRY(sys_fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0));
    for (int i = 0; i < o.nother; i++) {
        const char *eq = strchr(o.other[i], '=');
        if (!eq) {
            TRY(sys_fsconfig(fsfd, FSCONFIG_SET_FLAG, o.other[i], NULL, 0));
        } else {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(eq - o.other[i]), o.other[i]);
            TRY(sys_fsconfig(fsfd, FSCONFIG_SET_STRING, key, eq + 1, 0));
        }
    }
    for (int i = 0; i < o.nlowers; i++) TRY(set_layer(fsfd, "lowerdir+", o.lowers[i]));
    if (o.upper) TRY(set_layer(fsfd, "upperdir", o.upper));
    if (o.work) TRY(set_layer(fsfd, "workdir", o.work));
    TRY(sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0));
    TRY(mntfd = sys_fsmount(fsfd, FSMOUNT_CLOEXEC, 0));
    TRY(sys_move_mount(mntfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH));
#undef TRY
out:
    if (mntfd >= 0) close(mntfd);
    if (fsfd >= 0) close(fsfd);
    overlay_free(&o);
    return ret;
}

/* Append s to the buffer, escaping what the kernel's parser would split on. */
static size_t put_escaped(char *d, const char *s, const char *special) {
    size_t n = 0;
    for (; *s; s++) {
        if (strchr(special, *s)) d[n++] = '\\';
        d[n++] = *s;
    }
    return n;
}

static char *overlay_data(const struct overlay *o, const char *const *lowers) {
    size_t cap = 64;
    for (int i = 0; i < o->nlowers; i++) cap += 2 * strlen(lowers[i]) + 1;
    if (o->upper) cap += 2 * strlen(o->upper) + 10;
    if (o->work) cap += 2 * strlen(o->work) + 10;
    for (int i = 0; i < o->nother; i++) cap += strlen(o->other[i]) + 1;
    char *data = malloc(cap), *d = data;
    d += sprintf(d, "lowerdir=");
    for (int i = 0; i < o->nlowers; i++) {
        if (i) *d++ = ':';
        d += put_escaped(d, lowers[i], "\\:,");
    }
    if (o->upper) d += sprintf(d, ",upperdir="), d += put_escaped(d, o->upper, "\\,");
    if (o->work) d += sprintf(d, ",workdir="), d += put_escaped(d, o->work, "\\,");
    for (int i = 0; i < o->nother; i++) d += sprintf(d, ",%s", o->other[i]);
    *d = 0;
    return data;
}

/* containerd's compaction: the parent of the layers' longest common prefix, or NULL. */
static char *common_dir(char **layers, int n) {
    if (n <= 1) return NULL;
    size_t len = strlen(layers[0]);
    for (int i = 1; i < n; i++) {
        size_t k = 0;
        while (k < len && layers[i][k] == layers[0][k]) k++;
        len = k;
    }
    while (len > 0 && layers[0][len - 1] != '/') len--; /* path.Dir: up to the last slash */
    if (len <= 1) return NULL;                            /* "/" or nothing in common */
    for (int i = 0; i < n; i++)
        if (strlen(layers[i]) <= len) return NULL;
    char *dir = malloc(len + 1);
    memcpy(dir, layers[0], len);
    dir[len] = 0;
    return dir;
}

struct mount_at { const char *dir, *source, *target, *data; int ret; };

static void *mount_at_thread(void *arg) {
    struct mount_at *m = arg;
    if (unshare(CLONE_FS) < 0 || chdir(m->dir) < 0 || mount(m->source, m->target, "overlay", 0, m->data) < 0) m->ret = -errno;
    return NULL;
}

int ref_overlay_legacy(const char *source, const char *target, const char *const *options, int noptions) {
    struct overlay o;
    overlay_parse(options, noptions, &o);
    long page = sysconf(_SC_PAGESIZE);
    char *data = overlay_data(&o, (const char *const *)o.lowers), *dir = NULL;
    int ret = 0;
    if ((long)strlen(data) + 1 >= page - COMPACTION_MARGIN && (dir = common_dir(o.lowers, o.nlowers))) {
        size_t skip = strlen(dir);
        const char **relative = malloc(sizeof(char *) * (size_t)o.nlowers);
        for (int i = 0; i < o.nlowers; i++) relative[i] = o.lowers[i] + skip;
        free(data);
        data = overlay_data(&o, relative);
        free(relative);
    }
    if ((long)strlen(data) + 1 > page) {
        ret = -EINVAL;
    } else if (dir) {
        struct mount_at m = {dir, source, target, data, 0};
        pthread_t thread;
        if ((ret = -pthread_create(&thread, NULL, mount_at_thread, &m)) == 0) {
            pthread_join(thread, NULL);
            ret = m.ret;
        }
    } else if (mount(source, target, "overlay", 0, data) < 0) {
        ret = -errno;
    }
    free(dir);
    free(data);
    overlay_free(&o);
    return ret;
}

int ref_loop_mount(const char *image, const char *target, const char *fstype, unsigned long flags, int legacy) {
    int ro = (flags & MS_RDONLY) != 0, mode = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    int ret = 0, loopfd = -1, ctl = -1, backing = open(image, mode);
    char device[32];
    if (backing < 0) return -errno;
    if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0) { ret = -errno; goto out; }
    for (int attempt = 1; attempt < 100; attempt++) {
        int n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) { ret = -errno; goto out; }
        snprintf(device, sizeof device, "/dev/loop%d", n);
        if ((loopfd = open(device, mode)) < 0) { ret = -errno; goto out; }
        int r;
        if (!legacy) {
            struct loop_config config = {.fd = (unsigned)backing};
            config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
            snprintf((char *)config.info.lo_file_name, LO_NAME_SIZE, "%s", image);
            r = ioctl(loopfd, LOOP_CONFIGURE, &config);
        } else if ((r = ioctl(loopfd, LOOP_SET_FD, backing)) == 0) {
            struct loop_info64 info = {.lo_flags = LO_FLAGS_AUTOCLEAR};
            snprintf((char *)info.lo_file_name, LO_NAME_SIZE, "%s", image);
            if ((r = ioctl(loopfd, LOOP_SET_STATUS64, &info)) < 0) {
                int saved = errno;
                ioctl(loopfd, LOOP_CLR_FD, 0);
                errno = saved;
            }
        }
        if (r == 0) break;
        ret = -errno;
        close(loopfd);
        loopfd = -1;
        if (ret != -EBUSY) goto out;
        usleep((useconds_t)(rand() % (attempt * 10 + 1)) * 1000);
    }
    if (loopfd < 0) goto out;
    ret = 0;
    if (mount(device, target, fstype, flags, NULL) < 0) {
        ret = -errno;
        ioctl(loopfd, LOOP_CLR_FD, 0);
    }
out:
    if (loopfd >= 0) close(loopfd);
    if (ctl >= 0) close(ctl);
    close(backing);
    return ret;
}

int ref_umount(const char *target) { return umount2(target, 0) < 0 ? -errno : 0; }
