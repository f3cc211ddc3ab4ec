// An LD_PRELOAD library for integration tests: every fdatasync(2) of the process
// first sleeps QUESTLOG_TEST_SYNC_DELAY_MS milliseconds (0 or unset: no delay),
// then syncs. It stands in for a slow disk, a fault no real part here shows on
// demand, so that `questlog serve` itself carries no test knob.
//
//   LD_PRELOAD=build/libslow_sync.so QUESTLOG_TEST_SYNC_DELAY_MS=300 questlog serve ...
#include <dlfcn.h>
#include <time.h>

#include <cerrno>
#include <cstdlib>

namespace {

using SyncFn = int (*)(int);

long delay_ms() {
  const char* v = std::getenv("QUESTLOG_TEST_SYNC_DELAY_MS");
  return v ? std::strtol(v, nullptr, 10) : 0;
}

}  // namespace

extern "C" int fdatasync(int fd) {
  static const SyncFn real = reinterpret_cast<SyncFn>(dlsym(RTLD_NEXT, "fdatasync"));
  static const long delay = delay_ms();
  if (delay > 0) {
    timespec left{delay / 1000, (delay % 1000) * 1000000};
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
  }
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  return real(fd);
}
