// Parsing the TOML files people write (routes, jobs; read with io::read_file):
// every error is one line naming the source and the line, "routes.toml:3: <what>".
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace questlog {

// Parses `text`; `source` names it in the error.
Result<toml::table> parse_toml(std::string_view text, const std::string& source);

// "<source>:<line>: <what>" as Errc::invalid_argument, on one line whatever
// `what` quotes from the file: control characters become \uXXXX.
Status toml_error(const std::string& source, int64_t line, std::string_view what);

// `text` with control characters (below 0x20, and 0x7F) as \uXXXX, for messages.
std::string escape_controls(std::string_view text);

}  // namespace questlog
