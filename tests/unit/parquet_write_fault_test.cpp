// FileWriter under faults: a disk that refuses bytes, a write that fails
// halfway through a file (io::FaultFileSystem), a failed fsync, and setters
// used against their contract.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/fault_file_system.h"
#include "log_test_util.h"
#include "parquet/file_writer.h"

namespace questlog::parquet {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;

TEST(ParquetWriteFaultTest, FullDiskFailsCreateWithIoError) {
  auto w = FileWriter::create("/dev/full", {{"a", ColumnType::string}});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::io_error);
  EXPECT_NE(w.status().message().find("/dev/full"), std::string::npos);
}

// A disk that fills up mid-file: the third write stores 100 bytes and fails
// with ENOSPC. The error comes back from end_row() and stays.
TEST(ParquetWriteFaultTest, AFailedWriteMidFileIsAStickyIoError) {
  TempDir dir;
  io::FaultFileSystem fault(io::local_file_system());
  fault.inject(io::Fault::on(io::Op::write).nth(3).error(ENOSPC).torn(100));
  const fs::path path = dir.path() / "t.parquet";
  WriterOptions o;
  o.row_group_bytes = 16 * 1024;
  o.codec = Codec::uncompressed;
  auto w = FileWriter::create(fault, path, {{"n", ColumnType::int64}}, o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  Status failed;
  int64_t rows = 0;
  for (; rows < 1'000'000 && failed.ok(); ++rows) {
    (*w)->set_int64(0, rows);
    failed = (*w)->end_row();
  }
  EXPECT_EQ(failed.code(), Errc::io_error);
  EXPECT_EQ(failed.message(), path.string() + ": write: No space left on device (injected)");
  EXPECT_LT(rows, 1'000'000);
  (*w)->set_int64(0, 1);
  EXPECT_EQ((*w)->end_row().code(), Errc::io_error);  // sticky
  EXPECT_EQ((*w)->close().status().code(), Errc::io_error);
  EXPECT_EQ(fault.calls(io::Op::write), 3u);  // nothing written after the failure
}

// The footer is the last write: a short one fails close(), which never syncs.
TEST(ParquetWriteFaultTest, ATornFooterFailsClose) {
  TempDir dir;
  // Writes close() makes for one row: the row group's, then the footer.
  auto writes_of_close = [&](io::FaultFileSystem& fault, const fs::path& path) {
    auto w = FileWriter::create(fault, path, {{"s", ColumnType::string}});
    EXPECT_TRUE(w.ok());
    (*w)->set_string(0, "x");
    EXPECT_TRUE((*w)->end_row().ok());
    const uint64_t before = fault.calls(io::Op::write);
    auto closed = (*w)->close();
    return std::pair(fault.calls(io::Op::write) - before, closed.status());
  };
  io::FaultFileSystem clean(io::local_file_system());
  auto [writes, ok] = writes_of_close(clean, dir.path() / "clean.parquet");
  ASSERT_TRUE(ok.ok());
  ASSERT_GE(writes, 2u);

  io::FaultFileSystem fault(io::local_file_system());
  fault.inject(io::Fault::on(io::Op::write).path("torn").nth(1 + writes).error(ENOSPC).torn(5));
  auto [torn_writes, failed] = writes_of_close(fault, dir.path() / "torn.parquet");
  EXPECT_EQ(torn_writes, writes);
  EXPECT_NE(failed.message().find("No space left on device"), std::string::npos)
      << failed.message();
  EXPECT_EQ(fault.calls(io::Op::sync), 0u);
  // The file holds all but the footer's last bytes: no closing magic.
  EXPECT_LT(fs::file_size(dir.path() / "torn.parquet"),
            fs::file_size(dir.path() / "clean.parquet"));
  std::ifstream in(dir.path() / "torn.parquet", std::ios::binary);
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(bytes.substr(bytes.size() - 4), "PAR1");
}

// A failed fsync: the file is not known to be on disk, so close() fails.
TEST(ParquetWriteFaultTest, AFailedSyncFailsClose) {
  TempDir dir;
  io::FaultFileSystem fault(io::local_file_system());
  fault.inject(io::Fault::on(io::Op::sync).error(EIO));
  const fs::path path = dir.path() / "t.parquet";
  auto w = FileWriter::create(fault, path, {{"s", ColumnType::string}});
  ASSERT_TRUE(w.ok());
  auto closed = (*w)->close();
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.status().message(), path.string() + ": fsync: Input/output error (injected)");
}

TEST(ParquetWriteFaultTest, SetterMisuseIsCaught) {
  fs::path path = fs::temp_directory_path() / ("questlog_pq_misuse_" + std::to_string(getpid()));
  auto w = FileWriter::create(path, {{"n", ColumnType::int64}, {"s", ColumnType::string}});
  ASSERT_TRUE(w.ok());
#ifndef NDEBUG
  EXPECT_DEATH((*w)->set_string(0, "not an int"), "misuse");
  EXPECT_DEATH((*w)->set_int64(7, 1), "misuse");
#else
  (*w)->set_int64(0, 1);
  (*w)->set_int64(0, 2);  // twice in one row
  Status s = (*w)->end_row();
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("column n"), std::string::npos) << s.message();
  EXPECT_EQ((*w)->close().status().code(), Errc::invalid_argument);
#endif
  fs::remove(path);
}

}  // namespace
}  // namespace questlog::parquet
