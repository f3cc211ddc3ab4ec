// The embedded log under faults (io::FaultFileSystem), one test per durability
// claim of log_writer.h, docs/formats.md ("Writing", "Recovery") and the README
// ("Durability"): a write torn at any byte, EIO and ENOSPC from a write, a
// failed cut-back, a failed fdatasync, a failed roll, and a crash or a power
// loss at every step of appends, syncs, rolls and recovery. The log is written
// through a FaultFileSystem in front of a PosixFileSystem that skips fsync (a
// power loss is FaultFileSystem::power_loss(), not the disk's), and every check
// reopens it with the real file system, as a restarted serve would.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "io/posix_file_system.h"
#include "log/embedded/embedded_event_log.h"
#include "log/embedded/format.h"
#include "log/embedded/log_reader.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

namespace fs = std::filesystem;
using io::Fault;
using io::FaultFileSystem;
using io::Op;
using testing::Owned;
using testing::read_through;
using testing::ReadThrough;
using testing::TempDir;

constexpr uint64_t kSegmentBytes = 256;
constexpr int64_t kTs = 1700000000000;

// 3 to 31 bytes, derived from the record's offset.
std::string value_for(int64_t offset) {
  std::string v(static_cast<size_t>(3 + offset * 11 % 29), '\0');
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<char>('a' + (offset + static_cast<int64_t>(i)) % 26);
  return v;
}

// Bytes of the batch of `n` records from offset `first`.
uint64_t batch_bytes(int64_t first, int n) {
  uint64_t bytes = 0;
  for (int64_t o = first; o < first + n; ++o) bytes += format::record_size(value_for(o).size());
  return bytes;
}

// A scratch directory holding a log at "log", reached through `faults`.
struct Disk {
  TempDir tmp;
  io::PosixFileSystem base{tmp.path(), {.sync = false}};
  FaultFileSystem faults{base};
  Preallocation preallocation = Preallocation::none;  // how the writers open it

  // The log's directory and segments as the real file system names them.
  fs::path dir() const { return tmp.path() / "log"; }
  fs::path segment(int64_t base_offset) const {
    return dir() / format::segment_file_name(base_offset);
  }
  Result<std::unique_ptr<LogWriter>> open(io::FileSystem& files, uint64_t segment_bytes) {
    return LogWriter::open({.dir = "log",
                            .segment_bytes = segment_bytes,
                            .preallocation = preallocation,
                            .file_system = files});
  }
  Result<std::unique_ptr<LogWriter>> open(uint64_t segment_bytes = kSegmentBytes) {
    return open(faults, segment_bytes);
  }
  size_t segments() const {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir())) n += e.path().extension() == ".log";
    return n;
  }
};

// Appends the `n` records that follow as one batch; on success adds them to `log`.
Status append_batch(LogWriter& w, int n, std::vector<Owned>& log) {
  const int64_t first = w.next_offset();
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back(value_for(first + i));
  std::vector<std::string_view> views(values.begin(), values.end());
  auto at = w.append(views, kTs + first);
  if (!at.ok()) return at.status();
  EXPECT_EQ(*at, first);
  for (int i = 0; i < n; ++i) log.push_back({first + i, kTs + first, values[i]});
  return {};
}

std::unique_ptr<LogWriter> must(Result<std::unique_ptr<LogWriter>> w) {
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? std::move(w).value() : nullptr;
}

// What a restart finds: the log reopened by a writer with the real file system,
// what that writer reports, and every record a reader then reads (through
// damage, naming it, with `skip_damaged`).
struct Restart {
  RecoveryReport recovery;
  int64_t next_offset = -1;
  ReadThrough read;
};

Restart restart(const fs::path& dir, bool skip_damaged = false,
                Preallocation preallocation = Preallocation::none) {
  Restart out;
  {
    auto w = must(LogWriter::open(
        {.dir = dir, .segment_bytes = kSegmentBytes, .preallocation = preallocation}));
    if (!w) return out;
    out.recovery = w->recovery();
    out.next_offset = w->next_offset();
  }
  out.read = read_through(dir, {.skip_damaged = skip_damaged});
  return out;
}

// --- A write that fails ----------------------------------------------------

TEST(LogFaultTest, AppendWritesItsWholeBatchWithOneWrite) {
  Disk d;
  auto w = must(d.open(1 << 20));
  std::vector<Owned> log;
  const uint64_t before = d.faults.calls(Op::write);
  ASSERT_TRUE(append_batch(*w, 10, log).ok());
  EXPECT_EQ(d.faults.calls(Op::write), before + 1);
}

