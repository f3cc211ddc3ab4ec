// Record keys (event ids) in the embedded log: the bytes docs/formats.md shows,
// logs written before keys read as before, and keyed records through recovery
// and damage like any other.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// The three records of docs/formats.md: two without a key, then one with.
const std::string kEmptyAtZero = std::string("\x3e\x56\xc5\xbc", 4) + std::string(20, '\0');
const std::string kHiAtOne(
    "\xbc\x63\xfa\xe5\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x68\xe5\xcf\x8b\x01\x00\x00\x68\x69",
    26);
const std::string kKey = "018bcfe5-6800-7123-8456-789abcdef012";
const std::string kKeyedHiAtTwo =
    std::string(
        "\x21\xe6\xf5\x78\x02\x00\x00\x80\x02\x00\x00\x00\x00\x00\x00\x00"
        "\x00\x68\xe5\xcf\x8b\x01\x00\x00\x24\x00",
        26) +
    kKey + "hi";

struct Keyed {
  int64_t offset;
  std::string key, value;
  bool operator==(const Keyed&) const = default;
};

std::vector<Keyed> read_keyed(const fs::path& dir, bool skip_damaged = false) {
  std::vector<Keyed> out;
  auto reader = LogReader::open(dir, ReaderOptions{.skip_damaged = skip_damaged});
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return out;
  Record r;
  for (;;) {
    auto more = (*reader)->next(r);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) return out;
    out.push_back({r.offset, std::string(r.key), std::string(r.value)});
  }
}

std::string segment_bytes(const fs::path& dir, int64_t base = 0) {
  std::ifstream in(dir / format::segment_file_name(base), std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_segment(const fs::path& dir, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / format::segment_file_name(0), std::ios::binary) << bytes;
}

Result<int64_t> append(LogWriter& w, std::vector<std::string_view> values,
                       std::vector<std::string_view> keys, int64_t ts = 1) {
  return w.append(values, ts, keys);
}

TEST(LogKeysTest, KeyedRecordHoldsTheBytesDocumentedInFormatsMd) {
  TempDir tmp;
  {
    auto w = LogWriter::open({tmp.path()});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(append(**w, {""}, {}, 0).ok());
    ASSERT_TRUE(append(**w, {"hi"}, {}, 1700000000000).ok());
    ASSERT_TRUE(append(**w, {"hi"}, {kKey}, 1700000000000).ok());
  }
  EXPECT_EQ(segment_bytes(tmp.path()), kEmptyAtZero + kHiAtOne + kKeyedHiAtTwo);
  EXPECT_EQ(format::record_size(2, kKey.size()), 64u);
}

TEST(LogKeysTest, ALogWrittenBeforeKeysReadsAsBefore) {
  TempDir tmp;
  write_segment(tmp.path(), kEmptyAtZero + kHiAtOne);
  EXPECT_EQ(read_keyed(tmp.path()), (std::vector<Keyed>{{0, "", ""}, {1, "", "hi"}}));
  // And a writer continues it, keyed or not, without cutting anything.
  {
    auto w = LogWriter::open({tmp.path()});
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->recovery().truncated_bytes, 0u);
    ASSERT_TRUE(append(**w, {"hi"}, {kKey}, 1700000000000).ok());
  }
  EXPECT_EQ(segment_bytes(tmp.path()), kEmptyAtZero + kHiAtOne + kKeyedHiAtTwo);
  EXPECT_EQ(read_keyed(tmp.path()),
            (std::vector<Keyed>{{0, "", ""}, {1, "", "hi"}, {2, kKey, "hi"}}));
}

TEST(LogKeysTest, KeysAndValuesRoundTripThroughReopen) {
  TempDir tmp;
  const std::string long_key(format::kMaxKey, 'k');
  {
    auto w = LogWriter::open({tmp.path()});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(append(**w, {"a", "", "c"}, {"id-1", "", long_key}).ok());
  }
  {
    auto w = LogWriter::open({tmp.path()});  // recovery scans the keyed records
    ASSERT_TRUE(w.ok());
    EXPECT_EQ((*w)->next_offset(), 3);
    EXPECT_EQ((*w)->recovery().truncated_bytes, 0u);
    ASSERT_TRUE(append(**w, {"d"}, {"id-1"}).ok());  // the log keeps repeats: readers judge
  }
  EXPECT_EQ(
      read_keyed(tmp.path()),
      (std::vector<Keyed>{{0, "id-1", "a"}, {1, "", ""}, {2, long_key, "c"}, {3, "id-1", "d"}}));
}

TEST(LogKeysTest, AKeyOverTheLimitOrAMissingKeyIsRefused) {
  TempDir tmp;
  auto w = LogWriter::open({tmp.path()});
  ASSERT_TRUE(w.ok());
  const std::string too_long(format::kMaxKey + 1, 'k');
  EXPECT_EQ(append(**w, {"a"}, {too_long}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(append(**w, {"a", "b"}, {"one"}).status().code(), Errc::invalid_argument);
  EXPECT_EQ((*w)->next_offset(), 0);
}

TEST(LogKeysTest, ATornKeyedRecordIsCutAtEveryLength) {
  const std::string whole = kEmptyAtZero + kHiAtOne + kKeyedHiAtTwo;
  const size_t start = kEmptyAtZero.size() + kHiAtOne.size();
  for (size_t cut = start + 1; cut < whole.size(); ++cut) {
    TempDir tmp;
    write_segment(tmp.path(), whole.substr(0, cut));
    auto w = LogWriter::open({tmp.path()});
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_EQ((*w)->recovery().truncated_bytes, cut - start) << "cut at " << cut;
    EXPECT_EQ((*w)->next_offset(), 2) << "cut at " << cut;
  }
}

TEST(LogKeysTest, AFlippedKeyByteIsAChecksumMismatch) {
  TempDir tmp;
  std::string bytes = kEmptyAtZero + kHiAtOne + kKeyedHiAtTwo;
  bytes[kEmptyAtZero.size() + kHiAtOne.size() + format::kKeyedHeaderSize + 3] ^= 0x01;
  write_segment(tmp.path(), bytes);
  auto reader = LogReader::open(tmp.path());
  ASSERT_TRUE(reader.ok());
  Record r;
  ASSERT_TRUE(*(*reader)->next(r));
  ASSERT_TRUE(*(*reader)->next(r));
  // The last record of the last segment: "not there yet", as any torn tail.
  auto more = (*reader)->next(r);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(LogKeysTest, ReadingResumesAtAKeyedRecordAfterDamage) {
  TempDir tmp;
  std::string bytes = kEmptyAtZero + kHiAtOne + kKeyedHiAtTwo;
  bytes[kEmptyAtZero.size() + 10] ^= 0x40;  // damages offset 1, keeps the keyed record whole
  write_segment(tmp.path(), bytes);
  EXPECT_EQ(read_keyed(tmp.path(), /*skip_damaged=*/true),
            (std::vector<Keyed>{{0, "", ""}, {2, kKey, "hi"}}));
}

TEST(LogKeysTest, UnknownBitsInTheLengthWordAreABadLength) {
  TempDir tmp;
  std::string bytes = kEmptyAtZero + kHiAtOne;
  bytes[kEmptyAtZero.size() + 7] = '\x40';  // bit 30: neither a length nor the key flag
  write_segment(tmp.path(), bytes);
  auto w = LogWriter::open({tmp.path()});
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ((*w)->recovery().truncated_bytes, kHiAtOne.size());
  EXPECT_NE((*w)->recovery().detail.find("payload bytes (limit"), std::string::npos)
      << (*w)->recovery().detail;
}

}  // namespace
}  // namespace questlog::log::embedded
