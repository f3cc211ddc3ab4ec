// Parsing the TOML files people write (routes, jobs; read with io::read_file):
// every error is one line naming the source and the line, "routes.toml:3: <what>".
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "util/status.h"

namespace questlog {

// Parses `text`; `source` names it in the error.
Result<toml::table> parse_toml(std::string_view text, const std::string& source);

}  // namespace questlog
