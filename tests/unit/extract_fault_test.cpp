// Whole extract runs on a lake behind an io::FaultFileSystem: every step of a
// run (staging the Parquet files, publishing them) fails in turn, or the
// process dies there; then the real file system reopens the table, which must
// be the last run's table or the new one, whole, and a rerun must end with the
// new one exactly (incremental: every offset once). Also the faults a disk
// really has while a part file is written: no space, a torn write, a failed
// fsync, and a spill file that cannot be written.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "extract/extract.h"
#include "extract/table_dir.h"
#include "extract_test_util.h"
#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using io::Fault;
using io::FaultFileSystem;
using io::Op;
using log::embedded::testing::TempDir;

// A table's files, uuids blanked, with their bytes: "part-00000-U-c000.snappy.parquet=<bytes>".
using Snapshot = std::vector<std::string>;

Snapshot snapshot(const fs::path& table) {
  static const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  Snapshot out;
  if (!fs::exists(table)) return out;
  for (auto& e : fs::recursive_directory_iterator(table)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string name = std::regex_replace(fs::relative(e.path(), table).string(), kUuid, "U");
    out.push_back(name + "=" + std::string(std::istreambuf_iterator<char>(in), {}));
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Case {
  const char* name;
  const char* mode;
  bool partitioned;
};

class ExtractFaultTest : public ::testing::TestWithParam<Case> {
 protected:
  ExtractFaultTest() : log_dir_(dir_.path() / "data" / "events" / "0") {
    log::embedded::WriterOptions wo;
    wo.dir = log_dir_;
    auto w = log::embedded::LogWriter::open(wo);
    EXPECT_TRUE(w.ok()) << w.status().message();
    std::vector<std::string> events;
    for (int i = 0; i < 100; ++i)
      events.push_back(R"({"event_type":")" +
                       std::string(i % 3 == 0 ? "default" : "purchase_sword") +
                       R"(","Host":"user)" + std::to_string(i % 2) + R"(.example","n":)" +
                       std::to_string(i) + "}");
    std::vector<std::string_view> views(events.begin(), events.end());
    EXPECT_TRUE((*w)->append(views, 1532214012345).ok());
  }

  std::string job(bool first_half) const {
    const Case& c = GetParam();
    std::string text;
    if (first_half) text += "[source]\nending_offsets = 50\n";
    text += "[[tables]]\nname = \"swords\"\npath = \"swords\"\n";
    text += "where = { event_type = \"purchase_sword\" }\n";
    text += std::string("mode = \"") + c.mode + "\"\n";
    if (c.partitioned) text += "partition_by = [\"Host\"]\n";
    return text;
  }

  static std::unique_ptr<io::PosixFileSystem> real(const fs::path& lake) {
    io::PosixOptions o;
    o.beneath = true;
    o.create_root = true;
    o.sync = false;  // no power cut here: the FaultFileSystem runs the steps
    return std::make_unique<io::PosixFileSystem>(lake, o);
  }

  test_util::Run run(const fs::path& lake, io::FileSystem& fs, bool first_half,
                     uint64_t memory_budget = 64 << 20) {
    ExtractOptions o;
    o.log_dir = log_dir_;
    o.lake = lake;
    o.lake_fs = &fs;
    o.memory_budget = memory_budget;
    return test_util::run_captured(job(first_half), o);
  }

  // A lake holding the first run's table (offsets 0 to 50).
  fs::path old_lake(const std::string& name) {
    fs::path lake = dir_.path() / name;
    auto fs = real(lake);
    test_util::Run r = run(lake, *fs, true);
    EXPECT_TRUE(r.status.ok()) << r.status.message();
    return lake;
  }

  // The table once the real file system reopens it (finishing or dropping what
  // the run left in staging), and whether staging is then empty.
  Snapshot reopened(const fs::path& lake, bool* staging_clean) {
    auto fs = real(lake);
    auto t = TableDir::open(*fs, "swords");
    EXPECT_TRUE(t.ok()) << t.status().message();
    *staging_clean = fs::is_empty(lake / ".staging" / "swords");
    return snapshot(lake / "swords");
  }

  TempDir dir_;
  fs::path log_dir_;
};

