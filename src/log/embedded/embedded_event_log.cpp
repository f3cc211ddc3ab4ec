#include "log/embedded/embedded_event_log.h"

#include "util/clock.h"

namespace questlog::log::embedded {

EmbeddedEventLog::EmbeddedEventLog(std::unique_ptr<LogWriter> writer, EventLogOptions options)
    : writer_(std::move(writer)), options_(options) {
  if (options_.durability == Durability::fsync) syncer_ = std::thread([this] { sync_loop(); });
}

EmbeddedEventLog::~EmbeddedEventLog() { close(); }

void EmbeddedEventLog::append(std::span<const std::string_view> events,
                              std::span<const std::string_view> keys, Done done) {
  const bool fsync = options_.durability == Durability::fsync;
  if (fsync) {
    std::lock_guard lock(mu_);
    if (closing_) {
      done(Status::error(Errc::busy, "the event log is closing"));
      return;
    }
    // The bound is on the backlog: a batch always gets in when none waits.
    if (unsynced_events_ > 0 && unsynced_events_ + events.size() > options_.max_unsynced_events) {
      done(Status::error(Errc::busy, "the event log is behind: too many events wait for fsync"));
      return;
    }
    unsynced_events_ += events.size();  // reserve before writing, so the bound holds
  }
  auto first = writer_->append(events, now_ms(), keys);
  if (!fsync || !first.ok()) {
    if (fsync) {
      std::lock_guard lock(mu_);
      unsynced_events_ -= events.size();
    }
    done(first.status());
    return;
  }
  {
    std::unique_lock lock(mu_);
    if (syncs_in_flight_ > 0 || !waiting_.empty()) {
      // A sync is running or about to: the sync thread covers this batch next,
      // while the caller goes on gathering the next one.
      waiting_.push_back(Waiter{events.size(), std::move(done)});
      // Only the first waiter with no sync running wakes the sync thread; a
      // running sync wakes it when it ends.
      const bool wake = syncs_in_flight_ == 0 && waiting_.size() == 1;
      lock.unlock();
      if (wake) cv_.notify_one();
      return;
    }
    ++syncs_in_flight_;
  }
  // Nothing else is being synced: sync here, which saves the two thread
  // wake-ups (to the sync thread and back) that a lone request would pay.
  // Batches that arrive meanwhile queue for the sync thread, which covers them
  // all with one sync once this one has ended.
  Status s = writer_->sync();
  done(s);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    --syncs_in_flight_;
    unsynced_events_ -= events.size();
    wake = !waiting_.empty();
  }
  if (wake) cv_.notify_one();
}

void EmbeddedEventLog::sync_loop() {
  std::deque<Waiter> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      // One sync at a time: a sync that starts while another runs covers no
      // more than the batches queued so far, so overlapping syncs are smaller
      // and more of them, and each costs the disk's latency and its CPU time
      // in the kernel.
      cv_.wait(lock, [&] {
        return (!waiting_.empty() && syncs_in_flight_ == 0) || (closing_ && waiting_.empty());
      });
      if (waiting_.empty()) return;  // closing, and nothing left to cover
      batch.swap(waiting_);
      ++syncs_in_flight_;
    }
    // Every waiter in `batch` finished its write before it was queued, so this
    // fdatasync covers all of them.
    Status s = writer_->sync();
    size_t n = 0;
    for (auto& w : batch) {
      n += w.events;
      w.done(s);
    }
    batch.clear();
    std::lock_guard lock(mu_);
    --syncs_in_flight_;
    unsynced_events_ -= n;
  }
}

Status EmbeddedEventLog::close() {
  {
    std::lock_guard lock(mu_);
    if (closing_ && !writer_) return Status();
    closing_ = true;
  }
  cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  Status s;
  if (writer_) {
    s = writer_->sync();
    writer_.reset();
  }
  return s;
}

}  // namespace questlog::log::embedded
