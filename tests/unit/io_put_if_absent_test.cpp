// FileSystem::put_if_absent, the step a Delta Lake commit is: the file appears
// whole or not at all, never replaces what is there, and of writers racing for
// one name exactly one wins. On the local file system (rooted beneath a
// directory, and unrooted) and behind the FaultFileSystem.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log_test_util.h"

namespace questlog::io {
namespace {

namespace stdfs = std::filesystem;
using log::embedded::testing::TempDir;

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

PosixFileSystem rooted(const stdfs::path& root) {
  PosixOptions o;
  o.beneath = true;
  o.create_root = true;
  return PosixFileSystem(root, o);
}

TEST(IoPutIfAbsentTest, CreatesTheFileWholeAndLeavesNothingElse) {
  TempDir dir;
  PosixFileSystem fs = rooted(dir.path());
  ASSERT_TRUE(fs.create_dirs("log").ok());
  ASSERT_TRUE(fs.put_if_absent("log/00.json", "{\"a\":1}\n").ok());
  EXPECT_EQ(slurp(dir.path() / "log" / "00.json"), "{\"a\":1}\n");
  std::vector<std::string> names;
  for (auto& e : stdfs::directory_iterator(dir.path() / "log"))
    names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"00.json"});  // no temporary file left
}

TEST(IoPutIfAbsentTest, AnExistingFileIsAlreadyExistsAndKeepsItsBytes) {
  TempDir dir;
  PosixFileSystem fs = rooted(dir.path());
  ASSERT_TRUE(fs.put_if_absent("00.json", "first").ok());
  Status second = fs.put_if_absent("00.json", "second");
  EXPECT_EQ(second.code(), Errc::already_exists) << second.message();
  EXPECT_NE(second.message().find("00.json: already exists"), std::string::npos)
      << second.message();
  EXPECT_EQ(slurp(dir.path() / "00.json"), "first");
}

TEST(IoPutIfAbsentTest, AMissingDirectoryIsNotFound) {
  TempDir dir;
  PosixFileSystem fs = rooted(dir.path());
  EXPECT_EQ(fs.put_if_absent("nowhere/00.json", "x").code(), Errc::not_found);
}

TEST(IoPutIfAbsentTest, ALinkAtTheNameIsNotReplacedOrFollowed) {
  TempDir dir;
  stdfs::create_directories(dir.path() / "lake");
  std::ofstream(dir.path() / "outside") << "keep";
  stdfs::create_symlink(dir.path() / "outside", dir.path() / "lake" / "00.json");
  PosixFileSystem fs = rooted(dir.path() / "lake");
  EXPECT_EQ(fs.put_if_absent("00.json", "x").code(), Errc::already_exists);
  EXPECT_EQ(slurp(dir.path() / "outside"), "keep");
}

TEST(IoPutIfAbsentTest, OfManyWritersRacingForOneNameExactlyOneWins) {
  TempDir dir;
  FileSystem& fs = local_file_system();
  for (int round = 0; round < 20; ++round) {
    const stdfs::path target = dir.path() / std::to_string(round);
    std::atomic<int> won{0}, lost{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        std::string text = "writer ";
        text += std::to_string(i);
        Status s = fs.put_if_absent(target, text);
        if (s.ok())
          ++won;
        else if (s.code() == Errc::already_exists)
          ++lost;
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << "round " << round;
    EXPECT_EQ(lost.load(), 3) << "round " << round;
    EXPECT_EQ(slurp(target).rfind("writer ", 0), 0u);
  }
}

TEST(IoPutIfAbsentTest, TheFaultFileSystemCountsFailsAndCrashesIt) {
  TempDir dir;
  PosixFileSystem real = rooted(dir.path());
  FaultFileSystem fault(real);
  fault.inject(Fault::on(Op::put_if_absent).path("01.json"));
  EXPECT_TRUE(fault.put_if_absent("00.json", "a").ok());
  Status failed = fault.put_if_absent("01.json", "b");
  EXPECT_EQ(failed.code(), Errc::io_error);
  EXPECT_FALSE(stdfs::exists(dir.path() / "01.json"));
  EXPECT_EQ(fault.calls(Op::put_if_absent), 2u);

  fault.crash_at(fault.steps());
  EXPECT_FALSE(fault.put_if_absent("02.json", "c").ok());
  EXPECT_FALSE(stdfs::exists(dir.path() / "02.json"));
}

TEST(IoPutIfAbsentTest, WhatItPutSurvivesAPowerLoss) {
  TempDir dir;
  PosixFileSystem real = rooted(dir.path());
  FaultFileSystem fault(real);
  ASSERT_TRUE(fault.create_dirs("t/_delta_log").ok());
  ASSERT_TRUE(fault.put_if_absent("t/_delta_log/0.json", "commit\n").ok());
  ASSERT_TRUE(fault.power_loss().ok());
  EXPECT_EQ(slurp(dir.path() / "t" / "_delta_log" / "0.json"), "commit\n");
}

}  // namespace
}  // namespace questlog::io
