// Helpers the embedded-log tests share: a scratch directory, reading a whole
// log back, and a small log of two segments to damage.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"

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

// Every record `dir` yields until the end or the first error, that error, and
// the ranges skipped (with options.skip_damaged).
struct ReadThrough {
  std::vector<Owned> records;
  Status status;  // ok: read to the end
  std::vector<SkippedRange> skipped;
};

inline ReadThrough read_through(const std::filesystem::path& dir, ReaderOptions options = {}) {
  ReadThrough out;
  auto reader = LogReader::open(dir, options);
  if (!reader.ok()) {
    out.status = reader.status();
    return out;
  }
  Record r;
  for (;;) {
    auto more = (*reader)->next(r);
    for (SkippedRange& s : (*reader)->take_skipped()) out.skipped.push_back(std::move(s));
    if (!more.ok()) {
      out.status = more.status();
      return out;
    }
    if (!*more) return out;
    out.records.push_back({r.offset, r.timestamp_ms, std::string(r.value)});
  }
}

inline std::unique_ptr<LogWriter> open_writer(const std::filesystem::path& dir,
                                              uint64_t segment_bytes) {
  auto w = LogWriter::open({dir, segment_bytes});
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w.value()) : nullptr;
}

inline Result<int64_t> append_one(LogWriter& w, std::string_view v, int64_t ts) {
  return w.append(std::span<const std::string_view>(&v, 1), ts);
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A log of two segments: three 200-byte records fill segment 0, and the last
// segment holds records of the sizes below (empty ones included).
struct TwoSegmentLog {
  static constexpr size_t kLastSizes[] = {0, 1, 5, 23, 24, 25, 40, 0, 7, 31, 2, 17};
  static constexpr int64_t kLastBase = 3;
  static constexpr uint64_t kSegmentBytes = 600;

  std::vector<Owned> records;
  std::vector<uint64_t>
      boundaries;  // byte where each record of the last segment starts, and the end
  std::string first_segment, last_segment;

  explicit TwoSegmentLog(const std::filesystem::path& dir) {
    auto w = open_writer(dir, kSegmentBytes);
    int64_t offset = 0;
    for (int i = 0; i < 3; ++i, ++offset) add(*w, std::string(200, static_cast<char>('a' + i)));
    boundaries.push_back(0);
    for (size_t size : kLastSizes) {
      std::string v(size, '\0');
      for (size_t i = 0; i < size; ++i)
        v[i] = static_cast<char>(offset * 31 + static_cast<int64_t>(i));
      add(*w, v);
      boundaries.push_back(boundaries.back() + format::record_size(size));
      ++offset;
    }
    w.reset();
    first_segment = read_file(dir / format::segment_file_name(0));
    last_segment = read_file(dir / format::segment_file_name(kLastBase));
    EXPECT_EQ(last_segment.size(), boundaries.back());
  }

  void add(LogWriter& w, const std::string& v) {
    int64_t ts = 1700000000000 + static_cast<int64_t>(records.size());
    auto off = append_one(w, v, ts);
    ASSERT_TRUE(off.ok());
    records.push_back({*off, ts, v});
  }

  // Lays the log out in `dir` with `last` as the last segment's bytes.
  void write_to(const std::filesystem::path& dir, std::string_view last) const {
    write_file(dir / format::segment_file_name(0), first_segment);
    write_file(dir / format::segment_file_name(kLastBase), last);
  }

  // Records of the last segment that lie wholly within its first `k` bytes.
  size_t whole_records_within(uint64_t k) const {
    size_t n = 0;
    while (n + 1 < boundaries.size() && boundaries[n + 1] <= k) ++n;
    return n;
  }
};

}  // namespace questlog::log::embedded::testing
