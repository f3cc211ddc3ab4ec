// extract --follow (follow.h) on the embedded log: one commit per micro-batch
// that read rows, none for a trigger that found nothing, the size bound
// splitting a long catch-up, a restart going on from the table's txn, the
// log kept open between micro-batches (opened again only after it failed),
// records deleted before the follower read them, and the jobs a follower
// refuses. The waits between micro-batches are the test's own
// (FollowOptions::wait_for_stop), so nothing here depends on time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "extract/delta_log.h"
#include "extract/follow.h"
#include "extract/job.h"
#include "io/posix_file_system.h"
#include "log/embedded/embedded_source.h"
#include "log/embedded/log_writer.h"
#include "log_test_util.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;
using log::embedded::testing::TempDir;

std::unique_ptr<io::PosixFileSystem> real(const fs::path& lake) {
  io::PosixOptions o;
  o.beneath = true;
  o.create_root = true;
  o.sync = false;
  return std::make_unique<io::PosixFileSystem>(lake, o);
}

// What a follower did with its source, and faults for it to meet.
struct SourceProbe {
  int opens = 0;
  int refreshes = 0;
  int failing_refreshes = 0;   // so many refresh() calls fail next
  int64_t deleted_before = 0;  // the log starts here at least (retention deleted before it)
};

// The embedded log's source, seen through a SourceProbe.
class ProbedSource final : public log::RecordSource {
 public:
  ProbedSource(std::unique_ptr<log::RecordSource> inner, SourceProbe& probe)
      : inner_(std::move(inner)), probe_(probe) {
    take_partitions();
  }
  std::string name() const override { return inner_->name(); }
  const std::vector<log::PartitionRange>& partitions() const override { return partitions_; }
  Status read(const std::vector<log::PartitionRange>& ranges) override {
    return inner_->read(ranges);
  }
  Result<bool> next(log::Record& out) override { return inner_->next(out); }
  Result<bool> refresh() override {
    ++probe_.refreshes;
    if (probe_.failing_refreshes > 0) {
      --probe_.failing_refreshes;
      return Status::error(Errc::io_error, "no broker answered");
    }
    auto r = inner_->refresh();
    if (r.ok() && *r) take_partitions();
    return r;
  }

 private:
  void take_partitions() {
    partitions_ = inner_->partitions();
    partitions_[0].start = std::max(partitions_[0].start, probe_.deleted_before);
    partitions_[0].end = std::max(partitions_[0].end, partitions_[0].start);
  }
  std::unique_ptr<log::RecordSource> inner_;
  SourceProbe& probe_;
  std::vector<log::PartitionRange> partitions_;
};

const char* kJob = R"(
[[tables]]
name = "swords"
path = "swords"
where = { event_type = "purchase_sword" }
mode = "append"
format = "delta"
)";

class FollowTest : public ::testing::Test {
 protected:
  FollowTest() : log_dir_(dir_.path() / "data" / "events" / "0"), lake_(dir_.path() / "lake") {}

