/* Prints the sizes and constants src/sys/process.ts and src/plan/fuse.ts hard-code, from this
 * machine's headers; test/integration/process-layout.test.ts compares them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <linux/magic.h>

#define SHOW(name, value) printf("%s %lld\n", name, (long long)(value))

int main(void) {
  SHOW("sizeof.posix_spawn_file_actions_t", sizeof(posix_spawn_file_actions_t));
  SHOW("sizeof.posix_spawnattr_t", sizeof(posix_spawnattr_t));
  SHOW("sizeof.sigset_t", sizeof(sigset_t));
  SHOW("POSIX_SPAWN_SETSIGDEF", POSIX_SPAWN_SETSIGDEF);
  SHOW("POSIX_SPAWN_SETSIGMASK", POSIX_SPAWN_SETSIGMASK);
  SHOW("MFD_CLOEXEC", MFD_CLOEXEC);
  SHOW("FUSE_SUPER_MAGIC", FUSE_SUPER_MAGIC);
  return 0;
}
