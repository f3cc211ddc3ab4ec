// Wall-clock time as the log stamps it.
#pragma once

#include <chrono>
#include <cstdint>

namespace questlog {

// Milliseconds since the Unix epoch.
inline int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace questlog
