#include "log/embedded/log_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "log/embedded/format.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using testing::Owned;
using testing::read_all;
using testing::TempDir;

std::string value_for(int64_t offset) {
  std::string v(static_cast<size_t>(offset * 37 % 300), '\0');
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<char>(offset + static_cast<int64_t>(i));
  return v;
}

std::unique_ptr<LogWriter> open_writer(const fs::path& dir, uint64_t segment_bytes) {
  auto w = LogWriter::open({dir, segment_bytes});
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w.value()) : nullptr;
}

// Writes records 0..n-1 (value_for(offset), timestamp = offset) into `dir`.
void write_log(const fs::path& dir, int64_t n, uint64_t segment_bytes) {
  auto w = open_writer(dir, segment_bytes);
  for (int64_t i = 0; i < n; ++i) {
    std::string v = value_for(i);
    std::string_view view = v;
    ASSERT_TRUE(w->append(std::span<const std::string_view>(&view, 1), i).ok());
  }
}

std::unique_ptr<LogReader> open_reader(const fs::path& dir) {
  auto r = LogReader::open(dir);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r.value()) : nullptr;
}

// The next record's offset, -1 at the end; fails the test on an error.
int64_t next_offset_read(LogReader& reader) {
  Record r;
  auto more = reader.next(r);
  EXPECT_TRUE(more.ok()) << more.status().message();
  if (!more.ok() || !*more) return -1;
  EXPECT_EQ(r.value, value_for(r.offset));
  return r.offset;
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir)) {
    if (format::parse_segment_file_name(e.path().filename().string())) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void append_raw(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void flip_byte(const fs::path& file, uint64_t at) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0x40));
}

std::string encoded(int64_t offset, std::string_view value) {
  std::string bytes(format::record_size(value.size()), '\0');
  format::encode_record(bytes.data(), offset, offset, value);
  return bytes;
}

TEST(LogReaderTest, OpenWithoutSegmentsIsNotFound) {
  TempDir tmp;
  auto missing = LogReader::open(tmp.path() / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  auto empty = LogReader::open(tmp.path());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Errc::not_found);
}

TEST(LogReaderTest, ReadsEveryRecordInOrderAcrossSegments) {
  TempDir tmp;
  write_log(tmp.path(), 500, 2000);
  ASSERT_GT(segment_files(tmp.path()).size(), 10u);
  auto reader = open_reader(tmp.path());
  Record r;
  for (int64_t i = 0; i < 500; ++i) {
    auto more = reader->next(r);
    ASSERT_TRUE(more.ok() && *more) << i;
    EXPECT_EQ(r.offset, i);
    EXPECT_EQ(r.timestamp_ms, i);
    EXPECT_EQ(r.value, value_for(i));
  }
  EXPECT_EQ(next_offset_read(*reader), -1);
}

TEST(LogReaderTest, RecordsStraddlingReadChunksComeBackWhole) {
  TempDir tmp;
  int64_t n = 0;
  {
    auto w = open_writer(tmp.path(), 128ull << 20);
    // About 5 MiB of records whose sizes never line up with a chunk boundary.
    for (uint64_t written = 0; written < (5u << 20); ++n) {
      std::string v(static_cast<size_t>(n * 7919 % 4001), static_cast<char>(n));
      std::string_view view = v;
      ASSERT_TRUE(w->append(std::span<const std::string_view>(&view, 1), n).ok());
      written += format::record_size(v.size());
    }
  }
  auto reader = open_reader(tmp.path());
  Record r;
  for (int64_t i = 0; i < n; ++i) {
    auto more = reader->next(r);
    ASSERT_TRUE(more.ok() && *more) << i;
    ASSERT_EQ(r.offset, i);
    ASSERT_EQ(r.value, std::string(static_cast<size_t>(i * 7919 % 4001), static_cast<char>(i)));
  }
  EXPECT_FALSE(*reader->next(r));
}

TEST(LogReaderTest, StartAndEndOffsetsBracketTheVisibleRecords) {
  TempDir tmp;
  write_log(tmp.path(), 200, 1500);
  auto reader = open_reader(tmp.path());
  EXPECT_EQ(*reader->start_offset(), 0);
  EXPECT_EQ(*reader->end_offset(), 200);
  // A torn record at the tail is not visible yet.
  append_raw(segment_files(tmp.path()).back(), encoded(200, "half").substr(0, 10));
  EXPECT_EQ(*reader->end_offset(), 200);
}

TEST(LogReaderTest, EndOffsetOfAFreshlyRolledSegmentIsItsBase) {
  TempDir tmp;
  auto w = open_writer(tmp.path(), format::record_size(0));
  std::string_view empty;
  ASSERT_TRUE(w->append(std::span<const std::string_view>(&empty, 1), 0).ok());
  EXPECT_EQ(segment_files(tmp.path()).size(), 2u);
  EXPECT_EQ(*open_reader(tmp.path())->end_offset(), 1);
}

