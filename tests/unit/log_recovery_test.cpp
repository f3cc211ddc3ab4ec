// What LogWriter::open does with a last segment that a crash, a full disk or bit
// rot left behind, and what a failed append leaves.
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
using testing::Owned;
using testing::read_all;
using testing::TempDir;

std::unique_ptr<LogWriter> open_writer(const fs::path& dir, uint64_t segment_bytes = 600) {
  auto w = LogWriter::open({dir, segment_bytes});
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w.value()) : nullptr;
}

Result<int64_t> append_one(LogWriter& w, std::string_view v, int64_t ts) {
  return w.append(std::span<const std::string_view>(&v, 1), ts);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A log of two segments: three 200-byte records fill segment 0, and the last
// segment holds records of the sizes below (empty ones included).
struct TwoSegmentLog {
  static constexpr size_t kLastSizes[] = {0, 1, 5, 23, 24, 25, 40, 0, 7, 31, 2, 17};
  static constexpr int64_t kLastBase = 3;

  std::vector<Owned> records;
  std::vector<uint64_t>
      boundaries;  // byte where each record of the last segment starts, and the end
  std::string first_segment, last_segment;

  explicit TwoSegmentLog(const fs::path& dir) {
    auto w = open_writer(dir);
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
  void write_to(const fs::path& dir, std::string_view last) const {
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

TEST(LogRecoveryTest, CorruptRecordInTheMiddleCutsEverythingFromIt) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string bytes = log.last_segment;
  const uint64_t fifth = log.boundaries[4];
  bytes[fifth + format::kHeaderSize + 3] ^= 0x01;  // payload of the fifth record (24 bytes)
  log.write_to(tmp.path(), bytes);

  auto w = open_writer(tmp.path());
  EXPECT_EQ(w->recovery().truncated_bytes, log.last_segment.size() - fifth);
  EXPECT_NE(
      w->recovery().detail.find("checksum mismatch in the record at byte " + std::to_string(fifth)),
      std::string::npos)
      << w->recovery().detail;
  EXPECT_EQ(w->next_offset(), TwoSegmentLog::kLastBase + 4);
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
