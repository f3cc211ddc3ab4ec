// Delta Lake tables (format = "delta"): the log extract writes (commits,
// schema, txn offsets), a commit race between two writers, and incremental
// runs that crash at every step and never lose or repeat a row. Readers that
// are not ours (delta-rs, Spark) read these tables in
// tests/integration/test_delta.py.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "event/json.h"
#include "extract/delta_log.h"
#include "extract/delta_table.h"
#include "extract/extract.h"
#include "extract_test_util.h"
#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"
#include "parquet/footer_reader.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using io::FaultFileSystem;
using log::embedded::testing::TempDir;

std::unique_ptr<io::PosixFileSystem> real(const fs::path& lake) {
  io::PosixOptions o;
  o.beneath = true;
  o.create_root = true;
  o.sync = false;  // no power cut here
  return std::make_unique<io::PosixFileSystem>(lake, o);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The action names of each line of a commit file: "protocol", "metaData", ...
std::vector<std::string> actions(const fs::path& commit) {
  std::vector<std::string> out;
  std::string text = slurp(commit);
  simdjson::dom::parser parser;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    simdjson::dom::object o;
    EXPECT_EQ(parser.parse(line).get_object().get(o), simdjson::SUCCESS) << line;
    for (auto [k, v] : o) out.emplace_back(k);
  }
  return out;
}

class ExtractDeltaTest : public ::testing::Test {
 protected:
  ExtractDeltaTest()
      : log_dir_(dir_.path() / "data" / "events" / "0"), lake_(dir_.path() / "lake") {
    append(100, 0);
  }

  // Appends `n` events; event i has n = first + i, every third a "default".
  void append(int n, int first, const std::string& extra = "") {
    log::embedded::WriterOptions wo;
    wo.dir = log_dir_;
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<std::string> events;
    for (int i = first; i < first + n; ++i)
      events.push_back(R"({"event_type":")" +
                       std::string(i % 3 == 0 ? "default" : "purchase_sword") +
                       R"(","Host":"user)" + std::to_string(i % 2) + R"(.example","n":)" +
                       std::to_string(i) + extra + "}");
    std::vector<std::string_view> views(events.begin(), events.end());
    ASSERT_TRUE((*w)->append(views, 1532214012345).ok());
  }

  static std::string job(const std::string& mode, const std::string& more = "") {
    return "[source]\n" + more + "[[tables]]\nname = \"swords\"\npath = \"swords\"\n" +
           "where = { event_type = \"purchase_sword\" }\nformat = \"delta\"\nmode = \"" + mode +
           "\"\n";
  }

  test_util::Run run(const std::string& job_text, io::FileSystem* fs = nullptr) {
    auto own = real(lake_);
    ExtractOptions o;
    o.log_dir = log_dir_;
    o.lake = lake_;
    o.lake_fs = fs ? fs : own.get();
    return test_util::run_captured(job_text, o);
  }

  delta::Snapshot snapshot() {
    auto fs = real(lake_);
    delta::Snapshot s;
    Status st = delta::update(*fs, "swords", s);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  // Rows in the table's active files (from their footers).
  int64_t rows(const delta::Snapshot& s) {
    int64_t n = 0;
    auto fs = real(lake_);
    for (const auto& [path, f] : s.files) {
      auto file = fs->open(fs::path("swords") / path, io::OpenMode::read);
      EXPECT_TRUE(file.ok()) << path;
      if (!file.ok()) continue;
      auto footer = parquet::read_footer(**file, static_cast<uint64_t>(f.size));
      EXPECT_TRUE(footer.ok()) << path;
      if (footer.ok()) n += footer->num_rows;
    }
    return n;
  }

  TempDir dir_;
  fs::path log_dir_;
  fs::path lake_;
};

constexpr int64_t kSwords = 66;  // of events 0..99, those with i % 3 != 0

TEST(DeltaLogTest, JsonWriterPutsCommasAndQuotes) {
  event::JsonWriter w;
  w.begin_object().field("a", "x\"y").key("b").begin_array().value(int64_t{1}).value(2.5);
  w.null().value(true).end_array().key("c").begin_object().end_object().end_object();
  EXPECT_EQ(w.text(), R"({"a":"x\"y","b":[1,2.5,null,true],"c":{}})");
}

