// Damage that is not a torn tail: a bad record with valid records after it, a
// deleted or truncated segment. Recovery keeps every valid record and reuses no
// offset; a reader either reads everything or fails naming segment and offset.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "log/embedded/embedded_source.h"
#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"
#include "log/embedded/segment.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using testing::append_one;
using testing::open_writer;
using testing::Owned;
using testing::read_file;
using testing::read_through;
using testing::ReadThrough;
using testing::TempDir;
using testing::TwoSegmentLog;

constexpr int64_t kBase = TwoSegmentLog::kLastBase;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The records of `log` without those whose offsets are in [first, end).
std::vector<Owned> without(const std::vector<Owned>& records, int64_t first, int64_t end) {
  std::vector<Owned> out;
  for (const Owned& r : records)
    if (r.offset < first || r.offset >= end) out.push_back(r);
  return out;
}

// Expectations for a last segment whose records [first, end) (indices into it)
// were damaged, with valid records after them, and `torn` bytes of a torn tail
// after those: recovery cuts the torn tail only, keeps the segment otherwise as
// it is (`damaged`), reports the damage and continues the log after its last
// record; a reader fails at the damage, naming segment, byte and offset, or
// with skip_damaged reads every valid record and names the range it skipped.
void expect_damage_kept(const fs::path& dir, const TwoSegmentLog& log, const std::string& damaged,
                        size_t first, size_t end, uint64_t torn = 0) {
  const fs::path last = dir / format::segment_file_name(kBase);
  const int64_t next = log.records.back().offset + 1;
  const int64_t bad = kBase + static_cast<int64_t>(first);
  const int64_t good = kBase + static_cast<int64_t>(end);
  auto w = open_writer(dir, TwoSegmentLog::kSegmentBytes);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->next_offset(), next);
  EXPECT_EQ(read_file(last), damaged) << "the damaged segment was changed";

  const RecoveryReport& report = w->recovery();
  EXPECT_EQ(report.truncated_bytes, torn);
  EXPECT_EQ(report.segments, 3);
  EXPECT_EQ(report.next_offset, next);
  EXPECT_EQ(report.damaged_segment, last);
  ASSERT_EQ(report.damaged.size(), 1u);
  EXPECT_EQ(report.damaged[0].begin, log.boundaries[first]);
  EXPECT_EQ(report.damaged[0].end, log.boundaries[end]);
  EXPECT_EQ(report.damaged[0].first_offset, bad);
  EXPECT_EQ(report.damaged[0].end_offset, good);
  EXPECT_EQ(report.records_after_damage, static_cast<uint64_t>(next - good));
  EXPECT_EQ(report.damage.rfind(last.string() + ": ", 0), 0u) << report.damage;
  EXPECT_TRUE(contains(report.damaged[0].why, " at byte " + std::to_string(log.boundaries[first])))
      << report.damaged[0].why;
  EXPECT_TRUE(contains(report.damage, report.damaged[0].why + ", offset " + std::to_string(bad)))
      << report.damage;
  EXPECT_TRUE(contains(report.damage, log::describe_offsets(bad, good) + " lost, " +
                                          std::to_string(next - good) + " valid records follow"))
      << report.damage;
  EXPECT_TRUE(contains(report.damage, "continues at offset " + std::to_string(next)))
      << report.damage;

  auto after = append_one(*w, "after", 42);
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(*after, next) << "an offset was reused";
  w.reset();
  EXPECT_TRUE(fs::exists(dir / format::segment_file_name(next)));

  ReadThrough strict = read_through(dir);
  EXPECT_EQ(strict.status.code(), Errc::corruption) << strict.status.message();
  EXPECT_EQ(strict.status.message().rfind(last.string() + ": ", 0), 0u) << strict.status.message();
  EXPECT_TRUE(
      contains(strict.status.message(), " at byte " + std::to_string(log.boundaries[first])))
      << strict.status.message();
  EXPECT_TRUE(contains(strict.status.message(), ", offset " + std::to_string(bad) + ":"))
      << strict.status.message();
  EXPECT_EQ(strict.records, std::vector<Owned>(log.records.begin(), log.records.begin() + bad));

  ReadThrough skipping = read_through(dir, {.skip_damaged = true});
  EXPECT_TRUE(skipping.status.ok()) << skipping.status.message();
  std::vector<Owned> expected = without(log.records, bad, good);
  expected.push_back({next, 42, "after"});
  EXPECT_EQ(skipping.records, expected);
  ASSERT_EQ(skipping.skipped.size(), 1u);
  EXPECT_EQ(skipping.skipped[0].start, bad);
  EXPECT_EQ(skipping.skipped[0].end, good);
  EXPECT_EQ(skipping.skipped[0].where.rfind(last.string() + " bytes " +
                                                std::to_string(log.boundaries[first]) + " to " +
                                                std::to_string(log.boundaries[end]) + " (",
                                            0),
            0u)
      << skipping.skipped[0].where;
}

