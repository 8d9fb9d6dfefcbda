// pause: the process that holds a pod's shared PID namespace when an infra container is needed.
// Shipped with crio-cpp so pods work offline when pause_image cannot be pulled. As PID 1 it reaps
// orphans and exits cleanly on SIGINT/SIGTERM. Statically linked: it runs in an empty rootfs.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace {
void Terminate(int) { _exit(0); }
void Reap(int) {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}
}  // namespace

int main() {
  struct sigaction term {};
  term.sa_handler = Terminate;
  sigaction(SIGINT, &term, nullptr);
  sigaction(SIGTERM, &term, nullptr);
  struct sigaction chld {};
  chld.sa_handler = Reap;
  chld.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &chld, nullptr);
  for (;;) pause();
}
