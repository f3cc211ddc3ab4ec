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
  void clear();
  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {                 // 12 bytes: the hash's 64-bit first half and 32 bits of its second
    uint32_t w[3] = {0, 0, 0};  // all 0: empty
    bool empty() const { return (w[0] | w[1] | w[2]) == 0; }
    bool operator==(const Slot&) const = default;
  };
  void rehash(size_t capacity);
  bool insert_hash(Slot h);

  std::vector<Slot> slots_;  // linear probing from a slot chosen by the hash's top bits
  size_t size_ = 0;
};

// A 128-bit hash of `bytes` (two 64-bit lanes, each mixed to the end).
void hash128(std::string_view bytes, uint64_t& a, uint64_t& b);

}  // namespace questlog::extract