// ------------------------------------------------------------------ recovery

TEST(LogCorruptionTest, BadByteInARecordInTheMiddleOfTheLastSegmentKeepsEveryValidRecord) {
  TempDir original;
  TwoSegmentLog log(original.path());
  // The first record of the segment, one in the middle, and an empty one.
  for (size_t record : {size_t{0}, size_t{5}, size_t{7}}) {
    for (uint64_t at = log.boundaries[record]; at < log.boundaries[record + 1]; ++at) {
      SCOPED_TRACE("record " + std::to_string(record) + ", byte " + std::to_string(at));
      TempDir tmp;
      std::string bytes = log.last_segment;
      bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
      log.write_to(tmp.path(), bytes);
      expect_damage_kept(tmp.path(), log, bytes, record, record + 1);
    }
  }
}

TEST(LogCorruptionTest, ZeroedRangeInTheMiddleOfTheLastSegmentKeepsEveryValidRecord) {
  TempDir original;
  TwoSegmentLog log(original.path());
  const uint64_t last_record = log.boundaries[log.boundaries.size() - 2];
  // Ranges from each byte of record 5: within it, into the next, across several.
  for (uint64_t from = log.boundaries[5]; from < log.boundaries[6]; ++from) {
    for (uint64_t length : {1, 24, 90}) {
      const uint64_t to = std::min(from + length, last_record);
      std::string bytes = log.last_segment;
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(from),
                bytes.begin() + static_cast<std::ptrdiff_t>(to), '\0');
      // The records whose bytes changed (zeroing a zero changes nothing).
      size_t first = SIZE_MAX, end = 0;
      for (size_t i = 0; i + 1 < log.boundaries.size(); ++i) {
        for (uint64_t b = log.boundaries[i]; b < log.boundaries[i + 1]; ++b) {
          if (bytes[b] != log.last_segment[b]) {
            first = std::min(first, i);
            end = i + 1;
          }
        }
      }
      if (first == SIZE_MAX) continue;
      SCOPED_TRACE("zeroed bytes " + std::to_string(from) + " to " + std::to_string(to));
      TempDir tmp;
      log.write_to(tmp.path(), bytes);
      expect_damage_kept(tmp.path(), log, bytes, first, end);
    }
  }
}

TEST(LogCorruptionTest, TornTailAfterDamageIsCutAndTheDamagedRecordsKept) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string bytes = log.last_segment;
  bytes[log.boundaries[5] + 3] ^= 0x01;
  std::string torn(format::record_size(10), '\0');
  format::encode_record(torn.data(), log.records.back().offset + 1, 0, "0123456789");
  log.write_to(tmp.path(), bytes + torn.substr(0, 30));
  expect_damage_kept(tmp.path(), log, bytes, 5, 6, 30);
}

