#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "extract/job.h"

namespace questlog::extract {
namespace {

const std::filesystem::path kJobs =
    std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "jobs";

Job parse_ok(const std::string& text) {
  auto job = parse_job(text, "t.toml");
  EXPECT_TRUE(job.ok()) << job.status().message();
  return job.ok() ? std::move(job).value() : Job{};
}

std::string parse_error(const std::string& text) {
  auto job = parse_job(text, "jobs/bad.toml");
  EXPECT_FALSE(job.ok());
  return job.ok() ? "" : job.status().message();
}

TEST(ExtractJobTest, SeparateEventsIsTheSeedsJob) {
  auto job = load_job((kJobs / "separate_events.toml").string());
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->stem, "separate_events");
  EXPECT_EQ(job->topic, "events");
  EXPECT_EQ(job->starting.kind, OffsetSpec::Kind::earliest);
  EXPECT_EQ(job->ending.kind, OffsetSpec::Kind::latest);
  ASSERT_EQ(job->transforms.size(), 1u);
  const Transform& set = job->transforms[0];
  EXPECT_EQ(set.type, Transform::Type::set);
  ASSERT_EQ(set.set.size(), 2u);
  // toml++ orders keys; both are there with their values.
  std::map<std::string, std::string> fields;
  for (const auto& [id, lit] : set.set) fields[job->names->name(id)] = lit.text;
  EXPECT_EQ(fields["Host"], "moe");
  EXPECT_EQ(fields["Cache-Control"], "no-cache");

  ASSERT_EQ(job->tables.size(), 2u);
  EXPECT_EQ(job->tables[0].name, "sword_purchases");
  EXPECT_EQ(job->tables[0].path, "sword_purchases");
  EXPECT_EQ(job->tables[0].mode, Mode::overwrite);
  EXPECT_EQ(job->tables[0].show, 20);
  EXPECT_FALSE(job->tables[0].print_schema);
  EXPECT_EQ(job->tables[0].codec, parquet::Codec::snappy);
  ASSERT_EQ(job->tables[0].where.conditions().size(), 1u);
  const Condition& c = job->tables[0].where.conditions()[0];
  EXPECT_EQ(job->names->name(c.field), "event_type");
  EXPECT_EQ(c.op, Condition::Op::equals);
  EXPECT_EQ(c.values[0].text, "purchase_sword");
  EXPECT_EQ(job->tables[1].name, "default_hits");
  EXPECT_EQ(job->tables[1].where.conditions()[0].values[0].text, "default");
}

TEST(ExtractJobTest, JustFilteringPrintsOnlyAndFilteredWritesWrites) {
  auto just = load_job((kJobs / "just_filtering.toml").string());
  ASSERT_TRUE(just.ok()) << just.status().message();
  ASSERT_EQ(just->tables.size(), 1u);
  EXPECT_TRUE(just->tables[0].path.empty());
  EXPECT_TRUE(just->tables[0].print_schema);
  EXPECT_EQ(just->tables[0].show, 20);
  EXPECT_TRUE(just->transforms.empty());

  auto writes = load_job((kJobs / "filtered_writes.toml").string());
  ASSERT_TRUE(writes.ok()) << writes.status().message();
  ASSERT_EQ(writes->tables.size(), 1u);
  EXPECT_EQ(writes->tables[0].path, "purchases");
  EXPECT_TRUE(writes->tables[0].print_schema);
  EXPECT_EQ(writes->tables[0].mode, Mode::overwrite);
}

TEST(ExtractJobTest, DefaultsWhenOnlyANameIsGiven) {
  Job job = parse_ok("[[tables]]\nname = \"all\"\n");
  EXPECT_EQ(job.topic, "events");
  EXPECT_EQ(job.starting.kind, OffsetSpec::Kind::earliest);
  EXPECT_EQ(job.ending.kind, OffsetSpec::Kind::latest);
  ASSERT_EQ(job.tables.size(), 1u);
  EXPECT_TRUE(job.tables[0].where.empty());
  EXPECT_EQ(job.tables[0].mode, Mode::overwrite);
  EXPECT_EQ(job.tables[0].show, 0);
  EXPECT_EQ(job.stem, "t");
}

TEST(ExtractJobTest, EveryTableKeyAndTransformType) {
  Job job = parse_ok(R"(
[source]
topic = "game.events"
starting_offsets = 10
ending_offsets = 20

[[transforms]]
type = "filter"
where = { event_type = ["purchase_sword", "purchase_knife"] }

[[transforms]]
type = "drop"
fields = ["User-Agent"]

[[transforms]]
type = "rename"
renames = { Host = "host" }

[[tables]]
name = "purchases"
path = "lake/purchases"
where = { description = { exists = true }, level = 3, vip = true, score = 1.5 }
mode = "incremental"
partition_by = ["event_type"]
show = 5
print_schema = true
codec = "zstd"
)");
  EXPECT_EQ(job.topic, "game.events");
  EXPECT_EQ(job.starting.kind, OffsetSpec::Kind::at);
  EXPECT_EQ(job.starting.offset, 10);
  EXPECT_EQ(job.ending.offset, 20);
  ASSERT_EQ(job.transforms.size(), 3u);
  EXPECT_EQ(job.transforms[0].type, Transform::Type::filter);
  EXPECT_EQ(job.transforms[0].where.conditions()[0].op, Condition::Op::one_of);
  EXPECT_EQ(job.transforms[0].where.conditions()[0].values.size(), 2u);
  EXPECT_EQ(job.transforms[1].type, Transform::Type::drop);
  EXPECT_EQ(job.names->name(job.transforms[1].drop[0]), "User-Agent");
  EXPECT_EQ(job.transforms[2].type, Transform::Type::rename);
  EXPECT_EQ(job.names->name(job.transforms[2].renames[0].first), "Host");
  EXPECT_EQ(job.names->name(job.transforms[2].renames[0].second), "host");
  const TableSpec& t = job.tables[0];
  EXPECT_EQ(t.mode, Mode::incremental);
  EXPECT_EQ(t.codec, parquet::Codec::zstd);
  EXPECT_EQ(t.show, 5);
  ASSERT_EQ(t.partition_by.size(), 1u);
  EXPECT_EQ(job.names->name(t.partition_by[0]), "event_type");
  ASSERT_EQ(t.where.conditions().size(), 4u);
  for (const Condition& c : t.where.conditions()) {
    const std::string& name = job.names->name(c.field);
    if (name == "description") {
      EXPECT_EQ(c.op, Condition::Op::exists);
    }
    if (name == "level") {
      EXPECT_EQ(c.values[0].kind, Kind::int64);
    }
    if (name == "vip") {
      EXPECT_EQ(c.values[0].kind, Kind::boolean);
    }
    if (name == "score") {
      EXPECT_EQ(c.values[0].kind, Kind::float64);
    }
  }
}

TEST(ExtractJobTest, SyntaxErrorNamesFileAndLine) {
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nshow = = 3\n").rfind("jobs/bad.toml:3: ", 0),
            0u);
}