TEST(LogFaultTest, WriteTornAtAnyByteLeavesNoPartOfItsBatchAndTheNextAppendContinues) {
  const uint64_t batch = batch_bytes(2, 3);
  for (uint64_t n = 0; n < batch; ++n) {
    SCOPED_TRACE("torn after " + std::to_string(n) + " of " + std::to_string(batch) + " bytes");
    Disk d;
    auto w = must(d.open(1 << 20));
    std::vector<Owned> log;
    ASSERT_TRUE(append_batch(*w, 2, log).ok());
    const uint64_t size = fs::file_size(d.segment(0));

    d.faults.inject(Fault::on(Op::write).error(ENOSPC).torn(n));
    std::vector<Owned> lost;
    Status failed = append_batch(*w, 3, lost);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.code(), Errc::io_error);
    EXPECT_EQ(failed.message(),
              d.segment(0).string() + ": write: No space left on device (injected)");
    EXPECT_EQ(fs::file_size(d.segment(0)), size);  // cut back
    EXPECT_EQ(testing::read_all(d.dir()), log);    // not visible
    EXPECT_EQ(w->next_offset(), 2);

    ASSERT_TRUE(append_batch(*w, 3, log).ok());  // offsets 2 to 4, as if nothing failed
    w.reset();
    Restart after = restart(d.dir());
    EXPECT_EQ(after.recovery.truncated_bytes, 0u);
    EXPECT_TRUE(after.read.status.ok()) << after.read.status.message();
    EXPECT_EQ(after.read.records, log);
    EXPECT_EQ(after.next_offset, 5);
  }
}

TEST(LogFaultTest, WriteErrorLeavesTheLogAsItWasAndNamesTheSegment) {
  for (int error : {EIO, ENOSPC, EFBIG, EDQUOT}) {
    SCOPED_TRACE(std::strerror(error));
    Disk d;
    auto w = must(d.open());
    std::vector<Owned> log;
    ASSERT_TRUE(append_batch(*w, 1, log).ok());
    d.faults.inject(Fault::on(Op::write).error(error));
    Status failed = append_batch(*w, 2, log);
    EXPECT_EQ(failed.code(), Errc::io_error);
    EXPECT_EQ(failed.message(),
              d.segment(0).string() + ": write: " + std::strerror(error) + " (injected)");
    EXPECT_EQ(w->next_offset(), 1);
    ASSERT_TRUE(append_batch(*w, 2, log).ok());
    EXPECT_TRUE(w->sync().ok());
    w.reset();
    EXPECT_EQ(testing::read_all(d.dir()), log);
  }
}

TEST(LogFaultTest, FailedCutBackRefusesEveryLaterAppendAndReopeningKeepsTheWholeRecords) {
  Disk d;
  auto w = must(d.open(1 << 20));
  std::vector<Owned> log;
  ASSERT_TRUE(append_batch(*w, 2, log).ok());
  // The first record of the batch and 5 bytes of the second reach the file,
  // and cutting them off fails too.
  const uint64_t first = format::record_size(value_for(2).size());
  d.faults.inject(Fault::on(Op::write).error(EIO).torn(first + 5));
  d.faults.inject(Fault::on(Op::truncate).error(EIO));
  std::vector<Owned> failed_batch;
  Status failed = append_batch(*w, 3, failed_batch);
  EXPECT_EQ(failed.message(), d.segment(0).string() + ": write: Input/output error (injected)");

  for (int i = 0; i < 2; ++i) {
    Status refused = append_batch(*w, 1, failed_batch);
    EXPECT_EQ(refused.code(), Errc::io_error);
    EXPECT_EQ(refused.message(), d.segment(0).string() +
                                     ": ftruncate: Input/output error (injected) (cutting back a "
                                     "failed append); reopen the log");
  }
  EXPECT_TRUE(w->sync().ok());  // what was acknowledged can still be made durable
  w.reset();

  // The whole record of the failed batch is a valid record: it stays (it was
  // never acknowledged, so its client retries: at least once). The torn rest is cut.
  Restart after = restart(d.dir());
  EXPECT_EQ(after.recovery.truncated_bytes, 5u);
  log.push_back({2, kTs + 2, value_for(2)});
  EXPECT_TRUE(after.read.status.ok());
  EXPECT_EQ(after.read.records, log);
  EXPECT_EQ(after.next_offset, 3);
}

