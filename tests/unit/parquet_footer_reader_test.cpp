// Reading a Parquet footer back: the Thrift compact decoder on every kind of
// value parquet.thrift can hold, the footer of files our writer wrote (pyarrow's
// and Spark's are read in tests/integration/test_ls.py), and damaged files.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "log_test_util.h"
#include "parquet/file_writer.h"
#include "parquet/footer_reader.h"
#include "parquet/thrift_compact.h"

namespace questlog::parquet {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;
using thrift::CompactReader;
using thrift::CompactWriter;
using thrift::CType;

std::span<const uint8_t> bytes(const std::vector<uint8_t>& v) { return {v.data(), v.size()}; }

TEST(ThriftCompactReaderTest, ReadsWhatTheWriterWrote) {
  std::vector<uint8_t> out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_i32(1, -7);
  w.field_bool(2, true);
  w.field_bool(3, false);
  w.field_binary(4, "hello");
  w.field_i64(40, int64_t{1} << 40);  // a jump of more than 15: the long form
  w.field_i16(20, -300);              // going back: the long form too
  w.field_list(21, CType::structure, 20);
  for (int i = 0; i < 20; ++i) {
    w.begin_struct();
    w.field_i32(1, i);
    w.end_struct();
  }
  w.end_struct();

  CompactReader r(bytes(out));
  r.begin_struct();
  int16_t id;
  CType t;
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(r.read_i32(), -7);
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(id, 2);
  EXPECT_EQ(t, CType::bool_true);
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(t, CType::bool_false);
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(r.read_binary(), "hello");
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(id, 40);
  EXPECT_EQ(r.read_i64(), int64_t{1} << 40);
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(id, 20);
  EXPECT_EQ(r.read_i64(), -300);
  ASSERT_TRUE(r.next_field(id, t));
  EXPECT_EQ(id, 21);
  CType element;
  uint32_t n = 0;
  r.read_list_header(element, n);
  EXPECT_EQ(element, CType::structure);
  EXPECT_EQ(n, 20u);
  for (uint32_t i = 0; i < n; ++i) r.skip(element, true);
  EXPECT_FALSE(r.next_field(id, t));  // the stop byte
  r.end_struct();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.position(), out.size());
}

TEST(ThriftCompactReaderTest, SkipsEveryKindOfValue) {
  // struct { 1: double, 2: map<binary,i32>{"a":1,"b":-1}, 3: set<bool>{true,false},
  //          4: list<list<i64>>[[1],[]], 5: byte, 6: empty map, 7: struct { 1: i32 } }
  // then 8: i64 9 to find after them.
  std::vector<uint8_t> m = {
      0x17, 0,    0,    0, 0,    0, 0, 0xF0, 0x3F,  // 1: double 1.0
      0x1B, 2,    0x85, 1, 'a',  2, 1, 'b',  1,     // 2: map, 2 entries, binary -> i32
      0x1A, 0x21, 1,    2,                          // 3: set of 2 bools (a byte each)
      0x19, 0x29, 0x16, 2, 0x06,                    // 4: list of 2 lists: [1], []
      0x13, 0x7F,                                   // 5: byte
      0x1B, 0,                                      // 6: empty map
      0x1C, 0x15, 4,    0,                          // 7: struct { 1: i32 2 }
      0x16, 18,                                     // 8: i64 9
      0};
  CompactReader r(bytes(m));
  r.begin_struct();
  int16_t id;
  CType t;
  int64_t found = -1;
  while (r.next_field(id, t)) {
    if (id == 8)
      found = r.read_i64();
    else
      r.skip(t);
  }
  r.end_struct();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(found, 9);
  EXPECT_EQ(r.position(), m.size());
}

