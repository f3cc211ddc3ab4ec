#include "util/toml_file.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace questlog {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_status(path, errno);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return errno_status(path, errno);
  return ss.str();
}

Result<toml::table> parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::error(
        Errc::invalid_argument,
        source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
}

}  // namespace questlog
