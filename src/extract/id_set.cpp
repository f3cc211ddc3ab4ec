#include "extract/id_set.h"

#include <algorithm>
#include <cstring>

namespace questlog::extract {
namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

void hash128(std::string_view bytes, uint64_t& a, uint64_t& b) {
  a = 0x243f6a8885a308d3ull ^ bytes.size();
  b = 0x13198a2e03707344ull + bytes.size() * 0x9e3779b97f4a7c15ull;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    a = mix(a ^ w);
    b = mix(b + w + 0xa4093822299f31d0ull);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  a = mix(a ^ tail ^ 0x082efa98ec4e6c89ull);
  b = mix(b + tail + 0x452821e638d01377ull);
}

void IdSet::reserve(size_t n) {
  const size_t capacity = (n + 1) + (n + 1) / 4 + 1;  // load at most 4/5 with one more
  if (capacity > slots_.size()) rehash(capacity);
}

IdSet::Slot IdSet::slot_of(std::string_view id) {
  uint64_t a, b;
  hash128(id, a, b);
  Slot h;
  h.w[0] = static_cast<uint32_t>(a);
  h.w[1] = static_cast<uint32_t>(a >> 32);
  h.w[2] = static_cast<uint32_t>(b);
  if (h.empty()) h.w[2] = 1;  // all zero marks an empty slot
  return h;
}

size_t IdSet::home(Slot h) const {
  // The hash's first 64 bits scaled to [0, n): any n, no modulo.
  const uint64_t a = (static_cast<uint64_t>(h.w[1]) << 32) | h.w[0];
  return static_cast<size_t>((static_cast<unsigned __int128>(a) * slots_.size()) >> 64);
}

bool IdSet::insert(std::string_view id) {
  const Slot h = slot_of(id);
  if ((size_ + 1) * 5 > slots_.size() * 4) rehash(std::max<size_t>(1024, slots_.size() * 2));
  return insert_hash(h);
}

bool IdSet::contains(std::string_view id) const {
  const size_t n = slots_.size();
  if (n == 0) return false;
  const Slot h = slot_of(id);
  for (size_t i = home(h);; i = i + 1 == n ? 0 : i + 1) {
    if (slots_[i].empty()) return false;
    if (slots_[i] == h) return true;
  }
}

bool IdSet::insert_hash(Slot h) {
  const size_t n = slots_.size();
  for (size_t i = home(h);; i = i + 1 == n ? 0 : i + 1) {
    Slot& s = slots_[i];
    if (s.empty()) {
      s = h;
      ++size_;
      return true;
    }
    if (s == h) return false;
  }
}

void IdSet::rehash(size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  size_ = 0;
  for (const Slot& s : old)
    if (!s.empty()) insert_hash(s);
}

void IdSet::clear() {
  std::vector<Slot>().swap(slots_);
  size_ = 0;
}

bool IdWindow::insert(std::string_view id, int64_t timestamp_ms) {
  if (previous_.contains(id) || current_.contains(id)) return false;
  if (!started_) {
    started_ = true;
    since_ms_ = timestamp_ms;
  } else if (timestamp_ms - since_ms_ >= window_ms_) {
    std::swap(previous_, current_);
    current_.clear();
    since_ms_ = timestamp_ms;
  }
  current_.insert(id);
  return true;
}

}  // namespace questlog::extract
