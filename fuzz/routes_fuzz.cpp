// Routes file (TOML) -> route table, and every route of a table that loads
// matched against its own path. What must hold: a table that loads can answer
// (no header a response writes holds a control character) and an error is one line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/routes.h"

using namespace questlog;

namespace {
bool has_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto table = http::RouteTable::parse(text, "routes.toml");
  if (!table.ok()) {
    if (table.status().message().find('\n') != std::string::npos) {
      std::fprintf(stderr, "not one line: %s\n", table.status().message().c_str());
      std::abort();
    }
    return 0;
  }
  http::RouteMatch m;
  for (const http::Route& r : table->routes()) {
    if (has_control(r.content_type) || has_control(r.allow_header())) std::abort();
    if ((r.status == 204 || r.status == 205) && !r.body.empty()) std::abort();
    if (r.path_params.empty() && table->match(r.path, m) != &r &&
        r.path.find('%') == std::string::npos)
      std::abort();  // a literal path matches its own route
  }
  return 0;
}
