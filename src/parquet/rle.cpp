#include "parquet/rle.h"

#include <cassert>
#include <cstring>

#include "parquet/thrift_compact.h"

namespace questlog::parquet::rle {
namespace {

// Runs at least this long are written as RLE runs.
constexpr size_t kMinRepeat = 8;

template <typename T>
void put_literal(const T* values, size_t n, int width, std::vector<uint8_t>& out) {
  size_t groups = (n + 7) / 8;
  thrift::put_varint(out, groups << 1 | 1);
  size_t start = out.size();
  out.resize(start + groups * static_cast<size_t>(width));
  uint8_t* dst = out.data() + start;
  uint64_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < groups * 8; ++i) {
    uint64_t v = i < n ? values[i] : 0;
    acc |= v << bits;
    bits += width;
    while (bits >= 8) {
      *dst++ = static_cast<uint8_t>(acc);
      acc >>= 8;
      bits -= 8;
    }
  }
  assert(bits == 0);
  assert(dst == out.data() + out.size());
}

void put_repeat(uint32_t value, size_t count, int width, std::vector<uint8_t>& out) {
  thrift::put_varint(out, count << 1);
  for (int b = 0; b < (width + 7) / 8; ++b) out.push_back(static_cast<uint8_t>(value >> (8 * b)));
}

template <typename T>
void encode_impl(const T* values, size_t n, int width, std::vector<uint8_t>& out) {
  assert(width >= 1 && width <= 32);
  size_t literal_start = 0;  // values[literal_start, i) wait for a bit-packed run
  size_t i = 0;
  while (i < n) {
    T v = values[i];
    size_t j = i + 1;
    while (j < n && values[j] == v) ++j;
    size_t run = j - i;
    if (run >= kMinRepeat) {
      // Bit-packed runs hold whole groups of 8: lend the pending literals
      // enough of this run's values to fill their last group.
      size_t pending = i - literal_start;
      size_t pad = (8 - pending % 8) % 8;
      if (run - pad >= kMinRepeat) {
        if (pending + pad > 0) put_literal(values + literal_start, pending + pad, width, out);
        put_repeat(v, run - pad, width, out);
        literal_start = j;
      }
    }
    i = j;
  }
  if (literal_start < n) put_literal(values + literal_start, n - literal_start, width, out);
}

}  // namespace

int bit_width(uint64_t max_value) {
  int w = 0;
  while (max_value != 0) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

void encode(const uint32_t* values, size_t n, int width, std::vector<uint8_t>& out) {
  encode_impl(values, n, width, out);
}

void encode(const uint8_t* values, size_t n, int width, std::vector<uint8_t>& out) {
  encode_impl(values, n, width, out);
}

void pack_bits(const uint8_t* values, size_t n, std::vector<uint8_t>& out) {
  size_t start = out.size();
  out.resize(start + (n + 7) / 8);
  uint8_t* dst = out.data() + start;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    *dst++ = static_cast<uint8_t>(values[i] | values[i + 1] << 1 | values[i + 2] << 2 |
                                  values[i + 3] << 3 | values[i + 4] << 4 | values[i + 5] << 5 |
                                  values[i + 6] << 6 | values[i + 7] << 7);
  }
  if (i < n) {
    uint8_t b = 0;
    for (int k = 0; i < n; ++i, ++k) b |= static_cast<uint8_t>(values[i] << k);
    *dst = b;
  }
}

}  // namespace questlog::parquet::rle
