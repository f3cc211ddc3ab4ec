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
    std::lock_guard lock(mu_);
    waiting_.push_back(Waiter{events.size(), std::move(done)});
  }
  cv_.notify_one();
}

void EmbeddedEventLog::sync_loop() {
  std::deque<Waiter> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !waiting_.empty() || closing_; });
      if (waiting_.empty()) return;  // closing, and nothing left to cover
      batch.swap(waiting_);
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
