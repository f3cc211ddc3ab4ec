// The disk's floor for `--durability fsync`: how long one durable write takes on
// the file system holding DIR, the way the embedded log could make it.
//
//   fsync_floor DIR [WRITES] [BYTES]     (defaults: 2000 writes of 4096 bytes)
//
// Prints one line per method with p50, p99 and the mean in milliseconds, and the
// CPU time this process spent per durable write (user + system: on a virtual
// machine, submitting and completing the disk's I/O is much of it, and a group
// commit pays it once per sync):
//   append      pwrite at the end of a growing file, then fdatasync (the size
//               changes, so each sync also commits file metadata)
//   overwrite   pwrite into a file already written with zeros and synced (a
//               preallocated segment), then fdatasync
//   dsync       the same overwrite as one pwritev2(RWF_DSYNC) call
// Everything is written under DIR in one file, removed at the end.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "fsync_floor: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void pwrite_all(int fd, const char* p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("pwrite");
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[i];
}

// User + system CPU time of this process so far, in microseconds.
double cpu_us() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) die("getrusage");
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + t.tv_usec; };
  return us(u.ru_utime) + us(u.ru_stime);
}

struct Timings {
  std::vector<double> ms;  // wall time of each durable write
  double cpu_us = 0;       // CPU time of all of them
};

void print(const char* method, const Timings& t) {
  const std::vector<double>& ms = t.ms;
  double sum = 0;
  for (double m : ms) sum += m;
  const auto n = static_cast<double>(ms.size());
  std::printf("%-10s p50 %.3f ms  p99 %.3f ms  mean %.3f ms  cpu %.0f us/write  (%zu writes)\n",
              method, percentile(ms, 0.50), percentile(ms, 0.99), sum / n, t.cpu_us / n, ms.size());
}

// Times `writes` durable writes of `block` made by `one(i)`.
template <typename F>
Timings timed(size_t writes, F one) {
  Timings t;
  t.ms.reserve(writes);
  const double cpu0 = cpu_us();
  for (size_t i = 0; i < writes; ++i) {
    auto t0 = Clock::now();
    one(i);
    t.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  t.cpu_us = cpu_us() - cpu0;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: fsync_floor DIR [WRITES] [BYTES]\n");
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/fsync_floor.tmp";
  const size_t writes = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2000;
  const size_t block = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 4096;
  if (writes == 0 || block == 0) {
    std::fprintf(stderr, "fsync_floor: WRITES and BYTES must be positive\n");
    return 2;
  }
  std::vector<char> data(block, 'x');

  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  auto append = timed(writes, [&](size_t i) {
    pwrite_all(fd, data.data(), block, static_cast<off_t>(i * block));
    if (fdatasync(fd) != 0) die("fdatasync");
  });

  // Preallocate as the log does: write zeros over the whole range, then sync.
  std::vector<char> zeros(block, 0);
  if (ftruncate(fd, 0) != 0) die("ftruncate");
  for (size_t i = 0; i < writes; ++i)
    pwrite_all(fd, zeros.data(), block, static_cast<off_t>(i * block));
  if (fsync(fd) != 0) die("fsync");
  auto overwrite = timed(writes, [&](size_t i) {
    pwrite_all(fd, data.data(), block, static_cast<off_t>(i * block));
    if (fdatasync(fd) != 0) die("fdatasync");
  });

  for (size_t i = 0; i < writes; ++i)
    pwrite_all(fd, zeros.data(), block, static_cast<off_t>(i * block));
  if (fsync(fd) != 0) die("fsync");
  auto dsync = timed(writes, [&](size_t i) {
    iovec v{data.data(), block};
    ssize_t w = pwritev2(fd, &v, 1, static_cast<off_t>(i * block), RWF_DSYNC);
    if (w != static_cast<ssize_t>(block)) die("pwritev2(RWF_DSYNC)");
  });

  close(fd);
  unlink(path.c_str());
  print("append", append);
  print("overwrite", overwrite);
  print("dsync", dsync);
  return 0;
}
