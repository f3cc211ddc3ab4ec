// A table's schema learnt from its rows: union, sorting, widening.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "extract/schema.h"

namespace questlog::extract {
namespace {

using PT = parquet::ColumnType;

std::vector<std::pair<std::string, PT>> columns_of(const TableSchema& s, const FieldNames& names,
                                                   const std::vector<FieldId>& exclude = {}) {
  std::vector<std::pair<std::string, PT>> out;
  for (const SchemaColumn& c : s.columns(names, exclude)) out.emplace_back(c.name, c.type);
  return out;
}

TEST(ExtractSchemaTest, UnionOfKeysPlusTimestampSortedBytewiseAsTheSeedShowsThem) {
  FieldNames names;
  TableSchema s;
  // The seed's munged event, keys in the order the event has them.
  for (const char* k : {"event_type", "Host", "User-Agent", "Accept", "Cache-Control"})
    s.observe(names.intern(k), Kind::string, 0);
  std::vector<std::pair<std::string, PT>> want = {
      {"Accept", PT::string},     {"Cache-Control", PT::string},
      {"Host", PT::string},       {"User-Agent", PT::string},
      {"event_type", PT::string}, {"timestamp", PT::timestamp_micros}};
  EXPECT_EQ(columns_of(s, names), want);
}

TEST(ExtractSchemaTest, KeysOfEveryRowAppearOnce) {
  FieldNames names;
  TableSchema s;
  s.observe(names.intern("event_type"), Kind::string, 0);
  s.observe(names.intern("event_type"), Kind::string, 1);
  s.observe(names.intern("description"), Kind::string, 1);
  auto cols = columns_of(s, names);
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0].first, "description");
  EXPECT_EQ(cols[1].first, "event_type");
  EXPECT_EQ(cols[2].first, "timestamp");
}

TEST(ExtractSchemaTest, PartitionColumnsCanBeLeftOut) {
  FieldNames names;
  TableSchema s;
  FieldId et = names.intern("event_type");
  s.observe(et, Kind::string, 0);
  s.observe(names.intern("Host"), Kind::string, 0);
  auto cols = columns_of(s, names, {et});
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].first, "Host");
}

TEST(ExtractSchemaTest, KeysDifferingOnlyInCaseAreColumnsOfTheirOwnNamedInFirstSeenOrder) {
  FieldNames names;
  // Interned in another order than seen: ids do not decide, the log does.
  FieldId upper = names.intern("Description"), lower = names.intern("description"),
          ts = names.intern("Timestamp"), type = names.intern("event_type");
  TableSchema s;
  s.observe(type, Kind::string, 0);
  s.observe(lower, Kind::string, 0);
  s.observe(upper, Kind::null, 1);  // a null is a sighting too
  s.observe(ts, Kind::int64, 2);
  s.observe(upper, Kind::int64, 3);
  std::vector<std::pair<std::string, PT>> want = {{"Description__2", PT::int64},
                                                  {"Timestamp__2", PT::int64},
                                                  {"description", PT::string},
                                                  {"event_type", PT::string},
                                                  {"timestamp", PT::timestamp_micros}};
  EXPECT_EQ(columns_of(s, names), want);
  EXPECT_EQ(s.notes(names),
            (std::vector<std::string>{
                "column Description renamed to Description__2: it differs from description only "
                "in case, which Spark does not allow",
                "column Timestamp renamed to Timestamp__2: it differs from timestamp only in "
                "case, which Spark does not allow"}));

  // Seen the other way round, the other spelling keeps the name.
  TableSchema other;
  other.observe(upper, Kind::string, 0);
  other.observe(lower, Kind::string, 1);
  auto cols = columns_of(other, names);
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0].first, "Description");
  EXPECT_EQ(cols[1].first, "description__2");
}

TEST(ExtractSchemaTest, PartitionColumnsAreNamedAsColumnsToo) {
  FieldNames names;
  FieldId upper = names.intern("Event_Type"), lower = names.intern("event_type");
  TableSchema s;
  s.observe(lower, Kind::string, 0);
  s.observe(upper, Kind::string, 1);
  auto cols = s.columns(names, {lower});
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].name, "Event_Type__2");
  EXPECT_EQ(cols[0].field, upper);
}

TEST(ExtractSchemaTest, AWideningNoteNamesTheColumnAsInTheTable) {
  FieldNames names;
  FieldId lower = names.intern("level"), upper = names.intern("Level");
  TableSchema s;
  s.observe(lower, Kind::int64, 0);
  s.observe(upper, Kind::int64, 1);
  s.observe(upper, Kind::string, 2);
  std::vector<std::string> notes = s.notes(names);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1], "column Level__2 widened from int64 to string at offset 2");
}

