/*
 * mountbench: the kernel floor for scripts/bench.ts. Runs one operation in a loop for a
 * given time, timing each operation with CLOCK_MONOTONIC, and prints one latency in
 * nanoseconds per line on stdout. The operations are the raw syscalls that mountkit's
 * workloads make, written the way a careful C program would, or commands run one after
 * another (posix_spawn + waitpid) for the CLI contenders.
 *
 *   mountbench MS MODE ARGS...
 *     tmpfs TARGET                mount("none", TARGET, "tmpfs", 0, NULL); umount2(TARGET, 0)
 *     bind SOURCE TARGET          mount(SOURCE, TARGET, NULL, MS_BIND, NULL); umount2
 *     bind-ro SOURCE TARGET       the bind, then mount(NULL, TARGET, NULL, MS_REMOUNT|MS_BIND|MS_RDONLY, NULL); umount2
 *     mountinfo PATH              read /proc/thread-self/mountinfo whole, find PATH's last line
 *     statx PATH                  statx(AT_FDCWD, PATH, AT_NO_AUTOMOUNT, STATX_MNT_ID).stx_mnt_id
 *     overlay-fd TARGET OPTION... the options parsed (lowerdir= split at unescaped colons), then
 *                                 fsopen, fsconfig per option and per lowerdir+ layer (an O_PATH
 *                                 fd past fsconfig's 256-byte value limit), CMD_CREATE, fsmount,
 *                                 move_mount; umount2
 *     overlay-legacy TARGET OPTION...
 *                                 one mount(2) string; from pagesize-512 bytes on, containerd's
 *                                 compaction and the mount made from a new thread that did
 *                                 unshare(CLONE_FS) + chdir (containerd's mountAt); umount2
 *     loop IMAGE TARGET FSTYPE ro|rw
 *                                 the look for a device attached to IMAGE already (/proc/partitions,
 *                                 sysfs, LOOP_GET_STATUS64: mount(8)'s reuse), LOOP_CTL_GET_FREE,
 *                                 LOOP_CONFIGURE with autoclear, mount(2), close the device fd;
 *                                 umount2 (the kernel frees the device)
 *     loop-legacy IMAGE TARGET FSTYPE ro|rw
 *                                 the same with LOOP_SET_FD + LOOP_SET_STATUS64
 *     userns UIDMAP GIDMAP        a user namespace fd from a CLONE_VM child that exits at once (maps in
 *                                 mountkit's "inside:outside:count[,...]" form), child reaped, fd closed
 *     idmap-bind SOURCE TARGET UIDMAP GIDMAP
 *                                 open_tree(CLONE), mount_setattr(IDMAP), move_mount; umount2
 *                                 (the namespace is made once, before timing, as mountkit caches it)
 *     idmap-overlay-fd TARGET UPPER WORK UIDMAP GIDMAP LAYER...
 *                                 one idmapped read-only clone of the layers' parent, each layer
 *                                 opened in it (openat2, checked as mountkit checks it) and given
 *                                 to overlay as a lowerdir+ fd; CMD_CREATE; fsmount; move_mount;
 *                                 umount2
 *     idmap-overlay-legacy TARGET UPPER WORK UIDMAP GIDMAP TMPBASE LAYER...
 *                                 each layer idmapped read-only into a temp dir under TMPBASE,
 *                                 mount(2) of the overlay on them (compacted from pagesize-512
 *                                 bytes on, as overlay-legacy), temp mounts and dirs removed; umount2
 *     apply ROOT SOURCE N         mount ROOT/m1..mN in order (odd: tmpfs "size=64k", even: a bind
 *                                 of SOURCE), then umount2 each, newest first
 *     exec [NAME=VALUE]... ARGV... [\; [NAME=VALUE]... ARGV...]
 *                                 run each command, in order, per operation, with the
 *                                 assignments added to its environment; any failure stops
 *
 * MS is the measuring time in milliseconds; at least 3 operations run. Any failure exits 1
 * with the call and errno named. Built by scripts/bench.ts with `cc -O2` into scripts/bench/build/;
 * scripts/bench-in-process.ts builds it with -DMOUNTBENCH_SHARED as a shared object instead,
 * whose mountbench_select/run/end make the same operations inside a Bun process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x1000U
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The fd mount API, numbered here so that old headers do not matter. */
#define OPEN_TREE_CLONE_ 1
#define MOUNT_ATTR_RDONLY_ 0x1
#define MOUNT_ATTR_IDMAP_ 0x100000
#define MOVE_MOUNT_F_EMPTY_PATH_ 0x4
#define FSOPEN_CLOEXEC_ 1
#define FSMOUNT_CLOEXEC_ 1
#define FSCONFIG_SET_FLAG_ 0
#define FSCONFIG_SET_STRING_ 1
#define FSCONFIG_SET_FD_ 5
#define FSCONFIG_CMD_CREATE_ 6
struct mount_attr_ {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

#define VALUE_MAX 256 /* fsconfig copies at most 256 bytes per value, NUL included */
#define COMPACTION_MARGIN 512

extern char **environ;


static void die(const char *what, const char *path) {
  fprintf(stderr, "mountbench: %s %s: %s\n", what, path ? path : "", strerror(errno));
  exit(1);
}

/* errno from a helper that returns -errno */
static void check(int ret, const char *what, const char *path) {
  if (ret < 0) {
    errno = -ret;
    die(what, path);
  }
}

static void umount_or_die(const char *target) {
  if (umount2(target, 0) != 0) die("umount2", target);
}

/* The mode's arguments after MODE. */
static char **arg;
static int nargs;

/* ---- plain mounts ---------------------------------------------------------------------- */

static void op_tmpfs(void) {
  if (mount("none", arg[0], "tmpfs", 0, NULL) != 0) die("mount tmpfs on", arg[0]);
  umount_or_die(arg[0]);
}

static void op_bind(void) {
  if (mount(arg[0], arg[1], NULL, MS_BIND, NULL) != 0) die("bind mount on", arg[1]);
  umount_or_die(arg[1]);
}

static void op_bind_ro(void) {
  if (mount(arg[0], arg[1], NULL, MS_BIND, NULL) != 0) die("bind mount on", arg[1]);
  if (mount(NULL, arg[1], NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) die("read-only remount of", arg[1]);
  umount_or_die(arg[1]);
}

/* ---- mount table ----------------------------------------------------------------------- */

static char *table;
static size_t table_cap;
static volatile size_t sink;

/* Read the whole mount table, then find the last line whose mount point (field 5) is PATH. */
static void op_mountinfo(void) {
  int fd = open("/proc/thread-self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open", "/proc/thread-self/mountinfo");
  size_t len = 0;
  for (;;) {
    if (table_cap - len < 65536) {
      table_cap = table_cap ? table_cap * 2 : 1 << 20;
      table = realloc(table, table_cap);
      if (!table) die("realloc", NULL);
    }
    ssize_t n = read(fd, table + len, table_cap - len - 1);
    if (n < 0) die("read", "/proc/thread-self/mountinfo");
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  table[len] = '\0';
  size_t want = strlen(arg[0]), found = 0;
  for (char *line = table; line < table + len;) {
    char *end = memchr(line, '\n', (size_t)(table + len - line));
    if (!end) end = table + len;
    char *field = line;
    for (int i = 0; i < 4 && field; i++) {
      field = memchr(field, ' ', (size_t)(end - field));
      if (field) field++;
    }
    if (field && (size_t)(end - field) > want && memcmp(field, arg[0], want) == 0 && field[want] == ' ') {
      found = (size_t)(line - table) + 1;
    }
    line = end + 1;
  }
  if (!found) {
    errno = ENOENT;
    die("no mount at", arg[0]);
  }
  sink = found;
}

static void op_statx(void) {
  struct statx st;
  if (statx(AT_FDCWD, arg[0], AT_NO_AUTOMOUNT, STATX_MNT_ID, &st) != 0) die("statx", arg[0]);
  sink = st.stx_mnt_id;
}

/* ---- overlay ----------------------------------------------------------------------------- */

static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs) { return (int)syscall(SYS_fsmount, fd, flags, attrs); }
static int sys_move_mount(int from, const char *fp, int to, const char *tp, unsigned flags) {
  return (int)syscall(SYS_move_mount, from, fp, to, tp, flags);
}

/* The layers and the other options of an overlay, parsed like the kernel parses lowerdir=. */
struct overlay {
  char **lowers;
  int nlowers;
  char *upper, *work;
  const char **other;
  int nother;
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

static void overlay_parse(char *const *options, int n, struct overlay *o) {
  memset(o, 0, sizeof(*o));
  o->other = malloc(sizeof(char *) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    const char *opt = options[i];
    if (!strncmp(opt, "lowerdir=", 9)) {
      const char *v = opt + 9;
      size_t len = strlen(v), start = 0;
      o->lowers = malloc(sizeof(char *) * (len / 2 + 2));
      for (size_t k = 0; k <= len; k++) {
        if (v[k] == '\\' && k + 1 < len) {
          k++;
          continue;
        }
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
}

static int set_layer(int fsfd, const char *key, const char *path) {
  if (strlen(path) + 1 <= VALUE_MAX) return sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, key, path, 0);
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = sys_fsconfig(fsfd, FSCONFIG_SET_FD_, key, NULL, fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return r;
}

#define TRY(call)      \
  do {                 \
    if ((call) < 0) {  \
      ret = -errno;    \
      goto out;        \
    }                  \
  } while (0)

static int overlay_fd(const char *target, char *const *options, int noptions) {
  struct overlay o;
  overlay_parse(options, noptions, &o);
  int ret = 0, fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC_), mntfd = -1;
  if (fsfd < 0) {
    ret = -errno;
    goto out;
  }
  TRY(sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, "source", "overlay", 0));
  for (int i = 0; i < o.nother; i++) {
    const char *eq = strchr(o.other[i], '=');
    if (!eq) {
      TRY(sys_fsconfig(fsfd, FSCONFIG_SET_FLAG_, o.other[i], NULL, 0));
    } else {
      char key[64];
      snprintf(key, sizeof key, "%.*s", (int)(eq - o.other[i]), o.other[i]);
      TRY(sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, key, eq + 1, 0));
    }
  }
  for (int i = 0; i < o.nlowers; i++) TRY(set_layer(fsfd, "lowerdir+", o.lowers[i]));
  if (o.upper) TRY(set_layer(fsfd, "upperdir", o.upper));
  if (o.work) TRY(set_layer(fsfd, "workdir", o.work));
  TRY(sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE_, NULL, NULL, 0));
  TRY(mntfd = sys_fsmount(fsfd, FSMOUNT_CLOEXEC_, 0));
  TRY(sys_move_mount(mntfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_));
out:
  if (mntfd >= 0) close(mntfd);
  if (fsfd >= 0) close(fsfd);
  overlay_free(&o);
  return ret;
}

/* Append s to d, escaping what the kernel's parser would split on. */
static size_t put_escaped(char *d, const char *s, const char *special) {
  size_t n = 0;
  for (; *s; s++) {
    if (strchr(special, *s)) d[n++] = '\\';
    d[n++] = *s;
  }
  return n;
}

static char *overlay_data(const struct overlay *o, char *const *lowers) {
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

struct mount_at {
  const char *dir, *target, *data;
  int ret;
};

static void *mount_at_thread(void *p) {
  struct mount_at *m = p;
  if (unshare(CLONE_FS) < 0 || chdir(m->dir) < 0 || mount("overlay", m->target, "overlay", 0, m->data) < 0) m->ret = -errno;
  return NULL;
}

static int overlay_legacy(const char *target, char *const *options, int noptions) {
  struct overlay o;
  overlay_parse(options, noptions, &o);
  long page = sysconf(_SC_PAGESIZE);
  char *data = overlay_data(&o, o.lowers), *dir = NULL;
  int ret = 0;
  if ((long)strlen(data) + 1 >= page - COMPACTION_MARGIN && (dir = common_dir(o.lowers, o.nlowers))) {
    size_t skip = strlen(dir);
    char **relative = malloc(sizeof(char *) * (size_t)o.nlowers);
    for (int i = 0; i < o.nlowers; i++) relative[i] = o.lowers[i] + skip;
    free(data);
    data = overlay_data(&o, relative);
    free(relative);
  }
  if ((long)strlen(data) + 1 > page) {
    ret = -EINVAL;
  } else if (dir) {
    struct mount_at m = {dir, target, data, 0};
    pthread_t thread;
    if ((ret = -pthread_create(&thread, NULL, mount_at_thread, &m)) == 0) {
      pthread_join(thread, NULL);
      ret = m.ret;
    }
  } else if (mount("overlay", target, "overlay", 0, data) < 0) {
    ret = -errno;
  }
  free(dir);
  free(data);
  overlay_free(&o);
  return ret;
}

static void op_overlay_fd(void) {
  check(overlay_fd(arg[0], arg + 1, nargs - 1), "fd overlay mount on", arg[0]);
  umount_or_die(arg[0]);
}

static void op_overlay_legacy(void) {
  check(overlay_legacy(arg[0], arg + 1, nargs - 1), "legacy overlay mount on", arg[0]);
  umount_or_die(arg[0]);
}

/* ---- loop devices ------------------------------------------------------------------------ */

/*
 * As mount(8) since util-linux 2.29: an open fd on the loop device already attached to IMAGE
 * over the whole file (found through /proc/partitions and LOOP_GET_STATUS64: the same device
 * and inode, as util-linux's loopcxt_is_used), its name in device; -1 when there is none.
 */
static int attached_loop_of(const char *image, char *device, size_t size) {
  char partitions[16384];
  int fd = open("/proc/partitions", O_RDONLY | O_CLOEXEC), have_stat = 0;
  struct stat st;
  if (fd < 0) return -1;
  ssize_t length = read(fd, partitions, sizeof partitions - 1);
  close(fd);
  if (length <= 0) return -1;
  partitions[length] = 0;
  for (char *line = strtok(partitions, "\n"); line; line = strtok(NULL, "\n")) {
    unsigned number;
    char name[32], tail;
    if (sscanf(line, " %*u %*u %*u %31s", name) != 1 || sscanf(name, "loop%u%c", &number, &tail) != 1) continue;
    if (!have_stat && !(have_stat = stat(image, &st) == 0)) return -1;
    struct loop_info64 info;
    snprintf(device, size, "/dev/%s", name);
    int loopfd = open(device, O_RDONLY | O_CLOEXEC);
    if (loopfd < 0) continue;
    if (ioctl(loopfd, LOOP_GET_STATUS64, &info) == 0 && info.lo_inode == st.st_ino && info.lo_device == st.st_dev &&
        info.lo_offset == 0 && info.lo_sizelimit == 0)
      return loopfd;
    close(loopfd);
  }
  return -1;
}

/* Attach IMAGE to a free loop device with autoclear (or reuse its device) and mount it; -errno on failure. */
static int loop_mount(const char *image, const char *target, const char *fstype, int ro, int legacy) {
  int mode = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  char device[48];
  int reused = attached_loop_of(image, device, sizeof device);
  if (reused >= 0) {
    int ret = mount(device, target, fstype, ro ? MS_RDONLY : 0, NULL) < 0 ? -errno : 0;
    close(reused);
    return ret;
  }
  int ret = 0, loopfd = -1, ctl = -1, backing = open(image, mode);
  if (backing < 0) return -errno;
  if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0) {
    ret = -errno;
    goto out;
  }
  for (int attempt = 1; attempt < 100; attempt++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      ret = -errno;
      goto out;
    }
    snprintf(device, sizeof device, "/dev/loop%d", n);
    if ((loopfd = open(device, mode)) < 0) {
      ret = -errno;
      goto out;
    }
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
    if (ret != -EBUSY) goto out; /* EBUSY: another process took the device first; try the next */
    usleep((useconds_t)(rand() % (attempt * 10 + 1)) * 1000);
  }
  if (loopfd < 0) goto out;
  ret = 0;
  if (mount(device, target, fstype, ro ? MS_RDONLY : 0, NULL) < 0) {
    ret = -errno;
    ioctl(loopfd, LOOP_CLR_FD, 0);
  }
out:
  if (loopfd >= 0) close(loopfd); /* after the mount: autoclear frees the device at umount */
  if (ctl >= 0) close(ctl);
  close(backing);
  return ret;
}

static int loop_ro;

static void op_loop(void) {
  check(loop_mount(arg[0], arg[1], arg[2], loop_ro, 0), "loop mount on", arg[1]);
  umount_or_die(arg[1]);
}

static void op_loop_legacy(void) {
  check(loop_mount(arg[0], arg[1], arg[2], loop_ro, 1), "legacy loop mount on", arg[1]);
  umount_or_die(arg[1]);
}

/* ---- user namespaces and idmapped mounts --------------------------------------------------- */

static char child_stack[64 * 1024] __attribute__((aligned(16)));

/* The child's whole life: it exits at once, a zombie (which keeps its namespaces) until reaped. */
static int exit_at_once(void *unused) {
  (void)unused;
  return 0;
}

/* One write of all of text to an open proc file; -errno, or -EIO when short. */
static int write_all(int fd, const char *text) {
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  return n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
}

static int open_child_file(pid_t pid, const char *name, int flags) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  return open(path, flags | O_CLOEXEC);
}