TEST(LogCorruptionTest, FlippedByteThirtyOfAOneSegmentLogKeepsTheRestAndReusesNoOffset) {
  // The reproduction, small: byte 30 is in the payload of record 0.
  TempDir tmp;
  std::vector<Owned> written;
  {
    auto w = open_writer(tmp.path(), 16 << 20);
    for (int64_t i = 0; i < 2000; ++i) {
      std::string v = "{\"event_type\":\"default\",\"n\":" + std::to_string(i) + "}";
      ASSERT_TRUE(append_one(*w, v, i).ok());
      written.push_back({i, i, v});
    }
  }
  const fs::path segment = tmp.path() / format::segment_file_name(0);
  std::string bytes = read_file(segment);
  bytes[30] ^= 0x01;
  testing::write_file(segment, bytes);

  auto w = open_writer(tmp.path(), 16 << 20);
  EXPECT_EQ(w->next_offset(), 2000);
  EXPECT_EQ(read_file(segment), bytes);
  EXPECT_EQ(w->recovery().damage,
            segment.string() +
                ": checksum mismatch in the record at byte 0, offset 0: offset 0 lost, 1999 valid "
                "records follow; the segment is kept as it is and sealed, and the log continues at "
                "offset 2000 (readers stop at the damage unless --skip-damaged)");
  ASSERT_EQ(*append_one(*w, "new", 7), 2000);
  w.reset();
  // Reopening changes nothing more: the damaged segment is sealed now.
  w = open_writer(tmp.path(), 16 << 20);
  EXPECT_EQ(w->next_offset(), 2001);
  EXPECT_TRUE(w->recovery().damaged.empty());
  EXPECT_EQ(read_file(segment), bytes);
  w.reset();

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(), segment.string() + ": checksum mismatch in the "
                                                                   "record at byte 0, offset 0"))
      << strict.status.message();
  EXPECT_TRUE(strict.records.empty());

  ReadThrough skipping = read_through(tmp.path(), {.skip_damaged = true});
  ASSERT_TRUE(skipping.status.ok()) << skipping.status.message();
  written.erase(written.begin());
  written.push_back({2000, 7, "new"});
  EXPECT_EQ(skipping.records, written);
  ASSERT_EQ(skipping.skipped.size(), 1u);
  EXPECT_EQ(skipping.skipped[0].start, 0);
  EXPECT_EQ(skipping.skipped[0].end, 1);
}

TEST(LogCorruptionTest, TwoDamagedRangesInTheLastSegmentAreBothKeptAndReported) {
  TempDir tmp;
  TwoSegmentLog log(tmp.path());
  std::string bytes = log.last_segment;
  bytes[log.boundaries[2] + 1] ^= 0x01;   // the checksum of record 2
  bytes[log.boundaries[8] + 30] ^= 0x01;  // the payload of record 8
  log.write_to(tmp.path(), bytes);

  auto w = open_writer(tmp.path(), TwoSegmentLog::kSegmentBytes);
  const RecoveryReport& report = w->recovery();
  ASSERT_EQ(report.damaged.size(), 2u);
  EXPECT_EQ(report.damaged[0].first_offset, kBase + 2);
  EXPECT_EQ(report.damaged[0].end_offset, kBase + 3);
  EXPECT_EQ(report.damaged[1].first_offset, kBase + 8);
  EXPECT_EQ(report.damaged[1].end_offset, kBase + 9);
  EXPECT_EQ(report.records_after_damage, 8u);
  EXPECT_TRUE(contains(report.damage, "8 valid records follow (past 1 more damaged range)"))
      << report.damage;
  EXPECT_EQ(w->next_offset(), log.records.back().offset + 1);
  w.reset();

  ReadThrough skipping = read_through(tmp.path(), {.skip_damaged = true});
  ASSERT_TRUE(skipping.status.ok()) << skipping.status.message();
  EXPECT_EQ(skipping.records,
            without(without(log.records, kBase + 2, kBase + 3), kBase + 8, kBase + 9));
  ASSERT_EQ(skipping.skipped.size(), 2u);
  EXPECT_EQ(skipping.skipped[1].start, kBase + 8);
}

// ------------------------------------------------------------------ readers

std::string value_for(int64_t offset) {
  return "value " + std::to_string(offset) + std::string(static_cast<size_t>(offset % 50), 'x');
}

// Records 0..n-1 (value_for(offset), timestamp = offset) in segments of about
// `segment_bytes`; returns the segment files in order.
std::vector<fs::path> write_log(const fs::path& dir, int64_t n, uint64_t segment_bytes) {
  {
    auto w = open_writer(dir, segment_bytes);
    for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(append_one(*w, value_for(i), i).ok());
  }
  std::vector<fs::path> files;
  for (auto& e : fs::directory_iterator(dir))
    if (format::parse_segment_file_name(e.path().filename().string())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<Owned> records_of(int64_t first, int64_t end) {
  std::vector<Owned> out;
  for (int64_t i = first; i < end; ++i) out.push_back({i, i, value_for(i)});
  return out;
}

int64_t base_of(const fs::path& segment) {
  return *format::parse_segment_file_name(segment.filename().string());
}

TEST(LogCorruptionTest, DeletedMiddleSegmentFailsTheReaderNamingSegmentAndOffset) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  ASSERT_GT(files.size(), 4u);
  const int64_t lost = base_of(files[2]), resumes = base_of(files[3]);
  fs::remove(files[2]);

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(), files[1].string())) << strict.status.message();
  EXPECT_TRUE(contains(strict.status.message(), "offset " + std::to_string(lost)))
      << strict.status.message();
  EXPECT_TRUE(contains(strict.status.message(),
                       "offsets " + std::to_string(lost) + " to " + std::to_string(resumes - 1)))
      << strict.status.message();
  EXPECT_EQ(strict.records, records_of(0, lost));

  ReadThrough skipping = read_through(tmp.path(), {.skip_damaged = true});
  ASSERT_TRUE(skipping.status.ok()) << skipping.status.message();
  std::vector<Owned> expected = records_of(0, lost);
  for (const Owned& r : records_of(resumes, 200)) expected.push_back(r);
  EXPECT_EQ(skipping.records, expected);
  ASSERT_EQ(skipping.skipped.size(), 1u);
  EXPECT_EQ(skipping.skipped[0].start, lost);
  EXPECT_EQ(skipping.skipped[0].end, resumes);
  EXPECT_TRUE(contains(skipping.skipped[0].where, "no segment holds them (" + files[1].string()))
      << skipping.skipped[0].where;
}

