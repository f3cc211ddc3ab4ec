// run_extract end to end on a real embedded log: the seed's split, rejects,
// widening, spills, threads, and the three write modes.
#include <gtest/gtest.h>
#include <stdio.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "extract/extract.h"
#include "extract/job.h"
#include "extract_log_fixture.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

std::string seed_event(const std::string& type, const std::string& host) {
  std::string extra = type == "purchase_knife" ? R"(,"description":"very sharp knife")" : "";
  return R"({"event_type":")" + type + "\"" + extra + R"(,"Host":")" + host +
         R"(","User-Agent":"ApacheBench/2.3","Accept":"*/*"})";
}

class ExtractPipelineTest : public test_util::ExtractLogFixture {
 protected:
  using Run = test_util::Run;

  // The seed's ab session: 10 default and 10 sword per host, then 5 knives.
  void seed_session() {
    std::vector<std::string> v;
    for (const char* host : {"user1.comcast.com", "user2.att.com"}) {
      for (int i = 0; i < 10; ++i) v.push_back(seed_event("default", host));
      for (int i = 0; i < 10; ++i) v.push_back(seed_event("purchase_sword", host));
    }
    for (int i = 0; i < 5; ++i) v.push_back(seed_event("purchase_knife", "user1.comcast.com"));
    append(v);
  }
};

// `err` without the "questlog: read N records, ... in 0.12 s" line.
std::string without_timing(const std::string& err) {
  size_t at = err.find("questlog: read ");
  if (at == std::string::npos) return err;
  return err.substr(0, at) + err.substr(err.find('\n', at) + 1);
}

const char* kSeparateEvents = R"(
[[transforms]]
type = "set"
fields = { Host = "moe", "Cache-Control" = "no-cache" }
[[tables]]
name = "sword_purchases"
path = "sword_purchases"
where = { event_type = "purchase_sword" }
show = 20
[[tables]]
name = "default_hits"
path = "default_hits"
where = { event_type = "default" }
show = 20
)";

TEST_F(ExtractPipelineTest, TheSeedsSeparateEventsJob) {
  seed_session();
  Run r = run(kSeparateEvents);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.records, 45u);
  ASSERT_EQ(r.report.tables.size(), 2u);
  EXPECT_EQ(r.report.tables[0].rows, 20u);
  EXPECT_EQ(r.report.tables[1].rows, 20u);
  EXPECT_EQ(r.report.tables[0].files, 1u);
  EXPECT_GT(r.report.tables[0].bytes, 0u);

  const std::string header =
      "+------+-------------+----+---------------+--------------+--------------------+\n"
      "|Accept|Cache-Control|Host|     User-Agent|    event_type|           timestamp|\n";
  EXPECT_EQ(r.out.rfind(header, 0), 0u) << r.out;
  EXPECT_NE(r.out.find("|   */*|     no-cache| moe|ApacheBench/2.3|purchase_sword|2018-07-21 "
                       "23:00:...|\n"),
            std::string::npos);
  EXPECT_NE(
      r.out.find("|   */*|     no-cache| moe|ApacheBench/2.3|   default|2018-07-21 23:00:...|\n"),
      std::string::npos);
  EXPECT_EQ(r.out.find("only showing"), std::string::npos);  // exactly 20 each

  EXPECT_NE(r.err.find("questlog: read 45 records, offsets 0 to 45, in "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("questlog: table sword_purchases: 20 rows, 1 file, "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" bytes -> " + (lake() / "sword_purchases").string() + "\n"),
            std::string::npos)
      << r.err;
  auto names = files("sword_purchases");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(*names.begin(), "_SUCCESS");
  EXPECT_EQ(names.rbegin()->rfind("part-00000-", 0), 0u);
  EXPECT_NE(names.rbegin()->find("-c000.snappy.parquet"), std::string::npos);
  EXPECT_FALSE(fs::exists(lake() / "_rejected"));
}

TEST_F(ExtractPipelineTest, JustFilteringPrintsTheSchemaAndWritesNothing) {
  seed_session();
  Run r = run(R"(
[[tables]]
name = "purchases"
where = { event_type = "purchase_sword" }
print_schema = true
show = 3
)");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.out.rfind("root\n"
                        " |-- Accept: string (nullable = true)\n"
                        " |-- Host: string (nullable = true)\n"
                        " |-- User-Agent: string (nullable = true)\n"
                        " |-- event_type: string (nullable = true)\n"
                        " |-- timestamp: timestamp (nullable = true)\n"
                        "\n"
                        "+------+-----------------+",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("|   */*|user1.comcast.com|ApacheBench/2.3|purchase_sword|"),
            std::string::npos);
  EXPECT_NE(r.out.find("only showing top 3 rows\n\n"), std::string::npos);
  EXPECT_EQ(r.report.tables[0].rows, 20u);
  EXPECT_NE(r.err.find("questlog: table purchases: 20 rows (printed only: no path)"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(lake()));
}

