// CRC-32C (Castagnoli), the checksum of Kafka record batches and of our log
// records. Uses the SSE4.2 crc32 instruction when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace questlog::crc32c {

// Extends `crc` (the value returned for the bytes before) over data[0, n).
uint32_t extend(uint32_t crc, const void* data, size_t n);

inline uint32_t value(const void* data, size_t n) { return extend(0, data, n); }

}  // namespace questlog::crc32c
