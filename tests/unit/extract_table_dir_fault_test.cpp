// TableDir under faults: each step of a commit fails in turn, or the process
// dies there (io::FaultFileSystem), for every mode; then the real file system
// reopens the table, which must be the old table or the new one, whole, never
// a mix, with nothing left in staging. Also: what a commit publishes is synced
// before it is published, and everything it changed is synced when it returns.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "extract/table_dir.h"
#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using io::FaultFileSystem;
using io::Op;
using log::embedded::testing::TempDir;
using Listing = std::set<std::string>;

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

// Every file under `dir` with its content: "a/b=content".
Listing listing(const fs::path& dir) {
  Listing out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path());
    out.insert(fs::relative(e.path(), dir).string() + "=" +
               std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return out;
}

struct Case {
  const char* name;
  Mode mode;
  bool old_table;        // a table is there before the run
  bool partitioned;      // the run writes into x=1/ as well
  bool rename_exchange;  // false: the file system has no RENAME_EXCHANGE
  // The file system answers as HDFS does (no directory syncs, no atomic swap:
  // FaultFileSystem::act_as_hdfs), and the run is started by prepare().
  bool as_hdfs = false;
};

std::string part(const Case& c, int64_t start, int64_t end, const std::string& uuid) {
  return c.mode == Mode::incremental
             ? TableDir::incremental_part_name(start, end, uuid, parquet::Codec::snappy)
             : TableDir::part_name(0, uuid, parquet::Codec::snappy);
}

// The old table on disk, and the files a run writes (relative to the table).
struct Tables {
  Listing old_files;  // "name=content" as listing() gives them
  std::vector<std::pair<std::string, std::string>> run_files;
  Listing new_files;
};

Tables tables_for(const Case& c) {
  Tables t;
  if (c.old_table) {
    t.old_files = {part(c, 0, 10, "old") + "=old rows", "_SUCCESS="};
    if (c.partitioned) t.old_files.insert("x=1/" + part(c, 0, 10, "old1") + "=old rows");
  }
  t.run_files = {{part(c, 10, 20, "new"), "new rows"}};
  if (c.partitioned) t.run_files.push_back({"x=1/" + part(c, 10, 20, "new1"), "new rows"});
  if (c.mode != Mode::overwrite) t.new_files = t.old_files;
  for (const auto& [name, content] : t.run_files) t.new_files.insert(name + "=" + content);
  t.new_files.insert("_SUCCESS=");
  return t;
}

class TableDirFaultTest : public ::testing::TestWithParam<Case> {
 protected:
  struct Attempt {
    Status commit;
    uint64_t steps = 0;  // operations of the commit (ran or failed)
    Listing during;      // the table right after commit() returned
    Listing after;       // the table once the real file system reopened it
    bool staging_clean = false;
    std::optional<int64_t> committed_end;
    std::vector<std::string> journal;
  };

  // Stages a run through a FaultFileSystem, arms `arm` with the step number at
  // which commit() starts, commits, drops the TableDir, and reopens the table
  // with the real file system.
  Attempt attempt(const std::function<void(FaultFileSystem&, uint64_t)>& arm,
                  const std::function<void(FaultFileSystem&)>& observe = {}) {
    const Case& c = GetParam();
    const Tables tables = tables_for(c);
    TempDir dir;
    io::PosixOptions o;
    o.beneath = true;
    o.rename_exchange = c.rename_exchange;
    o.sync = false;  // no power cut here: the FaultFileSystem's tracking checks the syncs
    io::PosixFileSystem real(dir.path(), o);
    for (const std::string& f : tables.old_files) {
      size_t eq = f.find('=', f.find_last_of('/') + 1);
      write_file(dir.path() / "t" / f.substr(0, eq), f.substr(eq + 1));
    }
    Attempt a;
    {
      FaultFileSystem fault(real);
      if (c.as_hdfs) fault.act_as_hdfs();
      auto t = TableDir::open(fault, "t");
      EXPECT_TRUE(t.ok()) << t.status().message();
      if (!t.ok()) return a;
      if (c.as_hdfs) {
        EXPECT_TRUE((*t)->prepare(c.mode).ok());
      }
      auto run = (*t)->begin(c.mode);
      EXPECT_TRUE(run.ok()) << run.status().message();
      if (c.as_hdfs) {
        EXPECT_TRUE((*t)->write_success().ok());
      }
      for (const auto& [name, content] : tables.run_files) {
        EXPECT_TRUE(fault.create_dirs((*run / name).parent_path()).ok());
        auto f = fault.open(*run / name, io::OpenMode::truncate);
        EXPECT_TRUE(f.ok());
        EXPECT_TRUE((*f)->append(content).ok());
        EXPECT_TRUE((*f)->sync().ok());
        EXPECT_TRUE((*f)->close().ok());
      }
      const uint64_t start = fault.steps();
      arm(fault, start);
      if (observe) observe(fault);
      a.commit = (*t)->commit();
      a.steps = fault.steps() - start;
      a.during = listing(dir.path() / "t");
      a.journal = fault.journal();
    }  // the TableDir goes (its cleanup fails too after a crash)
    auto again = TableDir::open(real, "t");
    EXPECT_TRUE(again.ok()) << again.status().message();
    if (!again.ok()) return a;
    a.after = listing(dir.path() / "t");
    a.staging_clean = fs::is_empty(dir.path() / ".staging" / "t");
    auto end = (*again)->committed_end();
    EXPECT_TRUE(end.ok());
    if (end.ok()) a.committed_end = *end;
    return a;
  }