  // Appends `n` events, numbered from next_; every third a "default".
  void append(int n) {
    log::embedded::WriterOptions wo;
    wo.dir = log_dir_;
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<std::string> events;
    for (int i = 0; i < n; ++i, ++next_) {
      events.push_back(R"({"event_type":")" +
                       std::string(next_ % 3 == 0 ? "default" : "purchase_sword") + R"(","pad":")" +
                       std::to_string(next_ * 7919) + std::string(100, 'x') +
                       std::to_string(next_) + R"(","n":)" + std::to_string(next_) + "}");
      swords_ += next_ % 3 != 0;
    }
    std::vector<std::string_view> views(events.begin(), events.end());
    ASSERT_TRUE((*w)->append(views, 1532214012345).ok());
  }

  // Follows with `between(k)` run before the k-th wait (k = 0, 1, ...),
  // stopping when it returns true.
  // With `probe`, the log is read through a ProbedSource.
  Result<FollowReport> follow(const std::function<bool(int)>& between,
                              uint64_t memory_budget = 64ull << 20, SourceProbe* probe = nullptr,
                              bool skip_damaged = false) {
    auto job = parse_job(kJob, "jobs/stream.toml");
    EXPECT_TRUE(job.ok()) << job.status().message();
    auto lake = real(lake_);
    ExtractOptions o;
    o.log_dir = log_dir_;
    o.lake = lake_;
    o.lake_fs = lake.get();
    o.memory_budget = memory_budget;
    o.threads = 0;
    o.skip_damaged = skip_damaged;
    if (probe) {
      o.open_source = [this, probe]() -> Result<std::unique_ptr<log::RecordSource>> {
        auto inner = log::embedded::open_source(log_dir_);
        if (!inner.ok()) return inner.status();
        ++probe->opens;
        return std::unique_ptr<log::RecordSource>(
            new ProbedSource(std::move(inner).value(), *probe));
      };
    }
    char* err_buf = nullptr;
    size_t err_size = 0;
    o.err = open_memstream(&err_buf, &err_size);
    FollowOptions f;
    f.trigger = std::chrono::hours(1);
    int k = 0;
    f.wait_for_stop = [&](std::chrono::milliseconds d) {
      waits_.push_back(d);
      return between(k++);
    };
    waits_.clear();
    auto r = run_follow(*job, o, f);
    std::fclose(o.err);
    err_.assign(err_buf, err_size);
    std::free(err_buf);
    return r;
  }

  delta::Snapshot snapshot() {
    auto fs = real(lake_);
    delta::Snapshot s;
    Status st = delta::update(*fs, "swords", s);
    EXPECT_TRUE(st.ok()) << st.message();
    return s;
  }

  int64_t rows() {
    int64_t n = 0;
    for (const auto& [path, f] : snapshot().files) {
      // numRecords from the add's stats: {"numRecords":N,...}
      const std::string key = "\"numRecords\":";
      size_t at = f.stats.find(key);
      EXPECT_NE(at, std::string::npos) << f.stats;
      if (at != std::string::npos) n += std::stoll(f.stats.substr(at + key.size()));
    }
    return n;
  }

  TempDir dir_;
  fs::path log_dir_;
  fs::path lake_;
  int next_ = 0;
  int64_t swords_ = 0;
  std::vector<std::chrono::milliseconds> waits_;
  std::string err_;
};

