#include "util/status.h"

#include <fmt/format.h>

#include <cstring>

namespace questlog {

Status errno_status(const std::string& what, int err) {
  return Status::error(Errc::io_error, fmt::format("{}: {}", what, std::strerror(err)));
}

}  // namespace questlog