TEST(ExtractJobTest, UnknownKeyNamesItsLine) {
  std::string e = parse_error("[[tables]]\nname = \"a\"\nshwo = 3\n");
  EXPECT_EQ(e.rfind("jobs/bad.toml:3: unknown key 'shwo' in [[tables]]", 0), 0u) << e;
  e = parse_error("[sauce]\ntopic = \"x\"\n");
  EXPECT_EQ(e.rfind("jobs/bad.toml:1: unknown key 'sauce'", 0), 0u) << e;
  e = parse_error(
      "[source]\ntopic = \"x\"\nstartingOffsets = \"earliest\"\n[[tables]]\nname=\"a\"\n");
  EXPECT_EQ(e.rfind("jobs/bad.toml:3: unknown key 'startingOffsets' in [source]", 0), 0u) << e;
}

TEST(ExtractJobTest, BadValuesNameTheirLine) {
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nmode = \"upsert\"\n"),
            "jobs/bad.toml:3: mode must be \"overwrite\", \"append\" or \"incremental\"");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\ncodec = \"gzip\"\n"),
            "jobs/bad.toml:3: codec must be \"snappy\", \"zstd\" or \"uncompressed\"");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nshow = -1\n"),
            "jobs/bad.toml:3: show must be a number of rows (0: none)");
  EXPECT_EQ(parse_error("[source]\nstarting_offsets = \"beginning\"\n[[tables]]\nname = \"a\"\n"),
            "jobs/bad.toml:2: starting_offsets must be \"earliest\", \"latest\" or an offset");
  EXPECT_EQ(parse_error("[source]\nending_offsets = \"earliest\"\n[[tables]]\nname = \"a\"\n"),
            "jobs/bad.toml:2: ending_offsets must be \"latest\" or an offset");
  EXPECT_EQ(parse_error("[[transforms]]\ntype = \"upper\"\n[[tables]]\nname = \"a\"\n"),
            "jobs/bad.toml:2: transform type must be \"set\", \"drop\", \"rename\" or \"filter\"");
  EXPECT_EQ(parse_error("[[transforms]]\ntype = \"set\"\nrenames = { a = \"b\" }\n"),
            "jobs/bad.toml:3: unknown key 'renames' in a set transform (expected fields)");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nwhere = { x = { exists = 1 } }\n"),
            "jobs/bad.toml:3: where 'x': a table condition is { exists = true } or { exists = "
            "false }");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nwhere = { x = [] }\n"),
            "jobs/bad.toml:3: where 'x': the list of values is empty");
}

