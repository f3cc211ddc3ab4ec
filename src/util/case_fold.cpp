#include "util/case_fold.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

namespace questlog {
namespace {

struct FoldRun {
  uint32_t first, last;
  int32_t delta;
  uint32_t stride;
};

constexpr FoldRun kFoldRuns[] = {
#include "util/case_fold_table.inc"
};

constexpr uint32_t kCombiningDotAbove = 0x307;

uint32_t fold_code_point(uint32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
  auto it = std::upper_bound(std::begin(kFoldRuns), std::end(kFoldRuns), c,
                             [](uint32_t v, const FoldRun& r) { return v < r.first; });
  if (it == std::begin(kFoldRuns)) return c;
  const FoldRun& r = *std::prev(it);
  if (c > r.last || (c - r.first) % r.stride != 0) return c;
  return static_cast<uint32_t>(static_cast<int64_t>(c) + r.delta);
}

// The code point at `s[i]` and its length in bytes; 0 bytes when `s[i]` does
// not start a well-formed UTF-8 sequence.
size_t decode(std::string_view s, size_t i, uint32_t& c) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  c = n == 1 ? b : n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (c < kMin[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return n;
}

void encode(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace

std::string fold_case(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  append_fold_case(name, out);
  return out;
}

void append_fold_case(std::string_view name, std::string& out) {
  // ASCII, 8 bytes at a time and then byte by byte, until the first byte that is not.
  size_t i = 0;
  const size_t start = out.size();
  out.resize(start + name.size());
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  for (uint64_t w; i + 8 <= name.size(); i += 8) {
    std::memcpy(&w, name.data() + i, 8);
    if (w & kHigh) break;
    // 0x80 in each byte from 'A' to 'Z', then 0x20 added to those.
    const uint64_t upper = ((w + kOnes * (0x80 - 'A')) ^ (w + kOnes * (0x80 - 'Z' - 1))) & kHigh;
    w |= upper >> 2;
    std::memcpy(out.data() + start + i, &w, 8);
  }
  for (; i < name.size() && static_cast<unsigned char>(name[i]) < 0x80; ++i) {
    const char c = name[i];
    out[start + i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
  }
  out.resize(start + i);
  uint32_t previous = i > 0 ? static_cast<unsigned char>(out.back()) : 0;
  while (i < name.size()) {
    uint32_t c = 0;
    size_t n = decode(name, i, c);
    if (n == 0) {
      out += name[i++];
      previous = 0;
      continue;
    }
    i += n;
    uint32_t f = fold_code_point(c);
    if (!(f == kCombiningDotAbove && previous == 'i')) encode(f, out);
    previous = f;
  }
}

}  // namespace questlog