TEST(ThriftCompactReaderTest, DamagedInputFailsWithoutReadingPastTheEnd) {
  std::vector<uint8_t> out;
  CompactWriter w(out);
  w.begin_struct();
  w.field_binary(1, std::string(100, 'x'));
  w.field_list(2, CType::i64, 30);
  for (int i = 0; i < 30; ++i) thrift::put_varint(out, thrift::zigzag(i));
  w.field_i64(3, 5);
  w.end_struct();
  // Every truncation fails cleanly (ASan checks no byte past the end is read).
  for (size_t cut = 0; cut < out.size(); ++cut) {
    std::vector<uint8_t> part(out.begin(), out.begin() + static_cast<long>(cut));
    CompactReader r(bytes(part));
    r.begin_struct();
    int16_t id;
    CType t;
    while (r.next_field(id, t)) r.skip(t);
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
  // A varint that never ends, a bad type, a list longer than the input, deep nesting.
  for (std::vector<uint8_t> bad :
       {std::vector<uint8_t>{0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                             0xFF},
        std::vector<uint8_t>{0x1E, 0}, std::vector<uint8_t>{0x19, 0xF6, 0xFF, 0xFF, 0x03, 0},
        std::vector<uint8_t>(200, 0x1C)}) {
    CompactReader r(bytes(bad));
    r.begin_struct();
    int16_t id;
    CType t;
    while (r.next_field(id, t)) r.skip(t);
    EXPECT_FALSE(r.ok());
  }
}

class FooterReaderTest : public ::testing::Test {
 protected:
  // Writes `rows` rows of two columns; returns the file's path.
  fs::path write(const std::string& name, int rows, WriterOptions o = {}) {
    fs::path p = dir_.path() / name;
    auto w = FileWriter::create(p, {{"s", ColumnType::string}, {"i", ColumnType::int64}}, o);
    EXPECT_TRUE(w.ok());
    for (int i = 0; i < rows; ++i) {
      (*w)->set_string(0, "row " + std::to_string(i));
      (*w)->set_int64(1, i);
      EXPECT_TRUE((*w)->end_row().ok());
    }
    EXPECT_TRUE((*w)->close().ok());
    return p;
  }
  Result<FooterInfo> footer(const fs::path& p) {
    auto f = io::local_file_system().open(p, io::OpenMode::read);
    if (!f.ok()) return f.status();
    auto size = (*f)->size();
    if (!size.ok()) return size.status();
    return read_footer(**f, *size);
  }
  void put(const fs::path& p, const std::string& bytes) {
    auto f = io::local_file_system().open(p, io::OpenMode::truncate);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->write_at(0, bytes).ok());
  }
  std::string get(const fs::path& p) {
    auto f = io::local_file_system().open(p, io::OpenMode::read);
    std::string s(*(*f)->size(), '\0');
    EXPECT_TRUE((*f)->read_at(0, s.data(), s.size()).ok());
    return s;
  }
  TempDir dir_;
};

TEST_F(FooterReaderTest, RowsAndRowGroupsOfOurFiles) {
  auto one = footer(write("one.parquet", 1));
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(one->num_rows, 1);
  EXPECT_EQ(one->row_groups, 1);
  EXPECT_EQ(one->created_by, "questlog version 0.1.0");

  auto empty = footer(write("empty.parquet", 0));
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->num_rows, 0);
  EXPECT_EQ(empty->row_groups, 0);

  WriterOptions small;
  small.row_group_bytes = 4096;
  auto many = footer(write("many.parquet", 50000, small));
  ASSERT_TRUE(many.ok()) << many.status().message();
  EXPECT_EQ(many->num_rows, 50000);
  EXPECT_GT(many->row_groups, 10);
}

TEST_F(FooterReaderTest, AFooterLongerThanTheFirstReadIsReadInASecond) {
  std::vector<Column> columns;
  for (int i = 0; i < 2000; ++i)
    columns.push_back({"column_" + std::to_string(i) + std::string(40, 'x'), ColumnType::int64});
  fs::path p = dir_.path() / "wide.parquet";
  auto w = FileWriter::create(p, columns);
  ASSERT_TRUE(w.ok());
  for (int r = 0; r < 3; ++r) {
    for (size_t c = 0; c < columns.size(); ++c) (*w)->set_int64(c, r);
    ASSERT_TRUE((*w)->end_row().ok());
  }
  ASSERT_TRUE((*w)->close().ok());
  auto f = footer(p);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_GT(f->metadata_bytes, 64u * 1024);
  EXPECT_EQ(f->num_rows, 3);
}

TEST_F(FooterReaderTest, DamagedFilesAreNamedAndRefused) {
  const std::string good = get(write("good.parquet", 10));
  const fs::path p = dir_.path() / "bad.parquet";
  auto refused = [&](const std::string& bytes, Errc code, const std::string& words) {
    put(p, bytes);
    auto f = footer(p);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), code);
    EXPECT_NE(f.status().message().find(p.string() + ": "), std::string::npos)
        << f.status().message();
    EXPECT_NE(f.status().message().find(words), std::string::npos) << f.status().message();
  };
  refused("PAR1", Errc::corruption, "too short");
  refused(good.substr(0, good.size() - 1), Errc::corruption, "no PAR1 at its end");
  refused(good.substr(0, good.size() - 4) + "PARE", Errc::invalid_argument, "encrypted");
  std::string long_length = good;
  long_length[long_length.size() - 5] = '\x7f';
  refused(long_length, Errc::corruption, "does not fit");
  // The metadata cut short: its last bytes replaced by the length and magic.
  std::string cut = good.substr(0, good.size() - 8 - 5);
  uint32_t len = 0;
  std::memcpy(&len, good.data() + good.size() - 8, 4);
  len -= 5;
  cut.append(reinterpret_cast<const char*>(&len), 4).append("PAR1");
  refused(cut, Errc::corruption, "does not decode");
}

}  // namespace
}  // namespace questlog::parquet