TEST(DeltaLogTest, ACommitReadsBackAsTheSnapshotItDescribes) {
  TempDir dir;
  auto fs = real(dir.path());
  delta::Commit c;
  c.protocol = true;
  delta::Metadata m;
  m.id = "id-1";
  m.fields = {{"Host", "string"}, {"n", "long"}, {"timestamp", "timestamp"}};
  m.partition_columns = {"Host"};
  m.created_time = 5;
  c.metadata = m;
  delta::FileAction add;
  add.path = delta::encode_path("Host=a%2Fb c/part-0.parquet");
  add.partition_values = {{"Host", "a/b c"}};
  add.size = 10;
  add.stats = R"({"numRecords":3})";
  c.adds = {add};
  c.txns = {{"app", 42}};
  c.timestamp_ms = 7;
  ASSERT_TRUE(delta::write_commit(*fs, "t", 0, c).ok());
  EXPECT_EQ(actions(dir.path() / "t" / "_delta_log" / "00000000000000000000.json"),
            (std::vector<std::string>{"protocol", "metaData", "txn", "add", "commitInfo"}));

  delta::Snapshot s;
  ASSERT_TRUE(delta::update(*fs, "t", s).ok());
  EXPECT_EQ(s.version, 0);
  EXPECT_EQ(s.min_reader_version, 1);
  EXPECT_EQ(s.min_writer_version, 2);
  ASSERT_TRUE(s.metadata);
  EXPECT_EQ(s.metadata->fields, m.fields);
  EXPECT_EQ(s.metadata->partition_columns, m.partition_columns);
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_EQ(s.files.begin()->first, "Host=a%252Fb%20c/part-0.parquet");
  EXPECT_EQ(s.files.begin()->second.stats, R"({"numRecords":3})");
  EXPECT_EQ(s.txns.at("app"), 42);

  // Version 0 again is refused; version 1 removes the file.
  EXPECT_EQ(delta::write_commit(*fs, "t", 0, c).code(), Errc::already_exists);
  delta::Commit rm;
  rm.removes = {s.files.begin()->second};
  ASSERT_TRUE(delta::write_commit(*fs, "t", 1, rm).ok());
  ASSERT_TRUE(delta::update(*fs, "t", s).ok());
  EXPECT_EQ(s.version, 1);
  EXPECT_TRUE(s.files.empty());
}

TEST(DeltaLogTest, PathsAreRelativeUrisThatDecodeBackToTheBytes) {
  const std::string path = "Host=a%2Fb c\xc3\xa9/part-0:1.parquet";
  const std::string uri = delta::encode_path(path);
  EXPECT_EQ(uri, "Host=a%252Fb%20c%C3%A9/part-0%3A1.parquet");
  EXPECT_EQ(delta::decode_path(uri), path);
  EXPECT_EQ(delta::decode_path("a%2"), "a%2");  // a cut escape stays as it is
}

TEST(DeltaLogTest, AGapInTheLogIsRefused) {
  TempDir dir;
  auto fs = real(dir.path());
  delta::Commit c;
  c.protocol = true;
  c.metadata = delta::Metadata{"id", {{"a", "long"}}, {}, {}, 0};
  ASSERT_TRUE(fs->create_dirs(delta::log_dir("t")).ok());  // only version 0 makes it
  ASSERT_TRUE(delta::write_commit(*fs, "t", 1, c).ok());
  delta::Snapshot s;
  Status st = delta::update(*fs, "t", s);
  EXPECT_EQ(st.code(), Errc::corruption);
  EXPECT_NE(st.message().find("has version 1 but not 0"), std::string::npos) << st.message();
}

