#include "log/embedded/embedded_event_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "log_test_util.h"

namespace questlog::log::embedded {
namespace {

using io::Fault;
using io::Op;

class EmbeddedEventLogTest : public ::testing::Test {
 protected:
  // The log's files go through `disk_`, where a test may slow or fail them.
  std::unique_ptr<EmbeddedEventLog> open(EventLogOptions o) {
    WriterOptions wo;
    wo.dir = dir_;
    wo.file_system = disk_;
    auto w = LogWriter::open(wo);
    EXPECT_TRUE(w.ok()) << w.status().message();
    return std::make_unique<EmbeddedEventLog>(std::move(w).value(), o);
  }

  std::vector<std::string> read_all() {
    std::vector<std::string> out;
    for (auto& r : testing::read_all(dir_)) out.push_back(r.value);
    return out;
  }

  // Every fdatasync of a segment takes at least `delay`: a slow disk.
  void slow_syncs(std::chrono::milliseconds delay) {
    disk_.inject(Fault::on(Op::sync).path(".log").and_every_later().error(0).delay(delay));
  }

  testing::TempDir tmp_;
  const std::filesystem::path& dir_ = tmp_.path();
  io::FaultFileSystem disk_{io::local_file_system()};
};

TEST_F(EmbeddedEventLogTest, WriteDurabilityAcknowledgesInlineAfterTheWrite) {
  auto log = open({});
  std::vector<std::string_view> events{"{\"a\":1}", "{\"b\":2}"};
  bool acked = false;
  log->append(events, [&](const Outcome& out) {
    const Status& s = out.status;
    EXPECT_TRUE(s.ok());
    acked = true;
  });
  EXPECT_TRUE(acked);
  EXPECT_EQ(read_all(), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_TRUE(log->close().ok());
}

TEST_F(EmbeddedEventLogTest, FsyncDurabilityAcknowledgesEveryAppendAfterAGroupCommit) {
  EventLogOptions o;
  o.durability = Durability::fsync;
  slow_syncs(std::chrono::milliseconds(20));
  auto log = open(o);
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string e = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        std::string_view v = e;
        std::promise<Status> done;
        log->append(std::span(&v, 1), [&](const Outcome& out) {
          const Status& s = out.status;
          done.set_value(s);
        });
        EXPECT_TRUE(done.get_future().get().ok());
        ++acked;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(acked.load(), 100);
  EXPECT_EQ(read_all().size(), 100u);
  EXPECT_TRUE(log->close().ok());
}

TEST_F(EmbeddedEventLogTest, FsyncAppendsDuringASyncAreCoveredByOneSyncAfterIt) {
  EventLogOptions o;
  o.durability = Durability::fsync;
  slow_syncs(std::chrono::milliseconds(200));
  auto log = open(o);
  std::atomic<bool> e0_acked{false};
  std::atomic<int> overlapping{0}, segment_syncs{0};
  disk_.on_step([&](Op op, const std::filesystem::path& path, const std::filesystem::path&) {
    // A segment sync after e0's that starts while e0's still runs.
    if (op == Op::sync && path.extension() == ".log" && ++segment_syncs > 1 && !e0_acked)
      ++overlapping;
  });
  const uint64_t syncs = disk_.calls(Op::sync);
  std::thread first([&] {
    std::string_view v = "e0";
    log->append(std::span(&v, 1), [&](const Outcome& out) {
      EXPECT_TRUE(out.status.ok());
      e0_acked = true;
    });
  });
  while (disk_.calls(Op::sync) == syncs) std::this_thread::yield();
  // e0's sync is running (for 200 ms): these two wait for the next one.
  std::vector<std::promise<Status>> done(2);
  for (int i = 0; i < 2; ++i) {
    std::string_view v = i == 0 ? "e1" : "e2";
    log->append(std::span(&v, 1), [&, i](const Outcome& out) { done[i].set_value(out.status); });
  }
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().ok());
  first.join();
  EXPECT_TRUE(e0_acked);
  EXPECT_EQ(overlapping.load(), 0) << "a sync started while another ran";
  EXPECT_EQ(disk_.calls(Op::sync) - syncs, 2u) << "e0's sync, then one for e1 and e2";
  EXPECT_EQ(read_all(), (std::vector<std::string>{"e0", "e1", "e2"}));
  EXPECT_TRUE(log->close().ok());
}

TEST_F(EmbeddedEventLogTest, FsyncBacklogPastTheBoundIsBusyAndNotLogged) {
  EventLogOptions o;
  o.durability = Durability::fsync;
  o.max_unsynced_events = 2;
  slow_syncs(std::chrono::milliseconds(300));
  auto log = open(o);
  std::vector<std::promise<Status>> done(5);
  for (int i = 0; i < 5; ++i) {
    std::string_view v = i == 0 ? "e0" : i == 1 ? "e1" : i == 2 ? "e2" : i == 3 ? "e3" : "e4";
    log->append(std::span(&v, 1), [&, i](const Outcome& out) { done[i].set_value(out.status); });
  }
  int ok = 0, busy = 0;
  for (auto& d : done) {
    Status s = d.get_future().get();
    if (s.ok()) ++ok;
    if (s.code() == Errc::busy) ++busy;
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(busy, 3);
  EXPECT_EQ(read_all(), (std::vector<std::string>{"e0", "e1"}));
  EXPECT_TRUE(log->close().ok());
}

TEST_F(EmbeddedEventLogTest, CloseAnswersEveryPendingAcknowledgement) {
  EventLogOptions o;
  o.durability = Durability::fsync;
  slow_syncs(std::chrono::milliseconds(100));
  auto log = open(o);
  std::atomic<int> answered{0};
  for (int i = 0; i < 10; ++i) {
    std::string_view v = "x";
    log->append(std::span(&v, 1), [&](const Outcome& out) {
      const Status& s = out.status;
      EXPECT_TRUE(s.ok());
      ++answered;
    });
  }
  EXPECT_TRUE(log->close().ok());
  EXPECT_EQ(answered.load(), 10);
}

}  // namespace
}  // namespace questlog::log::embedded
