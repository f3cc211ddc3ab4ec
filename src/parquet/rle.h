// The RLE / bit-packing hybrid encoding (Encodings.md, "Run Length Encoding /
// Bit-Packing Hybrid"), used for definition levels and dictionary indices,
// and the plain bit-packing of booleans.
//
//   encoded  := run*
//   run      := bit-packed-run | rle-run
//   bit-packed-run := varint(groups << 1 | 1) then groups * 8 values, each
//                     `bit_width` bits, packed from the least significant bit
//                     of each byte
//   rle-run  := varint(count << 1) then the value in ceil(bit_width / 8)
//               bytes, little-endian
//
// The encoders take a whole page of values at once (no per-value calls).
// A run of 8 or more equal values becomes an RLE run; everything else is
// bit-packed, in groups of 8, the last group padded with zeros (the reader
// knows the real count from the page header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace questlog::parquet::rle {

// Smallest bit width that holds every value in [0, max_value] (0 for 0).
int bit_width(uint64_t max_value);

// Appends the hybrid encoding of values[0, n) to `out` (no length prefix).
// Every value must fit in `bit_width` bits; 1 <= bit_width <= 32.
void encode(const uint32_t* values, size_t n, int bit_width, std::vector<uint8_t>& out);
void encode(const uint8_t* values, size_t n, int bit_width, std::vector<uint8_t>& out);

// Appends values[0, n) (each 0 or 1) as bits, least significant bit first,
// ceil(n / 8) bytes: PLAIN encoding of BOOLEAN.
void pack_bits(const uint8_t* values, size_t n, std::vector<uint8_t>& out);

}  // namespace questlog::parquet::rle
