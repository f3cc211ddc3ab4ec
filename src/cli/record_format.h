// `tail -f FORMAT`: kcat's output format for records. Tokens: %s value, %S value
// bytes, %k key, %K key bytes (-1: none), %o offset, %p partition, %T timestamp (ms), %t
// topic, %% a percent sign; escapes \n, \r, \t, \\. Anything else is printed as
// it is. Without -f, tail prints "%s\n"; `-K DELIM` is "%kDELIM%s\n" (kcat's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "log/record.h"
#include "util/status.h"

namespace questlog::cli {

class RecordFormat {
 public:
  // Errc::invalid_argument naming the first token it does not know ("%x").
  static Result<RecordFormat> parse(std::string_view format);

  // Appends `r` as the format says to `out`.
  void write(const log::Record& r, std::string_view topic, std::string& out) const;

 private:
  struct Piece {
    char token = 0;       // 0: the literal text
    std::string literal;  // for token 0
  };
  std::vector<Piece> pieces_;
};

}  // namespace questlog::cli