TEST_F(ExtractPipelineTest, MixedShapesUnionTheirKeys) {
  seed_session();
  Run r = run(R"(
[[tables]]
name = "all_purchases"
path = "all_purchases"
where = { event_type = ["purchase_sword", "purchase_knife"] }
print_schema = true
show = 30
)");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_NE(r.out.find(" |-- description: string (nullable = true)\n"), std::string::npos);
  EXPECT_NE(r.out.find("|            null|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|very sharp knife|"), std::string::npos);
  EXPECT_EQ(r.report.tables[0].rows, 25u);
}

TEST_F(ExtractPipelineTest, WideningIsReportedOnceWithItsOffset) {
  append({R"({"level":1})", R"({"level":2})", R"({"level":2.5})", R"({"level":"max"})",
          R"({"level":3})"});
  Run r = run(R"(
[[tables]]
name = "levels"
path = "levels"
print_schema = true
show = 5
)");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.err.rfind("questlog: table levels: column level widened from int64 to float64 at "
                        "offset 2, to string at offset 3\n",
                        0),
            0u)
      << r.err;
  EXPECT_NE(r.out.find(" |-- level: string (nullable = true)"), std::string::npos);
  EXPECT_NE(r.out.find("|  2.5|"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("|  max|"), std::string::npos);
}

TEST_F(ExtractPipelineTest, RecordsThatAreNotObjectsGoToRejected) {
  seed_session();
  append({"[1,2,3]", "not json", R"({"event_type":"purchase_sword","Host":"late"})"});
  Run r = run(kSeparateEvents);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.rejected, 2u);
  EXPECT_EQ(r.report.tables[0].rows, 21u);
  auto rejected = files("_rejected/test_job");
  EXPECT_EQ(rejected.size(), 2u);  // a part file and _SUCCESS
  EXPECT_NE(
      r.err.find(
          "questlog: 2 records rejected (the first at offset 45: not a JSON object: array) -> " +
          (lake() / "_rejected/test_job").string()),
      std::string::npos)
      << r.err;

  // The next clean run replaces it with an empty table of this run's rejects.
  fs::remove_all(dir_.path() / "data");
  seed_session();
  Run clean = run(kSeparateEvents);
  ASSERT_TRUE(clean.status.ok());
  EXPECT_EQ(clean.report.rejected, 0u);
  EXPECT_EQ(files("_rejected/test_job").size(), 2u);
  EXPECT_NE(files("_rejected/test_job"), rejected);
}

TEST_F(ExtractPipelineTest, StrictFailsAtTheFirstRejectAndWritesNothing) {
  seed_session();
  append({"[1]", "2"});
  ExtractOptions o;
  o.strict = true;
  Run r = run(kSeparateEvents, o);
  ASSERT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.message(), "offset 45: not a JSON object: array (--strict)");
  EXPECT_TRUE(files("sword_purchases").empty());
}

TEST_F(ExtractPipelineTest, ResultDoesNotDependOnThreadsOrSpilling) {
  std::vector<std::string> v;
  for (int i = 0; i < 30000; ++i) {
    if (i % 997 == 0) {
      v.push_back("[" + std::to_string(i) + "]");
    } else if (i % 3 == 0) {
      v.push_back(R"({"event_type":"level_up","level":)" + std::to_string(i) +
                  (i > 20000 ? ".5" : "") + R"(,"Host":"h)" + std::to_string(i % 7) + "\"}");
    } else {
      v.push_back(seed_event(i % 3 == 1 ? "default" : "purchase_sword", "user1.comcast.com"));
    }
  }
  append(v);
  const char* job = R"(
[[tables]]
name = "levels"
path = "levels"
where = { event_type = "level_up" }
print_schema = true
show = 25
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
show = 25
)";
  ExtractOptions inline_run;
  inline_run.threads = 0u;
  ExtractOptions threaded;
  threaded.threads = 3u;
  threaded.memory_budget = 64 << 10;  // spills many times
  Run a = run(job, inline_run);
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  auto a_bytes = a.report.tables[0].bytes + a.report.tables[1].bytes;
  fs::remove_all(lake());
  Run b = run(job, threaded);
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(without_timing(a.err), without_timing(b.err));
  EXPECT_EQ(b.report.tables[0].bytes + b.report.tables[1].bytes, a_bytes);
  EXPECT_EQ(a.report.rejected, 31u);
  EXPECT_NE(a.err.find("column level widened from int64 to float64 at offset 20001"),
            std::string::npos)
      << a.err;
}

TEST_F(ExtractPipelineTest, KeysDifferingOnlyInCaseAreRenamedAlikeWhateverTheThreads) {
  // The spellings first appear far apart, in batches that workers may finish
  // in any order: the names follow the log.
  std::vector<std::string> v;
  for (int i = 0; i < 30000; ++i) {
    const char* key = i == 21000 ? "LEVEL" : i >= 15000 && i % 2 ? "Level" : "level";
    v.push_back(R"({"event_type":"level_up",")" + std::string(key) + R"(":)" + std::to_string(i) +
                "}");
  }
  append(v);
  const char* job = R"(
[[tables]]
name = "levels"
path = "levels"
print_schema = true
)";
  ExtractOptions inline_run;
  inline_run.threads = 0u;
  ExtractOptions threaded;
  threaded.threads = 3u;
  Run a = run(job, inline_run);
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  fs::remove_all(lake());
  Run b = run(job, threaded);
  ASSERT_TRUE(b.status.ok()) << b.status.message();
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(without_timing(a.err), without_timing(b.err));
  EXPECT_NE(a.out.find(" |-- LEVEL__3: long (nullable = true)\n |-- Level__2: long (nullable = "
                       "true)\n |-- event_type: string (nullable = true)\n |-- level: long"),
            std::string::npos)
      << a.out;
  EXPECT_NE(a.err.find("questlog: table levels: column Level renamed to Level__2: it differs "
                       "from level only in case, which Spark does not allow\n"),
            std::string::npos)
      << a.err;
}

