// Preallocated segments (WriterOptions::preallocation): the active segment is
// written with zeros ahead of the records, so the log's end is where the zeros
// begin. Readers stop there and follow later appends, a roll cuts the sealed
// segment to its records, and recovery tells a zero tail (the end) from a torn
// write (zeroed again) and from damage (reported, never passed in silence).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using testing::append_one;
using testing::Owned;
using testing::read_all;
using testing::read_file;
using testing::read_through;
using testing::TempDir;
using testing::TwoSegmentLog;

std::unique_ptr<LogWriter> open_preallocated(const fs::path& dir, uint64_t segment_bytes,
                                             Preallocation p = Preallocation::at_roll) {
  auto w = LogWriter::open({.dir = dir, .segment_bytes = segment_bytes, .preallocation = p});
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w).value() : nullptr;
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

TEST(LogPreallocationTest, ActiveSegmentIsZerosAfterItsRecordsAndReadsAsTheLog) {
  TempDir tmp;
  auto w = open_preallocated(tmp.path(), 4096);
  ASSERT_NE(w, nullptr);
  std::vector<Owned> expected;
  for (int i = 0; i < 5; ++i) {
    const std::string v = "event " + std::to_string(i);
    ASSERT_TRUE(append_one(*w, v, 100 + i).ok());
    expected.push_back({i, 100 + i, v});
  }
  const std::string bytes = read_file(tmp.path() / format::segment_file_name(0));
  ASSERT_EQ(bytes.size(), 4096u);
  uint64_t data = 0;
  for (const Owned& r : expected) data += format::record_size(r.value.size());
  EXPECT_TRUE(all_zero(std::string_view(bytes).substr(data)));
  EXPECT_EQ(read_all(tmp.path()), expected);

  auto reader = LogReader::open(tmp.path());
  ASSERT_TRUE(reader.ok());
  auto end = (*reader)->end_offset();
  ASSERT_TRUE(end.ok()) << end.status().message();
  EXPECT_EQ(*end, 5);

  // Reopened, the log continues at the zeros and keeps its space.
  w.reset();
  w = open_preallocated(tmp.path(), 4096);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->next_offset(), 5);
  EXPECT_EQ(w->recovery().truncated_bytes, 0u);
  EXPECT_TRUE(w->recovery().detail.empty()) << w->recovery().detail;
  ASSERT_TRUE(append_one(*w, "after", 7).ok());
  w.reset();
  expected.push_back({5, 7, "after"});
  EXPECT_EQ(read_all(tmp.path()), expected);
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(0)), 4096u);
}

TEST(LogPreallocationTest, ReaderStopsAtTheZeroTailAndFollowsAppendsAcrossRolls) {
  for (Preallocation p : {Preallocation::at_roll, Preallocation::ahead}) {
    SCOPED_TRACE(p == Preallocation::at_roll ? "at_roll" : "ahead");
    TempDir tmp;
    auto w = open_preallocated(tmp.path(), 200, p);
    ASSERT_NE(w, nullptr);
    auto reader = LogReader::open(tmp.path());
    ASSERT_TRUE(reader.ok());
    Record r;
    auto more = (*reader)->next(r);
    ASSERT_TRUE(more.ok()) << more.status().message();
    EXPECT_FALSE(*more);  // nothing yet: the zeros are not a record

    // 60-byte records: a segment rolls after its fourth, 12 records make 3 segments.
    for (int i = 0; i < 12; ++i) {
      const std::string v(36, static_cast<char>('a' + i));
      ASSERT_TRUE(append_one(*w, v, i).ok());
      more = (*reader)->next(r);
      ASSERT_TRUE(more.ok()) << more.status().message();
      ASSERT_TRUE(*more) << "record " << i;
      EXPECT_EQ(r.offset, i);
      EXPECT_EQ(std::string(r.value), v);
      more = (*reader)->next(r);
      ASSERT_TRUE(more.ok()) << more.status().message();
      EXPECT_FALSE(*more);
    }
    // Sealed segments hold their records and nothing more; the active one is preallocated.
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(0)), 240u);
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(4)), 240u);
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(8)), 240u);
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(12)), 200u);
    w.reset();
    EXPECT_EQ(read_all(tmp.path()).size(), 12u);
  }
}