TEST(LogFaultTest, CrashBeforeTheCutBackKeepsTheWholeRecordsOfATornBatchAndCutsTheRest) {
  const uint64_t batch = batch_bytes(2, 3);
  for (uint64_t n = 0; n <= batch; ++n) {
    SCOPED_TRACE("torn after " + std::to_string(n) + " bytes");
    Disk d;
    auto w = must(d.open(1 << 20));
    std::vector<Owned> log;
    ASSERT_TRUE(append_batch(*w, 2, log).ok());
    d.faults.inject(Fault::on(Op::write).error(EIO).torn(n));
    d.faults.crash_at(d.faults.steps() + 1);  // the write, then the crash
    std::vector<Owned> lost;
    ASSERT_FALSE(append_batch(*w, 3, lost).ok());
    ASSERT_TRUE(d.faults.crashed());
    w.reset();

    uint64_t whole = 0;
    for (int64_t o = 2; o < 5 && whole + format::record_size(value_for(o).size()) <= n; ++o) {
      whole += format::record_size(value_for(o).size());
      log.push_back({o, kTs + 2, value_for(o)});
    }
    Restart after = restart(d.dir());
    EXPECT_EQ(after.recovery.truncated_bytes, n - whole);
    EXPECT_TRUE(after.read.status.ok());
    EXPECT_EQ(after.read.records, log);
    EXPECT_EQ(after.next_offset, static_cast<int64_t>(log.size()));
  }
}

// --- A sync or a roll that fails ---------------------------------------------

TEST(LogFaultTest, FailedFsyncFailsEveryLaterSyncAndRoll) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  ASSERT_TRUE(append_batch(*w, 1, log).ok());
  d.faults.inject(Fault::on(Op::sync).path(".log").error(EIO));
  const std::string error = d.segment(0).string() + ": fsync: Input/output error (injected)";
  EXPECT_EQ(w->sync().message(), error);
  EXPECT_EQ(w->sync().message(), error);  // the rule is spent: the writer remembers

  // Appends still write until the segment is full; the one that fills it is
  // in the log; the roll after it fails, and so does every append after that.
  while (fs::file_size(d.segment(0)) < kSegmentBytes) ASSERT_TRUE(append_batch(*w, 1, log).ok());
  Status refused = append_batch(*w, 1, log);
  EXPECT_EQ(refused.message(), error);
  EXPECT_EQ(append_batch(*w, 1, log).message(), error);
  EXPECT_EQ(w->sync().message(), error);
  EXPECT_EQ(d.segments(), 1u);
  w.reset();

  Restart after = restart(d.dir());
  EXPECT_EQ(after.read.records, log);
  EXPECT_EQ(after.next_offset, static_cast<int64_t>(log.size()));
}

TEST(LogFaultTest, FailedFsyncOfAFullSegmentFailsItsRollForGood) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  while (fs::file_size(d.segment(0)) + batch_bytes(w->next_offset(), 1) < kSegmentBytes)
    ASSERT_TRUE(append_batch(*w, 1, log).ok());
  d.faults.inject(Fault::on(Op::sync).path(".log").error(EIO));
  ASSERT_TRUE(append_batch(*w, 1, log).ok());  // fills the segment: its roll fails
  EXPECT_EQ(d.segments(), 1u);
  const std::string error = d.segment(0).string() + ": fsync: Input/output error (injected)";
  EXPECT_EQ(append_batch(*w, 1, log).message(), error);
  EXPECT_EQ(w->sync().message(), error);
  w.reset();
  Restart after = restart(d.dir());
  EXPECT_EQ(after.read.records, log);
}

struct RollFault {
  const char* name;
  Op op;
};
void PrintTo(const RollFault& f, std::ostream* os) { *os << f.name; }

class LogRollFaultTest : public ::testing::TestWithParam<RollFault> {};

// What the fault of a roll to the segment at `next` names: the segment, or the directory.
std::string roll_path(Op op, int64_t next) {
  return op == Op::sync_dir ? "log" : format::segment_file_name(next);
}