  // The table is the old one or the new one, whole, once reopened; committed
  // offsets match. Before that, readers of an overwritten table see one of the
  // two; of an appended one, the old files and some whole new ones.
  void expect_whole(const Attempt& a, const std::string& when) {
    const Case& c = GetParam();
    const Tables t = tables_for(c);
    std::string trace;
    for (const std::string& line : a.journal) trace += "  " + line + "\n";
    if (c.mode == Mode::overwrite) {
      // Without an atomic swap, a crash between its two renames leaves no
      // table until the next open() moves the new one in.
      const bool missing = c.as_hdfs && a.during.empty();
      EXPECT_TRUE(a.during == t.old_files || a.during == t.new_files || missing)
          << when << ": a mix right after the commit\n"
          << trace;
    } else {
      Listing old_part, new_part;
      for (const std::string& f : a.during)
        if (f != "_SUCCESS=") (t.old_files.count(f) ? old_part : new_part).insert(f);
      Listing old_want;
      for (const std::string& f : t.old_files)
        if (f != "_SUCCESS=") old_want.insert(f);
      EXPECT_EQ(old_part, old_want) << when << ": old files lost\n" << trace;
      for (const std::string& f : new_part)
        EXPECT_TRUE(t.new_files.count(f)) << when << ": " << f << " is not a whole new file\n"
                                          << trace;
    }
    EXPECT_TRUE(a.after == t.old_files || a.after == t.new_files)
        << when << ": a mix after reopening\n"
        << trace;
    if (a.commit.ok()) {
      EXPECT_EQ(a.after, t.new_files) << when << ": committed but not published";
    }
    EXPECT_TRUE(a.staging_clean) << when << ": leftovers in staging after reopening";
    if (c.mode == Mode::incremental) {
      std::optional<int64_t> want;
      if (a.after == t.new_files)
        want = 20;
      else if (c.old_table)
        want = 10;
      EXPECT_EQ(a.committed_end, want) << when;
    }
  }
};

TEST_P(TableDirFaultTest, ACleanCommitPublishesTheNewTable) {
  Attempt a = attempt([](FaultFileSystem&, uint64_t) {});
  ASSERT_TRUE(a.commit.ok()) << a.commit.message();
  EXPECT_EQ(a.during, tables_for(GetParam()).new_files);
  expect_whole(a, "no fault");
}

TEST_P(TableDirFaultTest, EachStepOfTheCommitFailingLeavesAWholeTable) {
  const uint64_t steps = attempt([](FaultFileSystem&, uint64_t) {}).steps;
  ASSERT_GT(steps, 3u);
  std::set<bool> published;
  for (uint64_t k = 0; k < steps; ++k) {
    Attempt a = attempt([k](FaultFileSystem& f, uint64_t start) { f.fail_step(start + k, EIO); });
    expect_whole(a, "step " + std::to_string(k) + " of " + std::to_string(steps) + " failed");
    published.insert(a.after == tables_for(GetParam()).new_files);
  }
  EXPECT_EQ(published.size(), 2u) << "the failures should fall before and after the publish";
}

