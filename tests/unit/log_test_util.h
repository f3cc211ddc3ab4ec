// Helpers the embedded-log tests share: a scratch directory and reading a
// whole log back.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "log/embedded/log_reader.h"

namespace questlog::log::embedded::testing {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / "questlog_test_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A record with its own copy of the value.
struct Owned {
  int64_t offset;
  int64_t timestamp_ms;
  std::string value;
  bool operator==(const Owned&) const = default;
};

// Every record visible in `dir`, in order.
inline std::vector<Owned> read_all(const std::filesystem::path& dir) {
  std::vector<Owned> out;
  auto reader = LogReader::open(dir);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return out;
  Record r;
  for (;;) {
    auto more = (*reader)->next(r);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) return out;
    out.push_back({r.offset, r.timestamp_ms, std::string(r.value)});
  }
}

}  // namespace questlog::log::embedded::testing
