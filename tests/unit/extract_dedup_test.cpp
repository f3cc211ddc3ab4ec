// extract drops a record whose id (record key) an earlier record of its
// partition had: a producer's resend or a client's retry. Records without a key
// (logs from before ids) are never dropped.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "extract/extract.h"
#include "extract_test_util.h"
#include "log/embedded/log_writer.h"
#include "log/record_source.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;

const char* kAll = R"(
[[tables]]
name = "all"
path = "all"
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
)";

std::string event(const std::string& type, int n) {
  return R"({"event_type":")" + type + R"(","n":)" + std::to_string(n) + "}";
}

class ExtractDedupTest : public ::testing::Test {
 protected:
  void append(std::vector<std::string> values, std::vector<std::string> keys) {
    log::embedded::WriterOptions wo;
    wo.dir = dir_.path() / "data";
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<std::string_view> v(values.begin(), values.end()), k(keys.begin(), keys.end());
    ASSERT_TRUE((*w)->append(v, 1532214012345, k).ok());
  }
  test_util::Run run() {
    ExtractOptions o;
    o.log_dir = dir_.path() / "data";
    o.lake = dir_.path() / "lake";
    return test_util::run_captured(kAll, o);
  }
  TempDir dir_;
};

TEST_F(ExtractDedupTest, ARecordWithTheIdOfAnEarlierOneIsDroppedAndCounted) {
  append({event("purchase_sword", 1), event("default", 2), event("purchase_sword", 1)},
         {"id-1", "id-2", "id-1"});
  append({event("purchase_sword", 1), event("default", 3)}, {"id-1", "id-3"});
  auto r = run();
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.records, 3u);
  EXPECT_EQ(r.report.duplicates, 2u);
  ASSERT_EQ(r.report.tables.size(), 2u);
  EXPECT_EQ(r.report.tables[0].rows, 3u);
  EXPECT_EQ(r.report.tables[1].rows, 1u);
  EXPECT_NE(r.err.find("questlog: read 5 records, offsets 0 to 5, in "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("questlog: dropped 2 duplicate records: the same event id as an earlier "
                       "record of its partition"),
            std::string::npos)
      << r.err;
}

TEST_F(ExtractDedupTest, RecordsWithoutKeysAreNeverDropped) {
  append({event("purchase_sword", 1), event("purchase_sword", 1)}, {});
  append({event("purchase_sword", 1), event("purchase_sword", 1)}, {"", ""});
  auto r = run();
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.records, 4u);
  EXPECT_EQ(r.report.duplicates, 0u);
  EXPECT_EQ(r.err.find("dropped"), std::string::npos) << r.err;
}

// Partition p's records, keyed `keys[p]`.
class KeyedSource final : public log::RecordSource {
 public:
  explicit KeyedSource(std::vector<std::vector<std::string>> keys) : keys_(std::move(keys)) {
    for (size_t p = 0; p < keys_.size(); ++p)
      partitions_.push_back({static_cast<int32_t>(p), 0, static_cast<int64_t>(keys_[p].size())});
  }
  std::string name() const override { return "topic t on memory"; }
  const std::vector<log::PartitionRange>& partitions() const override { return partitions_; }
  Status read(const std::vector<log::PartitionRange>& ranges) override {
    ranges_ = ranges;
    return {};
  }
  Result<bool> next(log::Record& out) override {
    while (i_ < ranges_.size()) {
      const log::PartitionRange& r = ranges_[i_];
      if (at_ < r.end - r.start) {
        out.partition = r.partition;
        out.offset = r.start + at_;
        out.timestamp_ms = 1532214012345;
        out.key = keys_[static_cast<size_t>(r.partition)][static_cast<size_t>(out.offset)];
        value_ = event("default", static_cast<int>(out.offset));
        out.value = value_;
        ++at_;
        return true;
      }
      ++i_;
      at_ = 0;
    }
    return false;
  }

 private:
  std::vector<std::vector<std::string>> keys_;
  std::vector<log::PartitionRange> partitions_, ranges_;
  size_t i_ = 0;
  int64_t at_ = 0;
  std::string value_;
};

TEST_F(ExtractDedupTest, IdsAreComparedWithinAPartition) {
  ExtractOptions o;
  o.lake = dir_.path() / "lake";
  o.open_source = []() -> Result<std::unique_ptr<log::RecordSource>> {
    return std::unique_ptr<log::RecordSource>(
        new KeyedSource({{"a", "b", "a", "a"}, {"a", "c"}, {"c", "c"}}));
  };
  auto r = test_util::run_captured(kAll, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.duplicates, 3u);  // two in partition 0, one in partition 2
  EXPECT_EQ(r.report.records, 5u);
  EXPECT_NE(r.err.find("questlog: read 8 records from 3 partitions"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace questlog::extract