/* "0:100000:65536,..." (mountkit's option form) -> "0 100000 65536\n..." (the proc file's) */
static char *map_file_text(const char *option) {
  char *text = malloc(strlen(option) + 2), *d = text;
  for (const char *s = option; *s; s++) *d++ = *s == ':' ? ' ' : *s == ',' ? '\n' : *s;
  *d++ = '\n';
  *d = 0;
  return text;
}

/* A user namespace fd, in mountkit's order (src/ops/userns.ts): a CLONE_VM child that exits
 * at once; its map files and namespace opened (a zombie's still name its namespace); the maps
 * written through the open files; the child reaped through its pidfd. -errno on failure. */
static int userns_fd(const char *uid_map, const char *gid_map) {
  int pidfd = -1;
  pid_t pid = clone(exit_at_once, child_stack + sizeof child_stack, CLONE_NEWUSER | CLONE_VM | CLONE_PIDFD, NULL, &pidfd);
  if (pid < 0) return -errno;
  int uid_fd = open_child_file(pid, "uid_map", O_WRONLY);
  int setgroups_fd = open_child_file(pid, "setgroups", O_WRONLY);
  int gid_fd = open_child_file(pid, "gid_map", O_WRONLY);
  int fd = open_child_file(pid, "ns/user", O_RDONLY);
  int err = uid_fd < 0 || setgroups_fd < 0 || gid_fd < 0 || fd < 0 ? -errno : 0;
  if (!err) err = write_all(uid_fd, uid_map);
  if (!err) err = write_all(setgroups_fd, "deny");
  if (!err) err = write_all(gid_fd, gid_map);
  if (uid_fd >= 0) close(uid_fd);
  if (setgroups_fd >= 0) close(setgroups_fd);
  if (gid_fd >= 0) close(gid_fd);
  siginfo_t info;
  while (waitid(P_PIDFD, pidfd, &info, WEXITED | __WALL) < 0 && errno == EINTR) {
  }
  close(pidfd);
  if (err && fd >= 0) close(fd);
  return err ? err : fd;
}

