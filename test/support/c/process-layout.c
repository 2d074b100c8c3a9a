/* Prints the sizes and constants src/sys/process.ts, src/sys/signal-death.ts, src/sys/signal-watch.ts, src/sys/signal-numbers.ts and
 * src/plan/fuse.ts hard-code, from this machine's headers; test/integration/process-layout.test.ts compares them. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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
  SHOW("PR_SET_DUMPABLE", PR_SET_DUMPABLE);
  SHOW("SIG_UNBLOCK", SIG_UNBLOCK);
  SHOW("SIG_DFL", (long)SIG_DFL);
  SHOW("SIG_IGN", (long)SIG_IGN);
  SHOW("SA_RESTART", SA_RESTART);
  SHOW("SA_RESETHAND", SA_RESETHAND);
  SHOW("sizeof.struct_sigaction", sizeof(struct sigaction));
  SHOW("offsetof.sa_handler", offsetof(struct sigaction, sa_handler));
  SHOW("offsetof.sa_flags", offsetof(struct sigaction, sa_flags));
  SHOW("SIGHUP", SIGHUP);
  SHOW("SIGINT", SIGINT);
  SHOW("SIGQUIT", SIGQUIT);
  SHOW("SIGILL", SIGILL);
  SHOW("SIGTRAP", SIGTRAP);
  SHOW("SIGABRT", SIGABRT);
  SHOW("SIGBUS", SIGBUS);
  SHOW("SIGFPE", SIGFPE);
  SHOW("SIGKILL", SIGKILL);
  SHOW("SIGUSR1", SIGUSR1);
  SHOW("SIGSEGV", SIGSEGV);
  SHOW("SIGUSR2", SIGUSR2);
  SHOW("SIGPIPE", SIGPIPE);
  SHOW("SIGALRM", SIGALRM);
  SHOW("SIGTERM", SIGTERM);
  SHOW("SIGSTKFLT", SIGSTKFLT);
  SHOW("SIGCHLD", SIGCHLD);
  SHOW("SIGCONT", SIGCONT);
  SHOW("SIGSTOP", SIGSTOP);
  SHOW("SIGTSTP", SIGTSTP);
  SHOW("SIGTTIN", SIGTTIN);
  SHOW("SIGTTOU", SIGTTOU);
  SHOW("SIGURG", SIGURG);
  SHOW("SIGXCPU", SIGXCPU);
  SHOW("SIGXFSZ", SIGXFSZ);
  SHOW("SIGVTALRM", SIGVTALRM);
  SHOW("SIGPROF", SIGPROF);
  SHOW("SIGWINCH", SIGWINCH);
  SHOW("SIGIO", SIGIO);
  SHOW("SIGPWR", SIGPWR);
  SHOW("SIGSYS", SIGSYS);
  return 0;
}
