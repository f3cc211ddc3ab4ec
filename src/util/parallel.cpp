#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace questlog {

Status parallel_for(size_t n, size_t width, const std::function<Status(size_t)>& fn) {
  std::vector<Status> results(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) results[i] = fn(i);
  };
  std::vector<std::thread> threads;
  const size_t helpers = std::min(std::max<size_t>(width, 1), n) - (n > 0 ? 1 : 0);
  for (size_t t = 0; t < helpers; ++t) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  for (const Status& s : results)
    if (!s.ok()) return s;
  return {};
}

}  // namespace questlog
