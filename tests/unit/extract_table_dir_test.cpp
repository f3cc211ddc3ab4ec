// Table directories: staged runs, the atomic overwrite swap, and what open()
// does with the staging a killed run left behind (the states kill -9 can leave).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>

#include "extract/table_dir.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every file under `dir`, relative, with its content: "a/b=content".
std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      out.insert(fs::relative(e.path(), dir).string() + "=" + read_file(e.path()));
  return out;
}

// A lake in a fresh directory, with its file system.
struct Lake {
  TempDir dir;
  std::unique_ptr<io::FileSystem> fs = TableDir::lake_file_system(dir.path());
  const fs::path& path() const { return dir.path(); }
};

std::unique_ptr<TableDir> open_ok(Lake& lake, const std::string& rel) {
  auto d = TableDir::open(*lake.fs, rel);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? std::move(d).value() : nullptr;
}

TEST(ExtractTableDirTest, OverwriteCreatesASparkShapedTable) {
  Lake lake;
  auto t = open_ok(lake, "sword_purchases");
  auto run = t->begin(Mode::overwrite);
  ASSERT_TRUE(run.ok());
  write_file(lake.path() / *run / "part-00000-x-c000.snappy.parquet", "new");
  EXPECT_FALSE(fs::exists(lake.path() / "sword_purchases"));  // nothing until commit
  ASSERT_TRUE(t->commit().ok());
  EXPECT_EQ(listing(lake.path() / "sword_purchases"),
            (std::set<std::string>{"_SUCCESS=", "part-00000-x-c000.snappy.parquet=new"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "sword_purchases"));
}

TEST(ExtractTableDirTest, OverwriteSwapsTheWholeTableAtOnce) {
  Lake lake;
  fs::path table = lake.path() / "a" / "t";
  write_file(table / "part-old.parquet", "old");
  write_file(table / "event_type=x" / "part-old.parquet", "old");
  write_file(table / "_SUCCESS", "");
  struct stat before;
  ASSERT_EQ(::stat(table.c_str(), &before), 0);

  auto t = open_ok(lake, "a/t");
  auto run = t->begin(Mode::overwrite);
  ASSERT_TRUE(run.ok());
  write_file(lake.path() / *run / "part-new.parquet", "new");
  // Until the commit, readers see the old table, whole.
  EXPECT_EQ(listing(table).size(), 3u);
  ASSERT_TRUE(t->commit().ok());
  EXPECT_EQ(listing(table), (std::set<std::string>{"_SUCCESS=", "part-new.parquet=new"}));
  struct stat after;
  ASSERT_EQ(::stat(table.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // a different directory took the name
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "a%2Ft"));  // the old one is gone
}

TEST(ExtractTableDirTest, AbortPublishesNothing) {
  Lake lake;
  write_file(lake.path() / "t" / "part-old.parquet", "old");
  {
    auto t = open_ok(lake, "t");
    auto run = t->begin(Mode::overwrite);
    write_file(lake.path() / *run / "part-new.parquet", "new");
  }  // destroyed without commit
  EXPECT_EQ(listing(lake.path() / "t"), (std::set<std::string>{"part-old.parquet=old"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, KilledWhileStagingLeavesTheOldTable) {
  Lake lake;
  write_file(lake.path() / "t" / "part-old.parquet", "old");
  write_file(lake.path() / ".staging" / "t" / "overwrite-1" / "part-new.parquet", "half");
  write_file(lake.path() / ".staging" / "t" / "append-2" / "part-new.parquet", "half");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"), (std::set<std::string>{"part-old.parquet=old"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, KilledAfterTheSwapDeletesTheOldTable) {
  Lake lake;
  write_file(lake.path() / "t" / "part-new.parquet", "new");
  // After the exchange the staging name holds the old table.
  write_file(lake.path() / ".staging" / "t" / "overwrite-1.ready" / "part-old.parquet", "old");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"), (std::set<std::string>{"part-new.parquet=new"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, KilledBeforeTheFirstTableMovedInFinishesIt) {
  Lake lake;
  write_file(lake.path() / ".staging" / "t" / "overwrite-1.ready" / "part-new.parquet", "new");
  write_file(lake.path() / ".staging" / "t" / "overwrite-1.ready" / "_SUCCESS", "");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"),
            (std::set<std::string>{"_SUCCESS=", "part-new.parquet=new"}));
}

// Without an atomic swap (HDFS) the old table goes aside to "<run>.old" before
// the run, never marked ready, takes its place: killed between the two, the
// pair is finished by the next open; an unfinished run alone is not.
TEST(ExtractTableDirTest, KilledBetweenTheTwoRenamesOfASwapFinishesIt) {
  Lake lake;
  write_file(lake.path() / ".staging" / "t" / "overwrite-1" / "part-new.parquet", "new");
  write_file(lake.path() / ".staging" / "t" / "overwrite-1" / "_SUCCESS", "");
  write_file(lake.path() / ".staging" / "t" / "overwrite-1.old" / "part-old.parquet", "old");
  write_file(lake.path() / ".staging" / "t" / "overwrite-2" / "part-half.parquet", "half");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"),
            (std::set<std::string>{"_SUCCESS=", "part-new.parquet=new"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, AnOldTableAsideWithTheTableInPlaceIsDeleted) {
  Lake lake;
  write_file(lake.path() / "t" / "part-new.parquet", "new");
  write_file(lake.path() / ".staging" / "t" / "overwrite-1.old" / "part-old.parquet", "old");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"), (std::set<std::string>{"part-new.parquet=new"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, AppendAddsFilesAndRefreshesSuccess) {
  Lake lake;
  write_file(lake.path() / "t" / "part-1.parquet", "one");
  auto t = open_ok(lake, "t");
  auto run = t->begin(Mode::append);
  write_file(lake.path() / *run / "part-2.parquet", "two");
  write_file(lake.path() / *run / "event_type=x" / "part-3.parquet", "three");
  ASSERT_TRUE(t->commit().ok());
  EXPECT_EQ(listing(lake.path() / "t"),
            (std::set<std::string>{"_SUCCESS=", "part-1.parquet=one", "part-2.parquet=two",
                                   "event_type=x/part-3.parquet=three"}));
}

TEST(ExtractTableDirTest, KilledHalfwayThroughAnAppendIsFinishedByTheNextOpen) {
  Lake lake;
  // Marked ready; part-a was already renamed into the table, part-b not yet.
  write_file(lake.path() / "t" / "part-a.parquet", "a");
  write_file(lake.path() / ".staging" / "t" / "incremental-1.ready" / "x=1" / "part-b.parquet",
             "b");
  auto t = open_ok(lake, "t");
  EXPECT_EQ(listing(lake.path() / "t"),
            (std::set<std::string>{"_SUCCESS=", "part-a.parquet=a", "x=1/part-b.parquet=b"}));
  EXPECT_TRUE(fs::is_empty(lake.path() / ".staging" / "t"));
}

TEST(ExtractTableDirTest, CommittedEndIsTheGreatestEndInPartFileNames) {
  Lake lake;
  auto t = open_ok(lake, "t");
  auto none = t->committed_end();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const auto c = parquet::Codec::snappy;
  write_file(lake.path() / "t" / TableDir::incremental_part_name(0, 50, "u1", c), "");
  write_file(lake.path() / "t" / "event_type=x" / TableDir::incremental_part_name(50, 120, "u2", c),
             "");
  write_file(lake.path() / "t" / TableDir::part_name(0, "u3", c), "");  // an append's file
  auto end = t->committed_end();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->value(), 120);
}

TEST(ExtractTableDirTest, OneWriterPerTable) {
  Lake lake;
  auto first = open_ok(lake, "t");
  auto second = TableDir::open(*lake.fs, "t");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Errc::busy);
  EXPECT_NE(second.status().message().find("another extract is writing this table"),
            std::string::npos);
  auto other = TableDir::open(*lake.fs, "u");  // another table is fine
  EXPECT_TRUE(other.ok());
  first.reset();
  EXPECT_TRUE(TableDir::open(*lake.fs, "t").ok());
}

TEST(ExtractTableDirTest, NamesAreSparks) {
  EXPECT_EQ(TableDir::part_name(0, "0b5e6c1e-2f4a-4c8e-9d1a-3e5f7a9b1c2d", parquet::Codec::snappy),
            "part-00000-0b5e6c1e-2f4a-4c8e-9d1a-3e5f7a9b1c2d-c000.snappy.parquet");
  EXPECT_EQ(TableDir::part_name(12, "u", parquet::Codec::zstd), "part-00012-u-c000.zstd.parquet");
  EXPECT_EQ(TableDir::part_name(0, "u", parquet::Codec::uncompressed), "part-00000-u-c000.parquet");
  EXPECT_EQ(TableDir::incremental_part_name(5, 1234, "u", parquet::Codec::snappy),
            "part-00000000000000000005-00000000000000001234-u-c000.snappy.parquet");
  std::string uuid = random_uuid();
  EXPECT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4');
  EXPECT_NE(uuid, random_uuid());
}

TEST(ExtractTableDirTest, PartitionValuesAreEscapedAsHiveDoes) {
  EXPECT_EQ(hive_escape("purchase_sword"), "purchase_sword");
  EXPECT_EQ(hive_escape("a/b=c:d%"), "a%2Fb%3Dc%3Ad%25");
  EXPECT_EQ(hive_escape("sp ace"), "sp ace");
  EXPECT_EQ(hive_escape(""), "__HIVE_DEFAULT_PARTITION__");
}

}  // namespace
}  // namespace questlog::extract
