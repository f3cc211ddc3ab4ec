// The event's id: what makes "exactly once" checkable downstream. It travels as
// the record key (Kafka's key, the embedded log's key) and never changes the
// event's JSON. A client names it with the Idempotency-Key request header, so a
// retry after a 503 carries the id of its first try; otherwise serve makes a
// UUIDv7 (RFC 9562): time-ordered, so ids sort roughly by ingest time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace questlog::event {

inline constexpr size_t kMaxIdempotencyKey = 128;
inline constexpr size_t kUuidTextSize = 36;

// Empty when `key` is a usable Idempotency-Key (1 to 128 visible ASCII bytes,
// '!' to '~'), else why not, for a 400.
std::string idempotency_key_problem(std::string_view key);

// Makes UUIDv7 ids in their 36-character text form. Not thread-safe: one per
// thread (serve has one per event loop). Each generator seeds itself from the
// operating system once; after that an id costs a clock read (no system call)
// and a few arithmetic operations.
class UuidV7Generator {
 public:
  UuidV7Generator();
  // Replaces `out` with a new id for the time `unix_ns` (nanoseconds since the
  // Unix epoch): 48 bits of milliseconds, the version, 12 bits of the
  // millisecond's fraction (RFC 9562's "increased clock precision"), the
  // variant and 62 random bits.
  void next(std::string& out, int64_t unix_ns);
  // The same, for now.
  void next(std::string& out);

 private:
  uint64_t random();
  uint64_t state_;
};

}  // namespace questlog::event
