// What LogWriter::open does with a torn last segment that a crash, a full disk
// or a bad last record left behind, and what a failed append leaves. (Damage
// with valid records after it is log_corruption_test.cpp's.)
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <csignal>
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
using testing::append_one;
using testing::Owned;
using testing::read_all;
using testing::read_file;
using testing::TempDir;
using testing::TwoSegmentLog;

std::unique_ptr<LogWriter> open_writer(const fs::path& dir,
                                       uint64_t segment_bytes = TwoSegmentLog::kSegmentBytes) {
  return testing::open_writer(dir, segment_bytes);
}

TEST(LogRecoveryTest, TornTailAtEveryByteIsCutAndOffsetsContinue) {
  TempDir original;
  TwoSegmentLog log(original.path());

  for (uint64_t k = 0; k <= log.last_segment.size(); ++k) {
    SCOPED_TRACE("last segment cut to " + std::to_string(k) + " bytes");
    TempDir tmp;
    log.write_to(tmp.path(), std::string_view(log.last_segment).substr(0, k));
    size_t whole = log.whole_records_within(k);
    int64_t expected_next = TwoSegmentLog::kLastBase + static_cast<int64_t>(whole);

    auto w = open_writer(tmp.path());
    ASSERT_NE(w, nullptr);
    const RecoveryReport& report = w->recovery();
    EXPECT_EQ(report.truncated_bytes, k - log.boundaries[whole]);
    EXPECT_EQ(report.detail.empty(), report.truncated_bytes == 0) << report.detail;
    EXPECT_EQ(report.segments, 2);
    EXPECT_EQ(report.next_offset, expected_next);
    ASSERT_EQ(w->next_offset(), expected_next);
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(TwoSegmentLog::kLastBase)),
              log.boundaries[whole]);
    auto after = append_one(*w, "after the cut", 42);
    ASSERT_TRUE(after.ok()) << after.status().message();
    EXPECT_EQ(*after, expected_next);
    w.reset();

    std::vector<Owned> expected(log.records.begin(),
                                log.records.begin() + TwoSegmentLog::kLastBase + whole);
    expected.push_back({expected_next, 42, "after the cut"});
    EXPECT_EQ(read_all(tmp.path()), expected);
    EXPECT_EQ(read_file(tmp.path() / format::segment_file_name(0)), log.first_segment);
  }
}

TEST(LogRecoveryTest, CorruptByteAnywhereInTheLastRecordCutsJustThatRecord) {
  TempDir original;
  TwoSegmentLog log(original.path());
  const uint64_t last_start = log.boundaries[log.boundaries.size() - 2];

  for (uint64_t at = last_start; at < log.last_segment.size(); ++at) {
    SCOPED_TRACE("byte " + std::to_string(at));
    TempDir tmp;
    std::string bytes = log.last_segment;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    log.write_to(tmp.path(), bytes);

    auto w = open_writer(tmp.path());
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->recovery().truncated_bytes, log.last_segment.size() - last_start);
    EXPECT_EQ(w->next_offset(), log.records.back().offset);
    EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(TwoSegmentLog::kLastBase)),
              last_start);
    EXPECT_NE(w->recovery().detail.find(format::segment_file_name(3)), std::string::npos);
    w.reset();
    std::vector<Owned> expected(log.records.begin(), log.records.end() - 1);
    EXPECT_EQ(read_all(tmp.path()), expected);
  }
}

TEST(LogRecoveryTest, GarbageAfterValidRecordsIsCut) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string garbage(100, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 97 + 13);
  log.write_to(tmp.path(), log.last_segment + garbage);

  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, garbage.size());
  EXPECT_EQ(w->next_offset(), log.records.back().offset + 1);
  EXPECT_EQ(fs::file_size(tmp.path() / format::segment_file_name(3)), log.last_segment.size());
}