static char *uid_text, *gid_text;
static int userns = -1;

static void op_userns(void) {
  int fd = userns_fd(uid_text, gid_text);
  check(fd, "user namespace for", arg[0]);
  close(fd);
}

/* A detached idmapped clone of src with propagation (0: the source's): its fd, or -errno. */
static int idmapped_clone(const char *src, uint64_t attrs, uint64_t propagation) {
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE_ | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct mount_attr_ attr = {.attr_set = MOUNT_ATTR_IDMAP_ | attrs, .propagation = propagation, .userns_fd = (uint64_t)userns};
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  return fd;
}

/* Attach a detached tree at target and close its fd. */
static int attach(int fd, const char *target) {
  int err = sys_move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH_) < 0 ? -errno : 0;
  close(fd);
  return err;
}

static void op_idmap_bind(void) {
  /* private, as mountkit makes a uidmap= bind's clone (containerd's IDMapMount) */
  int fd = idmapped_clone(arg[0], 0, MS_PRIVATE);
  check(fd, "idmapped clone of", arg[0]);
  check(attach(fd, arg[1]), "move_mount to", arg[1]);
  umount_or_die(arg[1]);
}

/* idmap-overlay-*: TARGET UPPER WORK UIDMAP GIDMAP [TMPBASE] LAYER... */
static char **layers;
static int nlayers;

