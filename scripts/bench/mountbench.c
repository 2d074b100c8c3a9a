/*
 * mountbench: the kernel floor for scripts/bench.ts. Runs one operation in a loop for a
 * given time, timing each operation with CLOCK_MONOTONIC, and prints one latency in
 * nanoseconds per line on stdout. The operations are the raw syscalls that mountkit's
 * workloads make, or commands run one after another (fork/exec/wait) for the CLI contenders.
 *
 *   mountbench MS MODE ARGS...
 *     tmpfs TARGET                mount("none", TARGET, "tmpfs", 0, NULL); umount2(TARGET, 0)
 *     bind SOURCE TARGET          mount(SOURCE, TARGET, NULL, MS_BIND, NULL); umount2
 *     bind-ro SOURCE TARGET       the bind, then mount(NULL, TARGET, NULL, MS_REMOUNT|MS_BIND|MS_RDONLY, NULL); umount2
 *     mountinfo PATH              read /proc/thread-self/mountinfo whole, find PATH's last line
 *     statx PATH                  statx(AT_FDCWD, PATH, AT_NO_AUTOMOUNT, STATX_MNT_ID).stx_mnt_id
 *     exec ARGV... [\; ARGV...]   run each command, in order, per operation; any failure stops
 *
 * MS is the measuring time in milliseconds; at least 3 operations run. Built by scripts/bench.ts
 * with `cc -O2` into scripts/bench/build/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x1000U
#endif

extern char **environ;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *path) {
  fprintf(stderr, "mountbench: %s %s: %s\n", what, path ? path : "", strerror(errno));
  exit(1);
}

/* One operation of each mode. Each returns nothing and exits on failure. */
static const char *arg1, *arg2;

static void op_tmpfs(void) {
  if (mount("none", arg1, "tmpfs", 0, NULL) != 0) die("mount tmpfs on", arg1);
  if (umount2(arg1, 0) != 0) die("umount2", arg1);
}

static void op_bind(void) {
  if (mount(arg1, arg2, NULL, MS_BIND, NULL) != 0) die("bind mount on", arg2);
  if (umount2(arg2, 0) != 0) die("umount2", arg2);
}

static void op_bind_ro(void) {
  if (mount(arg1, arg2, NULL, MS_BIND, NULL) != 0) die("bind mount on", arg2);
  if (mount(NULL, arg2, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) die("read-only remount of", arg2);
  if (umount2(arg2, 0) != 0) die("umount2", arg2);
}

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
  size_t want = strlen(arg1), found = 0;
  for (char *line = table; line < table + len;) {
    char *end = memchr(line, '\n', (size_t)(table + len - line));
    if (!end) end = table + len;
    char *field = line;
    for (int i = 0; i < 4 && field; i++) {
      field = memchr(field, ' ', (size_t)(end - field));
      if (field) field++;
    }
    if (field && (size_t)(end - field) > want && memcmp(field, arg1, want) == 0 && field[want] == ' ') {
      found = (size_t)(line - table) + 1;
    }
    line = end + 1;
  }
  if (!found) {
    errno = ENOENT;
    die("no mount at", arg1);
  }
  sink = found;
}

static void op_statx(void) {
  struct statx st;
  if (statx(AT_FDCWD, arg1, AT_NO_AUTOMOUNT, STATX_MNT_ID, &st) != 0) die("statx", arg1);
  sink = st.stx_mnt_id;
}

/* exec: commands separated by ";" arguments, each run to completion in turn. */
static char **commands[16];
static int ncommands;

static posix_spawn_file_actions_t quiet; /* stdout to /dev/null: only the exit status counts */

static void op_exec(void) {
  for (int i = 0; i < ncommands; i++) {
    pid_t pid;
    int err = posix_spawn(&pid, commands[i][0], &quiet, NULL, commands[i], environ);
    if (err != 0) {
      errno = err;
      die("spawn", commands[i][0]);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) die("waitpid", commands[i][0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "mountbench: %s failed (status 0x%x)\n", commands[i][0], status);
      exit(1);
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: mountbench MS tmpfs|bind|bind-ro|mountinfo|statx|exec ARGS...\n");
    return 2;
  }
  uint64_t budget = strtoull(argv[1], NULL, 10) * 1000000u;
  const char *mode = argv[2];
  arg1 = argv[3];
  arg2 = argc > 4 ? argv[4] : NULL;
  void (*op)(void);
  if (strcmp(mode, "tmpfs") == 0) op = op_tmpfs;
  else if (strcmp(mode, "bind") == 0 && arg2) op = op_bind;
  else if (strcmp(mode, "bind-ro") == 0 && arg2) op = op_bind_ro;
  else if (strcmp(mode, "mountinfo") == 0) op = op_mountinfo;
  else if (strcmp(mode, "statx") == 0) op = op_statx;
  else if (strcmp(mode, "exec") == 0) {
    op = op_exec;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    commands[ncommands++] = &argv[3];
    for (int i = 3; i < argc; i++) {
      if (strcmp(argv[i], ";") != 0) continue;
      argv[i] = NULL;
      if (i + 1 < argc && ncommands < 16) commands[ncommands++] = &argv[i + 1];
    }
  } else {
    fprintf(stderr, "mountbench: unknown mode %s or missing argument\n", mode);
    return 2;
  }

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
  for (size_t i = 0; i < n; i++) printf("%llu\n", (unsigned long long)samples[i]);
  return 0;
}
