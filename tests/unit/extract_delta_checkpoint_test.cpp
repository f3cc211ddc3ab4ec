// Delta checkpoints (delta_checkpoint.h): when they are written, what
// _last_checkpoint says, which tombstones they keep, that a checkpoint that
// fails or crashes at any step leaves the table as it was, and that a log
// cleaned up after a checkpoint is refused with one line. delta-rs and pyarrow
// read the checkpoints in tests/integration/test_delta_checkpoint.py.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <string>
#include <vector>

#include "extract/delta_checkpoint.h"
#include "extract/delta_log.h"
#include "extract/delta_table.h"
#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log_test_util.h"
#include "parquet/footer_reader.h"

namespace questlog::extract::delta {
namespace {

namespace fs = std::filesystem;
using io::Fault;
using io::FaultFileSystem;
using io::Op;
using log::embedded::testing::TempDir;

std::unique_ptr<io::PosixFileSystem> real(const fs::path& root) {
  io::PosixOptions o;
  o.beneath = true;
  o.create_root = true;
  o.sync = false;
  return std::make_unique<io::PosixFileSystem>(root, o);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr int64_t kNow = 1'800'000'000'000;  // ms
constexpr int64_t kDay = 24 * 3600 * 1000LL;

// Commit `version` of table "t": one file added (and, with `remove`, the
// file of the previous version removed at `removed_at`).
Commit commit_of(int64_t version, bool remove = false, int64_t removed_at = kNow,
                 std::map<std::string, std::string> conf = {}) {
  Commit c;
  c.timestamp_ms = remove ? removed_at : kNow;
  if (version == 0 || !conf.empty()) {
    c.protocol = version == 0;
    c.metadata = Metadata{"id", {{"p", "string"}, {"n", "long"}}, {"p"}, conf, 1};
  }
  FileAction add;
  add.path = fmt::format("p=a/part-{}.parquet", version);
  add.partition_values = {{"p", version % 2 ? std::optional<std::string>("a") : std::nullopt}};
  add.size = 100 + version;
  add.modification_time = kNow;
  add.stats = R"({"numRecords":1})";
  c.adds = {add};
  if (remove && version > 0) {
    FileAction rm = add;
    rm.path = fmt::format("p=a/part-{}.parquet", version - 1);
    c.removes = {rm};
  }
  c.txns = {{"app", version + 1}};
  return c;
}

// Writes versions [from, to) of "t" and returns the snapshot read back.
Snapshot make(io::FileSystem& fs, int64_t from, int64_t to, bool remove = false,
              int64_t removed_at = kNow) {
  for (int64_t v = from; v < to; ++v)
    EXPECT_TRUE(write_commit(fs, "t", v, commit_of(v, remove, removed_at)).ok());
  Snapshot s;
  Status st = update(fs, "t", s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

int64_t json_int(const std::string& text, const char* key) {
  simdjson::dom::parser p;
  int64_t v = -1;
  EXPECT_EQ(p.parse(text)[key].get_int64().get(v), simdjson::SUCCESS) << text;
  return v;
}

TEST(DeltaCheckpointTest, DueEvery100VersionsOrTheTablesInterval) {
  Snapshot s;
  s.metadata = Metadata{};
  for (int64_t v : {0, 1, 99, 101, 150}) {
    s.version = v;
    EXPECT_FALSE(checkpoint_due(s)) << v;
  }
  for (int64_t v : {100, 200, 10000}) {
    s.version = v;
    EXPECT_TRUE(checkpoint_due(s)) << v;
  }
  s.metadata->configuration["delta.checkpointInterval"] = "10";
  s.version = 30;
  EXPECT_TRUE(checkpoint_due(s));
  for (const char* bad : {"0", "-5", "ten", "", "99999999999"}) {
    s.metadata->configuration["delta.checkpointInterval"] = bad;
    EXPECT_EQ(checkpoint_interval(s), 100) << bad;
  }
}

TEST(DeltaCheckpointTest, TombstoneRetentionIsReadFromTheTable) {
  Snapshot s;
  s.metadata = Metadata{};
  EXPECT_EQ(tombstone_retention_ms(s), 7 * kDay);
  auto& conf = s.metadata->configuration["delta.deletedFileRetentionDuration"];
  conf = "interval 2 days";
  EXPECT_EQ(tombstone_retention_ms(s), 2 * kDay);
  conf = "INTERVAL 36 HOURS";
  EXPECT_EQ(tombstone_retention_ms(s), 36 * 3600 * 1000LL);
  conf = "interval 1 fortnight";
  EXPECT_EQ(tombstone_retention_ms(s), -1);  // not read: every tombstone is kept
}

TEST(DeltaCheckpointTest, ACheckpointHoldsTheSnapshotAndLastCheckpointPointsAtIt) {
  TempDir dir;
  auto fs = real(dir.path());
  // 101 versions, each replacing the previous file: 1 file, 100 tombstones,
  // 60 of them older than the week of retention.
  for (int64_t v = 0; v <= 100; ++v)
    ASSERT_TRUE(
        write_commit(*fs, "t", v, commit_of(v, true, v < 60 ? kNow - 8 * kDay : kNow)).ok());
  Snapshot s;
  ASSERT_TRUE(update(*fs, "t", s).ok());
  ASSERT_EQ(s.files.size(), 1u);
  ASSERT_EQ(s.tombstones.size(), 100u);
  auto info = write_checkpoint(*fs, "t", s, kNow);
  ASSERT_TRUE(info.ok()) << info.status().message();
  // protocol, metaData, 1 txn, 1 add, 41 tombstones (removed at versions 60..100).
  EXPECT_EQ(info->actions, 1 + 1 + 1 + 1 + 41);
  EXPECT_EQ(info->adds, 1);

  const fs::path log = dir.path() / "t" / "_delta_log";
  const fs::path cp = log / "00000000000000000100.checkpoint.parquet";
  ASSERT_TRUE(fs::exists(cp));
  EXPECT_EQ(fs::file_size(cp), info->bytes);
  auto file = io::local_file_system().open(cp, io::OpenMode::read);
  ASSERT_TRUE(file.ok());
  auto footer = parquet::read_footer(**file, info->bytes);
  ASSERT_TRUE(footer.ok()) << footer.status().message();
  EXPECT_EQ(footer->num_rows, info->actions);

  const std::string last = slurp(log / "_last_checkpoint");
  EXPECT_EQ(json_int(last, "version"), 100);
  EXPECT_EQ(json_int(last, "size"), info->actions);
  EXPECT_EQ(json_int(last, "sizeInBytes"), static_cast<int64_t>(info->bytes));
  EXPECT_EQ(json_int(last, "numOfAddFiles"), 1);
  for (const auto& e : fs::directory_iterator(log))  // no temporary file is left
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();

  // A checkpoint of an earlier version does not move _last_checkpoint back.
  Snapshot earlier = s;
  earlier.version = 50;
  ASSERT_TRUE(write_checkpoint(*fs, "t", earlier, kNow).ok());
  EXPECT_EQ(json_int(slurp(log / "_last_checkpoint"), "version"), 100);
}

TEST(DeltaCheckpointTest, TheCommitOfADueVersionWritesItsCheckpoint) {
  TempDir dir;
  auto fs = real(dir.path());
  // The table asks for a checkpoint every 3 versions.
  ASSERT_TRUE(
      write_commit(*fs, "t", 0, commit_of(0, false, kNow, {{"delta.checkpointInterval", "3"}}))
          .ok());
  auto table = extract::DeltaTable::open(*fs, "t");
  ASSERT_TRUE(table.ok()) << table.status().message();
  for (int i = 1; i <= 7; ++i) {
    extract::DeltaTable::Run run;
    run.columns = {{0, "n", parquet::ColumnType::int64}, {1, "p", parquet::ColumnType::string}};
    run.partition_by = {"p"};
    run.txns = {{"app", i}};
    run.now_ms = kNow;
    auto v = (*table)->commit(run);
    ASSERT_TRUE(v.ok()) << v.status().message();
    EXPECT_TRUE((*table)->checkpoint_status().ok()) << (*table)->checkpoint_status().message();
  }
  const fs::path log = dir.path() / "t" / "_delta_log";
  EXPECT_TRUE(fs::exists(log / "00000000000000000003.checkpoint.parquet"));
  EXPECT_TRUE(fs::exists(log / "00000000000000000006.checkpoint.parquet"));
  EXPECT_FALSE(fs::exists(log / "00000000000000000007.checkpoint.parquet"));
  EXPECT_EQ(json_int(slurp(log / "_last_checkpoint"), "version"), 6);
}

TEST(DeltaCheckpointTest, AFailedCheckpointDoesNotFailTheCommitNorBreakTheTable) {
  TempDir dir;
  auto fs = real(dir.path());
  make(*fs, 0, 100);
  FaultFileSystem fault(*fs);
  fault.inject(Fault::on(Op::write).path("checkpoint").error(ENOSPC));
  auto table = extract::DeltaTable::open(fault, "t");
  ASSERT_TRUE(table.ok());
  extract::DeltaTable::Run run;
  run.columns = {{0, "n", parquet::ColumnType::int64}, {1, "p", parquet::ColumnType::string}};
  run.partition_by = {"p"};
  run.now_ms = kNow;
  auto v = (*table)->commit(run);
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(*v, 100);
  EXPECT_FALSE((*table)->checkpoint_status().ok());
  const fs::path log = dir.path() / "t" / "_delta_log";
  for (const auto& e : fs::directory_iterator(log))  // no checkpoint, nothing half-written
    EXPECT_EQ(e.path().extension(), ".json") << e.path();
  Snapshot s;
  ASSERT_TRUE(update(*fs, "t", s).ok());
  EXPECT_EQ(s.version, 100);
  EXPECT_EQ(s.files.size(), 100u);
}

TEST(DeltaCheckpointTest, ACrashAtAnyStepOfACheckpointLeavesNoneOrAWholeOne) {
  TempDir dir;
  auto fs = real(dir.path());
  const Snapshot s = make(*fs, 0, 101);
  uint64_t steps = 0;
  {
    FaultFileSystem counting(*fs);
    ASSERT_TRUE(write_checkpoint(counting, "t", s, kNow).ok());
    steps = counting.steps();
  }
  const fs::path log = dir.path() / "t" / "_delta_log";
  const fs::path cp = log / "00000000000000000100.checkpoint.parquet";
  const std::string whole = slurp(cp);
  const std::string last = slurp(log / "_last_checkpoint");
  ASSERT_GT(steps, 3u);
  for (uint64_t k = 0; k < steps; ++k) {
    fs::remove(cp);
    fs::remove(log / "_last_checkpoint");
    {
      FaultFileSystem fault(*fs);
      fault.crash_at(k);
      EXPECT_FALSE(write_checkpoint(fault, "t", s, kNow).ok()) << k;
    }
    // What a reader finds after the crash: no checkpoint or the whole one, and
    // _last_checkpoint only once the checkpoint is there.
    if (fs::exists(cp)) {
      EXPECT_EQ(slurp(cp), whole) << "crash at step " << k;
    }
    if (fs::exists(log / "_last_checkpoint")) {
      EXPECT_TRUE(fs::exists(cp)) << k;
      EXPECT_EQ(slurp(log / "_last_checkpoint"), last) << k;
    }
    Snapshot again;
    ASSERT_TRUE(update(*fs, "t", again).ok()) << k;
    EXPECT_EQ(again.version, 100);
    EXPECT_EQ(again.files.size(), 101u);
    // Temporary files of crashed checkpoints stay, hidden; readers skip them.
    for (const auto& e : fs::directory_iterator(log)) {
      const std::string name = e.path().filename().string();
      if (name[0] == '.') fs::remove(e.path());
    }
  }
}

TEST(DeltaCheckpointTest, ALogCleanedUpAfterACheckpointIsRefusedWithOneLine) {
  TempDir dir;
  auto fs = real(dir.path());
  const Snapshot s = make(*fs, 0, 121);
  ASSERT_TRUE(write_checkpoint(*fs, "t", Snapshot(s), kNow).ok());  // version 120
  for (int v = 0; v < 120; ++v) fs::remove(commit_path(dir.path() / "t", v));
  Snapshot after;
  Status st = update(*fs, "t", after);
  EXPECT_EQ(st.code(), Errc::invalid_argument);
  EXPECT_NE(st.message().find("commit 0 is gone"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  // Nor is a table of which only the checkpoint is left written from version 0 again.
  fs::remove(commit_path(dir.path() / "t", 120));
  auto table = extract::DeltaTable::open(*fs, "t");
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find("checkpoint of version 120"), std::string::npos)
      << table.status().message();
}

}  // namespace
}  // namespace questlog::extract::delta
