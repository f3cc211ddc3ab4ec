// FileWriter under faults: a disk that refuses bytes, a write that fails
// halfway through a file, and setters used against their contract.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "parquet/file_writer.h"

namespace questlog::parquet {
namespace {

namespace fs = std::filesystem;

TEST(ParquetWriteFaultTest, FullDiskFailsCreateWithIoError) {
  auto w = FileWriter::create("/dev/full", {{"a", ColumnType::string}});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Errc::io_error);
  EXPECT_NE(w.status().message().find("/dev/full"), std::string::npos);
}

// RLIMIT_FSIZE makes write() fail with EFBIG past a size, like a full disk
// after the first bytes: the error comes back from end_row() and stays.
TEST(ParquetWriteFaultTest, FailedWriteMidFileIsStickyIoError) {
  fs::path path = fs::temp_directory_path() / ("questlog_pq_fault_" + std::to_string(getpid()));
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);

  WriterOptions o;
  o.row_group_bytes = 16 * 1024;
  o.codec = Codec::uncompressed;
  auto w = FileWriter::create(path, {{"n", ColumnType::int64}}, o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  Status failed;
  int64_t rows = 0;
  for (; rows < 1'000'000 && failed.ok(); ++rows) {
    (*w)->set_int64(0, rows);
    failed = (*w)->end_row();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(failed.code(), Errc::io_error);
  EXPECT_NE(failed.message().find(path.string()), std::string::npos) << failed.message();
  EXPECT_LT(rows, 1'000'000);
  (*w)->set_int64(0, 1);
  EXPECT_EQ((*w)->end_row().code(), Errc::io_error);  // sticky
  EXPECT_EQ((*w)->close().status().code(), Errc::io_error);
  fs::remove(path);
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