TEST(LogReaderTest, SeekToStartMiddleAndPastTheEnd) {
  TempDir tmp;
  write_log(tmp.path(), 300, 3000);
  auto reader = open_reader(tmp.path());
  for (int64_t target : {0, 1, 57, 150, 299, 42}) {
    ASSERT_TRUE(reader->seek(target).ok());
    EXPECT_EQ(next_offset_read(*reader), target);
    EXPECT_EQ(next_offset_read(*reader), target + 1 < 300 ? target + 1 : -1);
  }
  ASSERT_TRUE(reader->seek(300).ok());
  EXPECT_EQ(next_offset_read(*reader), -1);
  ASSERT_TRUE(reader->seek(302).ok());
  EXPECT_EQ(next_offset_read(*reader), -1);

  // Past the end: the record at the sought offset is returned once it arrives.
  auto w = open_writer(tmp.path(), 3000);
  for (int64_t i = 300; i < 305; ++i) {
    std::string v = value_for(i);
    std::string_view view = v;
    ASSERT_TRUE(w->append(std::span<const std::string_view>(&view, 1), i).ok());
  }
  EXPECT_EQ(next_offset_read(*reader), 302);
  EXPECT_EQ(next_offset_read(*reader), 303);
}

TEST(LogReaderTest, StartsAtTheFirstSegmentPresent) {
  TempDir tmp;
  write_log(tmp.path(), 100, 1000);
  auto files = segment_files(tmp.path());
  ASSERT_GT(files.size(), 2u);
  fs::remove(files[0]);  // as retention would
  int64_t first = *format::parse_segment_file_name(files[1].filename().string());
  auto reader = open_reader(tmp.path());
  EXPECT_EQ(*reader->start_offset(), first);
  EXPECT_EQ(next_offset_read(*reader), first);
  ASSERT_TRUE(reader->seek(0).ok());
  EXPECT_EQ(next_offset_read(*reader), first);
}

TEST(LogReaderTest, RecordWrittenInTwoPiecesIsReturnedOnceWhole) {
  TempDir tmp;
  write_log(tmp.path(), 3, 1 << 20);
  fs::path active = segment_files(tmp.path()).back();
  auto reader = open_reader(tmp.path());
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(next_offset_read(*reader), i);

  std::string bytes = encoded(3, value_for(3));
  for (size_t cut :
       {size_t{0}, size_t{1}, format::kHeaderSize - 1, format::kHeaderSize, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    append_raw(active, bytes.substr(0, cut));
    EXPECT_EQ(next_offset_read(*reader), -1);  // not yet there, and not an error
    fs::resize_file(active, fs::file_size(active) - cut);
  }
  append_raw(active, bytes.substr(0, 7));
  EXPECT_EQ(next_offset_read(*reader), -1);
  append_raw(active, bytes.substr(7));
  EXPECT_EQ(next_offset_read(*reader), 3);
}

TEST(LogReaderTest, CorruptTailOfTheActiveSegmentWaitsForTheWritersRepair) {
  TempDir tmp;
  write_log(tmp.path(), 10, 1 << 20);
  fs::path active = segment_files(tmp.path()).back();
  flip_byte(active, fs::file_size(active) - 2);  // inside record 9
  auto reader = open_reader(tmp.path());
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(next_offset_read(*reader), i);
  EXPECT_EQ(next_offset_read(*reader), -1);

  auto w = open_writer(tmp.path(), 1 << 20);  // cuts record 9
  EXPECT_EQ(w->next_offset(), 9);
  std::string v = value_for(9);
  std::string_view view = v;
  ASSERT_TRUE(w->append(std::span<const std::string_view>(&view, 1), 9).ok());
  EXPECT_EQ(next_offset_read(*reader), 9);
}

TEST(LogReaderTest, ChecksumMismatchInASealedSegmentIsCorruption) {
  TempDir tmp;
  write_log(tmp.path(), 100, 1000);
  auto files = segment_files(tmp.path());
  ASSERT_GT(files.size(), 3u);
  // Record 1 of the second segment: past its first record's header and payload.
  int64_t base = *format::parse_segment_file_name(files[1].filename().string());
  uint64_t at = format::record_size(value_for(base).size()) + 10;
  flip_byte(files[1], at);

  auto reader = open_reader(tmp.path());
  Record r;
  Result<bool> more = true;
  int64_t last = -1;
  while (more.ok() && *more) {
    more = reader->next(r);
    if (more.ok() && *more) last = r.offset;
  }
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), Errc::corruption);
  EXPECT_NE(more.status().message().find(files[1].string()), std::string::npos)
      << more.status().message();
  EXPECT_NE(more.status().message().find(
                "byte " + std::to_string(format::record_size(value_for(base).size()))),
            std::string::npos)
      << more.status().message();
  EXPECT_EQ(last, base);  // every record before the bad one was returned
}

