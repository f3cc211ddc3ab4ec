// kcat's -o: where `tail` starts reading a partition.
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace questlog::log {

struct StartOffset {
  enum class Kind {
    beginning,  // the first record present
    end,        // only what is appended from now on
    at,         // offset n (the first present, if n is older)
    from_end,   // n records before the end (all of them, if fewer)
  };
  Kind kind = Kind::beginning;
  int64_t n = 0;
};

// "beginning" | "end" | "N" | "-N"; anything else is Errc::invalid_argument
// ("-o <spec>: expected beginning, end, an offset N or -N").
Result<StartOffset> parse_start_offset(const std::string& spec);

// The offset to start at in a partition that holds [first, end) now. An
// offset `at` past the end is returned as it is (read when it arrives).
int64_t resolve(const StartOffset& start, int64_t first, int64_t end);

}  // namespace questlog::log
