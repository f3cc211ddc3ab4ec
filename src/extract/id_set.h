// The event ids (record keys) an extract has seen in one partition, to drop a
// record whose id came before: a producer's resend (librdkafka after a timeout),
// a client's retry with the same Idempotency-Key. It keeps a 96-bit hash of each
// id, not the id, in an open-addressing table at most 4/5 full: 15 bytes an id
// when reserved, at most 30 when it grew (BENCHMARKS.md has the measured figure).
// Two different ids are taken for one only if their 96-bit hashes are equal:
// about 1 in 10^11 for a billion ids in one partition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace questlog::extract {

class IdSet {
 public:
  // Makes room for `n` ids without growing (the records left in a partition's
  // range: an extract knows it), so memory is about 15 bytes an id.
  void reserve(size_t n);
  // Adds `id`; false when it was already there.
  bool insert(std::string_view id);
  bool contains(std::string_view id) const;
  void clear();
  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {                 // 12 bytes: the hash's 64-bit first half and 32 bits of its second
    uint32_t w[3] = {0, 0, 0};  // all 0: empty
    bool empty() const { return (w[0] | w[1] | w[2]) == 0; }
    bool operator==(const Slot&) const = default;
  };
  static Slot slot_of(std::string_view id);
  size_t home(Slot h) const;
  void rehash(size_t capacity);
  bool insert_hash(Slot h);

  std::vector<Slot> slots_;  // linear probing from a slot chosen by the hash's top bits
  size_t size_ = 0;
};

// The ids of one partition's records within a window of time, for an extract
// that follows the log and cannot keep every id forever: an id is found again
// if its first copy's timestamp is at most `window_ms` older than the newest
// timestamp added (it may be found up to twice that). Two generations of ids:
// when the newest timestamp is `window_ms` past the start of the current one,
// the older generation is dropped and the current one becomes it. Memory is
// that of the ids of at most two windows (IdSet: 15 to 30 bytes an id).
class IdWindow {
 public:
  explicit IdWindow(int64_t window_ms) : window_ms_(window_ms) {}
  // Adds `id` of a record with `timestamp_ms`; false when the window holds it.
  bool insert(std::string_view id, int64_t timestamp_ms);
  size_t size() const { return current_.size() + previous_.size(); }
  size_t memory_bytes() const { return current_.memory_bytes() + previous_.memory_bytes(); }

 private:
  int64_t window_ms_;
  bool started_ = false;
  int64_t since_ms_ = 0;  // the first timestamp of the current generation
  IdSet current_, previous_;
};

// A 128-bit hash of `bytes` (two 64-bit lanes, each mixed to the end).
void hash128(std::string_view bytes, uint64_t& a, uint64_t& b);

}  // namespace questlog::extract
