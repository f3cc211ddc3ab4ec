// run_extract over a RecordSource other than the embedded log (an in-memory
// one standing in for a Kafka topic): one partition keeps its offsets, several
// are read whole in partition order, and what needs one offset is refused.
#include <gtest/gtest.h>
#include <stdio.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "extract/extract.h"
#include "extract/job.h"
#include "extract_test_util.h"
#include "log/record_source.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

using log::PartitionRange;

// Partition p holds `values[p]` from offset `first[p]`. Every read() is noted
// in `reads`, which outlives the source.
class MemorySource final : public log::RecordSource {
 public:
  MemorySource(std::map<int32_t, int64_t> first, std::map<int32_t, std::vector<std::string>> values,
               std::vector<std::vector<PartitionRange>>* reads)
      : reads_(reads), values_(std::move(values)) {
    for (const auto& [p, v] : values_)
      partitions_.push_back({p, first[p], first[p] + static_cast<int64_t>(v.size())});
    first_ = std::move(first);
  }
  std::string name() const override { return "topic t on memory"; }
  const std::vector<PartitionRange>& partitions() const override { return partitions_; }
  Status read(const std::vector<PartitionRange>& ranges) override {
    reads_->push_back(ranges);
    ranges_ = ranges;
    i_ = 0;
    if (!ranges_.empty()) at_ = ranges_[0].start;
    return {};
  }
  Result<bool> next(log::Record& out) override {
    while (i_ < ranges_.size()) {
      const PartitionRange& r = ranges_[i_];
      if (at_ < r.end) {
        out.partition = r.partition;
        out.offset = at_;
        out.timestamp_ms = 1532214012345 + at_;
        out.value = values_[r.partition][static_cast<size_t>(at_ - first_[r.partition])];
        ++at_;
        return true;
      }
      if (++i_ < ranges_.size()) at_ = ranges_[i_].start;
    }
    return false;
  }

 private:
  std::vector<std::vector<PartitionRange>>* reads_;
  std::map<int32_t, int64_t> first_;
  std::map<int32_t, std::vector<std::string>> values_;
  std::vector<PartitionRange> partitions_;
  std::vector<PartitionRange> ranges_;
  size_t i_ = 0;
  int64_t at_ = 0;
};

std::vector<std::string> events(const std::string& type, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i)
    v.push_back(R"({"event_type":")" + type + R"(","n":)" + std::to_string(i) + "}");
  return v;
}

class ExtractSourceTest : public ::testing::Test {
 protected:
  using Run = test_util::Run;

  // Runs the job over a MemorySource(first, values).
  Run run(const std::string& job_text, std::map<int32_t, int64_t> first,
          std::map<int32_t, std::vector<std::string>> values) {
    ExtractOptions o;
    o.lake = dir_.path() / "lake";
    o.open_source = [&]() -> Result<std::unique_ptr<log::RecordSource>> {
      return std::unique_ptr<log::RecordSource>(
          new MemorySource(std::move(first), std::move(values), &reads_));
    };
    return test_util::run_captured(job_text, o);
  }

  log::embedded::testing::TempDir dir_;
  std::vector<std::vector<PartitionRange>> reads_;
};

const char* kShowAll = R"(
[[tables]]
name = "all"
show = 20
)";

TEST_F(ExtractSourceTest, SeveralPartitionsAreReadWholeInPartitionOrder) {
  Run r =
      run(kShowAll, {{0, 5}, {1, 0}, {2, 0}}, {{0, events("a", 2)}, {1, {}}, {2, events("c", 3)}});
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.records, 5u);
  const std::vector<PartitionRange> read = {{0, 5, 7}, {1, 0, 0}, {2, 0, 3}};
  EXPECT_EQ(r.report.ranges, read);
  ASSERT_EQ(reads_.size(), 1u);
  EXPECT_EQ(reads_[0], read);
  EXPECT_NE(r.err.find("questlog: read 5 records from 3 partitions (offsets 0: 5 to 7, 1: 0 to 0, "
                       "2: 0 to 3), in "),
            std::string::npos)
      << r.err;
  // Rows in partition order, each partition in offset order.
  size_t a0 = r.out.find("|         a|  0|"), a1 = r.out.find("|         a|  1|");
  size_t c0 = r.out.find("|         c|  0|"), c2 = r.out.find("|         c|  2|");
  ASSERT_NE(a0, std::string::npos) << r.out;
  ASSERT_NE(c2, std::string::npos) << r.out;
  EXPECT_LT(a0, a1);
  EXPECT_LT(a1, c0);
  EXPECT_LT(c0, c2);
}

TEST_F(ExtractSourceTest, LatestOnSeveralPartitionsReadsNothing) {
  Run r = run("[source]\nstarting_offsets = \"latest\"\n" + std::string(kShowAll), {{0, 0}, {1, 0}},
              {{0, events("a", 2)}, {1, events("b", 2)}});
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.records, 0u);
}

TEST_F(ExtractSourceTest, IncrementalTableNeedsOnePartition) {
  Run r = run("[[tables]]\nname = \"inc\"\npath = \"inc\"\nmode = \"incremental\"\n",
              {{0, 0}, {1, 0}}, {{0, events("a", 2)}, {1, events("b", 2)}});
  EXPECT_EQ(r.status.code(), Errc::invalid_argument);
  EXPECT_EQ(r.status.message(),
            "jobs/test_job.toml: table inc: mode = \"incremental\" needs a topic with one "
            "partition; topic t on memory has 2 partitions");
  EXPECT_TRUE(reads_.empty());  // refused before reading
}

TEST_F(ExtractSourceTest, NumericOffsetsNeedOnePartition) {
  for (const char* key : {"starting_offsets", "ending_offsets"}) {
    Run r = run(std::string("[source]\n") + key + " = 1\n" + kShowAll, {{0, 0}, {1, 0}, {2, 0}},
                {{0, events("a", 2)}, {1, {}}, {2, {}}});
    EXPECT_EQ(r.status.message(), std::string("jobs/test_job.toml: ") + key +
                                      " = 1 needs a topic with one partition; topic t on memory "
                                      "has 3 partitions");
  }
}

TEST_F(ExtractSourceTest, OnePartitionKeepsItsOffsets) {
  Run r = run("[source]\nstarting_offsets = 103\nending_offsets = 106\n" + std::string(kShowAll),
              {{0, 100}}, {{0, events("a", 10)}});
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.start, 103);
  EXPECT_EQ(r.report.end, 106);
  EXPECT_EQ(r.report.records, 3u);
  ASSERT_EQ(reads_.size(), 1u);
  EXPECT_EQ(reads_[0], (std::vector<PartitionRange>{{0, 103, 106}}));
  EXPECT_NE(r.err.find("questlog: read 3 records, offsets 103 to 106, in "), std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("|         a|  3|"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("|         a|  6|"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace questlog::extract