// Reading with skip_damaged returns every record but those of [first, end), and
// names that range alone.
void expect_skips_only(const fs::path& dir, int64_t n, int64_t first, int64_t end) {
  ReadThrough skipping = read_through(dir, {.skip_damaged = true});
  ASSERT_TRUE(skipping.status.ok()) << skipping.status.message();
  EXPECT_EQ(skipping.records, without(records_of(0, n), first, end));
  ASSERT_EQ(skipping.skipped.size(), 1u);
  EXPECT_EQ(skipping.skipped[0].start, first);
  EXPECT_EQ(skipping.skipped[0].end, end);
}

TEST(LogCorruptionTest, FirstSegmentTruncatedAtARecordBoundaryFailsTheReader) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  const int64_t second = base_of(files[1]);
  const uint64_t last_record = format::record_size(value_for(second - 1).size());
  fs::resize_file(files[0], fs::file_size(files[0]) - last_record);

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(), files[0].string())) << strict.status.message();
  EXPECT_TRUE(contains(strict.status.message(), "offset " + std::to_string(second - 1)))
      << strict.status.message();
  EXPECT_EQ(strict.records, records_of(0, second - 1));
  expect_skips_only(tmp.path(), 200, second - 1, second);
}

TEST(LogCorruptionTest, FirstSegmentTruncatedInsideARecordFailsTheReader) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  const int64_t second = base_of(files[1]);
  fs::resize_file(files[0], fs::file_size(files[0]) - 3);

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(), files[0].string() + ": file ends inside the "
                                                                    "record at byte"))
      << strict.status.message();
  EXPECT_TRUE(contains(strict.status.message(), "offset " + std::to_string(second - 1)))
      << strict.status.message();
  EXPECT_EQ(strict.records, records_of(0, second - 1));
  expect_skips_only(tmp.path(), 200, second - 1, second);
}

TEST(LogCorruptionTest, BadRecordInASealedSegmentFailsTheReaderNamingSegmentAndOffset) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  const int64_t base = base_of(files[1]);
  const uint64_t at = format::record_size(value_for(base).size());  // record base + 1
  std::string bytes = read_file(files[1]);
  bytes[at + format::kHeaderSize + 2] ^= 0x04;
  testing::write_file(files[1], bytes);

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(),
                       files[1].string() + ": checksum mismatch in the record at byte " +
                           std::to_string(at) + ", offset " + std::to_string(base + 1)))
      << strict.status.message();
  EXPECT_EQ(strict.records, records_of(0, base + 1));
  expect_skips_only(tmp.path(), 200, base + 1, base + 2);
}

// Segment 0 of a TwoSegmentLog with records appended to it, as a copy from
// another log would have them: offsets 0 to `last`.
std::string segment_zero_through(const TwoSegmentLog& log, int64_t last) {
  std::string bytes = log.first_segment;
  for (int64_t offset = kBase; offset <= last; ++offset) {
    std::string record(format::record_size(5), '\0');
    format::encode_record(record.data(), offset, 7, "stray");
    bytes += record;
  }
  return bytes;
}