TEST_P(LogRollFaultTest, FailedRollIsRetriedBeforeTheNextAppend) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  while (fs::file_size(d.segment(0)) + batch_bytes(w->next_offset(), 1) < kSegmentBytes)
    ASSERT_TRUE(append_batch(*w, 1, log).ok());
  const int64_t next = w->next_offset() + 1;  // after the batch that fills segment 0
  d.faults.inject(Fault::on(GetParam().op).path(roll_path(GetParam().op, next)));
  ASSERT_TRUE(append_batch(*w, 1, log).ok());  // in the log whatever the roll does
  const uint64_t full = fs::file_size(d.segment(0));
  ASSERT_GE(full, kSegmentBytes);
  // Failed after creating the segment, or before.
  EXPECT_EQ(fs::exists(d.segment(next)), GetParam().op == Op::sync_dir);

  ASSERT_TRUE(append_batch(*w, 2, log).ok());  // the roll is retried first, and succeeds
  EXPECT_EQ(fs::file_size(d.segment(0)), full);
  EXPECT_EQ(fs::file_size(d.segment(next)), batch_bytes(next, 2));
  EXPECT_TRUE(d.faults.unsynced_dirs().empty());
  w.reset();
  Restart after = restart(d.dir());
  EXPECT_TRUE(after.read.status.ok());
  EXPECT_EQ(after.read.records, log);
}

TEST_P(LogRollFaultTest, RollThatFailsAgainFailsTheNextAppendAndWritesNothing) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  while (fs::file_size(d.segment(0)) + batch_bytes(w->next_offset(), 1) < kSegmentBytes)
    ASSERT_TRUE(append_batch(*w, 1, log).ok());
  const int64_t next = w->next_offset() + 1;
  d.faults.inject(Fault::on(GetParam().op).path(roll_path(GetParam().op, next)).and_every_later());
  ASSERT_TRUE(append_batch(*w, 1, log).ok());
  const uint64_t full = fs::file_size(d.segment(0));
  Status refused = append_batch(*w, 1, log);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("(injected)"), std::string::npos) << refused.message();
  EXPECT_EQ(fs::file_size(d.segment(0)), full);  // nothing more in the full segment
  d.faults.clear();
  ASSERT_TRUE(append_batch(*w, 1, log).ok());
  w.reset();
  EXPECT_EQ(restart(d.dir()).read.records, log);
}

INSTANTIATE_TEST_SUITE_P(EachStep, LogRollFaultTest,
                         ::testing::Values(RollFault{"CreatingTheSegment", Op::open},
                                           RollFault{"SyncingTheDirectory", Op::sync_dir}),
                         [](const ::testing::TestParamInfo<RollFault>& p) {
                           return std::string(p.param.name);
                         });

TEST(LogFaultTest, RollSyncsTheFullSegmentBeforeCreatingTheNextAndTheDirectoryAfter) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  while (fs::file_size(d.segment(0)) + batch_bytes(w->next_offset(), 1) < kSegmentBytes)
    ASSERT_TRUE(append_batch(*w, 1, log).ok());
  const fs::path full = fs::path("log") / format::segment_file_name(0);
  const fs::path next = fs::path("log") / format::segment_file_name(w->next_offset() + 1);
  std::set<fs::path> unsynced_at_create;
  bool created = false;
  d.faults.on_step([&](Op op, const fs::path& path, const fs::path&) {
    if (op != Op::open || path != next) return;
    created = true;
    unsynced_at_create = d.faults.unsynced_files();
  });
  ASSERT_TRUE(append_batch(*w, 1, log).ok());
  d.faults.on_step(nullptr);
  ASSERT_TRUE(created);
  EXPECT_EQ(unsynced_at_create.count(full), 0u);  // sealed durably first
  EXPECT_EQ(d.faults.unsynced_files().count(full), 0u);
  EXPECT_TRUE(d.faults.unsynced_dirs().empty());  // the new segment's name is durable
}

TEST(LogFaultTest, SyncMakesEveryAppendedRecordDurable) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(append_batch(*w, 1 + i % 3, log).ok());
  ASSERT_GT(d.segments(), 2u);
  ASSERT_TRUE(w->sync().ok());
  EXPECT_TRUE(d.faults.unsynced_files().empty());
  EXPECT_TRUE(d.faults.unsynced_dirs().empty());
  ASSERT_TRUE(d.faults.power_loss().ok());
  w.reset();
  EXPECT_EQ(restart(d.dir()).read.records, log);
}

TEST(LogFaultTest, ClosingTheWriterSyncsAndReleasesTheLock) {
  Disk d;
  auto w = must(d.open());
  std::vector<Owned> log;
  ASSERT_TRUE(append_batch(*w, 3, log).ok());
  auto second = d.open();
  EXPECT_EQ(second.status().message(), (d.tmp.path() / "log").string() +
                                           " is locked by another questlog writer (pid " +
                                           std::to_string(::getpid()) + ")");
  w.reset();
  EXPECT_TRUE(d.faults.unsynced_files().empty());
  std::ifstream lock(d.dir() / format::kLockFileName);
  int64_t pid = 0;
  lock >> pid;
  EXPECT_EQ(pid, ::getpid());  // what names the holder
  EXPECT_TRUE(d.open().ok());
}

