#include "util/toml_file.h"

#include <fmt/format.h>

namespace questlog {

Result<toml::table> parse_toml(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return toml_error(source, e.source().begin.line, e.description());
  }
}

Status toml_error(const std::string& source, int64_t line, std::string_view what) {
  return Status::error(Errc::invalid_argument,
                       fmt::format("{}:{}: {}", source, line, escape_controls(what)));
}

std::string escape_controls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace questlog