// A sealed segment that holds offsets the next one starts with: no reader
// reads past it, and appending would reuse offsets. The writer refuses to open
// the log, in one line naming both segments.
TEST(LogCorruptionTest, ASealedSegmentHoldingTheNextSegmentsOffsetsIsRefused) {
  for (int64_t last : {kBase, kBase + 5, int64_t{40}}) {  // into the last segment, past its end
    SCOPED_TRACE(last);
    TempDir tmp;
    TwoSegmentLog log(tmp.path());
    const fs::path first = tmp.path() / format::segment_file_name(0);
    testing::write_file(first, segment_zero_through(log, last));
    const std::string last_segment = read_file(tmp.path() / format::segment_file_name(kBase));

    auto w = LogWriter::open({tmp.path(), TwoSegmentLog::kSegmentBytes});
    ASSERT_FALSE(w.ok()) << "opened at offset " << (*w)->next_offset();
    EXPECT_EQ(w.status().code(), Errc::corruption);
    EXPECT_EQ(w.status().message(),
              first.string() + " holds offsets up to " + std::to_string(last) +
                  ", but the next segment, " + format::segment_file_name(kBase) +
                  ", starts at offset 3: two segments hold the same offsets, and no reader reads "
                  "past the first (a segment copied in from another log?); move the one that does "
                  "not belong out of " +
                  tmp.path().string());
    EXPECT_EQ(read_file(tmp.path() / format::segment_file_name(kBase)), last_segment);
    // Readers stop there too, even skipping damage.
    ReadThrough skipping = read_through(tmp.path(), {.skip_damaged = true});
    EXPECT_EQ(skipping.status.code(), Errc::corruption) << skipping.status.message();
  }
}

// What the writer's check reads: the last record of a segment, found from its end.
TEST(LogCorruptionTest, LastOffsetOfASegmentIsFoundFromItsEnd) {
  TempDir tmp;
  const fs::path path = tmp.path() / format::segment_file_name(10);
  auto last_of = [&](std::string_view bytes) {
    testing::write_file(path, bytes);
    auto got = last_offset_of(io::local_file_system(), {10, path});
    EXPECT_TRUE(got.ok()) << got.status().message();
    return got.ok() ? *got : std::optional<int64_t>(-1);
  };
  auto record = [](int64_t offset, std::string_view value, std::string_view key = {}) {
    std::string r(format::record_size(value.size(), key.size()), '\0');
    format::encode_record(r.data(), offset, 1, value, key);
    return r;
  };
  EXPECT_EQ(last_of(""), std::nullopt);
  EXPECT_EQ(last_of(record(10, "")), 10);
  EXPECT_EQ(last_of(record(10, "a") + record(11, "b", "key")), 11);
  // A record larger than the first look back (4 KiB), whose payload holds a
  // whole record that does not end the file.
  const std::string inner = record(99, "inner");
  EXPECT_EQ(last_of(record(10, "a") + record(11, inner + std::string(10000, 'x'))), 11);
  std::string ends_in_zeros = record(10, "a") + std::string(100, '\0');
  EXPECT_EQ(last_of(ends_in_zeros), std::nullopt);
  std::string damaged = record(10, "a") + record(11, "b");
  damaged.back() ^= 1;
  EXPECT_EQ(last_of(damaged), std::nullopt);
  EXPECT_EQ(last_of(record(3, "below the base")), std::nullopt);
}

TEST(LogCorruptionTest, BadRecordInTheActiveSegmentFailsTheReaderInsteadOfWaiting) {
  // Before any writer has reopened the log: a bad record with valid ones after
  // it is no write in progress.
  TempDir tmp;
  auto files = write_log(tmp.path(), 100, 1 << 20);
  ASSERT_EQ(files.size(), 1u);
  uint64_t at = 0;
  for (int64_t i = 0; i < 40; ++i) at += format::record_size(value_for(i).size());
  std::string bytes = read_file(files[0]);
  bytes[at + 5] ^= 0x01;  // the length of record 40
  testing::write_file(files[0], bytes);

  ReadThrough strict = read_through(tmp.path());
  EXPECT_EQ(strict.status.code(), Errc::corruption);
  EXPECT_TRUE(contains(strict.status.message(), files[0].string() +
                                                    ": checksum mismatch in the record at byte " +
                                                    std::to_string(at) + ", offset 40"))
      << strict.status.message();
  EXPECT_EQ(strict.records, records_of(0, 40));
  expect_skips_only(tmp.path(), 100, 40, 41);

  auto reader = LogReader::open(tmp.path());
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(*(*reader)->end_offset(), 100);  // the end is past the damage
}

