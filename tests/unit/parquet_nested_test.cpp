// Nested files (FileWriter::create_nested): what is refused, and that files
// with nulls at every level, empty lists and maps and records spread over
// many pages are complete Parquet files. pyarrow and DuckDB read the values
// back in tests/integration/test_delta_checkpoint.py.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/file_system.h"
#include "log_test_util.h"
#include "parquet/file_writer.h"
#include "parquet/footer_reader.h"

namespace questlog::parquet {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;
using K = Field::Kind;

std::vector<Field> schema() {
  return {
      Field::group("s",
                   {Field::leaf("a", K::string), Field::leaf("n", K::int32),
                    Field::list("l", Field::leaf("e", K::int64)),
                    Field::map("m", Field::leaf("k", K::string), Field::leaf("v", K::string))}),
      Field::leaf("b", K::boolean),
  };
}

Result<std::unique_ptr<FileWriter>> create(const fs::path& p, std::vector<Field> s = schema(),
                                           WriterOptions o = {}) {
  return FileWriter::create_nested(io::local_file_system(), p, std::move(s), o);
}

Value s_value(Value a, Value n, Value l, Value m) {
  return Value::parts({std::move(a), std::move(n), std::move(l), std::move(m)});
}

TEST(ParquetNestedTest, NullsAtEveryLevelAndEmptyCollectionsMakeACompleteFile) {
  TempDir dir;
  auto w = create(dir.path() / "n.parquet");
  ASSERT_TRUE(w.ok()) << w.status().message();
  std::vector<std::vector<Value>> rows = {
      {Value(), Value()},                                                   // the whole struct null
      {s_value(Value(), Value(), Value(), Value()), Value(true)},           // every field null
      {s_value("x", 7, Value::parts({}), Value::parts({})), Value(false)},  // empty list and map
      {s_value("y", -1, Value::parts({Value(int64_t{1}), Value(), Value(int64_t{3})}),
               Value::parts({Value::entry("k1", "v1"), Value::entry("k2", Value())})),
       Value()},
  };
  for (const auto& r : rows) ASSERT_TRUE((*w)->write_row(r).ok());
  auto summary = (*w)->close();
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->rows, 4u);
  ASSERT_EQ(summary->columns.size(), 6u);  // a, n, l.element, m.key, m.value, b
  EXPECT_EQ(summary->columns[0].null_count, 2);

  auto file = io::local_file_system().open(dir.path() / "n.parquet", io::OpenMode::read);
  ASSERT_TRUE(file.ok());
  auto footer = read_footer(**file, summary->bytes);
  ASSERT_TRUE(footer.ok()) << footer.status().message();
  EXPECT_EQ(footer->num_rows, 4);
}

TEST(ParquetNestedTest, RecordsOverManyPagesAndRowGroups) {
  TempDir dir;
  WriterOptions o;
  o.page_bytes = 64;
  o.row_group_bytes = 4096;
  auto w = create(dir.path() / "p.parquet", schema(), o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 2000; ++i) {
    std::vector<Value> list;
    for (int j = 0; j < i % 7; ++j) list.emplace_back(int64_t{j});
    std::vector<Value> map;
    for (int j = 0; j < i % 3; ++j) map.push_back(Value::entry(fmt::format("k{}", j), "v"));
    std::vector<Value> row = {
        s_value(fmt::format("r{}", i % 10), i, Value::parts(list), Value::parts(map)),
        Value(i % 2 == 0)};
    ASSERT_TRUE((*w)->write_row(row).ok());
  }
  auto summary = (*w)->close();
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->rows, 2000u);
  EXPECT_GT(summary->row_groups, 1u);
}

TEST(ParquetNestedTest, ValuesThatDoNotFitTheirFieldAreErrors) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::vector<Value>>> bad = {
      {"another type", {s_value(int64_t{5}, Value(), Value(), Value())}},
      {"another type", {s_value(Value(), int64_t{1} << 40, Value(), Value())}},  // past int32
      {"scalar where", {Value("not a group")}},
      {"more values than the group", {Value::parts({"a", 1, Value(), Value(), "extra"})}},
      {"not a Value::entry", {s_value(Value(), Value(), Value(), Value::parts({Value("k")}))}},
      {"more values than the schema", {Value(), Value(), Value()}},
  };
  int i = 0;
  for (const auto& [why, row] : bad) {
    auto w = create(dir.path() / fmt::format("bad{}.parquet", i++));
    ASSERT_TRUE(w.ok());
    Status s = (*w)->write_row(row);
    EXPECT_EQ(s.code(), Errc::invalid_argument) << why;
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
    EXPECT_FALSE((*w)->close().ok()) << why;  // the file is unusable now
  }
}

TEST(ParquetNestedTest, ANullInARequiredFieldIsAnError) {
  TempDir dir;
  Field req = Field::leaf("r", K::int64);
  req.required = true;
  auto w = create(dir.path() / "r.parquet", {Field::group("g", {req})});
  ASSERT_TRUE(w.ok());
  std::vector<Value> row = {Value::parts({Value()})};
  Status s = (*w)->write_row(row);
  EXPECT_NE(s.message().find("null in a required field"), std::string::npos) << s.message();
}

TEST(ParquetNestedTest, SchemasReadersCouldNotReadAreRefused) {
  TempDir dir;
  Field bad_map = Field::map("m", Field::leaf("k", K::string), Field::leaf("v", K::string));
  bad_map.children[0].required = false;
  Field two_elements = Field::list("l", Field::leaf("e", K::string));
  two_elements.children.push_back(Field::leaf("f", K::string));
  const std::vector<std::pair<std::string, std::vector<Field>>> bad = {
      {"at least one column", {}},
      {"at least one field", {Field::group("g", {})}},
      {"two fields named a",
       {Field::group("g", {Field::leaf("a", K::string), Field::leaf("a", K::int64)})}},
      {"duplicate column name", {Field::leaf("a", K::string), Field::leaf("a", K::string)}},
      {"empty name", {Field::group("g", {Field::leaf("", K::string)})}},
      {"required scalar", {bad_map}},
      {"one element field", {two_elements}},
  };
  for (const auto& [why, s] : bad) {
    auto w = create(dir.path() / "x.parquet", s);
    ASSERT_FALSE(w.ok()) << why;
    EXPECT_NE(w.status().message().find(why), std::string::npos) << w.status().message();
  }
}

TEST(ParquetNestedTest, FlatAndNestedCallsDoNotMix) {
  TempDir dir;
  auto nested = create(dir.path() / "n.parquet");
  ASSERT_TRUE(nested.ok());
  EXPECT_FALSE((*nested)->end_row().ok());
  auto flat = FileWriter::create(dir.path() / "f.parquet", {{"a", ColumnType::string}});
  ASSERT_TRUE(flat.ok());
  std::vector<Value> row = {Value("x")};
  EXPECT_FALSE((*flat)->write_row(row).ok());
}

}  // namespace
}  // namespace questlog::parquet
