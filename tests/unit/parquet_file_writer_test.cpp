// FileWriter: file framing, row group splitting and the errors it returns.
// What the bytes mean is proven by pyarrow and DuckDB reading them back
// (tests/integration/test_parquet_conformance.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "parquet/file_writer.h"

namespace questlog::parquet {
namespace {

namespace fs = std::filesystem;

class ParquetFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("questlog_pq_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // The file is PAR1 ... footer, u32 footer length, PAR1; returns the length.
  static uint32_t check_framing(const std::string& bytes) {
    EXPECT_GE(bytes.size(), 12u);
    EXPECT_EQ(bytes.substr(0, 4), "PAR1");
    EXPECT_EQ(bytes.substr(bytes.size() - 4), "PAR1");
    uint32_t footer = 0;
    std::memcpy(&footer, bytes.data() + bytes.size() - 8, 4);
    EXPECT_LE(footer + 12u, bytes.size());
    return footer;
  }

  fs::path dir_;
};

TEST_F(ParquetFileWriterTest, ZeroRowsIsACompleteFile) {
  auto w = FileWriter::create(dir_ / "empty.parquet", {{"a", ColumnType::string}});
  ASSERT_TRUE(w.ok()) << w.status().message();
  auto summary = (*w)->close();
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->rows, 0u);
  EXPECT_EQ(summary->row_groups, 0u);
  std::string bytes = slurp(dir_ / "empty.parquet");
  EXPECT_EQ(bytes.size(), summary->bytes);
  EXPECT_EQ(check_framing(bytes) + 12u, bytes.size());
}

TEST_F(ParquetFileWriterTest, SummaryCountsRowsAndBytes) {
  auto w = FileWriter::create(dir_ / "t.parquet", {{"s", ColumnType::string},
                                                   {"i", ColumnType::int64},
                                                   {"f", ColumnType::float64},
                                                   {"b", ColumnType::boolean},
                                                   {"t", ColumnType::timestamp_micros}});
  ASSERT_TRUE(w.ok());
  FileWriter& f = **w;
  const std::string values[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6"};
  for (int r = 0; r < 1000; ++r) {
    if (r % 3) f.set_string(0, values[r % 7]);
    f.set_int64(1, r);
    if (r % 2) f.set_float64(2, r * 0.5);
    f.set_boolean(3, r % 5 == 0);
    f.set_int64(4, 1700000000000000 + r);
    ASSERT_TRUE(f.end_row().ok());
  }
  auto summary = f.close();
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->rows, 1000u);
  EXPECT_EQ(summary->row_groups, 1u);
  std::string bytes = slurp(dir_ / "t.parquet");
  EXPECT_EQ(bytes.size(), summary->bytes);
  check_framing(bytes);
}

TEST_F(ParquetFileWriterTest, SmallRowGroupBytesSplitsRowGroups) {
  WriterOptions o;
  o.row_group_bytes = 1000;
  o.page_bytes = 100;
  o.codec = Codec::zstd;
  auto w = FileWriter::create(dir_ / "t.parquet", {{"i", ColumnType::int64}}, o);
  ASSERT_TRUE(w.ok());
  for (int r = 0; r < 10000; ++r) {
    (*w)->set_int64(0, r * 7919);
    ASSERT_TRUE((*w)->end_row().ok());
  }
  auto summary = (*w)->close();
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->rows, 10000u);
  EXPECT_GT(summary->row_groups, 10u);
  check_framing(slurp(dir_ / "t.parquet"));
}

TEST_F(ParquetFileWriterTest, RepeatedInt64sAreDictionaryEncodedDistinctOnesStayPlain) {
  auto write = [&](const char* name, auto value) {
    WriterOptions o;
    o.codec = Codec::uncompressed;
    auto w = FileWriter::create(dir_ / name, {{"t", ColumnType::timestamp_micros}}, o);
    EXPECT_TRUE(w.ok());
    for (int64_t r = 0; r < 50000; ++r) {
      if (r % 1000 == 7) {
        EXPECT_TRUE((*w)->end_row().ok());  // null
        continue;
      }
      (*w)->set_int64(0, value(r));
      EXPECT_TRUE((*w)->end_row().ok());
    }
    auto summary = (*w)->close();
    EXPECT_TRUE(summary.ok());
    std::string bytes = slurp(dir_ / name);
    check_framing(bytes);
    return bytes.size();
  };
  // Runs of 5000 equal timestamps: one dictionary entry and one RLE run each.
  EXPECT_LT(write("runs.parquet", [](int64_t r) { return 1700000000000000 + r / 5000 * 1000; }),
            2000u);
  // Distinct values: PLAIN from the first page (8 bytes a value), no dictionary.
  size_t distinct = write("distinct.parquet", [](int64_t r) { return r * 7919; });
  EXPECT_GT(distinct, 50000u * 8 * 99 / 100);
  EXPECT_LT(distinct, 50000u * 8 + 20000);
}

TEST_F(ParquetFileWriterTest, RejectsBadSchemas) {
  auto dup =
      FileWriter::create(dir_ / "d.parquet", {{"a", ColumnType::string}, {"a", ColumnType::int64}});
  EXPECT_EQ(dup.status().code(), Errc::invalid_argument);
  EXPECT_NE(dup.status().message().find("duplicate column name a"), std::string::npos);
  EXPECT_EQ(FileWriter::create(dir_ / "e.parquet", {}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(FileWriter::create(dir_ / "n.parquet", {{"", ColumnType::string}}).status().code(),
            Errc::invalid_argument);
}

TEST_F(ParquetFileWriterTest, UncreatableFileIsAnErrorNamingThePath) {
  auto w = FileWriter::create(dir_ / "missing" / "t.parquet", {{"a", ColumnType::string}});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::not_found);  // the directory is missing
  EXPECT_NE(w.status().message().find("missing/t.parquet"), std::string::npos);
}

TEST_F(ParquetFileWriterTest, CloseTwiceIsAnError) {
  auto w = FileWriter::create(dir_ / "t.parquet", {{"a", ColumnType::string}});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_EQ((*w)->close().status().code(), Errc::invalid_argument);
}

TEST_F(ParquetFileWriterTest, UnclosedWriterLeavesAnIncompleteFile) {
  {
    auto w = FileWriter::create(dir_ / "t.parquet", {{"a", ColumnType::string}});
    ASSERT_TRUE(w.ok());
    (*w)->set_string(0, "x");
    ASSERT_TRUE((*w)->end_row().ok());
  }
  std::string bytes = slurp(dir_ / "t.parquet");
  EXPECT_EQ(bytes, "PAR1");  // no footer: no reader takes it for a table
}

}  // namespace
}  // namespace questlog::parquet
