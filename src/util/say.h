// Messages to a stream (stderr, a test's tmpfile) formatted with fmt, written
// as std::fprintf writes them: a failed write (stderr closed, its reader gone)
// is ignored. fmt::print throws fmt::system_error then, which would end a run
// over a line of progress.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <utility>

namespace questlog {

template <typename... Args>
void say(std::FILE* out, fmt::format_string<Args...> format, Args&&... args) {
  const std::string text = fmt::format(format, std::forward<Args>(args)...);
  std::fwrite(text.data(), 1, text.size(), out);
}

}  // namespace questlog