TEST_F(ExtractPipelineTest, ARecordWithAnEmptyKeyGoesToRejectedAndTheTablesAreWritten) {
  seed_session();
  append({R"({"":"x"})", R"({"event_type":"purchase_sword","":"y"})"});
  Run r = run(kSeparateEvents);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_EQ(r.report.rejected, 2u);
  EXPECT_EQ(r.report.tables[0].rows, 20u);
  EXPECT_EQ(files("sword_purchases").size(), 2u);  // a part file and _SUCCESS
  EXPECT_NE(r.err.find("questlog: 2 records rejected (the first at offset 45: empty key: a column "
                       "cannot have an empty name) -> "),
            std::string::npos)
      << r.err;
}

TEST_F(ExtractPipelineTest, IncrementalRunsAreExactlyOnce) {
  const char* job = R"(
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "incremental"
)";
  seed_session();  // offsets 0..44
  Run first = run(job);
  ASSERT_TRUE(first.status.ok()) << first.status.message();
  EXPECT_EQ(first.report.tables[0].rows, 20u);
  EXPECT_EQ(files("swords").size(), 2u);
  EXPECT_NE(first.err.find("(offsets 0 to 45)"), std::string::npos) << first.err;

  Run again = run(job);  // no new traffic
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.report.tables[0].rows, 0u);
  EXPECT_EQ(again.report.records, 0u);
  EXPECT_EQ(files("swords").size(), 2u);

  append({seed_event("purchase_sword", "x"), seed_event("default", "x"),
          seed_event("purchase_sword", "y")});
  Run more = run(job);
  ASSERT_TRUE(more.status.ok());
  EXPECT_EQ(more.report.tables[0].rows, 2u);
  EXPECT_EQ(more.report.records, 3u);
  auto names = files("swords");
  EXPECT_EQ(names.size(), 3u);
  std::string ranges;
  for (const auto& n : names)
    if (n != "_SUCCESS") ranges += n.substr(0, 47) + " ";
  EXPECT_EQ(ranges,
            "part-00000000000000000000-00000000000000000045- "
            "part-00000000000000000045-00000000000000000048- ");
}

TEST_F(ExtractPipelineTest, AppendAddsFilesAndOverwriteReplacesThem) {
  seed_session();
  const std::string table = R"(
[[tables]]
name = "t"
path = "t"
where = { event_type = "default" }
mode = ")";
  ASSERT_TRUE(run(table + "append\"\n").status.ok());
  ASSERT_TRUE(run(table + "append\"\n").status.ok());
  EXPECT_EQ(files("t").size(), 3u);
  ASSERT_TRUE(run(table + "overwrite\"\n").status.ok());
  EXPECT_EQ(files("t").size(), 2u);
}

TEST_F(ExtractPipelineTest, PartitionedTablesAreHiveDirectories) {
  seed_session();
  Run r = run(R"(
[[tables]]
name = "purchases"
path = "purchases"
where = { event_type = ["purchase_sword", "purchase_knife"] }
partition_by = ["event_type"]
)");
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  auto names = files("purchases");
  ASSERT_EQ(names.size(), 3u);
  auto it = names.begin();
  EXPECT_EQ(*it++, "_SUCCESS");
  EXPECT_EQ(it++->rfind("event_type=purchase_knife/part-00000-", 0), 0u);
  EXPECT_EQ(it++->rfind("event_type=purchase_sword/part-00001-", 0), 0u);
  EXPECT_EQ(r.report.tables[0].files, 2u);
  EXPECT_EQ(r.report.tables[0].rows, 25u);
}

TEST_F(ExtractPipelineTest, OffsetsBoundTheRange) {
  seed_session();
  Run r = run(R"(
[source]
starting_offsets = 10
ending_offsets = 25
[[tables]]
name = "t"
)");
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.report.records, 15u);
  EXPECT_EQ(r.report.start, 10);
  EXPECT_EQ(r.report.end, 25);
  Run latest = run("[source]\nstarting_offsets = \"latest\"\n[[tables]]\nname = \"t\"\n");
  ASSERT_TRUE(latest.status.ok());
  EXPECT_EQ(latest.report.records, 0u);
}

TEST_F(ExtractPipelineTest, AMissingLogIsOneError) {
  Run r = run("[[tables]]\nname = \"t\"\n");
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("no such log directory"), std::string::npos)
      << r.status.message();
}

}  // namespace
}  // namespace questlog::extract