TEST(LogRecoveryTest, ZeroFilledTailIsCut) {
  // What a file system may leave when the size reached the disk and the data did not.
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  log.write_to(tmp.path(), log.last_segment + std::string(4096, '\0'));
  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, 4096u);
  EXPECT_EQ(w->next_offset(), log.records.back().offset + 1);
}

TEST(LogRecoveryTest, ImpossibleLengthIsCut) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string header(format::kHeaderSize, '\0');
  format::detail::put_u32(header.data() + 4, 0xFFFFFFF0u);
  format::detail::put_u64(header.data() + 8, static_cast<uint64_t>(log.records.size()));
  log.write_to(tmp.path(), log.last_segment + header + "tail");

  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, header.size() + 4);
  EXPECT_NE(w->recovery().detail.find("claims 4294967280 payload bytes"), std::string::npos)
      << w->recovery().detail;
  EXPECT_EQ(w->next_offset(), log.records.back().offset + 1);
}

TEST(LogRecoveryTest, RecordWithAnUnexpectedOffsetIsCut) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  // A well-formed record that repeats the last offset.
  std::string again(format::record_size(3), '\0');
  format::encode_record(again.data(), log.records.back().offset, 0, "dup");
  log.write_to(tmp.path(), log.last_segment + again);

  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, again.size());
  EXPECT_NE(w->recovery().detail.find("expected " + std::to_string(log.records.size())),
            std::string::npos)
      << w->recovery().detail;
}

TEST(LogRecoveryTest, SegmentWhoseFirstRecordIsNotItsBaseIsEmptied) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string wrong(format::record_size(1), '\0');
  format::encode_record(wrong.data(), 0, 0, "x");  // belongs at offset 3
  log.write_to(tmp.path(), wrong);
  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, wrong.size());
  EXPECT_EQ(w->next_offset(), TwoSegmentLog::kLastBase);
}

TEST(LogRecoveryTest, EmptyLastSegmentContinuesAtItsBase) {
  TempDir tmp;
  {
    auto w = open_writer(tmp.path(), format::record_size(5));
    ASSERT_TRUE(append_one(*w, "12345", 1).ok());  // fills segment 0 and rolls
  }
  ASSERT_TRUE(fs::exists(tmp.path() / format::segment_file_name(1)));
  auto w = open_writer(tmp.path(), format::record_size(5));
  EXPECT_EQ(w->recovery().segments, 2);
  EXPECT_EQ(w->recovery().truncated_bytes, 0u);
  EXPECT_EQ(w->next_offset(), 1);
}

// Lowers this process's file size limit so that writes past `bytes` fail with
// EFBIG (SIGXFSZ ignored), restoring both on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lowered);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = nullptr;
};

TEST(LogRecoveryTest, FailedWriteLeavesNoPartOfTheBatchAndTheNextAppendSucceeds) {
  TempDir tmp;
  auto w = open_writer(tmp.path(), 1 << 20);
  ASSERT_TRUE(append_one(*w, "before", 1).ok());
  fs::path segment = tmp.path() / format::segment_file_name(0);
  const uint64_t size_before = fs::file_size(segment);

  std::string value(150, 'v');
  std::vector<std::string_view> batch(10, value);
  {
    // Room for the first record and part of the second: a short write, then EFBIG.
    FileSizeLimit limit(size_before + format::record_size(150) + 50);
    auto failed = w->append(batch, 2);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), Errc::io_error);
    EXPECT_NE(failed.status().message().find(segment.string() + ": write: "), std::string::npos)
        << failed.status().message();
  }
  EXPECT_EQ(fs::file_size(segment), size_before);
  EXPECT_EQ(w->next_offset(), 1);

  auto next = append_one(*w, "after", 3);
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(*next, 1);
  w.reset();
  std::vector<Owned> expected = {{0, 1, "before"}, {1, 3, "after"}};
  EXPECT_EQ(read_all(tmp.path()), expected);
}

}  // namespace
}  // namespace questlog::log::embedded