/* The layers' common parent (by whole path components) and each layer's path below it, as
 * mountkit plans them (src/plan/idmap-tree.ts); NULL when the layers do not share one. */
static char *shared_parent;
static char **below_parent;

static void prepare_shared_parent(void) {
  if (nlayers < 2) return;
  size_t end = strlen(layers[0]);
  for (int i = 1; i < nlayers; i++) {
    size_t k = 0;
    while (k < end && layers[i][k] == layers[0][k]) k++;
    if (k < end || (layers[i][k] != '/' && layers[i][k] != 0)) { /* back to the last '/' both share */
      while (k > 0 && layers[0][k] != '/') k--;
    }
    end = k;
  }
  shared_parent = end == 0 ? strdup("/") : strndup(layers[0], end);
  below_parent = calloc((size_t)nlayers, sizeof *below_parent);
  for (int i = 0; i < nlayers; i++) {
    const char *rest = layers[i] + (end == 0 ? 1 : end + 1);
    below_parent[i] = strlen(layers[i]) == end ? "." : (char *)rest;
  }
}

struct open_how_ {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_XDEV_ 0x01
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_BENEATH_ 0x08
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x1000
#endif

static int identity(int dfd, const char *path, int flags, struct statx *st) {
  return statx(dfd, path, flags, STATX_INO | STATX_MNT_ID, st);
}

/* Layer i from the shared clone, checked as mountkit checks it (src/ops/idmap-shared.ts):
 * the same mount as the parent, opened beneath the clone, the same device and inode; else its
 * own idmapped clone. */
static int layer_fd(int tree, uint64_t parent_mnt, uint64_t clone_mnt, int i) {
  struct statx want, got;
  if (tree >= 0 && identity(AT_FDCWD, layers[i], 0, &want) == 0 && want.stx_mnt_id == parent_mnt) {
    struct open_how_ how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH_ | RESOLVE_NO_XDEV_ | RESOLVE_NO_MAGICLINKS_};
    int fd = (int)syscall(SYS_openat2, tree, below_parent[i], &how, sizeof how);
    if (fd >= 0) {
      if (identity(fd, "", AT_EMPTY_PATH, &got) == 0 && got.stx_mnt_id == clone_mnt && got.stx_ino == want.stx_ino &&
          got.stx_dev_major == want.stx_dev_major && got.stx_dev_minor == want.stx_dev_minor) {
        return fd;
      }
      close(fd);
    }
  }
  return idmapped_clone(layers[i], MOUNT_ATTR_RDONLY_, 0);
}

