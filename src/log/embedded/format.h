// The on-disk format of an embedded log partition, shared by LogWriter and
// LogReader. docs/formats.md describes the same bytes for people; change both
// together, and never change the meaning of bytes already on disk.
//
// A partition directory holds segment files named by the offset of their first
// record, 20 decimal digits and ".log" (00000000000000000042.log), plus the
// writer's lock file. A segment is records back to back: no file header, no
// padding, no trailer. One record:
//
//   crc32c        u32   CRC-32C over bytes [4, kHeaderSize + length) of the record
//   length        u32   payload bytes, at most kMaxPayload
//   offset        i64   dense: the first record of a segment has its base offset
//   timestamp_ms  i64   milliseconds since the Unix epoch
//   payload       `length` bytes
//
// All integers are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "util/crc32c.h"

namespace questlog::log::embedded::format {

inline constexpr size_t kHeaderSize = 24;
inline constexpr size_t kCrcSize = 4;               // the checksum covers what follows it
inline constexpr uint32_t kMaxPayload = 64u << 20;  // a longer length field is corruption
inline constexpr std::string_view kSegmentSuffix = ".log";
inline constexpr size_t kSegmentDigits = 20;
inline constexpr std::string_view kLockFileName = ".lock";

inline constexpr size_t record_size(size_t payload_bytes) { return kHeaderSize + payload_bytes; }

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
};

namespace detail {

inline void put_u32(char* dst, uint32_t v) {
  unsigned char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  std::memcpy(dst, b, 4);
}

inline void put_u64(char* dst, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
  std::memcpy(dst, b, 8);
}

inline uint32_t get_u32(const char* src) {
  unsigned char b[4];
  std::memcpy(b, src, 4);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(b[i]) << (8 * i);
  return v;
}

inline uint64_t get_u64(const char* src) {
  unsigned char b[8];
  std::memcpy(b, src, 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
  return v;
}

}  // namespace detail

// Writes one whole record into dst[0, record_size(payload.size())).
// The caller has checked payload.size() <= kMaxPayload.
inline void encode_record(char* dst, int64_t offset, int64_t timestamp_ms,
                          std::string_view payload) {
  detail::put_u32(dst + 4, static_cast<uint32_t>(payload.size()));
  detail::put_u64(dst + 8, static_cast<uint64_t>(offset));
  detail::put_u64(dst + 16, static_cast<uint64_t>(timestamp_ms));
  if (!payload.empty()) std::memcpy(dst + kHeaderSize, payload.data(), payload.size());
  uint32_t crc = crc32c::value(dst + kCrcSize, kHeaderSize - kCrcSize + payload.size());
  detail::put_u32(dst, crc);
}

// Reads the header at src[0, kHeaderSize). Checks nothing.
inline RecordHeader decode_header(const char* src) {
  RecordHeader h;
  h.crc = detail::get_u32(src);
  h.length = detail::get_u32(src + 4);
  h.offset = static_cast<int64_t>(detail::get_u64(src + 8));
  h.timestamp_ms = static_cast<int64_t>(detail::get_u64(src + 16));
  return h;
}

// True when the record at src, whose header is `h` and whose
// record_size(h.length) bytes are all present, matches its checksum.
inline bool checksum_matches(const RecordHeader& h, const char* src) {
  return crc32c::value(src + kCrcSize, kHeaderSize - kCrcSize + h.length) == h.crc;
}

// "00000000000000000042.log" for base offset 42. `base_offset` is >= 0.
inline std::string segment_file_name(int64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(kSegmentDigits - digits.size(), '0') + digits + std::string(kSegmentSuffix);
}

// The base offset a segment file name stands for, or nothing when `name` is not
// exactly 20 digits and ".log" or the number does not fit an int64_t.
inline std::optional<int64_t> parse_segment_file_name(std::string_view name) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(kSegmentDigits) != kSegmentSuffix) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < kSegmentDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (static_cast<uint64_t>(INT64_MAX) - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return static_cast<int64_t>(v);
}

}  // namespace questlog::log::embedded::format