TEST_P(ExtractFaultTest, EveryStepOfARunFailingOrCrashingLeavesAWholeTableAndARerunFinishes) {
  const Case& c = GetParam();
  const fs::path old_template = old_lake("old");
  const Snapshot old_table = snapshot(old_template / "swords");
  fs::copy(old_template, dir_.path() / "reference", fs::copy_options::recursive);
  uint64_t steps = 0;
  {
    auto fs = real(dir_.path() / "reference");
    FaultFileSystem counting(*fs);
    test_util::Run r = run(dir_.path() / "reference", counting, false);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    steps = counting.steps();
  }
  const Snapshot new_table = snapshot(dir_.path() / "reference" / "swords");
  ASSERT_NE(old_table, new_table);
  ASSERT_GT(steps, 10u);

  int attempts = 0, published = 0;
  for (bool crash : {false, true}) {
    for (uint64_t k = 0; k < steps; ++k) {
      const std::string when = std::string(crash ? "crash at" : "failure of") + " step " +
                               std::to_string(k) + " of " + std::to_string(steps);
      fs::path lake = dir_.path() / ("lake" + std::to_string(attempts++));
      fs::copy(old_template, lake, fs::copy_options::recursive);
      auto fs = real(lake);
      test_util::Run r;
      std::string trace;
      {
        FaultFileSystem fault(*fs);
        if (crash)
          fault.crash_at(k);
        else
          fault.fail_step(k, EIO);
        r = run(lake, fault, false);
        for (const std::string& line : fault.journal()) trace += "  " + line + "\n";
      }
      bool clean = false;
      Snapshot after = reopened(lake, &clean);
      EXPECT_TRUE(after == old_table || after == new_table) << when << ": a mix\n" << trace;
      if (r.status.ok()) {
        EXPECT_EQ(after, new_table) << when << ": ok but not published";
      }
      EXPECT_TRUE(clean) << when << ": staging not cleaned\n" << trace;
      published += after == new_table;

      // A rerun ends with the new table: nothing lost, nothing twice.
      if (std::string(c.mode) != "append" || after == old_table) {
        test_util::Run again = run(lake, *fs, false);
        ASSERT_TRUE(again.status.ok()) << when << ": " << again.status.message();
        EXPECT_EQ(snapshot(lake / "swords"), new_table) << when << ": after a rerun";
      }
      fs::remove_all(lake);
    }
  }
  EXPECT_GT(published, 0);
  EXPECT_LT(published, attempts);
}

TEST_P(ExtractFaultTest, NoSpaceWhileWritingAPartFileKeepsTheOldTable) {
  fs::path lake = old_lake("lake");
  const Snapshot old_table = snapshot(lake / "swords");
  auto fs = real(lake);
  FaultFileSystem fault(*fs);
  fault.inject(Fault::on(Op::write).path("part-").nth(2).error(ENOSPC).torn(7));
  test_util::Run r = run(lake, fault, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.code(), Errc::io_error);
  EXPECT_NE(r.status.message().find(": write: No space left on device"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find((lake / ".staging" / "swords").string()), std::string::npos)
      << r.status.message();
  bool clean = false;
  EXPECT_EQ(reopened(lake, &clean), old_table);
  EXPECT_TRUE(clean);
}

TEST_P(ExtractFaultTest, AFailedFsyncOfAPartFileKeepsTheOldTable) {
  fs::path lake = old_lake("lake");
  const Snapshot old_table = snapshot(lake / "swords");
  auto fs = real(lake);
  FaultFileSystem fault(*fs);
  fault.inject(Fault::on(Op::sync).path("part-"));
  test_util::Run r = run(lake, fault, false);
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find(": fsync: Input/output error"), std::string::npos)
      << r.status.message();
  bool clean = false;
  EXPECT_EQ(reopened(lake, &clean), old_table);
  EXPECT_TRUE(clean);
}

TEST_P(ExtractFaultTest, ASpillFileThatCannotBeWrittenFailsTheRun) {
  fs::path lake = old_lake("lake");
  const Snapshot old_table = snapshot(lake / "swords");
  auto fs = real(lake);
  FaultFileSystem fault(*fs);
  fault.inject(Fault::on(Op::write).path(".staging").error(ENOSPC));
  test_util::Run r = run(lake, fault, false, /*memory_budget=*/1);  // spills every batch
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.message(), (lake / ".staging").string() +
                                    ": temporary file: write: No space left on device (injected)");
  EXPECT_EQ(fault.calls(Op::temp_file), 1u);
  bool clean = false;
  EXPECT_EQ(reopened(lake, &clean), old_table);
  EXPECT_TRUE(clean);
}

INSTANTIATE_TEST_SUITE_P(Modes, ExtractFaultTest,
                         ::testing::Values(Case{"Overwrite", "overwrite", false},
                                           Case{"OverwritePartitioned", "overwrite", true},
                                           Case{"Append", "append", false},
                                           Case{"Incremental", "incremental", false},
                                           Case{"IncrementalPartitioned", "incremental", true}),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return std::string(p.param.name);
                         });

}  // namespace
}  // namespace questlog::extract