// --- Crashes and power losses at every step -----------------------------------

// Lays out a log as a killed writer leaves it: a sealed segment, an active one,
// and half a record after the active one's last record. Returns its records.
std::vector<Owned> lay_out_killed_log(Disk& d) {
  std::vector<Owned> log;
  {
    auto w = must(d.open(d.base, kSegmentBytes));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(append_batch(*w, 2, log).ok());
  }
  EXPECT_EQ(d.segments(), 2u);
  const int64_t next = static_cast<int64_t>(log.size());
  std::string record(format::record_size(value_for(next).size()), '\0');
  format::encode_record(record.data(), next, kTs, value_for(next));
  fs::path last;
  for (auto& e : fs::directory_iterator(d.dir()))
    if (e.path().extension() == ".log" && e.path() > last) last = e.path();
  // Right after the last record: at the end of the file, or where the zeros of
  // a preallocated one begin.
  const int64_t base = *format::parse_segment_file_name(last.filename().string());
  uint64_t at = 0;
  for (const Owned& r : log)
    if (r.offset >= base) at += format::record_size(r.value.size());
  std::fstream f(last, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(record.data(), static_cast<std::streamsize>(record.size() / 2));
  return log;
}

// What a procedure had acknowledged when it stopped.
struct Acks {
  std::vector<Owned> appended;  // every record whose append returned ok, after those there before
  size_t synced = 0;            // how many of them a sync() that returned ok covered
};

// Opens the log (recovering it), then appends and syncs across two rolls, and
// closes it; stops at the first failure.
Acks append_sync_and_roll(Disk& d, std::vector<Owned> before) {
  Acks acks{before, before.size()};  // what was there was on disk
  auto w = d.open();
  if (!w.ok()) return acks;
  auto append = [&](int n) { return append_batch(**w, n, acks.appended).ok(); };
  auto sync = [&] {
    if (!(*w)->sync().ok()) return false;
    acks.synced = acks.appended.size();
    return true;
  };
  if (!append(3) || !sync()) return acks;
  for (int i = 0; i < 4; ++i)
    if (!append(2)) return acks;
  if (!sync() || !append(1) || !append(3) || !sync()) return acks;
  append(1);  // not synced: the writer's destructor syncs it, acknowledging nothing
  return acks;
}

// Runs append_sync_and_roll on a freshly laid out log once to count its steps.
uint64_t steps_of_append_sync_and_roll(Preallocation preallocation = Preallocation::none) {
  Disk d;
  d.preallocation = preallocation;
  std::vector<Owned> before = lay_out_killed_log(d);
  Acks acks = append_sync_and_roll(d, before);
  EXPECT_EQ(acks.appended.size(), before.size() + 16);
  EXPECT_GE(d.segments(), 4u);  // it rolled twice
  return d.faults.steps();
}

// Preallocation::at_roll: every file operation on the appending thread, so that
// the steps are the same in every run.
class LogCrashTest : public ::testing::TestWithParam<Preallocation> {};

std::string preallocation_name(Preallocation p) {
  return p == Preallocation::none ? "GrowingSegments" : "PreallocatedSegments";
}

TEST_P(LogCrashTest, CrashAtEveryStepOfAppendsSyncsRollsAndRecoveryLosesNoAcknowledgedRecord) {
  const uint64_t steps = steps_of_append_sync_and_roll(GetParam());
  for (uint64_t k = 0; k <= steps; ++k) {
    SCOPED_TRACE("crash at step " + std::to_string(k) + " of " + std::to_string(steps));
    Disk d;
    d.preallocation = GetParam();
    std::vector<Owned> before = lay_out_killed_log(d);
    d.faults.crash_at(k);
    Acks acks = append_sync_and_roll(d, before);
    Restart after = restart(d.dir(), false, GetParam());
    // What the page cache held survives the process: every acknowledged
    // record, and nothing else; the next offset is the one after them.
    EXPECT_TRUE(after.read.status.ok()) << after.read.status.message();
    EXPECT_EQ(after.read.records, acks.appended);
    EXPECT_EQ(after.next_offset, static_cast<int64_t>(acks.appended.size()));
    if (::testing::Test::HasFailure()) {
      for (const std::string& line : d.faults.journal()) ADD_FAILURE() << line;
      return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Segments, LogCrashTest,
                         ::testing::Values(Preallocation::none, Preallocation::at_roll),
                         [](const ::testing::TestParamInfo<Preallocation>& p) {
                           return preallocation_name(p.param);
                         });

class LogPowerLossTest
    : public ::testing::TestWithParam<std::tuple<FaultFileSystem::Loss, Preallocation>> {};

TEST_P(LogPowerLossTest, PowerLossAtEveryStepKeepsEverySyncedRecordAndReusesNoSurvivingOffset) {
  const auto [loss, preallocation] = GetParam();
  const uint64_t steps = steps_of_append_sync_and_roll(preallocation);
  for (uint64_t k = 0; k <= steps; ++k) {
    SCOPED_TRACE("power lost at step " + std::to_string(k) + " of " + std::to_string(steps));
    Disk d;
    d.preallocation = preallocation;
    std::vector<Owned> before = lay_out_killed_log(d);
    d.faults.crash_at(k);
    Acks acks = append_sync_and_roll(d, before);
    ASSERT_TRUE(d.faults.power_loss(loss).ok());
    Restart after = restart(d.dir(), false, preallocation);
    // A prefix of what was appended survives, at least what was synced; the
    // log continues after it.
    const std::vector<Owned>& got = after.read.records;
    EXPECT_TRUE(after.read.status.ok()) << after.read.status.message();
    EXPECT_GE(got.size(), acks.synced);
    ASSERT_LE(got.size(), acks.appended.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), acks.appended.begin()));
    EXPECT_EQ(after.next_offset, static_cast<int64_t>(got.size()));
    if (::testing::Test::HasFailure()) {
      for (const std::string& line : d.faults.journal()) ADD_FAILURE() << line;
      return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    UnsyncedBytes, LogPowerLossTest,
    ::testing::Combine(::testing::Values(FaultFileSystem::Loss::cut, FaultFileSystem::Loss::zeros),
                       ::testing::Values(Preallocation::none, Preallocation::at_roll)),
    [](const ::testing::TestParamInfo<std::tuple<FaultFileSystem::Loss, Preallocation>>& p) {
      return std::string(std::get<0>(p.param) == FaultFileSystem::Loss::cut ? "AreGone"
                                                                            : "ReadAsZeros") +
             "In" + preallocation_name(std::get<1>(p.param));
    });

// Lays out a log whose last segment has a damaged record (a flipped payload
// byte) with valid records after it. Returns its valid records; `damaged` is
// the offset lost.
std::vector<Owned> lay_out_damaged_log(Disk& d, int64_t& damaged) {
  std::vector<Owned> log;
  {
    auto w = must(d.open(d.base, kSegmentBytes));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(append_batch(*w, 2, log).ok());
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(append_batch(*w, 1, log).ok());
  }
  const int64_t base = [&] {
    int64_t b = 0;
    for (auto& e : fs::directory_iterator(d.dir()))
      if (auto o = format::parse_segment_file_name(e.path().filename().string()))
        b = std::max(b, *o);
    return b;
  }();
  EXPECT_GE(log.back().offset, base + 2);
  damaged = base + 1;
  const fs::path last = d.segment(base);
  std::string bytes = testing::read_file(last);
  bytes[format::record_size(value_for(base).size()) + format::kHeaderSize] ^= 0x20;
  testing::write_file(last, bytes);
  std::erase_if(log, [&](const Owned& r) { return r.offset == damaged; });
  return log;
}

// Opens the damaged log (which seals its last segment and starts another),
// appends and syncs twice, and closes it; stops at the first failure.
Acks append_after_damage(Disk& d, std::vector<Owned> before) {
  Acks acks{before, before.size()};
  auto w = d.open();
  if (!w.ok()) return acks;
  EXPECT_FALSE((*w)->recovery().damaged.empty());
  EXPECT_TRUE(d.faults.unsynced_files().empty());  // the damaged segment is sealed durably
  EXPECT_TRUE(d.faults.unsynced_dirs().empty());
  for (int i = 0; i < 2; ++i) {
    if (!append_batch(**w, 2, acks.appended).ok() || !(*w)->sync().ok()) return acks;
    acks.synced = acks.appended.size();
  }
  return acks;
}

TEST(LogFaultTest, CrashOrPowerLossAtEveryStepOfSealingADamagedSegmentKeepsEveryValidRecord) {
  uint64_t steps = 0;
  {
    Disk d;
    int64_t damaged = 0;
    std::vector<Owned> before = lay_out_damaged_log(d, damaged);
    Acks acks = append_after_damage(d, before);
    ASSERT_EQ(acks.appended.size(), before.size() + 4);
    EXPECT_GT(acks.appended[before.size()].offset, before.back().offset);  // no offset reused
    steps = d.faults.steps();
  }
  for (bool power_lost : {false, true}) {
    for (uint64_t k = 0; k <= steps; ++k) {
      SCOPED_TRACE((power_lost ? "power lost at step " : "crash at step ") + std::to_string(k));
      Disk d;
      int64_t damaged = 0;
      std::vector<Owned> before = lay_out_damaged_log(d, damaged);
      d.faults.crash_at(k);
      Acks acks = append_after_damage(d, before);
      if (power_lost) {
        ASSERT_TRUE(d.faults.power_loss().ok());
      }
      Restart after = restart(d.dir(), /*skip_damaged=*/true);
      const std::vector<Owned>& got = after.read.records;
      EXPECT_TRUE(after.read.status.ok()) << after.read.status.message();
      ASSERT_EQ(after.read.skipped.size(), 1u);
      EXPECT_EQ(after.read.skipped[0].start, damaged);
      EXPECT_EQ(after.read.skipped[0].end, damaged + 1);
      // Every valid record before and after the damage, then what was
      // acknowledged (all of it after a crash, at least what was synced after
      // a power loss), and the log goes on after the greatest offset.
      ASSERT_LE(got.size(), acks.appended.size());
      EXPECT_TRUE(std::equal(got.begin(), got.end(), acks.appended.begin()));
      if (!power_lost) {
        EXPECT_EQ(got.size(), acks.appended.size());
      }
      EXPECT_GE(got.size(), acks.synced);
      EXPECT_EQ(after.next_offset, got.back().offset + 1);
      // Readers that do not skip still stop at the damage, loudly.
      EXPECT_EQ(read_through(d.dir()).status.code(), Errc::corruption);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(LogFaultTest, RecoveryCutsATornTailDurably) {
  Disk d;
  std::vector<Owned> before = lay_out_killed_log(d);
  auto w = must(d.open());
  EXPECT_GT(w->recovery().truncated_bytes, 0u);
  EXPECT_TRUE(d.faults.unsynced_files().empty());
  ASSERT_TRUE(d.faults.power_loss().ok());
  w.reset();
  Restart after = restart(d.dir());
  EXPECT_EQ(after.recovery.truncated_bytes, 0u);  // the cut reached the disk
  EXPECT_EQ(after.read.records, before);
}

// --- Reading ------------------------------------------------------------------

TEST(LogFaultTest, ReadErrorFailsTheReaderNamingTheSegment) {
  Disk d;
  std::vector<Owned> log;
  {
    auto w = must(d.open(d.base, kSegmentBytes));
    ASSERT_TRUE(append_batch(*w, 3, log).ok());
  }
  d.faults.inject(Fault::on(Op::read).path(".log"));
  auto reader = LogReader::open("log", {.file_system = d.faults});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  Record r;
  auto got = (*reader)->next(r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            d.segment(0).string() + ": read: Input/output error (injected)");
  got = (*reader)->next(r);  // the next read may succeed: nothing was skipped
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ(r.offset, 0);
}

TEST(LogFaultTest, ReadErrorDuringRecoveryFailsTheOpenAndChangesNothing) {
  Disk d;
  std::vector<Owned> before = lay_out_killed_log(d);
  const std::string bytes = testing::read_file(d.segment(before.back().offset - 1));
  d.faults.inject(Fault::on(Op::read).path(".log"));
  auto w = d.open();
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find(": read: Input/output error (injected)"), std::string::npos);
  EXPECT_EQ(testing::read_file(d.segment(before.back().offset - 1)), bytes);
}

// --- serve's EventLog ---------------------------------------------------------

// nullptr when the writer cannot open (a crash).
std::unique_ptr<EmbeddedEventLog> event_log(Disk& d, Durability durability) {
  auto w = d.open(1 << 20);
  if (!w.ok()) return nullptr;
  return std::make_unique<EmbeddedEventLog>(std::move(w).value(),
                                            EventLogOptions{.durability = durability});
}

Status append_and_wait(EventLog& log, std::string_view event) {
  std::promise<Status> done;
  log.append(std::span(&event, 1), [&](const Outcome& out) { done.set_value(out.status); });
  return done.get_future().get();
}

TEST(LogFaultTest, WriteErrorIsAnsweredWithItsReasonAndTheNextEventIsLogged) {
  Disk d;
  auto log = event_log(d, Durability::write);
  ASSERT_NE(log, nullptr);
  d.faults.inject(Fault::on(Op::write).error(ENOSPC));
  Status failed = append_and_wait(*log, "lost");
  EXPECT_EQ(failed.code(), Errc::io_error);
  EXPECT_NE(failed.message().find("No space left on device"), std::string::npos);
  EXPECT_TRUE(append_and_wait(*log, "kept").ok());
  EXPECT_TRUE(log->close().ok());
  auto got = testing::read_all(d.dir());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "kept");
  EXPECT_EQ(got[0].offset, 0);
}

TEST(LogFaultTest, FailedGroupCommitFailsItsWaitersAndEveryLaterOne) {
  for (Preallocation p : {Preallocation::none, Preallocation::ahead}) {
    SCOPED_TRACE(preallocation_name(p));
    Disk d;
    d.preallocation = p;
    auto log = event_log(d, Durability::fsync);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(append_and_wait(*log, "synced").ok());
    d.faults.inject(Fault::on(Op::sync).path(".log").error(EIO));
    Status failed = append_and_wait(*log, "a");
    EXPECT_EQ(failed.message(), d.segment(0).string() + ": fsync: Input/output error (injected)");
    EXPECT_EQ(append_and_wait(*log, "b").message(), failed.message());  // the rule is spent
    EXPECT_EQ(log->close().message(), failed.message());
  }
}

// Appends one event at a time from several threads, as serve's event loops do,
// until the crash; returns the events acknowledged.
std::set<std::string> append_from_threads(Disk& d, Durability durability) {
  constexpr int kThreads = 3, kEvents = 20;
  std::set<std::string> acked;
  auto log = event_log(d, durability);
  if (!log) return acked;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEvents; ++i) {
        const std::string e = fmt::format("t{}e{}", t, i);
        if (!append_and_wait(*log, e).ok()) return;
        std::lock_guard lock(mu);
        acked.insert(e);
      }
    });
  }
  for (auto& t : threads) t.join();
  (void)log->close();
  return acked;
}

