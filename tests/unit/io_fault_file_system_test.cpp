// FaultFileSystem: rules that fail the nth call, torn writes, a failing step, a
// crash, the counters, and what it tracks as not yet synced.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>

#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log_test_util.h"

namespace questlog::io {
namespace {

namespace stdfs = std::filesystem;
using log::embedded::testing::TempDir;

std::string read_file(const stdfs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class IoFaultFileSystemTest : public ::testing::Test {
 protected:
  IoFaultFileSystemTest() : real_(dir_.path(), {}), fault_(real_) {}

  std::unique_ptr<File> create(const stdfs::path& p) {
    auto f = fault_.open(p, OpenMode::truncate);
    EXPECT_TRUE(f.ok()) << f.status().message();
    return f.ok() ? std::move(f).value() : nullptr;
  }

  TempDir dir_;
  PosixFileSystem real_;
  FaultFileSystem fault_;
};

TEST_F(IoFaultFileSystemTest, TheNthCallOnAMatchingPathFails) {
  fault_.inject(Fault::on(Op::write).path("part-").nth(2).error(ENOSPC));
  auto other = create("other");
  auto part = create("part-0");
  ASSERT_TRUE(other->append("a").ok());  // another path: not counted
  ASSERT_TRUE(part->append("1").ok());
  Status failed = part->append("2");
  EXPECT_EQ(failed.code(), Errc::io_error);
  EXPECT_EQ(failed.message(),
            (dir_.path() / "part-0").string() + ": write: No space left on device (injected)");
  ASSERT_TRUE(part->append("3").ok());  // once only
  EXPECT_EQ(read_file(dir_.path() / "part-0"), "13");
}

TEST_F(IoFaultFileSystemTest, ThenEveryFailsEveryLaterCall) {
  fault_.inject(Fault::on(Op::sync).nth(2).and_every_later());
  auto f = create("f");
  EXPECT_TRUE(f->sync().ok());
  EXPECT_FALSE(f->sync().ok());
  EXPECT_FALSE(f->sync().ok());
  fault_.clear();
  EXPECT_TRUE(f->sync().ok());
}

TEST_F(IoFaultFileSystemTest, ATornWriteWritesItsFirstBytesThenFails) {
  fault_.inject(Fault::on(Op::write).error(ENOSPC).torn(3));
  auto f = create("f");
  Status s = f->write_at(0, "abcdef");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(read_file(dir_.path() / "f"), "abc");
  EXPECT_EQ(f->append_position(), 0u);
}

TEST_F(IoFaultFileSystemTest, RenameAndExchangeRulesMatchEitherPath) {
  ASSERT_TRUE(fault_.create_dirs("a").ok());
  ASSERT_TRUE(fault_.create_dirs("b").ok());
  fault_.inject(Fault::on(Op::exchange).path("b"));
  fault_.inject(Fault::on(Op::rename).path("c").error(EXDEV));
  EXPECT_FALSE(fault_.exchange("a", "b").ok());
  EXPECT_TRUE(stdfs::exists(dir_.path() / "a"));
  Status s = fault_.rename("a", "c");
  EXPECT_NE(s.message().find("Invalid cross-device link (injected)"), std::string::npos)
      << s.message();
  EXPECT_FALSE(stdfs::exists(dir_.path() / "c"));
  EXPECT_TRUE(fault_.exchange("a", "b").ok());
}

TEST_F(IoFaultFileSystemTest, FailStepFailsThatOperationOnce) {
  ASSERT_EQ(fault_.steps(), 0u);
  fault_.fail_step(2, EIO);
  EXPECT_TRUE(fault_.create_dirs("d").ok());      // step 0
  EXPECT_TRUE(fault_.kind("d").ok());             // step 1
  EXPECT_FALSE(fault_.touch("d/_SUCCESS").ok());  // step 2
  EXPECT_FALSE(stdfs::exists(dir_.path() / "d" / "_SUCCESS"));
  EXPECT_TRUE(fault_.touch("d/_SUCCESS").ok());  // step 3
  EXPECT_EQ(fault_.steps(), 4u);
  EXPECT_EQ(fault_.calls(Op::touch), 2u);
  EXPECT_EQ(fault_.calls(Op::rename), 0u);
  std::vector<std::string> journal = fault_.journal();
  ASSERT_EQ(journal.size(), 4u);
  EXPECT_EQ(journal[2], "2 touch d/_SUCCESS FAILED");
}

TEST_F(IoFaultFileSystemTest, ACrashStopsEveryLaterOperationAndKeepsTheEarlierOnes) {
  auto f = create("f");  // step 0
  fault_.crash_at(2);
  ASSERT_TRUE(f->append("kept").ok());  // step 1
  Status crashed = f->append("lost");
  EXPECT_EQ(crashed.message(), (dir_.path() / "f").string() + ": write: simulated crash");
  EXPECT_TRUE(fault_.crashed());
  EXPECT_FALSE(fault_.rename("f", "g").ok());
  EXPECT_FALSE(fault_.kind("f").ok());  // nothing succeeds, reads included
  EXPECT_EQ(read_file(dir_.path() / "f"), "kept");
  EXPECT_FALSE(stdfs::exists(dir_.path() / "g"));
}

TEST_F(IoFaultFileSystemTest, ADelayOnlySlowsTheCall) {
  fault_.inject(Fault::on(Op::sync).error(0).delay(std::chrono::milliseconds(30)));
  auto f = create("f");
  auto began = std::chrono::steady_clock::now();
  EXPECT_TRUE(f->sync().ok());
  EXPECT_GE(std::chrono::steady_clock::now() - began, std::chrono::milliseconds(30));
}

TEST_F(IoFaultFileSystemTest, TracksWhatIsNotSyncedAcrossRenames) {
  ASSERT_TRUE(fault_.create_dirs("run/x=1").ok());
  auto f = create("run/x=1/part");
  ASSERT_TRUE(f->append("rows").ok());
  EXPECT_EQ(fault_.unsynced_files(), (std::set<stdfs::path>{"run/x=1/part"}));
  EXPECT_EQ(fault_.unsynced_dirs(), (std::set<stdfs::path>{"run/x=1"}));
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(fault_.sync_dir("run/x=1").ok());
  EXPECT_TRUE(fault_.unsynced_files().empty());
  EXPECT_TRUE(fault_.unsynced_dirs().empty());

  ASSERT_TRUE(f->append("more").ok());
  ASSERT_TRUE(fault_.rename("run", "table").ok());
  EXPECT_EQ(fault_.unsynced_files(), (std::set<stdfs::path>{"table/x=1/part"}));
  EXPECT_EQ(fault_.unsynced_dirs(), (std::set<stdfs::path>{""}));  // the root's entries changed
  ASSERT_TRUE(fault_.create_dirs("other").ok());
  ASSERT_TRUE(fault_.exchange("table", "other").ok());
  EXPECT_EQ(fault_.unsynced_files(), (std::set<stdfs::path>{"other/x=1/part"}));
  ASSERT_TRUE(fault_.remove_all("other").ok());
  EXPECT_TRUE(fault_.unsynced_files().empty());
}

TEST_F(IoFaultFileSystemTest, APowerLossKeepsOnlyWhatWasSynced) {
  {
    std::ofstream(dir_.path() / "old") << "before";  // there before: durable
  }
  ASSERT_TRUE(fault_.create_dirs("d").ok());
  auto old = fault_.open("old", OpenMode::read_write);
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE((*old)->append(" after").ok());

  auto synced = create("d/synced");  // created, synced, and its directory synced
  ASSERT_TRUE(synced->append("one").ok());
  ASSERT_TRUE(synced->sync().ok());
  ASSERT_TRUE(fault_.sync_dir("d").ok());
  ASSERT_TRUE(synced->append(" two").ok());

  auto unnamed = create("d/unnamed");  // synced, but its directory entry is not
  ASSERT_TRUE(unnamed->append("x").ok());
  ASSERT_TRUE(unnamed->sync().ok());

  ASSERT_TRUE(fault_.power_loss().ok());
  EXPECT_TRUE(fault_.crashed());
  EXPECT_FALSE(synced->append("!").ok());
  EXPECT_EQ(read_file(dir_.path() / "old"), "before");
  EXPECT_EQ(read_file(dir_.path() / "d/synced"), "one");
  EXPECT_FALSE(stdfs::exists(dir_.path() / "d/unnamed"));
  EXPECT_TRUE(fault_.unsynced_files().empty());
}

TEST_F(IoFaultFileSystemTest, APowerLossMayLeaveZerosWhereTheDataDidNotReachTheDisk) {
  auto f = create("f");
  ASSERT_TRUE(fault_.sync_dir("").ok());
  ASSERT_TRUE(f->append("kept").ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->append("lost").ok());
  ASSERT_TRUE(fault_.power_loss(FaultFileSystem::Loss::zeros).ok());
  EXPECT_EQ(read_file(dir_.path() / "f"), std::string("kept\0\0\0\0", 8));
}

TEST_F(IoFaultFileSystemTest, APowerLossAfterAnUnsyncedCutKeepsOnlyWhatWasBelowIt) {
  auto f = create("f");
  ASSERT_TRUE(fault_.sync_dir("").ok());
  ASSERT_TRUE(f->append("abcdef").ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->truncate(2).ok());
  ASSERT_TRUE(f->write_at(2, "XY").ok());
  ASSERT_TRUE(fault_.power_loss().ok());
  EXPECT_EQ(read_file(dir_.path() / "f"), "ab");
}

TEST_F(IoFaultFileSystemTest, APowerLossUndoesWritesOverExistingBytesThatNoSyncCovered) {
  // A preallocated file: its size is on disk from the start, so only the
  // writes over its bytes say what a power loss takes.
  auto f = create("f");
  ASSERT_TRUE(fault_.sync_dir("").ok());
  ASSERT_TRUE(f->append(std::string(12, '\0')).ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->write_at(0, "kept").ok());
  ASSERT_TRUE(f->sync().ok());
  ASSERT_TRUE(f->write_at(4, "lost").ok());
  ASSERT_TRUE(f->write_at(6, "LOST").ok());
  EXPECT_EQ(fault_.unsynced_files(), std::set<stdfs::path>{"f"});
  ASSERT_TRUE(fault_.power_loss().ok());
  EXPECT_EQ(read_file(dir_.path() / "f"), std::string("kept\0\0\0\0\0\0\0\0", 12));
}

}  // namespace
}  // namespace questlog::io