// The last segment of TwoSegmentLog as a writer preallocating to `size` leaves
// it after a crash in the middle of a write: its first `k` bytes, then zeros.
std::string preallocated(std::string_view data, uint64_t size) {
  std::string bytes(data);
  bytes.resize(size, '\0');
  return bytes;
}

TEST(LogPreallocationTest, TornWriteAtEveryByteIsZeroedAgainAndOffsetsContinue) {
  TempDir original;
  TwoSegmentLog log(original.path());
  constexpr uint64_t kSize = TwoSegmentLog::kSegmentBytes;
  ASSERT_LT(log.last_segment.size(), kSize);
  const fs::path last = format::segment_file_name(TwoSegmentLog::kLastBase);

  for (uint64_t k = 0; k <= log.last_segment.size(); ++k) {
    SCOPED_TRACE("torn after " + std::to_string(k) + " bytes");
    TempDir tmp;
    log.write_to(tmp.path(), preallocated(std::string_view(log.last_segment).substr(0, k), kSize));
    // A record whose missing bytes are zeros anyway is whole.
    size_t whole = log.whole_records_within(k);
    while (whole + 1 < log.boundaries.size() &&
           all_zero(
               std::string_view(log.last_segment)
                   .substr(k, log.boundaries[whole + 1] - std::min(k, log.boundaries[whole + 1]))))
      ++whole;
    const uint64_t good = log.boundaries[whole];
    // What recovery must zero: the torn bytes up to the last nonzero one.
    uint64_t torn_end = good;
    for (uint64_t i = good; i < k; ++i)
      if (log.last_segment[i] != 0) torn_end = i + 1;
    const int64_t expected_next = TwoSegmentLog::kLastBase + static_cast<int64_t>(whole);

    auto w = open_preallocated(tmp.path(), kSize);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->recovery().truncated_bytes, torn_end - good);
    EXPECT_EQ(w->recovery().detail.empty(), torn_end == good) << w->recovery().detail;
    EXPECT_TRUE(w->recovery().damaged.empty()) << w->recovery().damage;
    ASSERT_EQ(w->next_offset(), expected_next);
    const std::string after = read_file(tmp.path() / last);
    ASSERT_EQ(after.size(), kSize);
    EXPECT_EQ(after.substr(0, good), log.last_segment.substr(0, good));
    EXPECT_TRUE(all_zero(std::string_view(after).substr(good)));

    auto appended = append_one(*w, "after the tear", 42);
    ASSERT_TRUE(appended.ok()) << appended.status().message();
    EXPECT_EQ(*appended, expected_next);
    w.reset();
    std::vector<Owned> expected(log.records.begin(),
                                log.records.begin() + TwoSegmentLog::kLastBase + whole);
    expected.push_back({expected_next, 42, "after the tear"});
    EXPECT_EQ(read_all(tmp.path()), expected);
    if (HasFailure()) return;
  }
}

TEST(LogPreallocationTest, ReadersStopAtATornWriteInPreallocatedSpaceWithoutCallingItDamage) {
  TempDir original;
  TwoSegmentLog log(original.path());
  const uint64_t k = log.boundaries[5] + 10;  // inside the sixth record
  TempDir tmp;
  log.write_to(tmp.path(), preallocated(std::string_view(log.last_segment).substr(0, k),
                                        TwoSegmentLog::kSegmentBytes));
  auto read = read_through(tmp.path());
  EXPECT_TRUE(read.status.ok()) << read.status.message();
  EXPECT_EQ(read.records, std::vector<Owned>(log.records.begin(), log.records.begin() + 3 + 5));
}