/* The shared idmapped read-only clone of the parent, or -1 (refused: each layer its own). */
static int shared_clone(uint64_t *parent_mnt, uint64_t *clone_mnt) {
  struct statx st;
  if (!shared_parent || identity(AT_FDCWD, shared_parent, 0, &st) != 0) return -1;
  *parent_mnt = st.stx_mnt_id;
  int tree = idmapped_clone(shared_parent, MOUNT_ATTR_RDONLY_, 0);
  if (tree < 0) return -1;
  if (identity(tree, "", AT_EMPTY_PATH, &st) != 0) {
    close(tree);
    return -1;
  }
  *clone_mnt = st.stx_mnt_id;
  return tree;
}

static int idmap_overlay_fd(const char *target, const char *upper, const char *work) {
  int fsfd = sys_fsopen("overlay", FSOPEN_CLOEXEC_);
  if (fsfd < 0) return -errno;
  /* the tree fds stay open until CMD_CREATE: a closed detached tree cannot be cloned by overlay */
  int *trees = calloc((size_t)nlayers, sizeof *trees), opened = 0, err = 0, mfd = -1;
  uint64_t parent_mnt = 0, clone_mnt = 0;
  int tree = shared_clone(&parent_mnt, &clone_mnt);
  if (sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, "source", "overlay", 0) < 0) err = -errno;
  for (int i = 0; i < nlayers && !err; i++) {
    int fd = layer_fd(tree, parent_mnt, clone_mnt, i);
    if (fd < 0) {
      err = fd;
      break;
    }
    trees[opened++] = fd;
    if (sys_fsconfig(fsfd, FSCONFIG_SET_FD_, "lowerdir+", NULL, fd) < 0) err = -errno;
  }
  if (!err && sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, "upperdir", upper, 0) < 0) err = -errno;
  if (!err && sys_fsconfig(fsfd, FSCONFIG_SET_STRING_, "workdir", work, 0) < 0) err = -errno;
  if (!err && sys_fsconfig(fsfd, FSCONFIG_CMD_CREATE_, NULL, NULL, 0) < 0) err = -errno;
  for (int i = 0; i < opened; i++) close(trees[i]);
  free(trees);
  if (tree >= 0) close(tree);
  if (!err && (mfd = sys_fsmount(fsfd, FSMOUNT_CLOEXEC_, 0)) < 0) err = -errno;
  close(fsfd);
  if (err) return err;
  return attach(mfd, target);
}