TEST(LogCorruptionTest, SeekPastDamageReadsOnWithoutError) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  const int64_t base = base_of(files[1]);
  std::string bytes = read_file(files[1]);
  bytes[3] ^= 0x01;  // the checksum of the segment's first record
  testing::write_file(files[1], bytes);

  auto reader = LogReader::open(tmp.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->seek(base + 2).ok());
  Record r;
  for (int64_t expect = base + 2; expect < 200; ++expect) {
    auto more = (*reader)->next(r);
    ASSERT_TRUE(more.ok()) << more.status().message();
    ASSERT_TRUE(*more);
    ASSERT_EQ(r.offset, expect);
  }
  // Asking for the damaged offset itself fails.
  ASSERT_TRUE((*reader)->seek(base).ok());
  auto more = (*reader)->next(r);
  ASSERT_FALSE(more.ok());
  EXPECT_TRUE(contains(more.status().message(), "offset " + std::to_string(base)))
      << more.status().message();
}

// ------------------------------------------------------------------ sources

// Every record a source yields for `ranges`, until the end or an error.
ReadThrough read_source(RecordSource& source, const std::vector<PartitionRange>& ranges) {
  ReadThrough out;
  out.status = source.read(ranges);
  Record r;
  while (out.status.ok()) {
    auto more = source.next(r);
    if (!more.ok()) out.status = more.status();
    if (!more.ok() || !*more) break;
    out.records.push_back({r.offset, r.timestamp_ms, std::string(r.value)});
  }
  out.skipped = source.take_skipped();
  return out;
}

TEST(LogCorruptionTest, SourceReadsUpToDamageAtItsRangeEndAndSkipsOnlyWithinIt) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 200, 1000);
  const int64_t base = base_of(files[1]);
  std::string bytes = read_file(files[1]);
  uint64_t three = 0;  // the first three records of the segment
  for (int64_t i = base; i < base + 3; ++i) three += format::record_size(value_for(i).size());
  std::fill(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(three), '\0');
  testing::write_file(files[1], bytes);

  auto strict = open_source(tmp.path());
  ASSERT_TRUE(strict.ok()) << strict.status().message();
  ReadThrough before = read_source(**strict, {{0, 0, base}});
  EXPECT_TRUE(before.status.ok()) << before.status.message();  // the damage is not in the range
  EXPECT_EQ(before.records, records_of(0, base));
  ReadThrough into = read_source(**strict, {{0, base - 1, base + 1}});
  EXPECT_EQ(into.status.code(), Errc::corruption);

  auto skipping = open_source(tmp.path(), {.skip_damaged = true});
  ASSERT_TRUE(skipping.ok());
  ReadThrough partly = read_source(**skipping, {{0, base - 1, base + 1}});
  ASSERT_TRUE(partly.status.ok()) << partly.status.message();
  EXPECT_EQ(partly.records, records_of(base - 1, base));
  ASSERT_EQ(partly.skipped.size(), 1u);  // clipped to the range
  EXPECT_EQ(partly.skipped[0].start, base);
  EXPECT_EQ(partly.skipped[0].end, base + 1);
  ReadThrough across = read_source(**skipping, {{0, base - 1, base + 5}});
  ASSERT_TRUE(across.status.ok()) << across.status.message();
  std::vector<Owned> expected = records_of(base - 1, base);
  for (const Owned& r : records_of(base + 3, base + 5)) expected.push_back(r);
  EXPECT_EQ(across.records, expected);
  ASSERT_EQ(across.skipped.size(), 1u);
  EXPECT_EQ(across.skipped[0].start, base);
  EXPECT_EQ(across.skipped[0].end, base + 3);
}

TEST(LogCorruptionTest, SourceFailsWhenTheLogWasCutBelowTheEndItOpenedWith) {
  TempDir tmp;
  auto files = write_log(tmp.path(), 100, 1 << 20);
  auto source = open_source(tmp.path());
  ASSERT_TRUE(source.ok());
  uint64_t last_three = 0;
  for (int64_t i = 97; i < 100; ++i) last_three += format::record_size(value_for(i).size());
  fs::resize_file(files[0], fs::file_size(files[0]) - last_three);

  ReadThrough r = read_source(**source, (*source)->partitions());
  EXPECT_EQ(r.records, records_of(0, 97));
  EXPECT_EQ(r.status.code(), Errc::corruption);
  EXPECT_EQ(r.status.message(), tmp.path().string() +
                                    ": the log ends at offset 97, short of offset 100 that it "
                                    "held when this read began (cut since?)");
}

}  // namespace
}  // namespace questlog::log::embedded
