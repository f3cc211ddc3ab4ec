// The event log as `serve` sees it: somewhere to append batches of events and be
// told when they are safe. Implemented by the embedded log and by Kafka.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace questlog::log {

enum class Durability {
  write,  // acknowledged once written to the file: survives a crash of the process
  fsync,  // acknowledged once fsynced: survives a crash of the machine
};

// What became of one append. Usually one status for every event of the batch;
// a log that delivers events one by one (Kafka) may answer per event instead.
struct Outcome {
  Outcome() = default;
  Outcome(Status s) : status(std::move(s)) {}  // NOLINT: every event shares it

  // ok, or why the events marked in `failed` (all of them if it is empty) are
  // not in the log. Errc::busy: the log is behind or unreachable; retry later.
  Status status;
  std::vector<uint8_t> failed;  // empty, or one entry per event: nonzero = not in the log

  Status of(size_t i) const { return failed.empty() || failed[i] ? status : Status(); }
};

class EventLog {
 public:
  // Called exactly once per append.
  using Done = std::function<void(const Outcome&)>;

  virtual ~EventLog() = default;

  // Appends `events` as consecutive records, each with its key from `keys` (the
  // event's id: the record key on Kafka and in the embedded log), or without keys
  // when `keys` is empty; otherwise it holds one per event. The bytes are copied
  // before append returns. `done` may run inline (before append returns) or on
  // another thread. Thread-safe.
  virtual void append(std::span<const std::string_view> events,
                      std::span<const std::string_view> keys, Done done) = 0;
  void append(std::span<const std::string_view> events, Done done) {
    append(events, {}, std::move(done));
  }

  // Blocks up to `timeout_ms` until the log can take appends (Kafka: its
  // broker has answered); returns whether it can. Appends made before then are
  // answered Errc::busy.
  virtual bool wait_ready(int timeout_ms) {
    (void)timeout_ms;
    return true;
  }

  // Waits until every append made before the call has had its `done` called,
  // then releases the log. No append may follow.
  virtual Status close() = 0;
};

}  // namespace questlog::log