/* The temp dirs are named as mountkit names them (mountkit-idmap-<pid>-<n>-<random>), so that
 * both reach the compaction threshold at the same layer count. */
static int idmap_sequence;

/* Layer i as mountkit's legacy strategy takes it (src/ops/idmap-shared-temp.ts): a symlink
 * "layers/<below parent>" at temp when it is the same directory through the shared temp mount,
 * on that mount, and on the parent's mount; else its own idmapped read-only temp mount there.
 * *linked says which, for the cleanup. */
static int legacy_layer(const char *shared_dir, uint64_t parent_mnt, uint64_t clone_mnt, int i, const char *temp, int *linked) {
  struct statx want, got;
  char via[8400], target[4200];
  *linked = 0;
  if (clone_mnt && identity(AT_FDCWD, layers[i], 0, &want) == 0 && want.stx_mnt_id == parent_mnt) {
    int whole = !strcmp(below_parent[i], ".");
    snprintf(via, sizeof via, "%s%s%s", shared_dir, whole ? "" : "/", whole ? "" : below_parent[i]);
    if (identity(AT_FDCWD, via, 0, &got) == 0 && got.stx_mnt_id == clone_mnt && got.stx_ino == want.stx_ino &&
        got.stx_dev_major == want.stx_dev_major && got.stx_dev_minor == want.stx_dev_minor) {
      snprintf(target, sizeof target, "layers%s%s", whole ? "" : "/", whole ? "" : below_parent[i]);
      if (symlink(target, temp) < 0) return -errno;
      *linked = 1;
      return 0;
    }
  }
  if (mkdir(temp, 0700) < 0) return -errno;
  int fd = idmapped_clone(layers[i], MOUNT_ATTR_RDONLY_, 0);
  if (fd < 0) {
    rmdir(temp);
    return fd;
  }
  return attach(fd, temp);
}