TEST_F(ExtractDeltaTest, AppendWritesOneCommitPerRunWithProtocolAndSchemaFirst) {
  test_util::Run r = run(job("append"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_NE(r.err.find("(Delta version 0)"), std::string::npos) << r.err;
  const fs::path log = lake_ / "swords" / "_delta_log";
  EXPECT_EQ(actions(log / "00000000000000000000.json"),
            (std::vector<std::string>{"protocol", "metaData", "txn", "add", "commitInfo"}));
  r = run(job("append"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(actions(log / "00000000000000000001.json"),
            (std::vector<std::string>{"txn", "add", "commitInfo"}));
  delta::Snapshot s = snapshot();
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(rows(s), 2 * kSwords);
  std::vector<std::string> names;
  for (const delta::Field& f : s.metadata->fields) names.push_back(f.name + ":" + f.type);
  EXPECT_EQ(names, (std::vector<std::string>{"Host:string", "event_type:string", "n:long",
                                             "timestamp:timestamp"}));
  // Stats of the first file: numRecords and bounds of n.
  const std::string& stats = s.files.begin()->second.stats;
  EXPECT_NE(stats.find(R"("numRecords":66)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("nullCount":{"Host":0)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("timestamp":"2018-07-21T23:00:12.345Z")"), std::string::npos) << stats;
}

TEST_F(ExtractDeltaTest, OverwriteRemovesEveryFileAndAddsTheNewOnesInOneCommit) {
  ASSERT_TRUE(run(job("append")).status.ok());
  ASSERT_TRUE(run(job("append")).status.ok());
  test_util::Run r = run(job("overwrite"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(actions(lake_ / "swords" / "_delta_log" / "00000000000000000002.json"),
            (std::vector<std::string>{"txn", "remove", "remove", "add", "commitInfo"}));
  delta::Snapshot s = snapshot();
  EXPECT_EQ(s.files.size(), 1u);
  EXPECT_EQ(rows(s), kSwords);
}

TEST_F(ExtractDeltaTest, ANewColumnUpdatesTheSchemaInTheSameCommit) {
  ASSERT_TRUE(run(job("append")).status.ok());
  append(10, 100, R"(,"color":"red")");
  test_util::Run r = run(job("append", "starting_offsets = 100\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(actions(lake_ / "swords" / "_delta_log" / "00000000000000000001.json"),
            (std::vector<std::string>{"metaData", "txn", "add", "commitInfo"}));
  delta::Snapshot s = snapshot();
  std::vector<std::string> names;
  for (const delta::Field& f : s.metadata->fields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Host", "event_type", "n", "timestamp", "color"}));
}

TEST_F(ExtractDeltaTest, ANarrowerTypeIsWrittenWideAndAWiderOneIsRefused) {
  append(3, 100, R"(,"price":1.5)");
  ASSERT_TRUE(run(job("append", "starting_offsets = 100\n")).status.ok());
  // price is double in the table: a run of whole prices writes doubles, no new schema.
  append(3, 103, R"(,"price":2)");
  test_util::Run r = run(job("append", "starting_offsets = 103\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(actions(lake_ / "swords" / "_delta_log" / "00000000000000000001.json"),
            (std::vector<std::string>{"txn", "add", "commitInfo"}));
  // n is long in the table: a run with a string n is refused before any file.
  append(3, 106, R"(,"price":"free")");
  r = run(job("append", "starting_offsets = 106\n"));
  EXPECT_EQ(r.status.code(), Errc::invalid_argument);
  EXPECT_NE(r.status.message().find("column price is double in the table and this run has string"),
            std::string::npos)
      << r.status.message();
  EXPECT_EQ(snapshot().version, 1);
}

TEST_F(ExtractDeltaTest, IncrementalRunsStartFromTheOffsetsInTheLastTxn) {
  test_util::Run r = run(job("incremental", "ending_offsets = 50\n"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  delta::Snapshot s = snapshot();
  const std::string app = "questlog/test_job/swords/events/0";
  EXPECT_EQ(s.txns.at(app), 50);
  r = run(job("incremental"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_NE(r.err.find("(offsets 50 to 100)"), std::string::npos) << r.err;
  s = snapshot();
  EXPECT_EQ(s.txns.at(app), 100);
  EXPECT_EQ(rows(s), kSwords);
  // Nothing new: no commit.
  r = run(job("incremental"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(snapshot().version, 1);
}

TEST_F(ExtractDeltaTest, AnIncrementalRunWithoutRowsKeepsThePartitionColumnsAndMovesTheOffsets) {
  const std::string partitioned = job("incremental") + "partition_by = [\"Host\"]\n";
  ASSERT_TRUE(run(partitioned).status.ok());
  test_util::Run r = run(partitioned);  // nothing new
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(snapshot().version, 0);
  // New records, none a sword: a commit of the offsets only, same schema.
  log::embedded::WriterOptions wo;
  wo.dir = log_dir_;
  {
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok());
    std::vector<std::string_view> other{R"({"event_type":"default"})"};
    ASSERT_TRUE((*w)->append(other, 1).ok());
  }
  r = run(partitioned);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(actions(lake_ / "swords" / "_delta_log" / "00000000000000000001.json"),
            (std::vector<std::string>{"txn", "commitInfo"}));
  delta::Snapshot s = snapshot();
  EXPECT_EQ(s.txns.at("questlog/test_job/swords/events/0"), 101);
  EXPECT_EQ(s.metadata->partition_columns, std::vector<std::string>{"Host"});
  EXPECT_EQ(rows(s), kSwords);
}

TEST_F(ExtractDeltaTest, ACrashAtAnyStepOfAnIncrementalRunNeverLosesOrRepeatsARow) {
  // The reference: the first half, then the rest, counting the second run's steps.
  const fs::path base = lake_;
  ASSERT_TRUE(run(job("incremental", "ending_offsets = 50\n")).status.ok());
  const fs::path first_half = dir_.path() / "first_half";
  fs::copy(base, first_half, fs::copy_options::recursive);
  uint64_t steps = 0;
  {
    auto fs = real(lake_);
    FaultFileSystem counting(*fs);
    ASSERT_TRUE(run(job("incremental"), &counting).status.ok());
    steps = counting.steps();
  }
  ASSERT_GT(steps, 5u);
  // Step `steps` is past the last one: the commit is made and the process dies
  // before it reports.
  int committed = 0;
  for (uint64_t k = 0; k <= steps; ++k) {
    fs::remove_all(lake_);
    fs::copy(first_half, lake_, fs::copy_options::recursive);
    test_util::Run crashed;
    {
      auto fs = real(lake_);
      FaultFileSystem fault(*fs);
      fault.crash_at(k);
      crashed = run(job("incremental"), &fault);
    }
    committed += snapshot().version == 1;
    // The restart: a rerun finishes the job, each row once.
    test_util::Run again = run(job("incremental"));
    ASSERT_TRUE(again.status.ok()) << "crash at step " << k << ": " << again.status.message();
    delta::Snapshot s = snapshot();
    EXPECT_EQ(rows(s), kSwords) << "crash at step " << k << " of " << steps;
    EXPECT_EQ(s.txns.at("questlog/test_job/swords/events/0"), 100) << "crash at step " << k;
  }
  EXPECT_EQ(committed, 1);  // the commit is the run's last step
}

TEST_F(ExtractDeltaTest, AFirstRunKilledBeforeItsCommitLeavesATableTheNextRunMakes) {
  // The first run of a new table dies after its files, before anything of its
  // log (a second writer opening the table meanwhile sees the same): the table
  // directory is still a Delta table to be, not a plain one.
  {
    auto fs = real(lake_);
    FaultFileSystem fault(*fs);
    fault.inject(io::Fault::on(io::Op::create_dirs).path("_delta_log").and_every_later());
    test_util::Run crashed = run(job("incremental"), &fault);
    ASSERT_FALSE(crashed.status.ok());
  }
  ASSERT_FALSE(fs::exists(lake_ / "swords" / "_delta_log" / "00000000000000000000.json"));
  test_util::Run r = run(job("incremental"));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(rows(snapshot()), kSwords);
}

TEST_F(ExtractDeltaTest, TwoWritersRacingForVersionsBothCommitEveryTime) {
  ASSERT_TRUE(run(job("append")).status.ok());
  constexpr int kCommits = 20;
  auto writer = [&](int who, std::vector<int64_t>& versions) {
    auto fs = real(lake_);
    auto table = DeltaTable::open(*fs, "swords");
    ASSERT_TRUE(table.ok()) << table.status().message();
    for (int i = 0; i < kCommits; ++i) {
      DeltaTable::Run run;
      run.mode = Mode::append;
      run.columns = {{FieldNames::kTimestamp, "timestamp", parquet::ColumnType::timestamp_micros}};
      run.txns = {{"writer" + std::to_string(who), i + 1}};
      auto v = (*table)->commit(run);
      ASSERT_TRUE(v.ok()) << v.status().message();
      versions.push_back(*v);
    }
  };
  std::vector<int64_t> a, b;
  std::thread t([&] { writer(1, a); });
  writer(2, b);
  t.join();
  std::set<int64_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 2u * kCommits);  // no version twice
  delta::Snapshot s = snapshot();
  EXPECT_EQ(s.version, 2 * kCommits);  // none lost
  EXPECT_EQ(s.txns.at("writer1"), kCommits);
  EXPECT_EQ(s.txns.at("writer2"), kCommits);
}

TEST_F(ExtractDeltaTest, OfTwoIncrementalRunsOverTheSameOffsetsOnlyOneCommits) {
  auto fs = real(lake_);
  const std::string app = "questlog/test_job/swords/events/0";
  auto first = DeltaTable::open(*fs, "swords");
  auto second = DeltaTable::open(*fs, "swords");
  ASSERT_TRUE(first.ok() && second.ok());
  DeltaTable::Run run;
  run.mode = Mode::incremental;
  run.columns = {{FieldNames::kTimestamp, "timestamp", parquet::ColumnType::timestamp_micros}};
  run.txns = {{app, 100}};
  run.started_from = {{app, std::nullopt}};
  ASSERT_TRUE((*first)->commit(run).ok());
  auto lost = (*second)->commit(run);
  EXPECT_EQ(lost.status().code(), Errc::busy);
  EXPECT_NE(lost.status().message().find("another run committed the offsets of " + app),
            std::string::npos)
      << lost.status().message();
  EXPECT_EQ(snapshot().version, 0);
}

TEST_F(ExtractDeltaTest, APlainTableIsNotWrittenAsDeltaNorADeltaTableAsPlain) {
  std::string plain = job("append");
  plain.replace(plain.find("format = \"delta\"\n"), 17, "");
  ASSERT_TRUE(run(plain).status.ok());
  test_util::Run r = run(job("append"));
  EXPECT_EQ(r.status.code(), Errc::invalid_argument);
  EXPECT_NE(r.status.message().find("is not a Delta table (no _delta_log)"), std::string::npos)
      << r.status.message();

  fs::remove_all(lake_);
  ASSERT_TRUE(run(job("append")).status.ok());
  r = run(plain);
  EXPECT_EQ(r.status.code(), Errc::invalid_argument);
  EXPECT_NE(r.status.message().find("is a Delta table; write it with format = \"delta\""),
            std::string::npos)
      << r.status.message();
}

TEST_F(ExtractDeltaTest, AnUploadLeftByAKilledWriterIsRemovedByTheNextCommitOnceItIsOld) {
  ASSERT_TRUE(run(job("append")).status.ok());
  const fs::path log = lake_ / "swords" / "_delta_log";
  // A writer killed between its upload and its rename (HDFS) left the first;
  // the second could be a live writer's; the rest are not uploads of a commit
  // (Hadoop's checksum of a commit, another tool's hidden files).
  // A checkpoint and its _last_checkpoint cut short by a crash leave theirs
  // anywhere (the next three).
  const std::vector<std::string> names = {
      ".00000000000000000001.json.0123456789abcdef.tmp",
      ".00000000000000000100.checkpoint.parquet.01234567-89ab-cdef-0123-456789abcdef.tmp",
      "._last_checkpoint.01234567-89ab-cdef-0123-456789abcdef.tmp",
      ".00000000000000000002.json.fedcba9876543210.tmp",
      ".00000000000000000000.json.crc",
      ".00000000000000000001.json.0123456789abcdef.tmp.keep",
      ".notes.0123456789abcdef.tmp",
  };
  const size_t removed = 3, young = 3;  // names[0, removed) go; names[young] is new
  for (const std::string& n : names) std::ofstream(log / n) << "{}\n";
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (size_t i = 0; i < names.size(); ++i)
    if (i != young) fs::last_write_time(log / names[i], old);

  ASSERT_TRUE(run(job("append")).status.ok());
  EXPECT_TRUE(fs::exists(log / "00000000000000000001.json"));
  for (size_t i = 0; i < removed; ++i) EXPECT_FALSE(fs::exists(log / names[i])) << names[i];
  for (size_t i = removed; i < names.size(); ++i)
    EXPECT_TRUE(fs::exists(log / names[i])) << names[i];
  EXPECT_EQ(snapshot().version, 1);
}

}  // namespace
}  // namespace questlog::extract
