// show() and printSchema() against layouts Spark prints (PySpark adds the
// final blank line with print()).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extract/table_printer.h"

namespace questlog::extract {
namespace {

using PT = parquet::ColumnType;
using Cells = std::vector<std::optional<std::string>>;

// Spark's SQL getting-started guide, df.show() and df.printSchema() of people.json.
TEST(ExtractTablePrinterTest, SparkGuidePeopleExample) {
  ShowTable t({"age", "name"});
  t.add_row({std::nullopt, "Michael"});
  t.add_row({"30", "Andy"});
  t.add_row({"19", "Justin"});
  EXPECT_EQ(t.render(20, 3),
            "+----+-------+\n"
            "| age|   name|\n"
            "+----+-------+\n"
            "|null|Michael|\n"
            "|  30|   Andy|\n"
            "|  19| Justin|\n"
            "+----+-------+\n"
            "\n");
  EXPECT_EQ(schema_tree({{1, "age", PT::int64}, {2, "name", PT::string}}),
            "root\n"
            " |-- age: long (nullable = true)\n"
            " |-- name: string (nullable = true)\n"
            "\n");
}

// PySpark's DataFrame.show docstring: show(1) of two rows.
TEST(ExtractTablePrinterTest, OnlyShowingTopOneRowIsSingular) {
  ShowTable t({"age", "name"});
  t.add_row({"14", "Tom"});
  EXPECT_EQ(t.render(1, 3),
            "+---+----+\n"
            "|age|name|\n"
            "+---+----+\n"
            "| 14| Tom|\n"
            "+---+----+\n"
            "only showing top 1 row\n"
            "\n");
}

// The seed's sword_purchases.show(): Spark's layout of its screen (the seed's
// copy lost the padding in a Markdown table).
TEST(ExtractTablePrinterTest, TheSeedsSwordPurchases) {
  ShowTable t({"Accept", "Cache-Control", "Host", "User-Agent", "event_type", "timestamp"});
  for (int i = 0; i < 20; ++i)
    t.add_row({"*/*", "no-cache", "moe", "ApacheBench/2.3", "purchase_sword",
               format_timestamp(1532214012345 + i)});
  std::string out = t.render(20, 40);
  EXPECT_EQ(out.substr(0, out.find('\n', out.find('\n', out.find('\n') + 1) + 1) + 1),
            "+------+-------------+----+---------------+--------------+--------------------+\n"
            "|Accept|Cache-Control|Host|     User-Agent|    event_type|           timestamp|\n"
            "+------+-------------+----+---------------+--------------+--------------------+\n");
  EXPECT_NE(out.find("\n|   */*|     no-cache| moe|ApacheBench/2.3|purchase_sword|2018-07-21 "
                     "23:00:...|\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.substr(out.size() - 26), "only showing top 20 rows\n\n");
}

TEST(ExtractTablePrinterTest, SeedSchema) {
  EXPECT_EQ(schema_tree({{1, "Accept", PT::string},
                         {2, "Host", PT::string},
                         {3, "User-Agent", PT::string},
                         {4, "event_type", PT::string},
                         {0, "timestamp", PT::timestamp_micros},
                         {5, "level", PT::int64},
                         {6, "score", PT::float64},
                         {7, "vip", PT::boolean}}),
            "root\n"
            " |-- Accept: string (nullable = true)\n"
            " |-- Host: string (nullable = true)\n"
            " |-- User-Agent: string (nullable = true)\n"
            " |-- event_type: string (nullable = true)\n"
            " |-- timestamp: timestamp (nullable = true)\n"
            " |-- level: long (nullable = true)\n"
            " |-- score: double (nullable = true)\n"
            " |-- vip: boolean (nullable = true)\n"
            "\n");
}

TEST(ExtractTablePrinterTest, LongValuesAndHeadersAreCutTo17PlusDots) {
  ShowTable t({"a_column_name_longer_than_twenty", "b"});
  t.add_row({"exactly twenty chars", "twenty-one characters"});
  EXPECT_EQ(t.render(20, 1),
            "+--------------------+--------------------+\n"
            "|a_column_name_lon...|                   b|\n"
            "+--------------------+--------------------+\n"
            "|exactly twenty chars|twenty-one charac...|\n"
            "+--------------------+--------------------+\n"
            "\n");
}

TEST(ExtractTablePrinterTest, NoRowsStillPrintsTheHeader) {
  ShowTable t({"Accept", "timestamp"});
  EXPECT_EQ(t.render(20, 0),
            "+------+---------+\n"
            "|Accept|timestamp|\n"
            "+------+---------+\n"
            "+------+---------+\n"
            "\n");
}

TEST(ExtractTablePrinterTest, WideCharactersCountTwiceAndControlsAreEscaped) {
  ShowTable t({"s"});
  t.add_row({"\xe6\x97\xa5\xe6\x9c\xac"});  // 日本: 2 characters, 4 columns wide
  t.add_row({"a\tb\nc"});
  EXPECT_EQ(t.render(20, 2),
            "+-------+\n"
            "|      s|\n"
            "+-------+\n"
            "|   \xe6\x97\xa5\xe6\x9c\xac|\n"
            "|a\\tb\\nc|\n"
            "+-------+\n"
            "\n");
}

TEST(ExtractTablePrinterTest, TimestampsInUtcWithMilliseconds) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01 00:00:00.000");
  EXPECT_EQ(format_timestamp(1532214012345), "2018-07-21 23:00:12.345");
  EXPECT_EQ(format_timestamp(951782400000), "2000-02-29 00:00:00.000");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31 23:59:59.999");
}

TEST(ExtractTablePrinterTest, DoublesAsJavaPrintsThem) {
  EXPECT_EQ(java_double(1.0), "1.0");
  EXPECT_EQ(java_double(-2.5), "-2.5");
  EXPECT_EQ(java_double(0.001), "0.001");
  EXPECT_EQ(java_double(1e-4), "1.0E-4");
  EXPECT_EQ(java_double(1234567.0), "1234567.0");
  EXPECT_EQ(java_double(1e7), "1.0E7");
  EXPECT_EQ(java_double(1.5e10), "1.5E10");
  EXPECT_EQ(java_double(0.1), "0.1");
  EXPECT_EQ(java_double(100.0), "100.0");
  EXPECT_EQ(java_double(0.0), "0.0");
}

TEST(ExtractTablePrinterTest, CellsFollowTheColumnType) {
  EXPECT_EQ(format_cell(Value::null(), PT::string), std::nullopt);
  EXPECT_EQ(format_cell(Value::of_int(3), PT::int64), "3");
  EXPECT_EQ(format_cell(Value::of_int(3), PT::float64), "3.0");
  EXPECT_EQ(format_cell(Value::of_int(3), PT::string), "3");
  EXPECT_EQ(format_cell(Value::of_double(0.5), PT::string), "0.5");
  EXPECT_EQ(format_cell(Value::of_bool(false), PT::boolean), "false");
  EXPECT_EQ(format_cell(Value::of_json("{\"a\":1}"), PT::string), "{\"a\":1}");
}

}  // namespace
}  // namespace questlog::extract