TEST(ExtractJobTest, TimestampIsTheIngestTimeNotAField) {
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nwhere = { timestamp = \"x\" }\n"),
            "jobs/bad.toml:3: where 'timestamp': 'timestamp' is the record's ingest time, not an "
            "event field");
  EXPECT_NE(parse_error("[[transforms]]\ntype = \"rename\"\nrenames = { ts = \"timestamp\" }\n"
                        "[[tables]]\nname = \"a\"\n")
                .find("'timestamp' is the record's ingest time"),
            std::string::npos);
  EXPECT_NE(parse_error("[[tables]]\nname = \"a\"\npath = \"a\"\npartition_by = [\"timestamp\"]\n")
                .find("jobs/bad.toml:4:"),
            std::string::npos);
  // Delta does not allow a space (nor ,;{}()= a line break or a tab) in a column name.
  EXPECT_NE(parse_error("[[tables]]\nname = \"a\"\npath = \"a\"\nformat = \"delta\"\n"
                        "partition_by = [\"player name\"]\n")
                .find("table 'a': partition column 'player name' has a character Delta does not "
                      "allow in a column name"),
            std::string::npos);
  EXPECT_TRUE(
      parse_job("[[tables]]\nname = \"a\"\npath = \"a\"\npartition_by = [\"player name\"]\n",
                "jobs/ok.toml")
          .ok());
}

TEST(ExtractJobTest, TablePathsStayInsideTheLakeAndApart) {
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\npath = \"/tmp/a\"\n"),
            "jobs/bad.toml:3: path '/tmp/a' must be relative: tables live under --lake");
  EXPECT_NE(parse_error("[[tables]]\nname = \"a\"\npath = \"x/../y\"\n").find("jobs/bad.toml:3:"),
            std::string::npos);
  EXPECT_NE(parse_error("[[tables]]\nname = \"a\"\npath = \"_rejected\"\n").find("'_'"),
            std::string::npos);
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\npath = \"t\"\n[[tables]]\nname = \"b\"\n"
                        "path = \"t/sub\"\n"),
            "jobs/bad.toml:4: path 't/sub' overlaps the path 't' of an earlier table");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\n[[tables]]\nname = \"a\"\n"),
            "jobs/bad.toml:3: a second table named 'a'");
}

TEST(ExtractJobTest, MissingPiecesAreNamed) {
  EXPECT_EQ(parse_error("[source]\ntopic = \"events\"\n"),
            "jobs/bad.toml:1: no [[tables]]: a job fills at least one table");
  EXPECT_EQ(parse_error("[[tables]]\npath = \"a\"\n"), "jobs/bad.toml:1: [[tables]] needs a name");
  EXPECT_EQ(parse_error("[[tables]]\nname = \"a\"\nmode = \"append\"\n"),
            "jobs/bad.toml:1: table 'a': mode and partition_by need a path to write to");
  EXPECT_EQ(parse_error("[[transforms]]\nfields = { a = 1 }\n[[tables]]\nname = \"a\"\n"),
            "jobs/bad.toml:1: [[transforms]] needs a type: \"set\", \"drop\", \"rename\" or "
            "\"filter\"");
}

TEST(ExtractJobTest, AMissingFileIsOneLine) {
  auto job = load_job("/nonexistent/x.toml");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message(), "/nonexistent/x.toml: No such file or directory");
}

TEST(ExtractJobTest, StemIsTheFileNameWithoutToml) {
  EXPECT_EQ(job_stem("jobs/separate_events.toml"), "separate_events");
  EXPECT_EQ(job_stem("/a/b/c.job"), "c.job");
}

}  // namespace
}  // namespace questlog::extract

namespace questlog::extract {
namespace {

TEST(ExtractJobTest, EveryShippedJobParses) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kJobs)) {
    if (e.path().extension() != ".toml") continue;
    auto job = load_job(e.path().string());
    EXPECT_TRUE(job.ok()) << job.status().message();
    ++n;
  }
  EXPECT_GE(n, 3);
}

}  // namespace
}  // namespace questlog::extract

namespace questlog::extract {
namespace {

// Found by fuzz/job_fuzz.cpp: toml++ quotes what it saw, a line break included,
// and the message ran onto a second line.
TEST(ExtractJobErrorsTest, AnErrorIsOneLineWhateverTheFileHolds) {
  auto syntax = parse_job("[source]\ntopic = tru\n", "j.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().message().find('\n'), std::string::npos) << syntax.status().message();
  EXPECT_EQ(syntax.status().message().rfind("j.toml:2: ", 0), 0u) << syntax.status().message();
  EXPECT_NE(syntax.status().message().find("\\u000a"), std::string::npos)
      << syntax.status().message();

  auto key = parse_job("[source]\n\"top\\nic\" = \"events\"\n", "j.toml");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message().find('\n'), std::string::npos) << key.status().message();
}

}  // namespace
}  // namespace questlog::extract
