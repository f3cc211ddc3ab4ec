// The embedded log behind serve's EventLog interface: appends go straight to the
// LogWriter on the caller's thread; with Durability::fsync, acknowledgements wait
// for a group commit, where one fdatasync covers every append made before it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "log/embedded/log_writer.h"
#include "log/event_log.h"

namespace questlog::log::embedded {

struct EventLogOptions {
  Durability durability = Durability::write;
  // Events appended but not yet fsynced, at most; past it append answers
  // Errc::busy at once (serve turns that into 503 with Retry-After). A batch
  // larger than the bound is taken when nothing else waits.
  size_t max_unsynced_events = 65536;
};

class EmbeddedEventLog final : public EventLog {
 public:
  EmbeddedEventLog(std::unique_ptr<LogWriter> writer, EventLogOptions options);
  ~EmbeddedEventLog() override;

  using EventLog::append;
  void append(std::span<const std::string_view> events, std::span<const std::string_view> keys,
              Done done) override;
  Status close() override;

 private:
  struct Waiter {
    size_t events;
    Done done;
  };
  void sync_loop();

  std::unique_ptr<LogWriter> writer_;
  const EventLogOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Waiter> waiting_;  // appended, not yet covered by an fsync
  size_t unsynced_events_ = 0;  // includes the batch being synced now
  bool closing_ = false;
  std::thread syncer_;
};

}  // namespace questlog::log::embedded