static int idmap_overlay_legacy(const char *target, const char *upper, const char *work, const char *tmpbase) {
  char dir[4096], temp[4200], shared_dir[4200];
  snprintf(dir, sizeof dir, "%s/mountkit-idmap-%d-%d-XXXXXX", tmpbase, (int)getpid(), ++idmap_sequence);
  if (!mkdtemp(dir)) return -errno;
  size_t cap = 64 + (size_t)nlayers * (strlen(dir) + 8) + strlen(upper) + strlen(work);
  char *data = malloc(cap), *relative = malloc(cap);
  int *linked = calloc((size_t)nlayers + 1, sizeof *linked);
  size_t len = (size_t)snprintf(data, cap, "lowerdir="), rlen = (size_t)snprintf(relative, cap, "lowerdir=");
  int err = 0, made = 0, shared = 0;
  uint64_t parent_mnt = 0, clone_mnt = 0;
  /* two layers or more: one idmapped read-only temp mount of their parent (containerd#12092) */
  snprintf(shared_dir, sizeof shared_dir, "%s/layers", dir);
  if (shared_parent) {
    if (mkdir(shared_dir, 0700) < 0) err = -errno;
    int tree = err ? -1 : shared_clone(&parent_mnt, &clone_mnt);
    if (tree >= 0) shared = attach(tree, shared_dir) == 0;
    if (!shared) clone_mnt = 0;
  }
  for (int i = 0; i < nlayers && !err; i++) {
    snprintf(temp, sizeof temp, "%s/%d", dir, i);
    if ((err = legacy_layer(shared_dir, parent_mnt, clone_mnt, i, temp, &linked[i]))) break;
    made++;
    len += (size_t)snprintf(data + len, cap - len, "%s%s", i ? ":" : "", temp);
    rlen += (size_t)snprintf(relative + rlen, cap - rlen, "%s%d", i ? ":" : "", i);
  }
  if (!err) {
    len += (size_t)snprintf(data + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
    snprintf(relative + rlen, cap - rlen, ",upperdir=%s,workdir=%s", upper, work);
    if ((long)len + 1 < sysconf(_SC_PAGESIZE) - COMPACTION_MARGIN) {
      if (mount("overlay", target, "overlay", 0, data) < 0) err = -errno;
    } else {
      /* containerd's compaction: the layers relative to the temp dir, mounted from a thread there */
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
    if (linked[i]) {
      unlink(temp);
    } else {
      umount2(temp, 0);
      rmdir(temp);
    }
  }
  if (shared) umount2(shared_dir, 0);
  if (shared_parent) rmdir(shared_dir);
  rmdir(dir);
  free(linked);
  free(data);
  free(relative);
  return err;
}

static void op_idmap_overlay_fd(void) {
  check(idmap_overlay_fd(arg[0], arg[1], arg[2]), "idmapped fd overlay on", arg[0]);
  umount_or_die(arg[0]);
}

static void op_idmap_overlay_legacy(void) {
  check(idmap_overlay_legacy(arg[0], arg[1], arg[2], arg[5]), "idmapped legacy overlay on", arg[0]);
  umount_or_die(arg[0]);
}

/* ---- many mounts ---------------------------------------------------------------------------- */

static char **apply_targets;
static int apply_count;

static void op_apply(void) {
  for (int i = 1; i <= apply_count; i++) {
    const char *t = apply_targets[i - 1];
    int r = i % 2 ? mount("bench", t, "tmpfs", 0, "size=64k") : mount(arg[1], t, NULL, MS_BIND, NULL);
    if (r != 0) die("mount on", t);
  }
  for (int i = apply_count; i >= 1; i--) umount_or_die(apply_targets[i - 1]);
}

/* ---- commands --------------------------------------------------------------------------------- */

struct command {
  char **argv;
  char **envp;
};
static struct command *commands;
static int ncommands;

static posix_spawn_file_actions_t quiet; /* stdout to /dev/null: only the exit status counts */

static void op_exec(void) {
  for (int i = 0; i < ncommands; i++) {
    pid_t pid;
    int err = posix_spawn(&pid, commands[i].argv[0], &quiet, NULL, commands[i].argv, commands[i].envp);
    if (err != 0) {
      errno = err;
      die("spawn", commands[i].argv[0]);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) die("waitpid", commands[i].argv[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "mountbench: %s failed (status 0x%x)\n", commands[i].argv[0], status);
      exit(1);
    }
  }
}

/* environ with the assignments added, replacing a variable of the same name. */
static char **environment_with(char **assignments, int n) {
  if (n == 0) return environ;
  int count = 0;
  while (environ[count]) count++;
  char **envp = malloc(sizeof(char *) * (size_t)(count + n + 1));
  int k = 0;
  for (int i = 0; i < n; i++) envp[k++] = assignments[i];
  for (int i = 0; i < count; i++) {
    int replaced = 0;
    for (int j = 0; j < n && !replaced; j++) {
      size_t name = (size_t)(strchr(assignments[j], '=') - assignments[j]) + 1;
      replaced = strncmp(environ[i], assignments[j], name) == 0;
    }
    if (!replaced) envp[k++] = environ[i];
  }
  envp[k] = NULL;
  return envp;
}

/* Split ARGS at ";" into commands, each with its leading NAME=VALUE assignments. */
static void parse_commands(char **args, int n) {
  commands = calloc((size_t)n + 1, sizeof *commands);
  int start = 0;
  for (int i = 0; i <= n; i++) {
    if (i < n && strcmp(args[i], ";") != 0) continue;
    if (i < n) args[i] = NULL;
    int assignments = 0;
    while (start + assignments < i && args[start + assignments][0] != '/' && strchr(args[start + assignments], '=')) assignments++;
    if (start + assignments == i) {
      fprintf(stderr, "mountbench: exec: an empty command\n");
      exit(2);
    }
    commands[ncommands].argv = &args[start + assignments];
    commands[ncommands].envp = environment_with(&args[start], assignments);
    ncommands++;
    start = i + 1;
  }
}

/* ---- main ---------------------------------------------------------------------------------------- */

struct mode {
  const char *name;
  int min_args; /* after MODE */
  void (*op)(void);
};

static const struct mode MODES[] = {
    {"tmpfs", 1, op_tmpfs},
    {"bind", 2, op_bind},
    {"bind-ro", 2, op_bind_ro},
    {"mountinfo", 1, op_mountinfo},
    {"statx", 1, op_statx},
    {"overlay-fd", 2, op_overlay_fd},
    {"overlay-legacy", 2, op_overlay_legacy},
    {"loop", 4, op_loop},
    {"loop-legacy", 4, op_loop_legacy},
    {"userns", 2, op_userns},
    {"idmap-bind", 4, op_idmap_bind},
    {"idmap-overlay-fd", 6, op_idmap_overlay_fd},
    {"idmap-overlay-legacy", 7, op_idmap_overlay_legacy},
    {"apply", 3, op_apply},
    {"exec", 1, op_exec},
};


/* What a mode prepares before timing starts (the same that mountkit prepares once per process). */
static void prepare(const char *mode) {
  if (!strcmp(mode, "loop") || !strcmp(mode, "loop-legacy")) {
    loop_ro = !strcmp(arg[3], "ro");
  } else if (!strcmp(mode, "userns")) {
    uid_text = map_file_text(arg[0]);
    gid_text = map_file_text(arg[1]);
  } else if (!strcmp(mode, "idmap-bind") || !strncmp(mode, "idmap-overlay-", 14)) {
    int maps = !strcmp(mode, "idmap-bind") ? 2 : 3;
    uid_text = map_file_text(arg[maps]);
    gid_text = map_file_text(arg[maps + 1]);
    userns = userns_fd(uid_text, gid_text); /* mountkit caches one per mapping pair too */
    check(userns, "user namespace for", arg[maps]);
    int first_layer = !strcmp(mode, "idmap-overlay-legacy") ? 6 : 5;
    layers = arg + first_layer;
    nlayers = nargs - first_layer;
    prepare_shared_parent(); /* both strategies share one clone of the layers' parent */
  } else if (!strcmp(mode, "apply")) {
    apply_count = atoi(arg[2]);
    apply_targets = malloc(sizeof(char *) * (size_t)(apply_count > 0 ? apply_count : 1));
    for (int i = 1; i <= apply_count; i++) {
      if (asprintf(&apply_targets[i - 1], "%s/m%d", arg[0], i) < 0) die("asprintf", NULL);
    }
  } else if (!strcmp(mode, "exec")) {
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    parse_commands(arg, nargs);
  }
}

#ifdef MOUNTBENCH_SHARED
/*
 * Built with -DMOUNTBENCH_SHARED -shared (scripts/bench-in-process.ts): the same operations
 * called in-process through bun:ffi, so the C floor and the library run interleaved in one
 * process, under the same conditions. Failures still exit the process (die), naming the call.
 */
static void (*selected)(void);

/* MODE ARGS...: the arguments are copied; 0, or -1 for an unknown mode or too few arguments. */
int mountbench_select(int argc, char **argv) {
  if (argc < 1) return -1;
  char **copy = calloc((size_t)argc, sizeof *copy);
  if (!copy) die("calloc", NULL);
  for (int i = 0; i < argc; i++) {
    copy[i] = strdup(argv[i]);
    if (!copy[i]) die("strdup", NULL);
  }
  arg = copy + 1;
  nargs = argc - 1;
  selected = NULL;
  for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++) {
    if (!strcmp(copy[0], MODES[i].name) && nargs >= MODES[i].min_args) selected = MODES[i].op;
  }
  if (!selected) return -1;
  prepare(copy[0]);
  return 0;
}

/* The selected operation, count times. */
void mountbench_run(uint32_t count) {
  for (uint32_t i = 0; i < count; i++) selected();
}

/* Release what the mode prepared (the user namespace fd). */
void mountbench_end(void) {
  if (userns >= 0) close(userns);
  userns = -1;
}
#else
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void) {
  fprintf(stderr, "usage: mountbench MS MODE ARGS...; modes:");
  for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++) fprintf(stderr, " %s", MODES[i].name);
  fprintf(stderr, "\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 3) usage();
  uint64_t budget = strtoull(argv[1], NULL, 10) * 1000000u;
  const char *mode = argv[2];
  arg = argv + 3;
  nargs = argc - 3;
  void (*op)(void) = NULL;
  for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++) {
    if (strcmp(mode, MODES[i].name) != 0) continue;
    if (nargs < MODES[i].min_args) usage();
    op = MODES[i].op;
  }
  if (!op) usage();
  prepare(mode);

  size_t cap = 1 << 16, n = 0;
  uint64_t *samples = malloc(cap * sizeof *samples);
  if (!samples) die("malloc", NULL);
  uint64_t spent = 0;
  while (spent < budget || n < 3) {
    uint64_t t0 = now_ns();
    op();
    uint64_t dt = now_ns() - t0;
    spent += dt;
    if (n == cap) {
      cap *= 2;
      samples = realloc(samples, cap * sizeof *samples);
      if (!samples) die("realloc", NULL);
    }
    samples[n++] = dt;
  }
  if (userns >= 0) close(userns);
  for (size_t i = 0; i < n; i++) printf("%llu\n", (unsigned long long)samples[i]);
  return 0;
}
#endif
