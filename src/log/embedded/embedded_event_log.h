// The embedded log behind serve's EventLog interface: appends go straight to the
// LogWriter on the caller's thread; with Durability::fsync, acknowledgements wait
// for a group commit, where one fdatasync covers every append made before it.
// When no sync is running or queued, the appending caller syncs itself and is
// answered at once; otherwise its batch waits for the sync thread's next sync.
// One sync runs at a time: the next covers every batch queued meanwhile.
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
  int syncs_in_flight_ = 0;     // by the sync thread or by an appending caller
  bool closing_ = false;
  std::thread syncer_;
};

}  // namespace questlog::log::embedded
