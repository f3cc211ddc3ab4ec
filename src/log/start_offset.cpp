#include "log/start_offset.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace questlog::log {

Result<StartOffset> parse_start_offset(const std::string& spec) {
  if (spec == "beginning") return StartOffset{StartOffset::Kind::beginning, 0};
  if (spec == "end") return StartOffset{StartOffset::Kind::end, 0};
  int64_t n = 0;
  const char* first = spec.data();
  const char* last = spec.data() + spec.size();
  const bool negative = !spec.empty() && spec[0] == '-';
  if (!spec.empty() && (spec[0] == '-' || spec[0] == '+')) ++first;
  auto [ptr, ec] = std::from_chars(first, last, n);
  if (first == last || *first < '0' || *first > '9' || ec != std::errc() || ptr != last)
    return Status::error(Errc::invalid_argument,
                         fmt::format("-o {}: expected beginning, end, an offset N or -N", spec));
  // "-0" is offset 0, as kcat reads it.
  if (negative && n > 0) return StartOffset{StartOffset::Kind::from_end, n};
  return StartOffset{StartOffset::Kind::at, n};
}

int64_t resolve(const StartOffset& start, int64_t first, int64_t end) {
  switch (start.kind) {
    case StartOffset::Kind::beginning:
      return first;
    case StartOffset::Kind::end:
      return end;
    case StartOffset::Kind::at:
      return std::max(start.n, first);
    case StartOffset::Kind::from_end:
      return std::max(end - std::min(start.n, end), first);
  }
  return first;
}

}  // namespace questlog::log
