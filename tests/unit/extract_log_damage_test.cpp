// run_extract over a log that is damaged, cut or restored from a backup: the
// job fails and publishes nothing rather than commit offsets it never read.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "extract/extract.h"
#include "extract/job.h"
#include "extract_log_fixture.h"
#include "log/embedded/format.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
namespace format = log::embedded::format;

const char* kJob = R"(
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
[[tables]]
name = "all"
path = "all"
)";

class ExtractLogDamageTest : public test_util::ExtractLogFixture {
 protected:
  // Appends n events, every other one a sword, one at a time, in segments of
  // about 2000 bytes.
  void append(int n) {
    auto w = log::embedded::testing::open_writer(log_dir_, 2000);
    ASSERT_NE(w, nullptr);
    for (int i = 0; i < n; ++i) {
      std::string v = std::string(R"({"event_type":")") + (i % 2 ? "purchase_sword" : "default") +
                      R"(","n":)" + std::to_string(i) + "}";
      ASSERT_TRUE(log::embedded::testing::append_one(*w, v, 1532214012345).ok());
    }
  }

  std::vector<fs::path> segments() const {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(log_dir_))
      if (format::parse_segment_file_name(e.path().filename().string())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  test_util::Run run(ExtractOptions o = {}) { return ExtractLogFixture::run(kJob, o); }
};

TEST_F(ExtractLogDamageTest, DeletedMiddleSegmentFailsTheJobAndPublishesNothing) {
  append(100);
  ASSERT_TRUE(run().status.ok());
  const auto swords_before = files("swords");
  const auto all_before = files("all");
  append(400);
  auto segs = segments();
  ASSERT_GT(segs.size(), 6u);
  const fs::path deleted = segs[segs.size() - 3];
  fs::remove(deleted);

  test_util::Run r = run();
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Errc::corruption);
  EXPECT_NE(r.status.message().find(segs[segs.size() - 4].string()), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("offset " + std::to_string(*format::parse_segment_file_name(
                                                    deleted.filename().string()))),
            std::string::npos)
      << r.status.message();
  EXPECT_EQ(files("swords"), swords_before);  // the incremental table committed nothing
  EXPECT_EQ(files("all"), all_before);
}

TEST_F(ExtractLogDamageTest, IncrementalTableCommittedPastTheLogsEndIsRefused) {
  append(300);
  ASSERT_TRUE(run().status.ok());
  const auto swords_before = files("swords");
  // The log as a backup from before the last 250 events would have it.
  fs::remove_all(log_dir_);
  append(50);

  test_util::Run r = run();
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.message().rfind("table swords: committed through offset 300 but the log " +
                                         log_dir_.string() +
                                         " ends at 50 (a restored backup or a cut log?); ",
                                     0),
            0u)
      << r.status.message();
  EXPECT_EQ(files("swords"), swords_before);
}

TEST_F(ExtractLogDamageTest, IncrementalTableCommittedBelowTheLogsStartIsRefused) {
  append(100);
  ASSERT_TRUE(run().status.ok());
  const auto swords_before = files("swords");
  append(400);
  // Older segments deleted, up to and including the one holding offset 100.
  auto segs = segments();
  int64_t start = 0;
  for (const fs::path& s : segs) {
    start = *format::parse_segment_file_name(s.filename().string());
    if (start > 100) break;
    fs::remove(s);
  }

  test_util::Run r = run();
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(
      r.status.message().rfind("table swords: committed through offset 100 but the log " +
                                   log_dir_.string() + " starts at offset " + std::to_string(start),
                               0),
      0u)
      << r.status.message();
  EXPECT_EQ(files("swords"), swords_before);
}

TEST_F(ExtractLogDamageTest, SkipDamagedReadsPastADeletedSegmentAndCountsItAsRead) {
  append(100);
  ASSERT_TRUE(run().status.ok());
  append(400);
  auto segs = segments();
  const fs::path deleted = segs[segs.size() - 3];
  const int64_t lost = *format::parse_segment_file_name(deleted.filename().string());
  const int64_t resumes =
      *format::parse_segment_file_name(segs[segs.size() - 2].filename().string());
  fs::remove(deleted);

  ExtractOptions o;
  o.skip_damaged = true;
  test_util::Run r = run(o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.report.skipped.size(), 1u);
  EXPECT_EQ(r.report.skipped[0].start, lost);
  EXPECT_EQ(r.report.skipped[0].end, resumes);
  EXPECT_EQ(r.report.records, static_cast<uint64_t>(500 - (resumes - lost)));  // "all": from 0
  EXPECT_NE(r.err.find("questlog: skipped " + log::describe_offsets(lost, resumes) + ": "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("questlog: read " + std::to_string(r.report.records) +
                       " records, offsets 0 to 500, skipped 1 damaged range (" +
                       std::to_string(resumes - lost) + " offsets), in "),
            std::string::npos)
      << r.err;
  // The incremental table took everything up to the end: the next run adds nothing.
  EXPECT_EQ(r.report.tables[0].start, 100);
  EXPECT_EQ(r.report.tables[0].end, 500);
  test_util::Run again = run(o);
  ASSERT_TRUE(again.status.ok()) << again.status.message();
  EXPECT_EQ(again.report.tables[0].start, 500);
  EXPECT_EQ(again.report.tables[0].rows, 0u);
}

TEST_F(ExtractLogDamageTest, SkipDamagedGoesOnBelowTheLogsStartNamingWhatTheTableMissed) {
  append(100);
  ASSERT_TRUE(run().status.ok());
  append(400);
  int64_t start = 0;
  for (const fs::path& s : segments()) {
    start = *format::parse_segment_file_name(s.filename().string());
    if (start > 100) break;
    fs::remove(s);
  }
  ExtractOptions o;
  o.skip_damaged = true;
  test_util::Run r = run(o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_EQ(r.report.tables[0].skipped.size(), 1u);
  EXPECT_EQ(r.report.tables[0].skipped[0].start, 100);
  EXPECT_EQ(r.report.tables[0].skipped[0].end, start);
  EXPECT_NE(r.err.find("questlog: table swords: skipped " + log::describe_offsets(100, start) +
                       ": not in the log " + log_dir_.string() + ", which starts at offset " +
                       std::to_string(start)),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.report.start, start);
  EXPECT_EQ(r.report.records, static_cast<uint64_t>(500 - start));
}

}  // namespace
}  // namespace questlog::extract