TEST_P(TableDirFaultTest, ACrashAtEachStepOfTheCommitLeavesAWholeTable) {
  const uint64_t steps = attempt([](FaultFileSystem&, uint64_t) {}).steps;
  std::set<bool> published;
  for (uint64_t k = 0; k <= steps; ++k) {
    Attempt a = attempt([k](FaultFileSystem& f, uint64_t start) { f.crash_at(start + k); });
    expect_whole(a, "crash at step " + std::to_string(k) + " of " + std::to_string(steps));
    published.insert(a.after == tables_for(GetParam()).new_files);
  }
  EXPECT_EQ(published.size(), 2u);
}

// The directory syncs of a commit, on a file system that has them (HDFS has
// none: its cases are not run here).
class TableDirSyncTest : public TableDirFaultTest {};

TEST_P(TableDirSyncTest, WhatIsPublishedIsSyncedFirstAndTheCommitSyncsWhatItChanged) {
  std::vector<std::string> problems;
  bool published = false;
  Attempt a =
      attempt([](FaultFileSystem&, uint64_t) {},
              [&](FaultFileSystem& f) {
                f.on_step([&](Op op, const fs::path& from, const fs::path& to) {
                  // The first rename of a run's file into "t", or the swap with "t".
                  bool publishes = (op == Op::rename || op == Op::exchange) &&
                                   (to == "t" || to.string().rfind("t/", 0) == 0);
                  if (!publishes || published) return;
                  published = true;
                  for (const fs::path& p : f.unsynced_files())
                    problems.push_back("unsynced file " + p.string() + " at " +
                                       std::string(io::op_name(op)) + " " + from.string());
                  for (const fs::path& p : f.unsynced_dirs())
                    if (p.string().rfind(".staging/t", 0) == 0)
                      problems.push_back("unsynced directory " + p.string() + " at " +
                                         std::string(io::op_name(op)) + " " + from.string());
                });
              });
  ASSERT_TRUE(a.commit.ok()) << a.commit.message();
  EXPECT_TRUE(published);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
}

// The same, checked after the commit: nothing of the table is left unsynced.
TEST_P(TableDirSyncTest, AfterTheCommitTheTableAndItsEntryAreOnDisk) {
  std::set<fs::path> files, dirs;
  Attempt a = attempt([](FaultFileSystem&, uint64_t) {},
                      [&](FaultFileSystem& f) {
                        f.on_step([&](Op, const fs::path&, const fs::path&) {
                          files = f.unsynced_files();
                          dirs = f.unsynced_dirs();
                        });
                      });
  ASSERT_TRUE(a.commit.ok()) << a.commit.message();
  // The last step is removing the old table from staging (overwrite) or the
  // empty run (append, incremental): the state just before it is the commit's.
  EXPECT_TRUE(files.empty()) << ::testing::PrintToString(files);
  for (const fs::path& d : dirs)
    EXPECT_FALSE(d.empty() || d == "t" || d.string().rfind("t/", 0) == 0)
        << "directory " << d << " not synced";
}

const Case kLocalCases[] = {
    {"OverwriteReplacingATable", Mode::overwrite, true, false, true},
    {"OverwriteOfANewTable", Mode::overwrite, false, false, true},
    {"OverwritePartitioned", Mode::overwrite, true, true, true},
    {"OverwriteWithoutRenameExchange", Mode::overwrite, true, true, false},
    {"Append", Mode::append, true, false, true},
    {"AppendPartitioned", Mode::append, true, true, true},
    {"AppendToANewTable", Mode::append, false, true, true},
    {"Incremental", Mode::incremental, true, false, true},
    {"IncrementalPartitioned", Mode::incremental, true, true, true},
    {"IncrementalFirstRun", Mode::incremental, false, false, true},
};
const Case kHdfsCases[] = {
    {"OverwriteAsOnHdfs", Mode::overwrite, true, true, true, true},
    {"OverwriteOfANewTableAsOnHdfs", Mode::overwrite, false, false, true, true},
    {"AppendAsOnHdfs", Mode::append, true, true, true, true},
    {"IncrementalAsOnHdfs", Mode::incremental, true, false, true, true},
};
std::string case_name(const ::testing::TestParamInfo<Case>& p) { return p.param.name; }

INSTANTIATE_TEST_SUITE_P(Modes, TableDirFaultTest, ::testing::ValuesIn(kLocalCases), case_name);
INSTANTIATE_TEST_SUITE_P(ModesOnHdfs, TableDirFaultTest, ::testing::ValuesIn(kHdfsCases),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Modes, TableDirSyncTest, ::testing::ValuesIn(kLocalCases), case_name);

}  // namespace
}  // namespace questlog::extract
