#include "cli/log_path.h"

#include <fmt/format.h>

namespace questlog::cli {

Status check_topic(const std::string& topic) {
  bool ok = !topic.empty() && topic.size() <= 249 && topic != "." && topic != "..";
  for (char c : topic)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  if (ok) return Status();
  return Status::error(
      Errc::invalid_argument,
      fmt::format("--topic '{}': a topic is 1 to 249 characters of letters, digits, '.', '_', '-'",
                  topic));
}

}  // namespace questlog::cli