TEST(LogReaderTest, SealedSegmentEndingInsideARecordIsCorruption) {
  TempDir tmp;
  write_log(tmp.path(), 100, 1000);
  auto files = segment_files(tmp.path());
  fs::resize_file(files[0], fs::file_size(files[0]) - 3);
  auto reader = open_reader(tmp.path());
  Record r;
  Result<bool> more = true;
  while (more.ok() && *more) more = reader->next(r);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().code(), Errc::corruption);
  EXPECT_NE(more.status().message().find(files[0].string()), std::string::npos);
}

TEST(LogReaderTest, FollowsAWriterAppendingConcurrently) {
  TempDir tmp;
  constexpr int64_t kRecords = 30000;
  auto w = open_writer(tmp.path(), 64 << 10);  // many rolls while the reader follows
  auto reader = open_reader(tmp.path());
  std::thread writer([&] {
    std::vector<std::string> values;
    std::vector<std::string_view> views;
    for (int64_t n = 0, batch = 1; n < kRecords; n += batch, batch = batch % 64 + 1) {
      values.clear();
      views.clear();
      for (int64_t i = n; i < std::min(n + batch, kRecords); ++i) values.push_back(value_for(i));
      views.assign(values.begin(), values.end());
      ASSERT_TRUE(w->append(views, n).ok());
    }
  });
  Record r;
  int64_t expect = 0;
  int64_t empty_polls = 0;
  while (expect < kRecords) {
    auto more = reader->next(r);
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) {
      ++empty_polls;
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(r.offset, expect);
    ASSERT_EQ(r.value, value_for(expect));
    ++expect;
  }
  writer.join();
  EXPECT_EQ(next_offset_read(*reader), -1);
  RecordProperty("empty_polls", std::to_string(empty_polls));
}

}  // namespace
}  // namespace questlog::log::embedded

namespace questlog::log::embedded {
namespace {

// Found by fuzz/segment_fuzz.cpp (slow inputs): a torn or damaged length field
// claiming up to 64 MiB made the reader allocate and zero that much before it
// found that the file ends far sooner.
TEST(SegmentReaderTest, ALengthPastTheFilesEndTakesNoMemoryForIt) {
  testing::TempDir dir;
  std::string bytes(format::record_size(3), '\0');
  format::encode_record(bytes.data(), 0, 1, "abc");
  std::string claim(format::kHeaderSize + 10, 'x');
  format::encode_record(claim.data(), 1, 1, std::string(10, 'x'));
  const uint32_t huge = format::kMaxPayload;
  std::memcpy(claim.data() + 4, &huge, 4);  // the length field (little-endian)
  bytes += claim;
  const SegmentFile file = segment_in(dir.path(), 0);
  std::ofstream(file.path, std::ios::binary) << bytes;

  auto reader = SegmentReader::open(io::local_file_system(), file);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  Record r;
  auto first = reader->read(r);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, SegmentReader::Outcome::record);
  auto second = reader->read(r);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, SegmentReader::Outcome::truncated);
  EXPECT_LE(reader->buffer_bytes(), size_t{1} << 20);
}

// A reader takes memory for what the file holds, not a fixed 1 MiB: reading
// short segments (a new one, a fuzz input) costs no large allocation. As the
// file grows under it, its buffer grows, up to its read size.
TEST(SegmentReaderTest, ItsBufferFitsTheSegmentAndGrowsWithIt) {
  testing::TempDir dir;
  const SegmentFile file = segment_in(dir.path(), 0);
  auto append = [&](int64_t first, int64_t n) {
    std::ofstream out(file.path, std::ios::binary | std::ios::app);
    for (int64_t o = first; o < first + n; ++o) out << encoded(o, value_for(o));
  };
  append(0, 3);
  auto reader = SegmentReader::open(io::local_file_system(), file);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  Record r;
  int64_t next = 0;
  auto read_to_end = [&] {
    for (;;) {
      auto got = reader->read(r);
      ASSERT_TRUE(got.ok()) << got.status().message();
      if (*got != SegmentReader::Outcome::record) {
        EXPECT_EQ(*got, SegmentReader::Outcome::end);
        return;
      }
      ASSERT_EQ(r.offset, next);
      ASSERT_EQ(r.value, value_for(next));
      ++next;
    }
  };
  read_to_end();
  EXPECT_EQ(next, 3);
  EXPECT_LE(reader->buffer_bytes(), size_t{4096});

  append(3, 20000);  // about 3 MiB
  read_to_end();
  EXPECT_EQ(next, 20003);
  EXPECT_GT(reader->buffer_bytes(), size_t{4096});
  EXPECT_LE(reader->buffer_bytes(), size_t{1} << 20);
}

}  // namespace
}  // namespace questlog::log::embedded
