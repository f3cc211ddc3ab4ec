// Running independent pieces of work side by side, on threads started for
// the call: for round trips (HDFS renames, uploads, table stages), not for
// CPU-bound loops.
#pragma once

#include <cstddef>
#include <functional>

#include "util/status.h"

namespace questlog {

// Runs `fn(i)` for every i < n on at most `width` threads at once (this
// thread is one of them), and waits for all. Every index runs even after a
// failure; the first failure in index order is returned.
Status parallel_for(size_t n, size_t width, const std::function<Status(size_t)>& fn);

}  // namespace questlog
