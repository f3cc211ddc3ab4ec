// A timing trace on stderr, on when the environment variable QUESTLOG_TRACE is
// set (to anything but "" or "0"): one line per event, the seconds since the
// first traced event and what happened,
//   questlog: trace 0.0123 webhdfs PUT CREATE /tmp/t/part-0 -> 307 (1.8 ms)
// Used for the phases of an extract and each WebHDFS round trip, to see where a
// run's wall time goes. Off, a trace point costs one load of a flag.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace questlog::trace {

inline bool on() {
  static const bool enabled = [] {
    const char* v = std::getenv("QUESTLOG_TRACE");
    return v != nullptr && *v != '\0' && std::string(v) != "0";
  }();
  return enabled;
}

// Seconds since the first call.
inline double seconds() {
  static const auto origin = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
}

// One trace line (a single write, so lines of several threads do not mix).
template <typename... Args>
void line(fmt::format_string<Args...> format, Args&&... args) {
  if (!on()) return;
  const double at = seconds();
  const std::string text = fmt::format("questlog: trace {:.4f} {}\n", at,
                                       fmt::format(format, std::forward<Args>(args)...));
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace questlog::trace
