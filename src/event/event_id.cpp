#include "event/event_id.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

namespace questlog::event {

std::string idempotency_key_problem(std::string_view key) {
  if (key.empty()) return "the Idempotency-Key header is empty";
  if (key.size() > kMaxIdempotencyKey)
    return fmt::format("the Idempotency-Key header has {} bytes (at most {})", key.size(),
                       kMaxIdempotencyKey);
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e)
      return "the Idempotency-Key header may hold only visible ASCII characters (no spaces)";
  return {};
}

UuidV7Generator::UuidV7Generator() {
  std::random_device device;  // getrandom(2), once per generator
  state_ = (static_cast<uint64_t>(device()) << 32) ^ device();
}

// SplitMix64: a 64-bit counter through a bijective mixer. Distinct seeds give
// streams that would take ~2^64 / threads ids to meet; the ids' uniqueness
// rests on these 62 bits per millisecond fraction, not on secrecy.
uint64_t UuidV7Generator::random() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void UuidV7Generator::next(std::string& out, int64_t unix_ns) {
  const auto ns = static_cast<uint64_t>(unix_ns < 0 ? 0 : unix_ns);
  const uint64_t ms = ns / 1000000;
  const uint64_t fraction = (ns % 1000000) * 4096 / 1000000;  // 12 bits
  const uint64_t hi = (ms << 16) | (0x7ull << 12) | fraction;
  const uint64_t lo = (random() >> 2) | (0x2ull << 62);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(kUuidTextSize);
  size_t at = 0;
  auto put = [&](uint64_t v, int nibbles_from, int nibbles_to) {
    for (int n = nibbles_from; n < nibbles_to; ++n) out[at++] = kHex[(v >> (60 - 4 * n)) & 0xf];
  };
  put(hi, 0, 8);
  out[at++] = '-';
  put(hi, 8, 12);
  out[at++] = '-';
  put(hi, 12, 16);
  out[at++] = '-';
  put(lo, 0, 4);
  out[at++] = '-';
  put(lo, 4, 16);
}

void UuidV7Generator::next(std::string& out) {
  next(out, std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
}

}  // namespace questlog::event
