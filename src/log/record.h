// One record of an event log, as every reader sees it (embedded or Kafka).
#pragma once

#include <cstdint>
#include <string_view>

namespace questlog::log {

struct Record {
  int64_t offset = 0;        // position in its partition (dense in the embedded log; Kafka may
                             // skip some: compaction, transaction markers)
  int64_t timestamp_ms = 0;  // ingest time, milliseconds since the Unix epoch
  std::string_view value;    // the event bytes exactly as appended
  std::string_view key;      // the event's id (serve's Idempotency-Key or UUIDv7); empty for
                             // records written without one (logs from before ids)
  int32_t partition = 0;     // the embedded log has one, numbered 0
};

}  // namespace questlog::log