// Stops append_from_threads at about 40 steps spread over a run (a crash, then a
// power loss when `power_loss`), restarts, and checks that every acknowledged
// event is in the log exactly once and the log continues after its last record.
void every_acknowledged_event_survives(Durability durability, Preallocation preallocation,
                                       bool power_loss) {
  uint64_t steps = 0;
  {
    Disk d;
    d.preallocation = preallocation;
    EXPECT_EQ(append_from_threads(d, durability).size(), 60u);
    steps = d.faults.steps();
  }
  for (uint64_t k = 0; k <= steps; k += std::max<uint64_t>(1, steps / 40)) {
    SCOPED_TRACE((power_loss ? "power lost at step " : "crash at step ") + std::to_string(k));
    Disk d;
    d.preallocation = preallocation;
    d.faults.crash_at(k);
    std::set<std::string> acked = append_from_threads(d, durability);
    if (power_loss) {
      ASSERT_TRUE(d.faults.power_loss().ok());
    }
    Restart after = restart(d.dir(), false, preallocation);
    ASSERT_TRUE(after.read.status.ok()) << after.read.status.message();
    std::multiset<std::string> logged;
    for (const Owned& r : after.read.records) logged.insert(r.value);
    for (const std::string& e : acked) EXPECT_EQ(logged.count(e), 1u) << e;
    const int64_t end = after.read.records.empty() ? 0 : after.read.records.back().offset + 1;
    EXPECT_EQ(after.next_offset, end);
    if (::testing::Test::HasFailure()) return;
  }
}

class LogEventLogDurabilityTest : public ::testing::TestWithParam<Preallocation> {};

// README: a 200 under --durability fsync survives a power cut.
TEST_P(LogEventLogDurabilityTest, PowerLossLosesNoEventAcknowledgedUnderFsyncDurability) {
  every_acknowledged_event_survives(Durability::fsync, GetParam(), true);
}

// README: a 200 under --durability write survives a crash of questlog.
TEST_P(LogEventLogDurabilityTest, CrashLosesNoEventAcknowledgedUnderWriteDurability) {
  every_acknowledged_event_survives(Durability::write, GetParam(), false);
}

INSTANTIATE_TEST_SUITE_P(Segments, LogEventLogDurabilityTest,
                         ::testing::Values(Preallocation::none, Preallocation::at_roll,
                                           Preallocation::ahead),
                         [](const ::testing::TestParamInfo<Preallocation>& p) {
                           return p.param == Preallocation::ahead ? std::string("PreallocatedAhead")
                                                                  : preallocation_name(p.param);
                         });

}  // namespace
}  // namespace questlog::log::embedded
