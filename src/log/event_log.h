// The event log as `serve` sees it: somewhere to append batches of events and be
// told when they are safe. Implemented by the embedded log (and later Kafka).
#pragma once

#include <functional>
#include <span>
#include <string_view>

#include "util/status.h"

namespace questlog::log {

enum class Durability {
  write,  // acknowledged once written to the file: survives a crash of the process
  fsync,  // acknowledged once fsynced: survives a crash of the machine
};

class EventLog {
 public:
  // Called exactly once per append, with ok or the reason the batch is not in the
  // log. Errc::busy means the log is behind and the client should retry later.
  using Done = std::function<void(const Status&)>;

  virtual ~EventLog() = default;

  // Appends `events` as consecutive records. The bytes are copied before append
  // returns. `done` may run inline (before append returns) or on another thread.
  // Thread-safe.
  virtual void append(std::span<const std::string_view> events, Done done) = 0;

  // Waits until every append made before the call has had its `done` called,
  // then releases the log. No append may follow.
  virtual Status close() = 0;
};

}  // namespace questlog::log
