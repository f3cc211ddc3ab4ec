// The on-disk format of an embedded log partition, shared by LogWriter and
// LogReader. docs/formats.md describes the same bytes for people; change both
// together, and never change the meaning of bytes already on disk.
//
// A partition directory holds segment files named by the offset of their first
// record, 20 decimal digits and ".log" (00000000000000000042.log), plus the
// writer's lock file. A segment is records back to back: no file header, no
// padding, no trailer. One record:
//
//   crc32c        u32   CRC-32C over every byte of the record after it
//   length        u32   payload bytes, at most kMaxPayload; bit 31 (kKeyFlag) set:
//                       a key follows the timestamp
//   offset        i64   dense: the first record of a segment has its base offset
//   timestamp_ms  i64   milliseconds since the Unix epoch
//   [key_length   u16   only with kKeyFlag: key bytes
//    key          `key_length` bytes]
//   payload       `length` bytes
//
// All integers are little-endian. Records without the flag (every log written
// before keys existed) are read exactly as before.
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
inline constexpr uint32_t kKeyFlag = 1u << 31;  // in the length word: a key follows
inline constexpr size_t kKeyLengthSize = 2;
inline constexpr size_t kKeyedHeaderSize = kHeaderSize + kKeyLengthSize;
inline constexpr size_t kMaxKey = 0xffff;
inline constexpr size_t kCrcSize = 4;               // the checksum covers what follows it
inline constexpr uint32_t kMaxPayload = 64u << 20;  // a longer length field is corruption
inline constexpr std::string_view kSegmentSuffix = ".log";
inline constexpr size_t kSegmentDigits = 20;
inline constexpr std::string_view kLockFileName = ".lock";

// Bytes of a record; `key_bytes` 0 is a record without a key (no flag, no key length).
inline constexpr size_t record_size(size_t payload_bytes, size_t key_bytes = 0) {
  return (key_bytes == 0 ? kHeaderSize : kKeyedHeaderSize + key_bytes) + payload_bytes;
}

struct RecordHeader {
  uint32_t crc = 0;
  uint32_t length = 0;  // payload bytes, kKeyFlag masked off (other high bits stay: corruption)
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  bool keyed = false;       // kKeyFlag was set
  uint16_t key_length = 0;  // set by decode_key_length()
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

// Writes one whole record into dst[0, record_size(payload.size(), key.size())).
// An empty key writes a record without one. The caller has checked
// payload.size() <= kMaxPayload and key.size() <= kMaxKey.
inline void encode_record(char* dst, int64_t offset, int64_t timestamp_ms, std::string_view payload,
                          std::string_view key = {}) {
  const uint32_t flag = key.empty() ? 0 : kKeyFlag;
  detail::put_u32(dst + 4, static_cast<uint32_t>(payload.size()) | flag);
  detail::put_u64(dst + 8, static_cast<uint64_t>(offset));
  detail::put_u64(dst + 16, static_cast<uint64_t>(timestamp_ms));
  size_t at = kHeaderSize;
  if (!key.empty()) {
    const auto n = static_cast<uint16_t>(key.size());
    dst[at] = static_cast<char>(n & 0xff);
    dst[at + 1] = static_cast<char>(n >> 8);
    std::memcpy(dst + at + kKeyLengthSize, key.data(), key.size());
    at += kKeyLengthSize + key.size();
  }
  if (!payload.empty()) std::memcpy(dst + at, payload.data(), payload.size());
  uint32_t crc = crc32c::value(dst + kCrcSize, at - kCrcSize + payload.size());
  detail::put_u32(dst, crc);
}

// Reads the header at src[0, kHeaderSize). Checks nothing. When h.keyed, the
// key length is still to be read from src[kHeaderSize, kKeyedHeaderSize) with
// decode_key_length().
inline RecordHeader decode_header(const char* src) {
  RecordHeader h;
  h.crc = detail::get_u32(src);
  const uint32_t word = detail::get_u32(src + 4);
  h.keyed = (word & kKeyFlag) != 0;
  h.length = word & ~kKeyFlag;
  h.offset = static_cast<int64_t>(detail::get_u64(src + 8));
  h.timestamp_ms = static_cast<int64_t>(detail::get_u64(src + 16));
  return h;
}

// For a keyed header: reads the key length from the record at src, whose first
// kKeyedHeaderSize bytes are present.
inline void decode_key_length(RecordHeader& h, const char* src) {
  const auto* b = reinterpret_cast<const unsigned char*>(src + kHeaderSize);
  h.key_length = static_cast<uint16_t>(b[0] | (b[1] << 8));
}

// Where the key (then the payload) starts, and the record's whole size, for a
// header whose key length is known.
inline size_t header_size(const RecordHeader& h) {
  return h.keyed ? kKeyedHeaderSize : kHeaderSize;
}
inline size_t stored_size(const RecordHeader& h) {
  return header_size(h) + h.key_length + h.length;
}

// True when the record at src, whose header is `h` (key length read) and whose
// stored_size(h) bytes are all present, matches its checksum.
inline bool checksum_matches(const RecordHeader& h, const char* src) {
  return crc32c::value(src + kCrcSize, stored_size(h) - kCrcSize) == h.crc;
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
