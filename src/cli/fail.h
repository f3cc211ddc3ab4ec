// How a subcommand ends on an error: one line on stderr, "questlog: <what>",
// and exit status 1.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "util/say.h"
#include "util/status.h"

namespace questlog::cli {

inline int fail(const std::string& message) {
  say(stderr, "questlog: {}\n", message);
  return 1;
}

inline int fail(const Status& s) { return fail(s.message()); }

}  // namespace questlog::cli