TEST_F(FollowTest, EachMicroBatchWithRowsIsOneCommitAndIdleTriggersWriteNothing) {
  append(30);
  auto r = follow([&](int k) {
    if (k == 2) append(9);  // before the third micro-batch
    return k == 5;          // the sixth is the last, after the stop
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Micro-batches 0 (30 records) and 2 (9) read; 1, 3, 4 and 5 found nothing.
  EXPECT_EQ(snapshot().version, 1) << err_;
  EXPECT_EQ(rows(), swords_);
  EXPECT_EQ(r->batches, 2u);
  EXPECT_EQ(r->commits, 2u);
  EXPECT_EQ(r->records, 39u);
  EXPECT_EQ(waits_.size(), 6u);
  EXPECT_EQ(waits_[0], std::chrono::milliseconds(0));  // the first micro-batch at once
  EXPECT_GT(waits_[1], std::chrono::minutes(59));      // then every trigger
}

TEST_F(FollowTest, AStopCommitsWhatTheLogHoldsThen) {
  append(10);
  auto r = follow([&](int k) {
    if (k == 1) append(20);
    return k == 1;
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(rows(), swords_);
  EXPECT_EQ(snapshot().version, 1);
}

TEST_F(FollowTest, TheSizeBoundSplitsACatchUpIntoCommitsThatFollowAtOnce) {
  append(20000);  // ~3 MB of rows, every one different
  auto r = follow([&](int k) { return k == 100; }, 256 << 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(rows(), swords_);
  EXPECT_GE(r->batches, 3u) << err_;
  EXPECT_EQ(r->records, 20000u);
  // While the bound cut micro-batches short, the next one came without a wait.
  EXPECT_EQ(waits_[1], std::chrono::milliseconds(0));
}

TEST_F(FollowTest, ARestartGoesOnFromTheTablesTxn) {
  append(30);
  ASSERT_TRUE(follow([](int k) { return k == 0; }).ok());
  append(12);
  auto r = follow([](int k) { return k == 0; });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->records, 12u);  // not the first 30 again
  EXPECT_EQ(rows(), swords_);
  EXPECT_EQ(snapshot().txns.at("questlog/stream/swords/events/0"), 42);
}

TEST_F(FollowTest, DuplicateIdsAreDroppedAcrossMicroBatches) {
  log::embedded::WriterOptions wo;
  wo.dir = log_dir_;
  {
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok());
    std::vector<std::string_view> events = {R"({"event_type":"purchase_sword","n":1})"};
    std::vector<std::string_view> keys = {"order-1"};
    ASSERT_TRUE((*w)->append(events, 1532214012345, keys).ok());
  }
  auto r = follow([&](int k) {
    if (k == 1) {
      auto w = log::embedded::LogWriter::open(wo);
      std::vector<std::string_view> events = {R"({"event_type":"purchase_sword","n":1})",
                                              R"({"event_type":"purchase_sword","n":2})"};
      std::vector<std::string_view> keys = {"order-1", "order-2"};
      EXPECT_TRUE((*w)->append(events, 1532214013345, keys).ok());
    }
    return k == 2;
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->duplicates, 1u);
  EXPECT_EQ(rows(), 2);
}

TEST_F(FollowTest, ARestartStillDropsARetryOfAnEventCommittedBeforeIt) {
  log::embedded::WriterOptions wo;
  wo.dir = log_dir_;
  auto append_keyed = [&](std::vector<std::string_view> keys, int64_t ts) {
    auto w = log::embedded::LogWriter::open(wo);
    ASSERT_TRUE(w.ok());
    std::vector<std::string> values;
    for (std::string_view k : keys)
      values.push_back(R"({"event_type":"purchase_sword","k":")" + std::string(k) + "\"}");
    std::vector<std::string_view> views(values.begin(), values.end());
    ASSERT_TRUE((*w)->append(views, ts, keys).ok());
  };
  append_keyed({"old-1"}, 1'000'000);        // older than the window at restart
  append_keyed({"a", "b", "c"}, 5'000'000);  // within it
  ASSERT_TRUE(follow([](int k) { return k == 0; }).ok());
  // Retries of a, c and old-1 after a restart; d is new.
  append_keyed({"c", "d", "a", "old-1"}, 5'060'000);
  auto r = follow([](int k) { return k == 0; });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->duplicates, 2u) << err_;
  EXPECT_EQ(rows(), 6);  // old-1, a, b, c, then d and old-1 again (past the window)
}

TEST_F(FollowTest, TheLogIsOpenedOnceAndRefreshedForEachMicroBatch) {
  append(30);
  SourceProbe probe;
  auto r = follow(
      [&](int k) {
        if (k == 2) append(9);
        return k == 3;
      },
      64ull << 20, &probe);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(probe.opens, 1);
  EXPECT_EQ(probe.refreshes, 3);  // micro-batches 1 to 3; the first had it just opened
  EXPECT_EQ(r->records, 39u);
  EXPECT_EQ(rows(), swords_);
}

TEST_F(FollowTest, TheEmbeddedLogIsReadOnAfterARefresh) {
  // Embedded sources refresh themselves (no ProbedSource): all 3 catch-ups land.
  append(10);
  auto r = follow([&](int k) {
    if (k == 1 || k == 2) append(7);
    return k == 3;
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->records, 24u);
  EXPECT_EQ(rows(), swords_);
  EXPECT_EQ(snapshot().txns.at("questlog/stream/swords/events/0"), 24);
}

TEST_F(FollowTest, ALogThatCannotBeAskedIsSaidOnceAndOpenedAgainAtTheNextTrigger) {
  append(30);
  SourceProbe probe;
  auto r = follow(
      [&](int k) {
        if (k == 1) {
          probe.failing_refreshes = 1;
          append(9);
        }
        return k == 3;
      },
      64ull << 20, &probe);
  ASSERT_TRUE(r.ok()) << r.status().message();
  // Micro-batch 1 could not ask the log; 2 opened it again and read the 9.
  EXPECT_EQ(probe.opens, 2);
  EXPECT_EQ(r->records, 39u);
  EXPECT_EQ(rows(), swords_);
  const std::string said = "questlog: no broker answered; trying again every trigger\n";
  ASSERT_NE(err_.find(said), std::string::npos) << err_;
  EXPECT_EQ(err_.find(said, err_.find(said) + 1), std::string::npos) << err_;
}

TEST_F(FollowTest, RecordsDeletedBeforeTheFollowerReadThemStopItWithOneLine) {
  append(30);
  const int64_t first_swords = swords_;
  SourceProbe probe;
  auto r = follow(
      [&](int k) {
        if (k == 1) {
          append(9);                  // offsets 30 to 38
          probe.deleted_before = 33;  // 30 to 32 deleted before they were read
        }
        return k == 3;
      },
      64ull << 20, &probe);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("now starts at offset 33 (older records deleted by its "
                                      "retention?): offsets 30 to 32 never reached the tables; "
                                      "--skip-damaged goes on without them"),
            std::string::npos)
      << r.status().message();
  EXPECT_EQ(rows(), first_swords);
}

TEST_F(FollowTest, WithSkipDamagedRecordsDeletedBeforeTheFollowerReadThemAreSaidAndGonePast) {
  append(30);
  SourceProbe probe;
  auto r = follow(
      [&](int k) {
        if (k == 1) {
          append(9);
          probe.deleted_before = 33;
        }
        return k == 3;
      },
      64ull << 20, &probe, true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NE(err_.find("questlog: skipped offsets 30 to 32: "), std::string::npos) << err_;
  EXPECT_NE(err_.find(", partition 0, now starts at offset 33"), std::string::npos) << err_;
  EXPECT_EQ(r->records, 36u);  // 0 to 29, 33 to 38
  // Offsets 30 (a "default"), 31 and 32 (swords) never reached the table.
  EXPECT_EQ(rows(), swords_ - 2);
  EXPECT_EQ(snapshot().txns.at("questlog/stream/swords/events/0"), 39);
}

TEST(FollowJobTest, TablesItCannotKeepExactlyOnceAreRefused) {
  auto refused = [](const std::string& table) {
    auto job = parse_job("[[tables]]\nname = \"t\"\n" + table, "jobs/j.toml");
    EXPECT_TRUE(job.ok()) << job.status().message();
    Status s = check_followable(*job);
    EXPECT_FALSE(s.ok()) << table;
    return s.message();
  };
  EXPECT_NE(refused("path = \"t\"\nmode = \"overwrite\"\nformat = \"delta\"\n")
                .find("mode = \"overwrite\" cannot be followed"),
            std::string::npos);
  EXPECT_NE(refused("path = \"t\"\nmode = \"append\"\n")
                .find("a plain Parquet table in mode = \"append\" cannot be followed"),
            std::string::npos);
  EXPECT_NE(refused("show = 5\n").find("has no path"), std::string::npos);
  auto ok = parse_job("[[tables]]\nname = \"t\"\npath = \"t\"\nmode = \"incremental\"\n", "j");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(check_followable(*ok).ok());
}

TEST(FollowJobTest, DurationsAreSparksTriggerWords) {
  EXPECT_EQ(*parse_duration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*parse_duration("1s"), std::chrono::seconds(1));
  EXPECT_EQ(*parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  for (const char* bad : {"", "5", "s", "0s", "1.5s", "5 s", "-1s", "1d"})
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
}

}  // namespace
}  // namespace questlog::extract