TEST(ExtractSchemaTest, WideningLattice) {
  EXPECT_EQ(widen(ColumnType::none, Kind::int64), ColumnType::int64);
  EXPECT_EQ(widen(ColumnType::int64, Kind::int64), ColumnType::int64);
  EXPECT_EQ(widen(ColumnType::int64, Kind::float64), ColumnType::float64);
  EXPECT_EQ(widen(ColumnType::float64, Kind::int64), ColumnType::float64);
  EXPECT_EQ(widen(ColumnType::float64, Kind::string), ColumnType::string);
  EXPECT_EQ(widen(ColumnType::string, Kind::int64), ColumnType::string);
  EXPECT_EQ(widen(ColumnType::int64, Kind::json), ColumnType::string);
  EXPECT_EQ(widen(ColumnType::boolean, Kind::boolean), ColumnType::boolean);
  EXPECT_EQ(widen(ColumnType::boolean, Kind::int64), ColumnType::string);
  EXPECT_EQ(widen(ColumnType::float64, Kind::boolean), ColumnType::string);
  EXPECT_EQ(widen(ColumnType::int64, Kind::null), ColumnType::int64);
  EXPECT_EQ(widen(ColumnType::none, Kind::null), ColumnType::none);
}

TEST(ExtractSchemaTest, WideningIsRecordedOncePerChangeWithTheOffset) {
  FieldNames names;
  TableSchema s;
  FieldId level = names.intern("level");
  s.observe(level, Kind::null, 5);  // null does not fix a type
  s.observe(level, Kind::int64, 10);
  s.observe(level, Kind::int64, 11);
  s.observe(level, Kind::float64, 12);
  s.observe(level, Kind::int64, 13);
  s.observe(level, Kind::string, 1234);
  s.observe(level, Kind::float64, 1300);
  EXPECT_EQ(s.type(level), ColumnType::string);
  ASSERT_EQ(s.widenings().size(), 1u);
  const auto& h = s.widenings()[0];
  EXPECT_EQ(h.field, level);
  ASSERT_EQ(h.steps.size(), 2u);
  EXPECT_EQ(TableSchema::describe("level", h.steps),
            "column level widened from int64 to float64 at offset 12, to string at offset 1234");
  EXPECT_EQ(TableSchema::describe("level", {{ColumnType::int64, ColumnType::string, 1234}}),
            "column level widened from int64 to string at offset 1234");
}

TEST(ExtractSchemaTest, OnlyNullIsAStringColumn) {
  FieldNames names;
  TableSchema s;
  s.observe(names.intern("n"), Kind::null, 0);
  auto cols = columns_of(s, names);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0], std::make_pair(std::string("n"), PT::string));
  EXPECT_TRUE(s.widenings().empty());
}

TEST(ExtractSchemaTest, TypesMapToParquet) {
  FieldNames names;
  TableSchema s;
  s.observe(names.intern("b"), Kind::boolean, 0);
  s.observe(names.intern("i"), Kind::int64, 0);
  s.observe(names.intern("f"), Kind::float64, 0);
  s.observe(names.intern("j"), Kind::json, 0);
  std::vector<std::pair<std::string, PT>> want = {{"b", PT::boolean},
                                                  {"f", PT::float64},
                                                  {"i", PT::int64},
                                                  {"j", PT::string},
                                                  {"timestamp", PT::timestamp_micros}};
  EXPECT_EQ(columns_of(s, names), want);
}

TEST(ExtractSchemaTest, ValuesReadAsStringsInAWidenedColumn) {
  auto as_string = [](const Value& v) {
    std::string s;
    append_as_string(v, s);
    return s;
  };
  EXPECT_EQ(as_string(Value::of_int(-7)), "-7");
  EXPECT_EQ(as_string(Value::of_double(0.5)), "0.5");
  EXPECT_EQ(as_string(Value::of_double(1.0)), "1.0");
  EXPECT_EQ(as_string(Value::of_double(1e20)), "1e+20");
  EXPECT_EQ(as_string(Value::of_bool(true)), "true");
  EXPECT_EQ(as_string(Value::of_json("[1,2]")), "[1,2]");
  EXPECT_EQ(as_string(Value::of_string("x")), "x");
}

}  // namespace
}  // namespace questlog::extract