TEST(LogPreallocationTest, ZerosWithValidRecordsAfterThemAreDamageNotTheEnd) {
  // A power loss under --durability write can keep a later page of an
  // unsynced batch and lose an earlier one: zeros, then records.
  TempDir original;
  TwoSegmentLog log(original.path());
  const uint64_t from = log.boundaries[4], to = log.boundaries[7];
  std::string bytes = preallocated(log.last_segment, TwoSegmentLog::kSegmentBytes);
  std::fill(bytes.begin() + static_cast<long>(from), bytes.begin() + static_cast<long>(to), '\0');

  for (bool writer_first : {false, true}) {
    SCOPED_TRACE(writer_first ? "writer opens first" : "reader only");
    TempDir tmp;
    log.write_to(tmp.path(), bytes);
    if (writer_first) {
      auto w = open_preallocated(tmp.path(), TwoSegmentLog::kSegmentBytes);
      ASSERT_NE(w, nullptr);
      ASSERT_EQ(w->recovery().damaged.size(), 1u);
      EXPECT_EQ(w->recovery().damaged[0].begin, from);
      EXPECT_EQ(w->recovery().damaged[0].end, to);
      EXPECT_NE(w->recovery().damage.find("offsets 7 to 9 lost"), std::string::npos)
          << w->recovery().damage;
      // The log goes on after the greatest valid offset, in a new segment.
      EXPECT_EQ(w->next_offset(), log.records.back().offset + 1);
    }
    auto read = read_through(tmp.path());
    EXPECT_EQ(read.status.code(), Errc::corruption) << read.status.message();
    EXPECT_NE(read.status.message().find("byte " + std::to_string(from)), std::string::npos)
        << read.status.message();
    EXPECT_EQ(read.records, std::vector<Owned>(log.records.begin(), log.records.begin() + 3 + 4));

    auto skipped = read_through(tmp.path(), {.skip_damaged = true});
    EXPECT_TRUE(skipped.status.ok()) << skipped.status.message();
    EXPECT_EQ(skipped.records.size(), log.records.size() - 3);
  }
}

TEST(LogPreallocationTest, CorruptByteAnywhereInTheLastRecordOrTheZerosZeroesJustThat) {
  TempDir original;
  TwoSegmentLog log(original.path());
  constexpr uint64_t kSize = TwoSegmentLog::kSegmentBytes;
  const uint64_t last_start = log.boundaries[log.boundaries.size() - 2];
  const uint64_t data_end = log.last_segment.size();
  const fs::path last = format::segment_file_name(TwoSegmentLog::kLastBase);

  for (uint64_t at = last_start; at < kSize; ++at) {
    SCOPED_TRACE("byte " + std::to_string(at));
    TempDir tmp;
    std::string bytes = preallocated(log.last_segment, kSize);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    log.write_to(tmp.path(), bytes);
    const bool in_record = at < data_end;

    auto w = open_preallocated(tmp.path(), kSize);
    ASSERT_NE(w, nullptr);
    EXPECT_TRUE(w->recovery().damaged.empty()) << w->recovery().damage;
    // A flipped byte in the last record cuts that record; one in the zeros is a
    // stray byte after the end, zeroed.
    const uint64_t good = in_record ? last_start : data_end;
    EXPECT_EQ(w->recovery().truncated_bytes, std::max(at + 1, data_end) - good);
    EXPECT_EQ(w->next_offset(), log.records.back().offset + (in_record ? 0 : 1));
    const std::string after = read_file(tmp.path() / last);
    ASSERT_EQ(after.size(), kSize);
    EXPECT_TRUE(all_zero(std::string_view(after).substr(good)));
    w.reset();
    std::vector<Owned> expected(log.records.begin(), log.records.end() - (in_record ? 1 : 0));
    EXPECT_EQ(read_all(tmp.path()), expected);
    if (HasFailure()) return;
  }
}

TEST(LogPreallocationTest, AWriterThatDoesNotPreallocateTakesOverAPreallocatedLog) {
  // serve --durability fsync, then serve --durability write on the same data.
  TempDir tmp;
  auto w = open_preallocated(tmp.path(), 4096, Preallocation::ahead);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(append_one(*w, "one", 1).ok());
  w.reset();
  EXPECT_TRUE(fs::exists(tmp.path() / kSpareSegmentName));

  auto plain = LogWriter::open({.dir = tmp.path(), .segment_bytes = 4096});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ((*plain)->next_offset(), 1);
  EXPECT_TRUE((*plain)->recovery().damaged.empty());
  EXPECT_FALSE(fs::exists(tmp.path() / kSpareSegmentName));
  ASSERT_TRUE(append_one(**plain, "two", 2).ok());
  plain->reset();
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(0)), format::record_size(3) * 2);
  EXPECT_EQ(read_all(tmp.path()), (std::vector<Owned>{{0, 1, "one"}, {1, 2, "two"}}));
}

}  // namespace
}  // namespace questlog::log::embedded
