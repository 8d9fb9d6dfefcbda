// Stand-in for critest's e2e-test-images/nonewprivs: installed setuid root, it prints the
// effective uid it got. 0 means the setuid bit worked; under no_new_privs the kernel ignores
// the bit and the caller's uid is printed.
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
