/* LD_PRELOAD shim for tests: fsync/fdatasync fail with EIO once TIDELOG_FAIL_SYNC_AFTER calls succeeded,
 * so a test can make a real journal see a failed flush (the trigger of TIDELOG_FAILED). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static long calls;

static int fail_now(void) {
  const char *after = getenv("TIDELOG_FAIL_SYNC_AFTER");
  return after && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) > atol(after);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (fail_now()) { errno = EIO; return -1; }
  return real(fd);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (fail_now()) { errno = EIO; return -1; }
  return real(fd);
}
